"""The websocket endpoint ``/sync/{document_id}``: the thin adapter from Starlette to the
sync core (`server.sync`)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketState

from server import documents, members
from server.auth import (
    Credential,
    client_address,
    credential_of,
    failed_credential,
    origin_allowed,
)
from server.db import Database
from server.errors import (
    DocumentNotFound,
    NotSignedIn,
    SyncError,
    TryAgainLater,
    UnsupportedData,
)
from server.people import User
from server.settings import Settings
from server.sync.peer import Peer
from server.sync.room import Room
from server.sync.rooms import Rooms
from server.ws_protocol import (
    CLOSE_EXTENSION,
    EXTENSION,
    HOLD_EXTENSION,
    RECEIVE_EXTENSION,
)

log = logging.getLogger(__name__)


def _never(frame: bytes) -> bool:
    """`WebSocketChannel.send_now` without `accord serve`'s protocol: every frame waits."""
    return False


class WebSocketChannel:
    """`server.types.Channel` over a Starlette websocket. ``queued`` counts the bytes its
    peer has queued and not yet handed over (see `SocketPeer`). Under `accord serve` the
    connection also offers a synchronous send (`server.ws_protocol`)."""

    __slots__ = ("_close_now", "closed_now", "queued", "send_now", "websocket")

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queued = 0
        extensions = websocket.scope.get("extensions", {})
        # The connection's own synchronous send, called as is (every frame of a broadcast
        # goes through it). The transport takes frames only while its buffer is under its
        # high-water mark (it pauses writing past it), so a client that does not read holds
        # at most that plus one frame there; the rest waits in the peer's bounded queue.
        self.send_now: Callable[[bytes], bool] = extensions.get(EXTENSION) or _never
        self._close_now = extensions.get(CLOSE_EXTENSION)
        self.closed_now = False

    async def send(self, frame: bytes) -> None:
        self.queued -= len(frame)
        await self.websocket.send({"type": "websocket.send", "bytes": frame})

    async def close(self, code: int, reason: str) -> None:
        # At once if possible: a client that does not read would otherwise get no close
        # frame until it reads again, and the keepalive would drop it first (1011).
        if self.closed_now:
            return
        if self._close_now is not None and self._close_now(code, reason):
            self.closed_now = True
            return
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            await self.websocket.close(code, reason)


class SocketPeer(Peer):
    """A `Peer` whose send queue is bounded in bytes as well as in frames. Frames are shared
    by everyone in the room, but a client that does not read keeps alive every frame queued
    for it: a room of large pastes would fill memory long before the frame limit is reached.
    The first frame is always queued, however large (a joiner's copy of a big document)."""

    __slots__ = ("max_bytes", "socket")

    def __init__(self, socket: WebSocketChannel, limit: int, max_bytes: int, name: str) -> None:
        super().__init__(socket, limit, name)
        self.socket = socket
        self.max_bytes = max_bytes

    def _enqueue(self, frame: bytes) -> None:
        queued = self.socket.queued
        if queued and queued + len(frame) > self.max_bytes and not self.closing:
            log.warning("closing a client too slow for its room (send queue bytes)")
            self.fail(TryAgainLater("client too slow: send queue full"))
            return
        self.socket.queued = queued + len(frame)
        super()._enqueue(frame)


PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#ff7f0e", "#3b5b92", "#a0522d", "#008080",
)  # fmt: skip


def identity_of(user: User) -> dict[str, str]:
    """The name and stable colour everyone sees for this person."""
    color = PALETTE[user.id % len(PALETTE)]
    org = f" ({user.organization.short_name})" if user.organization else ""
    return {"name": user.name + org, "color": color, "colorLight": color + "33"}


async def sync_endpoint(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    rooms: Rooms = websocket.app.state.rooms
    db: Database = websocket.app.state.db
    document_id = websocket.path_params["document_id"]
    if not origin_allowed(websocket, settings.origins()):
        log.warning("refused a sync upgrade from a foreign origin")
        await websocket.close(1008, "origin not allowed")  # before accept: HTTP 403
        return
    credential = credential_of(websocket, allow_query_token=True)
    identity, role = None, None
    if credential is not None:  # who, and their role here, in one read
        user, role = await db.lookup(lambda conn: _user_and_role(conn, credential, document_id))
        identity = None if user is None else credential.identity(user)
    await websocket.accept()
    if identity is None:
        # Counted against the address; past the limit `SyncProtocol` answers its next
        # connections with 429 before the app runs.
        failed_credential(websocket.app.state.credential_failures, client_address(websocket))
        error: SyncError = NotSignedIn("sign in first")
        await websocket.close(error.close_code, error.message)
        return
    if role is None:  # missing, or not yours: the same answer
        error = DocumentNotFound("document not found")
        await websocket.close(error.close_code, error.message)
        return
    room = await rooms.get(document_id)
    peer = SocketPeer(
        WebSocketChannel(websocket),
        settings.send_queue_messages,
        settings.send_queue_bytes,
        secrets.token_hex(4),
    )
    peer.can_write = members.can_write(role)
    peer.user_id = identity.user.id
    peer.session = identity.session
    peer.token = identity.token
    peer.identity = identity_of(identity.user)
    rooms.join(room, peer)
    receiving = asyncio.create_task(_receive(websocket, peer, room))
    receiving.add_done_callback(_log_failure)
    # Reading stops when the room decides to close the connection (e.g. too slow).
    peer.when_closed(receiving.cancel)
    try:
        await asyncio.wait({receiving})  # ends when the client leaves, or on that close
    finally:
        # Leave synchronously first: under a cancelled task group every later await fails.
        receiving.cancel()
        rooms.leave(room, peer)
        if peer.closing:  # let the close frame go out; the keepalive ping bounds this wait
            await peer.finished()
        await peer.stop()


def _user_and_role(
    conn: sqlite3.Connection, credential: Credential, document_id: str
) -> tuple[User | None, str | None]:
    user = credential.user(conn)
    if user is None or not documents.valid_id(document_id):
        return user, None
    return user, members.role_of(conn, document_id, user.id)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a sync connection failed", exc_info=task.exception())


# One connection may send this many messages a second on average, in bursts of up to BURST
# (a person typing sends well under 100). Beyond that its socket is read more slowly, so TCP
# pushes back on the sender, instead of its flood taking the event loop from everyone else.
MESSAGES_PER_SECOND = 1000.0
BURST = 2000.0


class Receiver:
    """Handles each message of one connection: the room takes it, a `SyncError` closes the
    connection with its code, and a flood is slowed down: a call answers how long to stop
    reading the connection (see MESSAGES_PER_SECOND), 0 most of the time."""

    __slots__ = ("allowance", "loop", "peer", "refilled", "room")

    def __init__(self, peer: Peer, room: Room) -> None:
        self.peer = peer
        self.room = room
        self.loop = asyncio.get_running_loop()
        self.allowance = BURST
        self.refilled = self.loop.time()

    def __call__(self, data: bytes | str) -> float:
        peer = self.peer
        if peer.closing:
            return 0.0
        if not isinstance(data, bytes):
            peer.fail(UnsupportedData("text frames are not supported"))
            return 0.0
        try:
            self.room.receive(peer, data)
        except SyncError as error:
            log.info("closing a sync connection: %s (%d)", error.message, error.close_code)
            peer.fail(error)
            return 0.0
        except Exception:
            log.exception("a sync connection failed")
            peer.close(1011, "internal error")
            return 0.0
        self.allowance -= 1
        if self.allowance >= 1:
            return 0.0
        now = self.loop.time()  # spent: refill by the time passed, and wait if still spent
        self.allowance = min(BURST, self.allowance + (now - self.refilled) * MESSAGES_PER_SECOND)
        self.refilled = now
        return max(0.0, (1 - self.allowance) / MESSAGES_PER_SECOND)


async def _receive(websocket: WebSocket, peer: Peer, room: Room) -> None:
    """Feed the connection's messages to the room until the client leaves. Under `accord
    serve` each message is handled as soon as it is read (`server.ws_protocol`); elsewhere
    through ASGI, one by one."""
    receiver = Receiver(peer, room)
    extensions = websocket.scope.get("extensions", {})
    receive_with, hold = extensions.get(RECEIVE_EXTENSION), extensions.get(HOLD_EXTENSION)
    if receive_with is not None and hold is not None:

        def handle(data: bytes | str) -> None:
            wait = receiver(data)
            if wait:
                hold(wait)

        receive_with(handle)
        try:
            while True:  # only text messages and the disconnect still come this way
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                handle(message.get("text", ""))
        finally:
            receive_with(None)
        return
    while not peer.closing:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        frame = message.get("bytes")
        wait = receiver(frame if frame is not None else message.get("text", ""))
        if wait:
            await asyncio.sleep(wait)
