"""Short versions of the limits campaign (benchmarks/faults/limits.py): abusive clients get
the close code they must get, the server stays up, other rooms' edits still arrive, and the
server's memory stays under a generous cap. No timing assertions: the numbers are reported by
``python -m benchmarks.faults.limits`` (see docs/operations.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import websockets
from pycrdt import Doc, Text

from benchmarks.faults.limits import run_case
from server.sync import protocol
from tests.helpers import Server, SyncClient, collect_abandoned_sockets  # noqa: F401 (autouse)

RSS_CAP_MB = 600  # far above what any case needs; a leak or an unbounded buffer passes it


def check_row(row: dict[str, Any]) -> None:
    assert row["ok"], row
    assert row["server_alive"], row
    assert row["tracebacks_logged"] == 0, row
    assert row["control_deliveries_during"] > 0, row  # others' edits were still delivered
    assert row["rss_mb_peak_during"] < RSS_CAP_MB, row


@pytest.mark.timeout(900)
# The slow consumer's short version is test_a_slow_consumer_of_big_frames_is_closed_before_
# memory_grows below (and tests/test_slow_client.py): the campaign's own client, paused for
# long, does not reliably read its close frame back (see docs/operations.md).
@pytest.mark.parametrize(
    "case", ["frame-17mb", "awareness-100k", "flood", "unauthenticated", "reconnect"]
)
def test_limit(case: str) -> None:
    check_row(run_case(case, quick=True))


def test_a_slow_consumer_of_big_frames_is_closed_before_memory_grows(tmp_path: Path) -> None:
    """The send queue is bounded in bytes too: a client that never reads while others paste
    64 KB chunks is closed (1013) once ACCORD_SEND_QUEUE_BYTES (here 512 KiB) are queued for
    it, long before ACCORD_SEND_QUEUE_MESSAGES frames (16384) are."""
    server = Server(
        tmp_path / "a.db",
        env={
            "ACCORD_MAX_MESSAGE_BYTES": str(256 * 1024),
            "ACCORD_SEND_QUEUE_BYTES": str(512 * 1024),
            "ACCORD_PING_INTERVAL_SECONDS": "120",
        },
    ).start()
    try:
        document_id = server.create_document()

        async def scenario() -> None:
            # The writer sends pre-encoded updates and reads nothing back (a SyncClient would
            # answer each 'saved' notice with everything since, in frames over the limit).
            doc: Doc[Text] = Doc()
            text = doc.get("content", type=Text)
            writer = await websockets.connect(server.sync_url(document_id), compression=None)
            reader = await SyncClient(server.ws_url, document_id).connect()
            slow = await websockets.connect(
                server.sync_url(document_id), compression=None, max_size=None, ping_interval=None
            )
            slow.transport.pause_reading()
            for i in range(120):  # ~7.5 MB for the slow client, in 120 frames
                before = doc.get_state()
                text.insert(0, chr(0x41 + i % 26) * 65_536)
                await writer.send(protocol.sync_update(doc.get_update(before)))
                await asyncio.sleep(0.005)
            await reader.wait_text(str(text), timeout=120)
            slow.transport.resume_reading()
            try:
                async with asyncio.timeout(60):
                    async for _ in slow:
                        pass
            except (websockets.ConnectionClosed, TimeoutError):
                pass
            assert slow.close_code == 1013
            before = doc.get_state()
            text.insert(0, "¡sigue! ")
            await writer.send(protocol.sync_update(doc.get_update(before)))
            await reader.wait_text(str(text))
            await writer.close()
            await reader.close()

        asyncio.run(scenario())
        assert server.alive()
    finally:
        server.stop()
