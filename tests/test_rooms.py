"""Rooms: loaded once however many join at once; unloaded after the last client leaves."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from pycrdt import Doc, Text, merge_updates

from benchmarks.deletions import after_a_gap
from server import db
from server.db import Database
from server.errors import InvalidPayload
from server.settings import Settings
from server.sync import order, protocol, store, structs
from server.sync.peer import Peer
from server.sync.room import Room
from server.sync.rooms import Rooms
from server.sync.store import EMPTY_UPDATE, UpdateLog
from tests.helpers import Server, SyncClient
from tests.people_helpers import reading, stored_text
from tests.test_order import item
from tests.test_store import DOC, insert_document


def test_simultaneous_joiners_load_once_and_all_sync(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> None:
        writer = await SyncClient(server.ws_url, document_id).connect()
        await writer.edit(0, "Protocolo para atender denuncias.")
        await writer.close()
        await asyncio.sleep(1.0)  # the room unloads (ACCORD_ROOM_UNLOAD_SECONDS=0.5)
        clients = [SyncClient(server.ws_url, document_id) for _ in range(30)]
        await asyncio.gather(*(c.connect() for c in clients))
        for c in clients:
            assert str(c.text) == "Protocolo para atender denuncias."
        await asyncio.gather(*(c.close() for c in clients))

    asyncio.run(scenario())
    # Loaded for the writer, unloaded, then loaded exactly once for the 30 joiners.
    assert len(re.findall(r"room loaded", server.logs())) == 2
    assert len(re.findall(r"room unloaded", server.logs())) >= 1


def test_room_unloads_and_reloads_from_storage(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> None:
        a = await SyncClient(server.ws_url, document_id).connect()
        await a.edit(0, "Texto")
        await a.close()
        await asyncio.sleep(1.0)
        b = await SyncClient(server.ws_url, document_id).connect()
        assert str(b.text) == "Texto"
        await b.close()

    asyncio.run(scenario())
    assert len(re.findall(r"room unloaded", server.logs())) >= 1
    assert len(re.findall(r"room loaded", server.logs())) == 2


def test_live_compaction_keeps_every_edit(tmp_path: Path) -> None:
    """Compaction from the open room's Doc while three clients keep typing: storage keeps
    every edit (the state row plus the rows appended after it), the log shrinks, and a
    client that joins later gets exactly the text the writers hold."""
    server = Server(
        tmp_path / "accord.db",
        env={"ACCORD_COMPACT_AFTER_UPDATES": "25", "ACCORD_ROOM_UNLOAD_SECONDS": "60"},
    ).start()
    try:
        document_id = server.create_document()

        async def scenario() -> str:
            writers = [await SyncClient(server.ws_url, document_id).connect() for _ in range(3)]
            typed = 0
            for round_ in range(40):
                for number, writer in enumerate(writers):
                    piece = f"{number}·{round_}ñ "
                    typed += len(piece)
                    await writer.edit(0, piece)
                await asyncio.sleep(0.01)
            for _ in range(500):  # until every writer has everyone's edits
                if all(len(str(writer.text)) == typed for writer in writers):
                    break
                await asyncio.sleep(0.02)
            text = str(writers[0].text)
            assert len(text) == typed
            assert all(str(writer.text) == text for writer in writers)
            late = await SyncClient(server.ws_url, document_id).connect()
            assert str(late.text) == text
            for client in (*writers, late):
                await client.close()
            return text

        text = asyncio.run(scenario())
        assert len(text) > 0
        logs = server.logs()
        assert "compacted" in logs
        assert stored_text(server.db, document_id) == text
        with reading(server.db) as conn:
            (rows,) = conn.execute(
                "SELECT count(*) FROM updates WHERE document_id = ?", (document_id,)
            ).fetchone()
            (states,) = conn.execute(
                "SELECT count(*) FROM document_states WHERE document_id = ?", (document_id,)
            ).fetchone()
        assert states == 1
        assert rows < 120  # 120 edits were made; the compacted ones are gone
    finally:
        server.stop()


def test_a_walked_update_is_refused_before_the_doc_takes_it(tmp_path: Path) -> None:
    """An update the room walks (anything but a keystroke: here it writes under two client
    ids) is checked before the room's Doc sees it. Refused there (it needs clocks the room
    never had, or it rewrites used ones), it leaves the Doc as it was: no rebuild from storage.
    The same gap in a keystroke-shaped update is found only after applying it, and costs a
    rebuild (the Doc is replaced)."""

    def edit(doc: Doc[Text], at: int, words: str) -> bytes:
        state = doc.get_state()
        doc.get("content", type=Text).insert(at, words)
        return doc.get_update(state)

    author: Doc[Text] = Doc(client_id=5)
    hola, _, more = edit(author, 0, "hola"), edit(author, 4, " mundo"), edit(author, 10, "?")
    helper: Doc[Text] = Doc(client_id=6)
    helper.apply_update(author.get_update())
    bang = edit(helper, 11, "!")  # its origin: (5, 10)
    forged = edit(Doc(client_id=5), 0, "HOLA")  # the same client id, other text
    fresh = edit(Doc(client_id=7), 0, "¿")

    async def scenario() -> None:
        async with db.Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda conn: insert_document(conn, DOC))
            room = Room(DOC, EMPTY_UPDATE, UpdateLog(database))
            for change in room._apply(hola):
                room._persist(None, change)
            await room.settle()
            doc = room.doc
            for update, reason in [
                (merge_updates(more, fresh), "does not have"),  # clocks 4-9 never came
                (merge_updates(bang, fresh), "does not have"),
                (merge_updates(forged, fresh), "rewrites"),
            ]:
                with pytest.raises(InvalidPayload, match=reason):
                    room._apply(update, structs.walk_update(update))
                assert room.doc is doc and room.text == "hola"
            with pytest.raises(InvalidPayload, match="does not have"):
                room._apply(more)  # a keystroke's shape: checked after applying
            assert room.doc is not doc and room.text == "hola"

    asyncio.run(scenario())


def test_a_rebuild_after_a_refusal_keeps_the_order_of_characters(tmp_path: Path) -> None:
    """A room that refuses an update after its Doc began to take it makes the Doc anew from
    what it had taken. Its order of characters (the cause-7 check) took only what the room
    took, and deletions change nothing in it: it is kept, not made anew on the event loop at
    the next update (243 ms for a document of 20,000 deleted ranges). It still refuses text
    between characters that were not side by side, and takes real typing."""
    typist, text, keystrokes = typing_after_deletions()
    skipping = after_a_gap(typist, 5)  # a keystroke's shape, after clocks the room never had

    async def scenario() -> None:
        async with db.Database(str(tmp_path / "accord.db")) as database:
            await store_document(database, typist)
            room = Room(DOC, typist.get_update(), UpdateLog(database))
            peer = Peer(Recorder(), limit=100)
            text.insert(len(text), "a")
            room.receive(peer, protocol.sync_update(keystrokes[-1]))
            made, doc = room.ordering.order, room.doc
            assert made is not None
            with pytest.raises(InvalidPayload, match="does not have"):
                room._apply(skipping)  # found after applying: the Doc is rebuilt
            assert room.doc is not doc and room.ordering.order is made
            # between the first two characters, with the third (the typist's own, which it
            # must have had) between them: refused by the kept order
            crossing = item(6, 0, "X", (5, 0), (5, 2))
            with pytest.raises(InvalidPayload, match="side by side"):
                room._apply(crossing, structs.walk_update(crossing))
            for character in "bc":
                text.insert(len(text), character)
                room.receive(peer, protocol.sync_update(keystrokes[-1]))
            assert room.text == str(text) and room.ordering.order is made
            await room.settle()

    asyncio.run(scenario())


def test_editing_counts_as_quiet_only_once_it_stops(tmp_path: Path) -> None:
    """The automatic version comes ``version_quiet_seconds`` after the last committed edit
    of a spell of editing, once per spell, however many edits it had and however long it
    lasted (one timer per spell, set again while edits keep coming)."""

    quiet = 0.3

    async def scenario() -> None:
        async with db.Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda conn: insert_document(conn, DOC))
            updates = UpdateLog(database)
            rooms = Rooms(updates, Settings(version_quiet_seconds=quiet))
            loop = asyncio.get_running_loop()
            went_quiet: list[float] = []

            async def on_quiet(room: Room) -> None:
                went_quiet.append(loop.time())
                room.editors.clear()

            rooms.on_quiet = on_quiet
            room = Room(DOC, EMPTY_UPDATE, updates)
            for _spell in range(2):
                room.editors.add(1)
                for _ in range(8):  # 8 edits 0.1 s apart: 0.7 s, longer than `quiet`
                    rooms.maybe_compact(room)
                    last = loop.time()
                    await asyncio.sleep(0.1)
                    assert len(went_quiet) == _spell
                await asyncio.sleep(quiet + 0.2)
                assert len(went_quiet) == _spell + 1
                assert went_quiet[-1] - last >= quiet - 0.002
            await rooms.close()

    asyncio.run(scenario())


def typing_after_deletions() -> tuple[Doc[Text], Text, list[bytes]]:
    """A typist's document of 180 characters with 40 deleted ranges, its text, and the list
    each of its next transactions goes to (as Yjs sends them)."""
    typist: Doc[Text] = Doc(client_id=5)
    text = typist.get("content", type=Text)
    text.insert(0, "Articulo primero. " * 10)
    for k in range(40):
        del text[k]
    keystrokes: list[bytes] = []
    typist.observe(lambda event: keystrokes.append(event.update))
    return typist, text, keystrokes


async def store_document(database: Database, doc: Doc[Text]) -> None:
    """The test document, stored with ``doc``'s whole state as its first update."""
    await database.write(lambda conn: insert_document(conn, DOC))
    await database.write(lambda conn: store.append(conn, DOC, doc.get_update()))


class Recorder:
    """The network end of a `Peer`, keeping what the room sends (a `server.types.Channel`)."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send_now(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True

    async def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    async def close(self, code: int, reason: str) -> None:
        pass


def test_a_repeated_answer_to_a_saved_notice_is_not_applied_again(tmp_path: Path) -> None:
    """y-websocket answers each saved notice with its whole delete set. The room applies such
    an answer once; the same bytes again (every writer's answer, until someone deletes) are
    recognised and not applied again. After a rebuild (a new Doc) they are applied anew, and
    a deletion of text the room does not have yet still takes effect when the text comes."""

    typist: Doc[Text] = Doc(client_id=5)
    text = typist.get("content", type=Text)
    text.insert(0, "Articulo primero. " * 20)
    for k in range(60):  # every other character of the first 120: 60 deletion ranges
        del text[k]
    helper: Doc[Text] = Doc(client_id=6)
    helper.apply_update(typist.get_update())
    later = helper.get_state()
    helper.get("content", type=Text).insert(0, "Nuevo: ")
    news = helper.get_update(later)

    async def scenario() -> None:
        async with db.Database(str(tmp_path / "accord.db")) as database:
            await store_document(database, typist)
            room = Room(DOC, typist.get_update(), UpdateLog(database))
            applied: list[bytes] = []

            def spy(doc: Doc[Text]) -> None:
                apply = doc.apply_update
                doc.apply_update = lambda update: (applied.append(update), apply(update))[1]  # type: ignore[method-assign]

            spy(room.doc)
            peer = Peer(Recorder(), limit=100)
            answer = typist.get_update(room.doc.get_state())  # no structs, 60 ranges
            assert answer[:1] == b"\x00" and len(answer) > 100
            frame = protocol.sync_step2(answer)
            for _ in range(5):
                room.receive(peer, frame)
            assert applied == [answer]
            room._rebuild()
            spy(room.doc)
            room.receive(peer, frame)
            room.receive(peer, frame)
            assert applied == [answer, answer]
            # A deletion of text the room lacks waits in the Doc, and is not lost when it
            # is sent again: it takes effect once the text arrives.
            typist.apply_update(news)
            del typist.get("content", type=Text)[0:7]  # "Nuevo: ", which the room lacks
            ahead = typist.get_update(typist.get_state())  # no structs: only deletions
            assert ahead[:1] == b"\x00"
            room.receive(peer, protocol.sync_step2(ahead))
            room.receive(peer, protocol.sync_step2(ahead))
            assert applied == [answer, answer, ahead]  # changed nothing yet: kept to compare
            room.receive(peer, protocol.sync_step2(news))
            assert "Nuevo" not in room.text
            assert room.text == str(typist.get("content", type=Text))
            await room.settle()

    asyncio.run(scenario())


def test_a_keystroke_taken_byte_for_byte_is_not_encoded_again(tmp_path: Path) -> None:
    """After an update, the room encodes what changed as a check (some malformed updates
    leave a Doc unable to encode itself), a pass over the Doc's whole delete set. When the
    Doc's own encoding of the change is the update itself (a real client's keystroke), that
    encoding already proved it, and the pass is skipped; an update the Doc took only in part
    is still checked."""

    typist, text, keystrokes = typing_after_deletions()

    async def scenario() -> None:
        async with db.Database(str(tmp_path / "accord.db")) as database:
            await store_document(database, typist)
            room = Room(DOC, typist.get_update(), UpdateLog(database))
            encoded: list[bytes] = []
            get_update = room.doc.get_update

            def spy(state: bytes | None = None) -> bytes:
                if state is not None:  # (the whole Doc is encoded once, for the order)
                    encoded.append(state)
                return get_update(state)

            room.doc.get_update = spy  # type: ignore[method-assign]
            peer = Peer(Recorder(), limit=100)
            for character in "abc":
                text.insert(len(text), character)
                room.receive(peer, protocol.sync_update(keystrokes[-1]))
            assert encoded == [] and room.text == str(text)
            text.insert(0, "¿")  # sent with a part the room has: taken only in part
            before = room.doc.get_state()
            room.receive(peer, protocol.sync_update(merge_updates(*keystrokes)))
            assert encoded[-1] == before and room.text == str(text)  # encoded from before it
            await room.settle()

    asyncio.run(scenario())


def test_the_order_of_characters_is_made_while_the_room_loads(tmp_path: Path) -> None:
    """The order the room checks new text against (`server.sync.order`) is made in a reader
    thread once the room is loaded, the same as the first update would have made it on the
    event loop, and the first keystroke uses it. A state it cannot be made from leaves it to
    the first update, as before."""

    typist, text, keystrokes = typing_after_deletions()

    async def scenario() -> None:
        async with db.Database(str(tmp_path / "accord.db")) as database:
            await store_document(database, typist)
            rooms = Rooms(UpdateLog(database), Settings())
            room = await rooms.get(DOC)
            for _ in range(500):  # made in a reader thread, while the first clients sync
                if room.ordering.order is not None:
                    break
                await asyncio.sleep(0.01)
            made = room.ordering.order
            assert made is not None
            lazily = order.Order(room.doc.get_update())
            assert made.doc.get_update() == lazily.doc.get_update()
            assert made.lists.ends == lazily.lists.ends
            text.insert(len(text), "!")
            room.receive(Peer(Recorder(), limit=10), protocol.sync_update(keystrokes[-1]))
            assert room.ordering.order is made and room.text == str(text)
            await rooms.close()

    asyncio.run(scenario())
    assert order.made_ahead(b"\x01\x05") is None  # not an update: left to the first update
