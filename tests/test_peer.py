"""`Peer`: one connection's send queue. Its sender task starts only when a frame has to wait,
and whoever holds the connection hears of a close once (`Peer.when_closed`)."""

from __future__ import annotations

import asyncio

from server.errors import TryAgainLater
from server.sync.peer import Peer


class Channel:
    """The network end of a `Peer` (a `server.types.Channel`): takes frames at once while
    ``open``, records what it sent and how it was closed; ``broken`` makes sends fail."""

    def __init__(self, open: bool = True) -> None:
        self.open = open
        self.broken = False
        self.sent: list[bytes] = []
        self.closes: list[tuple[int, str]] = []

    def send_now(self, frame: bytes) -> bool:
        if self.open:
            self.sent.append(frame)
        return self.open

    async def send(self, frame: bytes) -> None:
        await asyncio.sleep(0)
        if self.broken:
            raise ConnectionResetError("gone")
        self.sent.append(frame)

    async def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))


def tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


def test_frames_that_go_out_at_once_need_no_task() -> None:
    async def scenario() -> None:
        channel = Channel()
        peer = Peer(channel, limit=10)
        for i in range(100):
            peer.send(b"%d" % i)
        assert channel.sent == [b"%d" % i for i in range(100)]
        assert tasks() == set()
        await peer.stop()

    asyncio.run(scenario())


def test_frames_that_wait_go_out_in_order_after_those_sent_at_once() -> None:
    async def scenario() -> None:
        channel = Channel()
        peer = Peer(channel, limit=100)
        peer.send(b"a")
        channel.open = False  # the transport is full: these wait in the queue
        peer.send(b"b")
        peer.send(b"c")
        assert len(tasks()) == 1
        channel.open = True  # nothing may overtake the queue, even if the transport is free
        peer.send(b"d")
        for _ in range(10):
            await asyncio.sleep(0)
        assert channel.sent == [b"a", b"b", b"c", b"d"]
        peer.send(b"e")  # the queue is empty again: at once
        assert channel.sent[-1] == b"e"
        await peer.stop()
        assert tasks() == set()

    asyncio.run(scenario())


def test_a_close_without_a_sender_task_reaches_the_channel_and_calls_back_once() -> None:
    async def scenario() -> None:
        channel = Channel()
        peer = Peer(channel, limit=10)
        calls: list[str] = []
        peer.when_closed(lambda: calls.append("closed"))
        peer.fail(TryAgainLater("client too slow: send queue full"))
        peer.close(1000, "again")  # a second close changes nothing
        await peer.finished()
        assert channel.closes == [(1013, "client too slow: send queue full")]
        assert calls == ["closed"]
        peer.send(b"late")  # nothing is sent after a close
        assert channel.sent == []
        await peer.stop()

    asyncio.run(scenario())


def test_a_close_goes_out_after_the_queue_is_dropped() -> None:
    async def scenario() -> None:
        channel = Channel(open=False)
        peer = Peer(channel, limit=3)
        for frame in (b"1", b"2", b"3"):
            peer.send(frame)
        calls: list[str] = []
        peer.when_closed(lambda: calls.append("closed"))
        peer.send(b"4")  # past the limit: too slow, closed with 1013
        await peer.finished()
        assert calls == ["closed"]
        assert channel.closes == [(1013, "client too slow: send queue full")]
        assert channel.sent == []  # the queue was dropped, not sent
        await peer.stop()

    asyncio.run(scenario())


def test_whoever_asks_after_the_close_hears_of_it_at_once() -> None:
    async def scenario() -> None:
        peer = Peer(Channel(), limit=10)
        peer.close(1008, "gone")
        calls: list[str] = []
        peer.when_closed(lambda: calls.append("closed"))
        assert calls == ["closed"]
        await peer.stop()

    asyncio.run(scenario())


def test_a_connection_found_gone_while_sending_calls_back() -> None:
    async def scenario() -> None:
        channel = Channel(open=False)
        channel.broken = True
        peer = Peer(channel, limit=10)
        closed = asyncio.Event()
        peer.when_closed(closed.set)
        peer.send(b"x")
        await asyncio.wait_for(closed.wait(), 5)
        assert channel.sent == [] and channel.closes == []
        await peer.stop()

    asyncio.run(scenario())
