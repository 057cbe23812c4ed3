"""Who is here: newcomers see everyone, leavers disappear for everyone, the server is nobody."""

from __future__ import annotations

import asyncio
import json

from server.sync import protocol
from server.sync.awareness import Presence
from server.sync.protocol import AwarenessMessage
from tests.helpers import Server, SyncClient, stamped


def present(client: SyncClient) -> dict[int, dict[str, object]]:
    """The awareness states this client has been told about, latest first wins."""
    states: dict[int, tuple[int, dict[str, object] | None]] = {}
    for payload in client.awareness:
        for entry in protocol.parse_awareness(payload, 10_000):
            clock = states.get(entry.client_id, (-1, None))[0]
            if entry.clock >= clock:
                states[entry.client_id] = (entry.clock, json.loads(entry.state))
    return {cid: state for cid, (_, state) in states.items() if state is not None}


async def announce(client: SyncClient, client_id: int, name: str, clock: int = 1) -> None:
    state = json.dumps({"user": {"name": name, "color": "#336699"}})
    await client.send(protocol.awareness([(client_id, clock, state)]))


async def wait_for(predicate, timeout: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def test_newcomer_sees_everyone_and_leavers_disappear(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> None:
        ana = await SyncClient(server.ws_url, document_id).connect()
        await announce(ana, 101, "Ana (México)")
        beto = await SyncClient(server.ws_url, document_id).connect()
        await announce(beto, 202, "Beto (Argentina)")
        await wait_for(lambda: set(present(ana)) == {101, 202})
        carla = await SyncClient(server.ws_url, document_id).connect()
        # The newcomer sees everyone at once, from the snapshot sent on connect.
        await wait_for(lambda: set(present(carla)) == {101, 202})
        # The server stamps each state with the account's name and colour: whatever the
        # client claimed ("Ana (México)", #336699), everyone sees who really connected.
        assert present(carla)[101]["user"]["name"] == "Admin"  # type: ignore[index]
        assert present(carla)[101]["user"]["color"] != "#336699"  # type: ignore[index]
        # A client that leaves disappears for everyone (well within 1 s; no timing asserted).
        await beto.close()
        await wait_for(lambda: set(present(ana)) == {101}, timeout=1)
        await wait_for(lambda: set(present(carla)) == {101}, timeout=1)
        await ana.close()
        await carla.close()

    asyncio.run(scenario())


def test_dead_connection_disappears(server: Server) -> None:
    """A client whose TCP connection dies without a close frame is removed too."""
    document_id = server.create_document()

    async def scenario() -> None:
        watcher = await SyncClient(server.ws_url, document_id).connect()
        doomed = await SyncClient(server.ws_url, document_id).connect()
        await announce(doomed, 303, "Dana")
        await wait_for(lambda: 303 in present(watcher))
        assert doomed.ws is not None
        doomed.ws.transport.abort()  # no close handshake: the socket just dies
        await wait_for(lambda: 303 not in present(watcher), timeout=1)
        await watcher.close()

    asyncio.run(scenario())


def test_server_is_never_a_user_and_echoes_awareness(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> None:
        alone = await SyncClient(server.ws_url, document_id).connect()
        await asyncio.sleep(0.2)
        assert present(alone) == {}
        # Sending a state gets it echoed back (keeps the client's 30 s timeout alive).
        await announce(alone, 404, "Eva")
        await wait_for(lambda: set(present(alone)) == {404})
        # Query-awareness answers with the full state.
        before = len(alone.awareness)
        await alone.send(bytes([protocol.MessageType.QUERY_AWARENESS]))
        await wait_for(lambda: len(alone.awareness) > before)
        await alone.close()

    asyncio.run(scenario())


def test_awareness_cannot_speak_for_someone_else(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> None:
        ana = await SyncClient(server.ws_url, document_id).connect()
        await announce(ana, 505, "Ana")
        mallory = await SyncClient(server.ws_url, document_id).connect()
        await wait_for(lambda: 505 in present(mallory))
        await mallory.send(protocol.awareness([(505, 99, "null")]))  # try to remove Ana
        assert await mallory.wait_closed() == 1008
        await asyncio.sleep(0.2)
        assert 505 in present(ana)
        await ana.close()

    asyncio.run(scenario())


def test_a_cursor_arrives_after_the_edit_it_points_into(server: Server) -> None:
    """A client sends an edit and then its cursor in the new text (y-codemirror does, on every
    keystroke): the others get them in that order, so the cursor can be placed at once. The
    edit waits for its durable commit; the cursor waits with it."""
    document_id = server.create_document()

    async def scenario() -> None:
        ana = await SyncClient(server.ws_url, document_id).connect()
        beto = await SyncClient(server.ws_url, document_id).connect()
        for clock in range(1, 21):
            before = ana.doc.get_state()
            ana.text.insert(0, "a")
            update = protocol.sync_update(ana.doc.get_update(before))
            cursor = protocol.awareness([(101, clock, json.dumps({"cursor": clock}))])
            assert ana.ws is not None
            await ana.ws.send(update)
            await ana.ws.send(cursor)
        await wait_for(lambda: len(beto.awareness) >= 20 and len(str(beto.text)) == 20)
        kinds = []
        for frame in beto.frames:
            message = protocol.parse(frame, 10_000)
            if (
                isinstance(message, protocol.SyncMessage)
                and message.kind is protocol.SyncType.UPDATE
            ):
                kinds.append("edit")
            elif isinstance(message, protocol.AwarenessMessage):
                kinds.append("cursor")
        assert kinds == ["edit", "cursor"] * 20
        await ana.close()
        await beto.close()

    asyncio.run(scenario())


def test_a_state_that_names_its_account_is_relayed_as_written(server: Server) -> None:
    """Accord's web app announces exactly the identity the server gives its account: such a
    state goes to the others as the client wrote it (its own key order and spacing), not
    decoded and written again. A state naming anyone else is stamped."""
    document_id = server.create_document()
    identity = stamped({})["user"]

    async def scenario() -> None:
        ana = await SyncClient(server.ws_url, document_id).connect()
        beto = await SyncClient(server.ws_url, document_id).connect()
        own = '{"cursor": {"anchor": 1, "head": 2},  "user": ' + json.dumps(identity) + "}"
        await ana.send(protocol.awareness([(101, 1, own)]))
        await wait_for(lambda: 101 in present(beto))
        relayed = [e for p in beto.awareness for e in protocol.parse_awareness(p, 10)]
        assert [e.state for e in relayed if e.client_id == 101] == [own]

        forged = json.dumps({"cursor": None, "user": {**identity, "name": "Beto"}})
        await ana.send(protocol.awareness([(101, 2, forged)]))
        await wait_for(lambda: present(beto)[101]["cursor"] is None)
        assert present(beto)[101] == stamped({"cursor": None})
        await ana.close()
        await beto.close()

    asyncio.run(scenario())


def test_presence_relays_a_message_as_written_only_when_nothing_in_it_changed() -> None:
    """`Presence.relay` without a network: the sender's own frame when every entry was taken
    as it came, a re-encoded frame when a name was stamped or an echo dropped, nothing when
    nothing was new."""
    identity = {"name": "Ana", "color": "#336699", "colorLight": "#33669933"}
    presence: Presence[str] = Presence()

    def message(*entries: tuple[int, int, object]) -> AwarenessMessage:
        frame = protocol.awareness(
            [(cid, clock, json.dumps(state)) for cid, clock, state in entries]
        )
        parsed = protocol.parse(frame)
        assert isinstance(parsed, AwarenessMessage)
        return parsed

    own = message((1, 1, {"user": identity, "cursor": None}))
    assert presence.relay("ana", own, identity) == protocol.awareness_frame(own.payload)

    forged = message((1, 2, {"user": {**identity, "name": "Beto"}}))
    frame = presence.relay("ana", forged, identity)
    assert frame is not None and frame != protocol.awareness_frame(forged.payload)
    relayed = protocol.parse(frame)
    assert isinstance(relayed, AwarenessMessage)
    assert [json.loads(e.state) for e in relayed.entries] == [{"user": identity}]

    # Beto's client echoes Ana's latest state beside its own: only its own goes out
    beto = {**identity, "name": "Beto"}
    echo = message((1, 2, {"user": identity}), (2, 1, {"user": beto}))
    frame = presence.relay("beto", echo, beto)
    relayed = protocol.parse(frame or b"")
    assert isinstance(relayed, AwarenessMessage)
    assert [e.client_id for e in relayed.entries] == [2]

    assert presence.relay("beto", message((1, 2, {"user": identity})), beto) is None
