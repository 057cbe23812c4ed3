"""`benchmarks.fanout`, small, against a real `accord serve` and the reference Yjs server:
every update reaches every other client of its room, cursors included, and the load
generator's cursor states (those of Accord's web app) are relayed by Accord as written. No
timing figure is asserted."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.clients import BenchClient, cursor_frame
from benchmarks.fanout import Fanout, run_fanout
from benchmarks.servers import running


@pytest.mark.node
@pytest.mark.parametrize("kind", ["accord", "reference"])
def test_every_update_reaches_every_other_client(kind: str) -> None:
    spec = Fanout(rooms=3, writers=3, observers=1, rate=10, cursors=True)
    with running(kind) as server:
        outcome = asyncio.run(run_fanout(server, "fanout-test", spec, 2.0))
        assert server.proc is not None and server.proc.poll() is None  # still up
    row = outcome.summary()
    assert row["updates_sent"] == 3 * 3 * 20
    assert row["deliveries"] == row["deliveries_expected"] == 3 * 3 * 20 * 3
    assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert row["server_cpu_s"] > 0
    # the edits sent after the first second: about half of them (sends only slip later)
    assert outcome.steady_ms is not None
    assert 0.4 * row["deliveries"] <= len(outcome.steady_ms) < row["deliveries"]
    assert 0 < row["p99_after_1s_ms"] <= row["max_ms"]


class Listener(BenchClient):
    """A load-generator client that also keeps every frame it is sent."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.heard: list[bytes] = []

    def on_message(self, frame: bytes, now: float) -> None:
        self.heard.append(frame)
        super().on_message(frame, now)


def test_the_web_apps_cursor_state_is_relayed_as_written() -> None:
    with running("accord") as server:
        (room,) = server.new_rooms(1, "cursor-test")
        sent = cursor_frame(4242, 7, server.identity)

        async def scenario() -> list[bytes]:
            sender, watcher = BenchClient(server.room_url(room)), Listener(server.room_url(room))
            await sender.connect()
            await watcher.connect()
            sender.send(sent)
            await sender.roundtrip()  # the cursor was handled and relayed before this answer
            await watcher.roundtrip()
            await sender.close()
            await watcher.close()
            return watcher.heard

        heard = asyncio.run(scenario())
    # byte for byte: the state named the account as the server does, so it was not rewritten
    assert sent in heard
