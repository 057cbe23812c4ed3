"""A client too slow to read its room is cut off (1013); nobody else is held back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import websockets

from server.sync import protocol
from tests.helpers import Server, SyncClient


def test_slow_consumer_is_closed_and_others_keep_up(tmp_path: Path) -> None:
    server = Server(
        tmp_path / "a.db",
        env={"ACCORD_SEND_QUEUE_MESSAGES": "32", "ACCORD_PING_INTERVAL_SECONDS": "120"},
    ).start()
    try:
        document_id = server.create_document()

        async def scenario() -> None:
            writer = await SyncClient(server.ws_url, document_id).connect()
            reader = await SyncClient(server.ws_url, document_id).connect()
            # A raw socket that completes the upgrade and then never reads again.
            slow = await websockets.connect(
                server.sync_url(document_id),
                compression=None,
                max_size=None,
                ping_interval=None,
            )
            slow.transport.pause_reading()
            chunk = "x" * 100_000
            for i in range(80):  # ~8 MB that the slow client never reads
                await writer.edit(0, chunk[: 100_000 - i])
                await asyncio.sleep(0.01)  # let the reader keep up, as a real one would
            expected = str(writer.text)
            await reader.wait_text(expected, timeout=60)
            # The slow client was dropped: once it reads again, it finds a 1013 close.
            slow.transport.resume_reading()
            try:
                async for _ in slow:
                    pass
            except websockets.ConnectionClosed:
                pass
            assert slow.close_code == 1013
            # The room still works for the others.
            await writer.edit(0, "¡sigue! ")
            await reader.wait_text("¡sigue! " + expected)
            await writer.close()
            await reader.close()

        asyncio.run(scenario())
        assert server.alive()
    finally:
        server.stop()


def test_sync_frames_pass_through_unchanged_for_others(server: Server) -> None:
    """Encode once: every observer gets byte-identical update frames."""
    document_id = server.create_document()

    async def scenario() -> None:
        writer = await SyncClient(server.ws_url, document_id).connect()
        observers = [await SyncClient(server.ws_url, document_id).connect() for _ in range(3)]
        await writer.edit(0, "Artículo primero")
        for o in observers:
            await o.wait_text("Artículo primero")
        frames = [
            [f for f in o.frames if f[:2] == bytes([0, protocol.SyncType.UPDATE])]
            for o in observers
        ]
        assert frames[0] and frames[0] == frames[1] == frames[2]
        for c in [writer, *observers]:
            await c.close()

    asyncio.run(scenario())


def test_websocket_compression_is_never_negotiated(server: Server) -> None:
    """permessage-deflate is off: a client that offers it gets plain frames."""
    document_id = server.create_document()

    async def scenario() -> None:
        async with websockets.connect(server.sync_url(document_id), compression="deflate") as ws:
            assert ws.response is not None
            assert "sec-websocket-extensions" not in ws.response.headers
            assert ws.protocol.extensions == []

    asyncio.run(scenario())
