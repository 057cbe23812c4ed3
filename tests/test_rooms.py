"""Rooms: loaded once however many join at once; unloaded after the last client leaves."""

from __future__ import annotations

import asyncio
import re

from tests.helpers import Server, SyncClient


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
