"""One connected client: its channel, its bounded send queue and its sender task (started
only when a frame has to wait: most connections never need one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from server.errors import SyncError, TryAgainLater
from server.types import Channel

log = logging.getLogger(__name__)

YIELD_EVERY = 32  # frames sent back to back before the sender lets others run


class Peer:
    """A client in a room. ``send`` never blocks: frames wait in a bounded queue.

    A client whose queue overflows is too slow for its room and is closed with 1013, so it
    never holds anyone else back; its edits are safe, it resyncs when it reconnects.
    """

    __slots__ = (
        "_closer",
        "_closing",
        "_on_close",
        "_queue",
        "_sending",
        "_task",
        "_wake",
        "can_write",
        "channel",
        "identity",
        "limit",
        "name",
        "session",
        "token",
        "user_id",
    )

    def __init__(self, channel: Channel, limit: int, name: str = "peer") -> None:
        self.channel = channel
        self.limit = limit
        self.name = name
        self.can_write = True
        # Who this is, when accounts are in use: their presence is stamped with ``identity``
        # ({"name", "color", "colorLight"}) so nobody can appear as someone else.
        self.user_id: int | None = None
        self.session: str | None = None
        self.token: str | None = None
        self.identity: dict[str, str] | None = None
        self._queue: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._sending = False
        self._on_close: Callable[[], object] | None = None  # see `when_closed`

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def send(self, frame: bytes) -> None:
        if self._closing is not None:
            return
        # Nothing waiting before it: straight to the connection, if it can take it now.
        if not self._queue and not self._sending and self.channel.send_now(frame):
            return
        self._enqueue(frame)

    def _enqueue(self, frame: bytes) -> None:
        if len(self._queue) >= self.limit:
            log.warning("closing a client too slow for its room (send queue full)")
            self.fail(TryAgainLater("client too slow: send queue full"))
            return
        self._queue.append(frame)
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name=f"send:{self.name}")
        else:
            self._wake.set()

    def fail(self, error: SyncError) -> None:
        """Close this client with the error's code, after nothing else is sent."""
        self.close(error.close_code, error.message)

    def close(self, code: int, reason: str) -> None:
        if self._closing is not None:
            return
        self._closing = (code, reason)
        self._queue.clear()
        self._closed()
        if self._task is None:
            self._closer = asyncio.create_task(self._send_close(), name=f"close:{self.name}")
        elif self._sending:
            # Stuck behind a client that does not read: stop waiting on it and queue the
            # close frame; it goes out when the client reads again, or the keepalive ping
            # drops the connection.
            self._task.cancel()
            self._closer = asyncio.create_task(self._send_close(), name=f"close:{self.name}")
        else:
            self._wake.set()

    def when_closed(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once, when a close is decided or the connection is found gone
        (at once if that has happened)."""
        self._on_close = callback
        if self._closing is not None:
            self._closed()

    def _closed(self) -> None:
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    async def _drain(self) -> None:
        try:
            while self._closing is None:
                sent = 0
                while self._queue and self._closing is None:
                    self._sending = True
                    await self.channel.send(self._queue.popleft())
                    self._sending = False
                    sent += 1
                    if sent % YIELD_EVERY == 0:
                        # A send to a socket whose peer vanished can complete at once, every
                        # time: yield now and then, so the loop notices the disconnect
                        # instead of writing a whole queue into a dead socket.
                        await asyncio.sleep(0)
                if self._closing is None:
                    await self._wake.wait()
                    self._wake.clear()
        except Exception:  # the connection is gone; the receive side notices
            log.debug("send failed on %s", self.name, exc_info=True)
            self._closed()
            return
        await self._send_close()

    async def _send_close(self) -> None:
        assert self._closing is not None
        code, reason = self._closing
        try:
            await self.channel.close(code, reason)
        except Exception:
            log.debug("close failed on %s", self.name, exc_info=True)

    async def finished(self) -> None:
        """Wait until the close frame is out (or the connection is gone)."""
        task = self._closer or self._task
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    async def stop(self) -> None:
        for task in (self._task, self._closer):
            if task is not None:
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
