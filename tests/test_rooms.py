"""Rooms: loaded once however many join at once; unloaded after the last client leaves."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.helpers import Server, SyncClient
from tests.people_helpers import reading, stored_text


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
