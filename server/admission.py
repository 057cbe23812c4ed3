"""New connections are admitted a few per turn of the event loop, so a storm of them cannot
hold up the people already editing.

Opening a connection costs the server about half a millisecond of Python (the HTTP request,
the websocket handshake, the middleware, the credential lookup, the first sync). The event
loop runs, in one turn, everything that became ready since the last: when fifty connection
attempts arrive together (everyone reconnecting after a network cut, or someone flooding the
server with attempts), their handshakes ran back to back, and a keystroke that arrived with
them waited for all fifty, about 20 ms. Measured in the limits campaign
(`docs/operations.md`): the other rooms' p99 went from 4.6 ms to 26.7 ms.

Here a connection's first bytes are handed to the HTTP parser only if fewer than
``ACCORD_ADMIT_PER_TURN`` connections (default 4) were admitted in this turn; otherwise they
wait, the connection's reading is paused (TCP pushes back), and it tries again in the next
turn, before the connections that arrived after it. Messages on open connections are never
held. Requests on a connection after its first (HTTP keep-alive) are not counted either.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class Admission:
    """At most ``per_turn`` admissions per turn of the event loop (0: no limit), in the order
    they were asked for."""

    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn
        self.left = per_turn
        self.waiting: deque[Callable[[], None]] = deque()
        self._scheduled = False
        self.deferred = 0  # how many had to wait for a later turn

    def request(self, loop: asyncio.AbstractEventLoop, admit: Callable[[], None]) -> None:
        """Call ``admit`` now if this turn has room, or in a later turn."""
        if self.per_turn <= 0:
            admit()
            return
        self._schedule(loop)
        if self.left > 0 and not self.waiting:
            self.left -= 1
            admit()
        else:
            self.deferred += 1
            self.waiting.append(admit)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled:  # at the start of the next turn
            self._scheduled = True
            loop.call_soon(self._next_turn, loop)

    def _next_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        self.left = self.per_turn
        while self.left > 0 and self.waiting:
            self.left -= 1
            self.waiting.popleft()()
        if self.waiting:
            self._schedule(loop)


class AdmittedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, whose connections pass `admission` before their first
    request is parsed (`admitting` makes the class for one server)."""

    admission: Admission

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting: list[bytes] | None = []  # None once admitted

    def data_received(self, data: bytes) -> None:
        if self._waiting is None:
            super().data_received(data)
            return
        self._waiting.append(data)
        if len(self._waiting) == 1:  # the first bytes: ask now; later ones wait with them
            self.admission.request(self.loop, self._admitted)
            if self._waiting is not None:
                self.flow.pause_reading()

    def _admitted(self) -> None:
        if self._waiting is None:
            return
        data, self._waiting = b"".join(self._waiting), None
        if self.transport.is_closing():  # gone while it waited
            return
        self.flow.resume_reading()
        super().data_received(data)


def admitting(per_turn: int) -> type[AdmittedHttpProtocol]:
    """The HTTP protocol class for a server admitting ``per_turn`` new connections a turn."""
    return type("AdmittedHttpProtocol", (AdmittedHttpProtocol,), {"admission": Admission(per_turn)})
