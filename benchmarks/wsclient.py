"""A minimal websocket client for the load generator: an asyncio Protocol, no library.

The `websockets` library costs tens of microseconds of Python per frame; with 1,000 clients
and ~20,000 arriving frames a second that made the load generator the bottleneck. This client
parses frames straight from ``data_received`` and hands each binary message, with the time
its bytes arrived, to a callback. Frames it sends are masked with a zero key (legal: the key
is random for proxies' sake, and there is no proxy on loopback), so sending costs no XOR.
No extensions are offered, so no server compresses.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

OnMessage = Callable[[bytes, float], None]

ZERO_MASK = b"\x00\x00\x00\x00"


def frame_header(opcode: int, length: int) -> bytes:
    if length < 126:
        return bytes((0x80 | opcode, 0x80 | length)) + ZERO_MASK
    if length < 65536:
        return bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", length) + ZERO_MASK
    return bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", length) + ZERO_MASK


class Client(asyncio.Protocol):
    def __init__(
        self, on_message: OnMessage, on_open: Callable[[Client], None] | None = None
    ) -> None:
        self.on_message = on_message
        self.on_open = on_open
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes] = []
        self.close_code: int | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.on_open is not None:
            self.on_open(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.handshake.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.handshake.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                assert self.transport is not None
                self.transport.close()
                return
            self.handshake.set_result(None)
        self._parse(now)

    # -- frames --------------------------------------------------------------------------

    def _parse(self, now: float) -> None:
        buf = self.buffer
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            self._frame(b0 & 0x80, b0 & 0x0F, payload, now)
        if pos:
            del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode in (0x1, 0x2, 0x0):
            if not fin:
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join([*self.fragments, payload])
                self.fragments = []
            self.on_message(payload, now)
        elif opcode == 0x9:  # ping
            self._write(0xA, payload)
        elif opcode == 0x8:  # close
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            if self.transport is not None and not self.transport.is_closing():
                self._write(0x8, payload[:2])
                self.transport.close()

    def _write(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(frame_header(opcode, len(payload)) + payload)

    # -- the client's face ---------------------------------------------------------------

    def send(self, message: bytes) -> None:
        self._write(0x2, message)

    async def close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self._write(0x8, struct.pack("!H", 1000))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        except TimeoutError:
            self.transport.abort()


async def connect(
    url: str,
    on_message: OnMessage,
    timeout: float = 60,
    on_open: Callable[[Client], None] | None = None,
) -> Client:
    """Open a websocket; ``on_open(client)`` runs before any message can arrive."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: Client(on_message, on_open), host, port)
    assert client.transport is not None
    key = base64.b64encode(os.urandom(16)).decode()
    client.transport.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await asyncio.wait_for(client.handshake, timeout)
    return client
