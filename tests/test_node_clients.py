"""The real y-websocket client (Node, web/tests/yclient.mjs) against the real server.

Every wait below is a wait for a condition with a generous limit; nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.helpers import Server, SyncClient, stamped
from tests.nodeclient import NodeClient, utf16_index

pytestmark = pytest.mark.node

ANA = {"user": {"name": "Ana", "color": "#123456"}}

# Pieces of text for the concurrent-edit test. Each is an even number of UTF-16 code units
# with every astral character (emoji) starting at an even offset, and every insert goes to an
# even index. So however the other client's concurrent inserts shift the text before a
# command is processed, an insert can never land between the two halves of a surrogate pair
# (which the server refuses: see `test_an_insert_inside_a_surrogate_pair_is_refused`).
UNITS = [
    "ñá",
    "¿é",
    "¡ü",
    "ío",
    "ÑÚ",
    "ç ",
    "e\u0301",
    "ab",
    "  ",
    "\n-",
    "🎉",
    "😀",
    "📊",
    "👍🏽",
    "🇪🇸",
    "✨☕",
    "中文",
    "שׁלו",
    "€…",
]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def wait_markdown(server: Server, document_id: str, expected: str, timeout: float = 10) -> None:
    """Poll GET /api/documents/{id} until its markdown is ``expected``."""
    deadline = time.monotonic() + timeout
    markdown = server.markdown(document_id)
    while markdown != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"server markdown is {markdown!r}, expected {expected!r}")
        time.sleep(0.05)
        markdown = server.markdown(document_id)


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def no_errors(*clients: NodeClient) -> None:
    for client in clients:
        errors = [e for e in client.events if e.get("ok") is False]
        assert not errors, f"{client.name}: {errors}"


def test_units_cannot_split_surrogate_pairs() -> None:
    """The invariant the concurrent test relies on."""
    for unit in UNITS:
        encoded = unit.encode("utf-16-le")
        assert len(encoded) % 4 == 0, unit
        offset = 0
        for char in unit:
            if ord(char) > 0xFFFF:
                assert offset % 2 == 0, unit
            offset += utf16_len(char)


def test_concurrent_random_inserts_converge(server: Server) -> None:
    document_id = server.create_document("Concurrencia")
    rng = random.Random(1810)
    rounds, batch = 50, 3
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        ana.connect(server.ws_url, document_id)
        beto.connect(server.ws_url, document_id)
        expected: Counter[str] = Counter()
        own = {ana.name: 0, beto.name: 0}  # UTF-16 units each one inserted so far
        total = 0
        # Both clients get a few inserts at once, without waiting for replies, and each round
        # waits only for the clients' own replies: the other's updates keep arriving in
        # between, and the indexes come from texts that hold both clients' earlier edits.
        for _ in range(rounds):
            for client in (ana, beto):
                for _ in range(batch):
                    piece = "".join(rng.choice(UNITS) for _ in range(rng.randint(1, 3)))
                    # A lower bound of the client's length when it runs the command: texts
                    # only grow, and all of its own earlier inserts run before this one.
                    known = max(utf16_len(client.text), own[client.name])
                    index = 2 * rng.randint(0, known // 2)
                    client.send({"cmd": "insert", "index": index, "text": piece})
                    own[client.name] += utf16_len(piece)
                    total += utf16_len(piece)
                    expected.update(piece)
            for client in (ana, beto):
                client.get_text()  # replies come in order: the batch has run
        no_errors(ana, beto)
        ana.wait_until(lambda: utf16_len(ana.text) == total, "all of the inserts at ana")
        beto.wait_until(lambda: utf16_len(beto.text) == total, "all of the inserts at beto")
        final = ana.get_text()
        assert beto.get_text() == final
        assert Counter(final) == expected
        assert "\ufffd" not in final
        wait_markdown(server, document_id, final)


def test_offline_edits_reach_others_and_survive_a_restart(server: Server) -> None:
    document_id = server.create_document("Sin conexión")
    base = "Acta: "
    offline = "propuesta de Ana, año 2024 ✍️ 🎉"
    online = "¿Beto? "
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        ana.connect(server.ws_url, document_id)
        ana.insert(0, base)
        beto.connect(server.ws_url, document_id)
        beto.wait_text(base)

        ana.disconnect()
        assert ana.status == "disconnected"
        ana.insert(utf16_len(base), offline)
        beto.insert(0, online)
        wait_markdown(server, document_id, online + base)
        assert ana.get_text() == base + offline  # really offline: Beto's edit is not here

        ana.reconnect()
        expected = online + base + offline
        ana.wait_text(expected)
        beto.wait_text(expected)
        wait_markdown(server, document_id, expected)
        no_errors(ana, beto)

    server.stop()
    server.start()
    assert server.markdown(document_id) == expected
    with NodeClient("carla") as carla:
        carla.connect(server.ws_url, document_id)
        assert carla.get_text() == expected


def test_content_written_before_the_first_connect_reaches_the_server(server: Server) -> None:
    document_id = server.create_document("Borrador previo")
    earlier = "Orden del día\n"
    with NodeClient("carla") as carla:
        carla.connect(server.ws_url, document_id)
        carla.insert(0, earlier)
        wait_markdown(server, document_id, earlier)

    local = "# Borrador escrito sin conexión\n\n¿Está todo bien? ¡Sí! 🎉 中文\n"
    with NodeClient("ana") as ana:
        ana.insert(0, local)  # before the provider exists at all
        ana.insert(utf16_index(local, local.index("bien")), "muy ")
        local = local.replace("bien", "muy bien")
        assert ana.get_text() == local
        ana.connect(server.ws_url, document_id)
        # concurrent inserts at 0: the order depends on the client ids, the content does not
        ana.wait_until(lambda: len(ana.text) == len(earlier + local), "the server's text")
        merged = ana.get_text()
        assert merged in (earlier + local, local + earlier)
        wait_markdown(server, document_id, merged)

    with NodeClient("beto") as beto:
        beto.connect(server.ws_url, document_id)
        assert beto.get_text() == merged


def closed_by_server(client: NodeClient) -> list[dict[str, object]]:
    """The connection-close events of ``client`` that carry a close code from the server."""
    client.get_text()  # a round trip: every event written before now has been read
    return [e for e in client.events if e.get("event") == "close" and e.get("code") is not None]


def round_trip(ana: NodeClient, beto: NodeClient, mark: str) -> None:
    """Text both ways, then no close from the server on either side.

    A y-websocket client sends back every awareness change it receives, other people's too
    (y-websocket 3.1.0 `_awarenessUpdateHandler`; the reference server relays it). Such an echo
    went out before the client's next insert, and the other side sees that insert only once
    the server has handled it: had the server closed the connection for the echo, the close
    is in the client's events by the time the insert arrives (through a new connection).
    """
    beto.insert(0, "b" + mark)
    ana.wait_until(lambda: "b" + mark in ana.text, "Beto's insert")
    ana.insert(0, "a" + mark)
    beto.wait_until(lambda: "a" + mark in beto.text, "Ana's insert")
    assert closed_by_server(ana) == []
    assert closed_by_server(beto) == []


def test_the_server_never_closes_a_well_behaved_client(server: Server) -> None:
    document_id = server.create_document("Eco")
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        ana_id = str(ana.connect(server.ws_url, document_id))
        beto_id = str(beto.connect(server.ws_url, document_id))
        # (y-websocket's initial local state {} has clock 0, which peers ignore)
        ana.set_awareness(ANA)
        beto.set_awareness({"user": {"name": "Beto", "color": "#abcdef"}})
        beto.wait_peers(lambda s: s.get(ana_id) == stamped(ANA), "Ana's state")
        round_trip(ana, beto, "1")
        ana.wait_peers(lambda s: s.get(beto_id, {}) != {}, "Beto's state")
        round_trip(ana, beto, "2")


def test_awareness_arrives_and_leaves_when_the_client_is_killed(server: Server) -> None:
    document_id = server.create_document("Presencia")
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        ana_id = str(ana.connect(server.ws_url, document_id))
        ana.set_awareness(ANA)
        # Beto joins after Ana set her state: it comes with the room's snapshot. The server
        # itself is nobody: Beto sees exactly Ana.
        beto.connect(server.ws_url, document_id)
        beto.wait_peers(lambda s: s == {ana_id: stamped(ANA)}, "exactly Ana's state")
        # ... and a change of it is relayed
        maria = {"user": {"name": "Ana María", "color": "#654321"}, "cursor": {"anchor": 3}}
        ana.set_awareness(maria)
        beto.wait_peers(lambda s: s == {ana_id: stamped(maria)}, "exactly Ana's new state")
        round_trip(ana, beto, "")
        assert beto.peers() == {ana_id: stamped(maria)}

        ana.kill()  # SIGKILL: no close frame from the client library, no goodbye
        # y-protocols would drop her by itself only after 30 s; the server must tell Beto
        beto.wait_peers(lambda s: s == {}, "Ana to leave", timeout=10)
        assert beto.peers() == {}
        no_errors(beto)


def test_awareness_leaves_on_disconnect(server: Server) -> None:
    document_id = server.create_document("Presencia")
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        beto.connect(server.ws_url, document_id)
        ana_id = str(ana.connect(server.ws_url, document_id))
        ana.set_awareness(ANA)
        beto.wait_peers(lambda s: s == {ana_id: stamped(ANA)}, "exactly Ana's state")
        round_trip(ana, beto, "")
        ana.disconnect()
        beto.wait_peers(lambda s: s == {}, "Ana to leave", timeout=10)
        assert beto.peers() == {}
        no_errors(ana, beto)


def test_a_client_with_presence_reconnects_and_delivers_offline_edits(server: Server) -> None:
    """A network drop: the provider keeps its Y.Doc and so its client id. Its peers saw it
    leave (and, being y-websocket clients, sent that removal back to the server).

    Not asserted: that Beto sees Ana's state again at once. Her state comes back with the
    clock she had, which the removal already used up; y-protocols shows her again at her next
    15 s refresh. The reference server (@y/websocket-server 0.1.1) behaves the same.
    """
    document_id = server.create_document("Reconexión")
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        beto.connect(server.ws_url, document_id)
        ana_id = str(ana.connect(server.ws_url, document_id))
        ana.set_awareness(ANA)
        beto.wait_peers(lambda s: s == {ana_id: stamped(ANA)}, "exactly Ana's state")
        ana.disconnect()
        beto.wait_peers(lambda s: s == {}, "Ana to leave", timeout=10)
        ana.insert(0, "escrito sin conexión ✈️")
        ana.reconnect()
        beto.wait_text("escrito sin conexión ✈️")
        wait_markdown(server, document_id, "escrito sin conexión ✈️")
        assert closed_by_server(ana) == []
        assert closed_by_server(beto) == []


@pytest.mark.parametrize(
    "room",
    ["AAAAAAAAAAAAAAAAAAAAAA", "no-such-document", "x" * 65],
    ids=["well-formed", "malformed", "too-long"],
)
def test_unknown_document_is_closed_with_4404(shared_server: Server, room: str) -> None:
    shared_server.create_document("Otro")
    with NodeClient("ana") as ana:
        since = ana.mark()
        ana.connect(shared_server.ws_url, room, wait_synced=False)
        closed = ana.wait_event(
            lambda e: e.get("event") == "close" and e.get("code") is not None, since, "close"
        )
        assert closed["code"] == 4404
        assert not any(e.get("event") == "synced" for e in ana.events)


def test_node_and_python_clients_share_a_room(server: Server) -> None:
    document_id = server.create_document("Mixto")

    async def scenario() -> None:
        python = await SyncClient(server.ws_url, document_id).connect()
        try:
            with NodeClient("node") as node:
                await asyncio.to_thread(node.connect, server.ws_url, document_id)
                first = "Python: ¡sí! "
                await python.edit(0, first)
                await asyncio.to_thread(node.wait_text, first)

                second = first + "Node: 🎉 ñ "
                await asyncio.to_thread(node.insert, utf16_len(first), "Node: 🎉 ñ ")
                await python.wait_text(second)

                # an edit after the emoji, at a code point index in Python and UTF-16 in Node
                third = second[:9] + "«中» " + second[9:] + "fin"
                await python.edit(9, "«中» ")
                await python.edit(len(second) + len("«中» "), "fin")
                await asyncio.to_thread(node.wait_text, third)

                await asyncio.to_thread(node.delete, utf16_index(third, 0), utf16_len("Python: "))
                fourth = third[len("Python: ") :]
                await python.wait_text(fourth)
                no_errors(node)
        finally:
            await python.close()
        await asyncio.to_thread(wait_markdown, server, document_id, fourth)

    asyncio.run(scenario())


def test_an_insert_inside_a_surrogate_pair_is_refused(server: Server) -> None:
    """A Yjs index between the two UTF-16 halves of an emoji. Yjs would turn both halves
    into U+FFFD, yrs (the server) keeps the emoji whole and a later joiner got a third
    text: the document never converged. The server refuses the insert (1007, nothing
    stored or relayed); everyone else keeps the same text."""
    document_id = server.create_document("Emoji partido")
    with NodeClient("ana") as ana, NodeClient("beto") as beto:
        ana.connect(server.ws_url, document_id)
        beto.connect(server.ws_url, document_id)
        ana.insert(0, "x🎉y")
        beto.wait_text("x🎉y")
        mark = beto.mark()
        beto.insert(2, "Z")  # between the two UTF-16 halves of the emoji
        close = beto.wait_event(lambda e: e.get("event") == "close", mark, "the refusal")
        assert close["code"] == 1007
        ana.insert(len("x🎉y") + 1, "!")  # UTF-16 index: after the y
        wait_for(lambda: server.markdown(document_id) == "x🎉y!", "Ana's edit at the server")
        assert ana.get_text() == "x🎉y!"
        with NodeClient("carla") as carla:
            carla.connect(server.ws_url, document_id)
            assert carla.get_text() == "x🎉y!"
