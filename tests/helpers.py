"""Test helpers: a real Accord server in a subprocess, and a small Python Yjs sync client
(pycrdt + websockets) that speaks the y-websocket protocol like any other client."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websockets
from pycrdt import Doc, Map, Text

from server.sync import protocol

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ADMIN_EMAIL = "admin@test.accord"


def stamped(state: dict[str, object], user_id: int = 1, name: str = "Admin") -> dict[str, object]:
    """An awareness state as others see it: the server sets ``user`` from the account (the
    test admin is user 1 of a fresh database)."""
    from server.sync_socket import PALETTE

    color = PALETTE[user_id % len(PALETTE)]
    return {**state, "user": {"name": name, "color": color, "colorLight": color + "33"}}


def make_admin(db_path: Path | str) -> str:
    """An admin account in the database file, and an API token for it (returned)."""
    from server import people, sessions
    from server.connection import transaction

    with transaction(str(db_path)) as conn:
        user = people.user_by_email(conn, ADMIN_EMAIL)
        if user is None:
            user_id = people.add_user(
                conn, ADMIN_EMAIL, "Admin", None, "test-password-123", is_admin=True
            )
        else:
            user_id = user.id
        _, token = sessions.create_token(conn, user_id, "tests")
        return token


@dataclass
class Server:
    """`accord serve` in a subprocess, on a free port, with its own database file."""

    db: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    token: str = ""

    @property
    def ws_url(self) -> str:
        """The sync endpoint with the admin's token (`SyncClient` puts the room first)."""
        return f"ws://127.0.0.1:{self.port}/sync?token={self.token}"

    def sync_url(self, document_id: str, token: str | None = None) -> str:
        return f"ws://127.0.0.1:{self.port}/sync/{document_id}?token={token or self.token}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> Server:
        if not self.token:
            self.token = make_admin(self.db)
        self.port = free_port()
        self.log = self.db.with_suffix(f".{self.port}.log")
        env = {**os.environ, "ACCORD_LOG_LEVEL": "info", **self.env}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--db",
                    str(self.db),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                httpx.get(self.url + "/favicon.ico", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""

    def create_document(self, title: str = "Borrador") -> str:
        response = httpx.post(
            self.url + "/api/documents", json={"title": title}, headers=self.headers
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def markdown(self, document_id: str) -> str:
        response = httpx.get(f"{self.url}/api/documents/{document_id}", headers=self.headers)
        response.raise_for_status()
        return str(response.json()["markdown"])


class SyncClient:
    """A y-websocket client on pycrdt: records every update the server sent it."""

    def __init__(self, url: str, document_id: str, doc: Doc | None = None) -> None:
        base, _, query = url.partition("?")
        self.url = f"{base}/{document_id}" + (f"?{query}" if query else "")
        self.doc = doc or Doc()
        self.text = self.doc.get("content", type=Text)
        self.received: list[bytes] = []
        self.awareness: list[bytes] = []
        self.frames: list[bytes] = []
        self.synced = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()
        self.ws: websockets.ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def connect(self, handshake: bool = True) -> SyncClient:
        self.ws = await websockets.connect(self.url, max_size=None, compression=None)
        self._task = asyncio.create_task(self._read())
        if handshake:
            await self.ws.send(protocol.sync_step1(self.doc.get_state()))
            await asyncio.wait_for(self.synced.wait(), 10)
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                assert isinstance(frame, bytes)
                self.frames.append(frame)
                await self._handle(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""
            self.closed.set()

    async def _handle(self, frame: bytes) -> None:
        assert self.ws is not None
        message = protocol.parse(frame, max_awareness_entries=10_000)
        if isinstance(message, protocol.SyncMessage):
            if message.kind is protocol.SyncType.STEP1:
                with contextlib.suppress(websockets.ConnectionClosed):
                    await self.ws.send(protocol.sync_step2(self.doc.get_update(message.payload)))
                return
            self.received.append(message.payload)
            self.doc.apply_update(message.payload)
            if message.kind is protocol.SyncType.STEP2:
                self.synced.set()
            self._changed.set()
        elif isinstance(message, protocol.AwarenessMessage):
            self.awareness.append(message.payload)

    async def edit(self, index: int, content: str) -> bytes:
        """Insert text at a code point index, send the update and return it.

        pycrdt's Text.insert counts UTF-8 bytes: an index inside a multi-byte character
        corrupts the local Doc, so convert here.
        """
        before = self.doc.get_state()
        self.text.insert(len(str(self.text)[:index].encode("utf-8")), content)
        update = self.doc.get_update(before)
        await self.send(protocol.sync_update(update))
        return update

    async def send(self, frame: bytes | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame)

    async def wait_text(self, expected: str, timeout: float = 10) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while str(self.text) != expected:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(
                    f"text is {str(self.text)[:200]!r}... ({len(str(self.text))} chars), "
                    f"expected {expected[:200]!r}... ({len(expected)} chars)"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_closed(self, timeout: float = 5) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


def typed(client: int, text: str) -> list[bytes]:
    """``text`` typed one character at a time at the end by ``client``: one update each."""
    doc: Doc[Text] = Doc(client_id=client)
    content = doc.get("content", type=Text)
    updates = []
    for character in text:
        before = doc.get_state()
        content.insert(len(content), character)
        updates.append(doc.get_update(before))
    return updates


def string_between(
    client: int, text: str, origin: tuple[int, int], right: tuple[int, int], clock: int = 0
) -> bytes:
    """An update of one string struct of ``client`` at ``clock``, typed between two
    neighbours (by hand: a forged one, when they were not side by side)."""
    data = text.encode()
    body = bytes([1, 1]) + protocol.var_uint(client) + protocol.var_uint(clock) + b"\xc4"
    for at in (origin, right):
        body += protocol.var_uint(at[0]) + protocol.var_uint(at[1])
    return body + protocol.var_uint(len(data)) + data + b"\x00"


def map_entries(client: int) -> bytes:
    """An update of a map ``meta`` whose key ``k`` was set twice by ``client``: the entries
    (client, 0) and (client, 1), in the key's list, not in the text."""
    doc: Doc[Map] = Doc(client_id=client)
    doc["meta"] = meta = Map()
    meta["k"] = 1
    meta["k"] = 2
    return doc.get_update()


def text_of(*updates: bytes) -> str:
    doc = Doc()
    text = doc.get("content", type=Text)
    for update in updates:
        doc.apply_update(update)
    return str(text)


@pytest.fixture(autouse=True)
def collect_abandoned_sockets() -> Iterator[None]:
    """Autouse in the campaign tests (imported there). The campaigns abandon connections on
    purpose (a flooder, a client that never reads, connections the server closed mid-frame):
    collect them here, inside the test, rather than as unraisable ResourceWarnings at the end
    of the session."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def whole_order_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order check without its time budget: its 2 ms of CPU per update include a garbage
    collection that happens to run then (tens of ms in a full test run's heap), after which
    the check gives up; tests of what it refuses must not depend on that."""
    from server.sync import order

    monkeypatch.setattr(order, "BUDGET", 60.0)
