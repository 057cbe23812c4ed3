"""uvicorn's websockets-sansio protocol with three additions for the sync endpoint: a
synchronous send (the ASGI scope extension ``accord.send_now``), a synchronous receive
(``accord.receive_with``) and an immediate close (``accord.close_now``); and one refusal
before the app: an address past its limit of failed credentials gets 429 at once.

An ASGI ``websocket.send`` is a chain of coroutines (Starlette's wrappers, then uvicorn's
``send``) awaited by a task per connection. A room that broadcasts one keystroke to a hundred
people paid that a hundred times: a task switch, an event, the wrappers and the framing, for
every recipient. ``send_now`` writes an already framed message straight to the connection's
transport, with no task, no await, and the frame built once for every recipient (compression
is off, so a server frame is the same bytes for everyone).

It only writes when the connection can take it at once: the handshake is done, no close has
been sent or received, and the transport is not paused because the client reads too slowly.
Otherwise it answers False and the caller queues the message for the normal ASGI path,
which waits, keeps the order, and is bounded (see `server.sync.peer.Peer`).

The receive side had the same cost the other way: each message went through the ASGI queue
to the connection's task (a task switch and Starlette's wrappers per keystroke).
``receive_with(handler)`` hands every message, in order, to ``handler`` as soon as it is
read; only the disconnect still goes through ASGI. ``hold(seconds)`` stops reading the
connection for a while (the flood limit): messages already read wait, in order, and TCP
pushes back on the sender.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

EXTENSION = "accord.send_now"
CLOSE_EXTENSION = "accord.close_now"
RECEIVE_EXTENSION = "accord.receive_with"
HOLD_EXTENSION = "accord.hold"
# The key of the lifespan state that holds the app's `RateLimit` of failed credentials.
CREDENTIAL_FAILURES = "accord.credential_failures"
TOO_MANY = "too many attempts; wait a minute and try again\n"
# An address past its limit of failed credentials gets its 429 this long after asking (a
# tarpit): an attacker who keeps a few dozen attempts in flight then makes a few dozen a
# second instead of a thousand or more, and the server's CPU goes to everyone else. At most
# TARPIT_CONNECTIONS are held so (each a socket and ~10 KB); beyond that the 429 goes at once.
TARPIT_SECONDS = 1.0
TARPIT_CONNECTIONS = 256

if TYPE_CHECKING:
    from websockets.http11 import Request

    from server.auth import RateLimit

Handler = Callable[[bytes | str], None]


class WireFrames:
    """The framed bytes of the last message sent: a broadcast frames its message once. Only
    small messages are kept (a large one is framed for each recipient, and not held alive)."""

    KEEP = 64 * 1024

    __slots__ = ("message", "wire")

    def __init__(self) -> None:
        self.message: bytes | None = None
        self.wire = b""

    def of(self, message: bytes) -> bytes:
        if len(message) > self.KEEP:
            return Frame(Opcode.BINARY, message).serialize(mask=False)
        if message is not self.message:
            self.wire = Frame(Opcode.BINARY, message).serialize(mask=False)
            self.message = message
        return self.wire


wire_frames = WireFrames()


class Cork:
    """Gathers the messages sent between `begin` and `end` into one write per connection.

    The callbacks of one database commit broadcast every update it made durable, and the
    cursor moves that waited for it: without this, a client in a busy room got each as a
    separate system call (the largest single cost of the event loop at 1,000 clients).
    `end` follows `begin` within the same turn of the loop, so nothing waits longer.
    """

    __slots__ = ("active", "dirty")

    def __init__(self) -> None:
        self.active = False
        self.dirty: list[SyncProtocol] = []

    def begin(self) -> None:
        self.active = True

    def end(self) -> None:
        self.active = False
        dirty, self.dirty = self.dirty, []
        for connection in dirty:
            connection.flush()


cork = Cork()
# The refused connections waiting for their 429 (`SyncProtocol.refuse`), and their timers.
tarpit: dict[SyncProtocol, asyncio.TimerHandle] = {}


class SyncProtocol(WebSocketsSansIOProtocol):
    """Select with ``uvicorn.Config(ws=SyncProtocol)``.

    Once the app has set its handler (`receive_with`), binary messages skip uvicorn's queue,
    at most MESSAGES_PER_TURN of one connection per turn of the event loop; before that, and
    for text messages, uvicorn's own path is used unchanged.
    """

    MESSAGES_PER_TURN = 32
    handler: Handler | None = None
    held: deque[bytes | str] | None = None  # read while holding: handled when it ends
    corked: list[bytes] | None = None  # framed messages waiting for `Cork.end`
    handled = 0  # messages handed to the handler in this turn of the loop

    def data_received(self, data: bytes) -> None:
        self.handled = 0
        super().data_received(data)

    def send_receive_event_to_app(self) -> None:
        if self.handler is None or self.close_sent or self.curr_msg_data_type != "bytes":
            super().send_receive_event_to_app()  # (uvicorn drops it once a close is sent)
            return
        frames, self.frames = self.frames, []
        raw = frames[0] if len(frames) == 1 else b"".join(frames)
        data = raw if type(raw) is bytes else bytes(raw)
        if self.held is None and self.handled >= self.MESSAGES_PER_TURN:
            self.hold(0)  # this read's share is used: the rest waits for the next turn
        if self.held is not None:
            self.held.append(data)
        else:
            self.handled += 1
            self.handler(data)

    def handle_connect(self, event: Request) -> None:
        limits: RateLimit | None = self.app_state.get(CREDENTIAL_FAILURES)
        if limits is not None:
            wait = limits.wait(self.client_address(event))
            if wait > 0:
                self.refuse(event, wait)
                return
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # unset when the handshake was refused
        if scope is not None and not self.conn.extensions:  # no per-connection framing
            scope["extensions"][EXTENSION] = self.send_now
            scope["extensions"][CLOSE_EXTENSION] = self.close_now
            scope["extensions"][RECEIVE_EXTENSION] = self.receive_with
            scope["extensions"][HOLD_EXTENSION] = self.hold

    def client_address(self, event: Request) -> str:
        """The address the app will see for this request (`server.auth.client_address`):
        behind a trusted proxy, the one uvicorn's ProxyHeadersMiddleware takes from
        X-Forwarded-For, found here the same way, before the app runs."""
        host = self.client[0] if self.client else "?"
        proxy = self.app
        if isinstance(proxy, ProxyHeadersMiddleware) and host in proxy.trusted_hosts:
            forwarded = event.headers.get_all("X-Forwarded-For")
            if forwarded:
                found, _ = proxy.trusted_hosts.get_trusted_client_address(", ".join(forwarded))
                host = found or host
        return host

    def refuse(self, event: Request, wait: float) -> None:
        """Answer 429 without running the app (as uvicorn answers a failed handshake): a
        storm of bad credentials from one address costs half as much per attempt. The answer
        waits TARPIT_SECONDS (reading paused) while fewer than TARPIT_CONNECTIONS wait."""
        self.request = event
        self.handshake_initiated = True
        self.handshake_complete = True
        self.close_sent = True
        self.response = self.conn.reject(429, TOO_MANY)
        self.response.headers["Retry-After"] = str(math.ceil(wait))
        self.conn.send_response(self.response)
        if len(tarpit) < TARPIT_CONNECTIONS:
            self.transport.pause_reading()
            tarpit[self] = self.loop.call_later(TARPIT_SECONDS, self._answer_refusal)
        else:
            self._answer_refusal()

    def shutdown(self) -> None:
        if self in tarpit:  # the server is stopping: the 429 goes now
            tarpit[self].cancel()
            self._answer_refusal()
            return
        super().shutdown()

    def _answer_refusal(self) -> None:
        tarpit.pop(self, None)
        if not self.transport.is_closing():
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        waiting = tarpit.pop(self, None)
        if waiting is not None:  # gone before its 429: nothing to answer
            waiting.cancel()
        super().connection_lost(exc)
        # A finished connection's objects hold each other: the scope's extensions hold this
        # protocol, and so does the handler (through its peer), and the websockets parser (a
        # suspended generator) holds its connection. Only a full collection of the garbage
        # collector would free them, rarely (the thresholds are set for short pauses, see
        # `accord serve`): memory grew with every connection made. Undone here, they are freed
        # by reference counting as soon as the app lets go.
        self.handler = None
        self.held = None
        scope = getattr(self, "scope", None)
        if scope is not None:
            for key in (EXTENSION, CLOSE_EXTENSION, RECEIVE_EXTENSION, HOLD_EXTENSION):
                scope["extensions"].pop(key, None)
        self.conn.parser.close()
        # asyncio's socket transport (CPython 3.11) keeps a bound method of itself for reads.
        if hasattr(self.transport, "_read_ready_cb"):
            self.transport._read_ready_cb = None

    def receive_with(self, handler: Handler | None) -> None:
        """From now on hand each message to ``handler`` as it is read (None: back to ASGI).
        Messages already queued for the app go to it first, in order; a disconnect stays
        in the queue."""
        self.handler = handler
        if handler is None:
            return
        waiting = []
        while not self.queue.empty():
            waiting.append(self.queue.get_nowait())
        for message in waiting:
            if message["type"] != "websocket.receive" or self.close_sent:
                self.queue.put_nowait(message)
                continue
            raw = message.get("bytes")
            data: bytes | str = raw if raw is not None else str(message.get("text", ""))
            if self.held is not None:
                self.held.append(data)
            else:
                handler(data)
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self.transport.resume_reading()

    def hold(self, seconds: float) -> None:
        """Stop reading for ``seconds``; messages already read are handled after that.
        (Also used with 0 so that one connection's messages, however many one read
        brought, are handled at most MESSAGES_PER_TURN per turn of the event loop.)"""
        if self.held is not None or self.transport.is_closing():
            return
        self.held = deque()
        self.transport.pause_reading()
        self.loop.call_later(seconds, self._end_hold)

    def _end_hold(self) -> None:
        held, self.held = self.held, None
        self.handled = 0
        while held and self.handler is not None and not self.close_sent:
            if self.held is None and self.handled >= self.MESSAGES_PER_TURN:
                self.hold(0)
            if self.held is not None:  # held again: the rest waits, in order
                self.held.extend(held)
                return
            self.handled += 1
            self.handler(held.popleft())
        if not self.transport.is_closing() and not self.read_paused:
            self.transport.resume_reading()

    def send_now(self, message: bytes) -> bool:
        """Write one binary message now; False if it must wait (and nothing was written)."""
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        if cork.active:
            if self.corked is None:
                self.corked = []
                cork.dirty.append(self)
            self.corked.append(wire_frames.of(message))
            return True
        self.transport.write(wire_frames.of(message))
        return True

    def flush(self) -> None:
        """Write the corked messages (dropped if the connection is closing: nothing may
        follow a close frame)."""
        corked, self.corked = self.corked, None
        if corked and not self.close_sent and not self.transport.is_closing():
            self.transport.write(corked[0] if len(corked) == 1 else b"".join(corked))

    def close_now(self, code: int, reason: str) -> bool:
        """Send a close frame at once, as uvicorn's own keepalive does, even to a client that
        does not read (an ASGI ``websocket.close`` would wait until it reads): it goes out
        behind what the transport already holds, and the transport is closed after the
        close timeout. False if the connection is not open (nothing was sent)."""
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or self.initial_response is not None
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        if self.corked is not None:  # what was sent before the close goes before it
            self.flush()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        return True


__all__ = [
    "CLOSE_EXTENSION",
    "EXTENSION",
    "HOLD_EXTENSION",
    "RECEIVE_EXTENSION",
    "Cork",
    "SyncProtocol",
    "cork",
    "wire_frames",
]


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools), which lets go of its parser when it hands the
    connection to the websocket protocol. Select with ``uvicorn.Config(http=HttpProtocol)``.

    The parser holds the protocol's bound methods, a reference cycle that uvicorn breaks when
    the connection is lost; for an upgraded connection this object never hears of it, so
    every sync connection left it (with the parser, its flow control and the request's
    headers, ~20 objects) for the garbage collector, which `accord serve` runs rarely.
    """

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        self.parser = None  # type: ignore[assignment]
