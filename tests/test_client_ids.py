"""A client id belongs to the person who first wrote with it in a document.

Yjs orders and deduplicates content by (client id, clock). If two writers put different
content at the same clock of one client id, the server keeps whichever came first and takes
the other for a duplicate: that writer's edit is silently lost and its copy never agrees with
the room again. So the server refuses (1008) new content under a client id somebody else
owns; content it already holds may be sent back by anyone, and the owner may write from
several connections (tabs, reconnects). Ownership is stored, so it outlives the room.
"""

from __future__ import annotations

from pycrdt import Doc, Text

from server.sync import protocol
from tests.helpers import Server
from tests.people_helpers import (
    RoleClient,
    add_document,
    add_person,
    reading,
    run,
    stored_text,
    wait_until,
)

SEED = "Artículo 1. "


def client(
    server: Server, document_id: str, token: str, client_id: int | None = None
) -> RoleClient:
    """A writer; with ``client_id``, one whose Doc uses that id."""
    role_client = RoleClient(server, document_id, token)
    if client_id is not None:
        role_client.doc = Doc(client_id=client_id)
        role_client.text = role_client.doc.get("content", type=Text)
    return role_client


def local_edit(role_client: RoleClient, index: int, content: str) -> bytes:
    """Insert into the client's own Doc without sending; return the update."""
    before = role_client.doc.get_state()
    role_client.text.insert(index, content)
    return role_client.doc.get_update(before)


def owners(server: Server, document_id: str) -> dict[int, int]:
    with reading(server.db) as conn:
        rows = conn.execute(
            "SELECT client_id, user_id FROM client_ids WHERE document_id = ?", (document_id,)
        ).fetchall()
    return dict(rows)


def test_new_content_under_another_persons_client_id_is_refused(server: Server) -> None:
    ana, beto = add_person(server.db, "ana"), add_person(server.db, "beto")
    document_id = add_document(server.db, ana, [(beto, "delegate")], seed=SEED)

    async def scenario() -> None:
        writer = await client(server, document_id, ana.token).connect()
        await writer.edit(len(SEED), "Ana escribe.")
        await writer.barrier()
        assert owners(server, document_id) == {writer.doc.client_id: ana.id}
        # Beto's client takes Ana's id and writes at the clock Ana will use next.
        thief = await client(server, document_id, beto.token, writer.doc.client_id).connect()
        assert str(thief.text) == SEED + "Ana escribe."
        await thief.try_send(protocol.sync_update(local_edit(thief, 0, "ROBADO ")))
        assert await thief.wait_closed(10) == 1008
        assert "client id" in thief.close_reason
        # Ana is not disturbed, and her next edit (at that same clock) is kept.
        await writer.edit(len(SEED + "Ana escribe."), " Sigue.")
        await writer.barrier()
        assert not writer.closed.is_set()
        expected = SEED + "Ana escribe. Sigue."
        assert stored_text(server.db, document_id) == expected
        newcomer = await client(server, document_id, beto.token).connect()
        assert str(newcomer.text) == expected

    run(scenario())


def test_the_owner_may_write_from_two_connections(server: Server) -> None:
    """Two tabs of one person (or a reconnect the server has not noticed yet) share an id."""
    ana = add_person(server.db, "ana")
    document_id = add_document(server.db, ana, seed=SEED)

    async def scenario() -> None:
        first = await client(server, document_id, ana.token).connect()
        await first.edit(0, "1 ")
        await first.barrier()
        second = await client(server, document_id, ana.token, first.doc.client_id).connect()
        await second.edit(0, "2 ")
        await second.barrier()
        assert not second.closed.is_set(), (second.close_code, second.close_reason)
        await first.wait_text("2 1 " + SEED)
        assert stored_text(server.db, document_id) == "2 1 " + SEED

    run(scenario())


def test_anyone_may_send_back_content_the_server_holds(server: Server) -> None:
    """A reply to an older state vector carries other people's content the server already
    has (it arrived in between): that is no claim, and the sender stays connected."""
    ana, beto = add_person(server.db, "ana"), add_person(server.db, "beto")
    document_id = add_document(server.db, ana, [(beto, "delegate")], seed=SEED)

    async def scenario() -> None:
        writer = await client(server, document_id, ana.token).connect()
        other = await client(server, document_id, beto.token).connect()
        await writer.edit(0, "Ana. ")
        await other.wait_text("Ana. " + SEED)
        await other.send(protocol.sync_step2(other.doc.get_update(b"\x00")))  # everything
        await other.edit(0, "Beto. ")
        await other.barrier()
        assert not other.closed.is_set(), (other.close_code, other.close_reason)
        assert stored_text(server.db, document_id) == "Beto. Ana. " + SEED
        assert owners(server, document_id) == {
            writer.doc.client_id: ana.id,
            other.doc.client_id: beto.id,
        }

    run(scenario())


def test_ownership_outlives_the_room(server: Server) -> None:
    """After everyone left and the room was unloaded, the owner's id is still theirs: an
    offline copy of Ana's can come back later without finding its clocks taken."""
    ana, beto = add_person(server.db, "ana"), add_person(server.db, "beto")
    document_id = add_document(server.db, ana, [(beto, "delegate")], seed=SEED)

    async def scenario() -> None:
        writer = await client(server, document_id, ana.token).connect()
        await writer.edit(0, "Ana. ")
        await writer.barrier()
        await writer.close()
        unloads = server.logs().count("room unloaded")
        await wait_until(lambda: server.logs().count("room unloaded") > unloads, "the unload")
        thief = await client(server, document_id, beto.token, writer.doc.client_id).connect()
        await thief.try_send(protocol.sync_update(local_edit(thief, 0, "ROBADO ")))
        assert await thief.wait_closed(10) == 1008
        assert stored_text(server.db, document_id) == "Ana. " + SEED

    run(scenario())
