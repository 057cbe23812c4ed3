"""Shared pieces of the fault campaigns: a real `accord serve` process that can be killed and
restarted on the same port and database, a fresh database with a token and documents, a
reader of what storage holds, and a lightweight writing client ("author").

An author speaks the y-websocket protocol with its own pycrdt `Doc`, which only ever holds
the author's own edits: it appends text to its own run, so every update it sends is a valid
Yjs update that needs nothing from anyone else, and its state vector answers exactly "which
of my edits does the server have". It never applies what it receives (that would make it the
bottleneck); it keeps the distinct updates the server sent it, to check them against storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from pycrdt import Doc, Text, get_update

from server.sync import protocol

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
WORDS = ("acuerdo ", "federación ", "art. ", "estatuto ", "votación ", "enmienda ", "x", "y ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup_database(db: Path, documents: int) -> tuple[str, list[str]]:
    """A fresh database with an admin, an API token for it (returned, like
    tests/helpers.make_admin) and ``documents`` documents the admin chairs."""
    from server import documents as docs
    from server import people, sessions
    from server.connection import transaction

    with transaction(str(db)) as conn:
        user_id = people.add_user(
            conn, "campaign@accord.local", "Campaign", None, "campaign-password-1", is_admin=True
        )
        _, token = sessions.create_token(conn, user_id, "fault campaign")
        ids = [docs.create(conn, f"Estatuto {i}", chair=user_id).id for i in range(documents)]
    return token, ids


def stored_state_vectors(db: Path, document_ids: Sequence[str]) -> dict[str, bytes]:
    """Per document, the state vector of what storage holds (what a restarted server loads),
    read straight from the database file. Each is the state vector of a Doc the stored
    content was applied to, so it counts only what actually integrates."""
    from server.connection import connect
    from server.sync import store

    conn = connect(str(db))
    try:
        vectors = {}
        for document_id in document_ids:
            doc: Doc[Text] = Doc()
            doc.get("content", type=Text)
            doc.apply_update(store.read(conn, document_id).state)
            vectors[document_id] = doc.get_state()
        return vectors
    finally:
        conn.close()


def lacks(update: bytes, state_vector: bytes) -> bool:
    """Whether ``update`` holds any item a document with ``state_vector`` does not have."""
    return protocol.Reader(get_update(update, state_vector)).var_uint() > 0


@dataclass
class ServerProcess:
    """`accord serve` in a subprocess; restarts reuse the port and the database."""

    db: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.db.with_suffix(".log")

    def start(self, timeout: float = 30) -> float:
        """Start and wait until it accepts connections; return the seconds that took."""
        started = time.monotonic()
        env = {**os.environ, "ACCORD_LOG_LEVEL": "info", **self.env}
        command = [sys.executable, "-m", "server.cli", "serve"]
        command += ["--port", str(self.port), "--db", str(self.db)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"accord serve exited: see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return time.monotonic() - started
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("accord serve did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout: float = 60) -> tuple[int, float, float]:
        """SIGTERM; return the exit code, the seconds until the process was gone and the
        moment (`time.monotonic`) the signal was sent."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started, started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def url(self, document_id: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/sync/{document_id}?token={token}"

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return proc_cpu_seconds(self.proc.pid)


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Author:
    """A writing client that survives server restarts (see the module docstring).

    Edits are made only while connected. Per round it records: the clock after each edit it
    sent (``sent``; when: ``sent_at``) or failed to send (``unsent``), the distinct updates
    the server sent it (``received``), and ``server_clock``: the highest clock of its own the
    server declared durable in a SyncStep1 (the greeting and the 'saved' notice are sent only
    after commit).
    """

    def __init__(self, url: str, document_id: str, seed: int) -> None:
        self.url = url
        self.document_id = document_id
        self.doc: Doc[Text] = Doc()
        self.text = self.doc.get("content", type=Text)
        self.client_id = self.doc.client_id
        self.word = WORDS[seed % len(WORDS)]
        self.clock = 0
        self.server_clock = 0
        self.sent: list[int] = []
        self.sent_at: list[float] = []
        self.unsent: list[int] = []
        self.received: dict[bytes, None] = {}
        self.close_codes: list[int | None] = []
        self.connected = False
        self.synced = asyncio.Event()
        self.resynced = asyncio.Event()
        self.ws: websockets.ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    def new_round(self) -> None:
        self.sent, self.sent_at, self.unsent = [], [], []
        self.received, self.close_codes = {}, []

    async def connect(self, retry_seconds: float = 0.05, timeout: float = 120) -> None:
        """Connect (retrying while the server is down), then sync both ways like
        y-websocket: send our SyncStep1, answer the server's with a SyncStep2."""
        self.synced.clear()
        self.resynced.clear()
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ws = await websockets.connect(
                    self.url, max_size=None, compression=None, open_timeout=10
                )
                break
            except (TimeoutError, OSError, websockets.InvalidHandshake):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(retry_seconds)
        self.connected = True
        self._reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send(protocol.sync_step1(self.doc.get_state()))

    async def _read(self, ws: websockets.ClientConnection) -> None:
        try:
            async for frame in ws:
                assert isinstance(frame, bytes)
                if frame[0] != 0:
                    continue  # awareness, auth: not our business here
                kind = frame[1]
                if kind == 0:  # SyncStep1: the server's durable state vector
                    vector = protocol.Reader(frame[2:]).var_bytes()
                    self.server_clock = max(
                        self.server_clock,
                        protocol.parse_state_vector(vector).get(self.client_id, 0),
                    )
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await ws.send(protocol.sync_step2(self.doc.get_update(vector)))
                else:
                    self.received[protocol.Reader(frame[2:]).var_bytes()] = None
                    if kind == 1:
                        self.synced.set()
                if self.synced.is_set() and self.server_clock >= self.clock:
                    self.resynced.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.connected = False
            self.close_codes.append(ws.close_code)

    def edit(self) -> bytes:
        """Append a word to our own run of text; return the update."""
        before = self.doc.get_state()
        self.text.insert(len(self.text), self.word)
        self.clock = protocol.parse_state_vector(self.doc.get_state())[self.client_id]
        return self.doc.get_update(before)

    async def type(self, rate: float, stop: asyncio.Event, phase: float) -> None:
        """Edit ``rate`` times a second while connected, until ``stop``."""
        interval = 1 / rate
        loop = asyncio.get_running_loop()
        tick = loop.time() + phase * interval
        while not stop.is_set():
            tick += interval
            await asyncio.sleep(max(0.0, tick - loop.time()))
            if stop.is_set() or not self.connected or self.ws is None:
                continue
            update = self.edit()
            try:
                await self.ws.send(protocol.sync_update(update))
            except websockets.ConnectionClosed:
                self.unsent.append(self.clock)
            else:
                self.sent.append(self.clock)
                self.sent_at.append(time.monotonic())

    async def wait_closed(self, timeout: float = 30) -> None:
        if self._reader is not None:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader


def machine() -> dict[str, Any]:
    import pycrdt
    import uvicorn

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pycrdt": getattr(pycrdt, "__version__", "?"),
        "uvicorn": uvicorn.__version__,
        "websockets": websockets.__version__,
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A plain text table: ``columns`` are (key, heading)."""

    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    cells = [[heading for _, heading in columns]]
    cells += [[cell(row.get(key, "")) for key, _ in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def summary(values: Sequence[float], fmt: Callable[[float], str] = lambda v: f"{v:.3f}") -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    return f"median {fmt(median)}, max {fmt(ordered[-1])}"
