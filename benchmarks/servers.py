"""The three servers under test, each run as its own process on a free loopback port.

- ``accord``: `accord serve` on a fresh SQLite file; the load generator uses an API token.
- ``reference``: the reference Yjs server, ``@y/websocket-server`` 0.1.1 on Node (in memory).
- ``pycrdt``: pycrdt-websocket, the Python peer (in memory; `benchmarks.pycrdt_server`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("accord", "reference", "pycrdt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    kind: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    tmp: str = ""
    token: str = ""
    user_id: int = 0
    # The name and colour clients announce in their awareness state. Accord's web app
    # announces what the server gives its account (`/api/me`); the load generator does too.
    identity: dict[str, str] = field(default_factory=lambda: {"name": "Bench"})

    @property
    def db(self) -> str:
        return f"{self.tmp}/accord.db"

    def start(self) -> None:
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix=f"bench-{self.kind}-")
        env = {**os.environ, **self.env}
        if self.kind == "accord":
            self.user_id, self.token, self.identity = bench_token(self.db)
            cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)]
            cmd += ["--db", self.db]
            env.setdefault("ACCORD_LOG_LEVEL", "warning")
            profile = os.environ.get("BENCH_PROFILE")  # py-spy flame graph of the server
            if profile:
                spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--rate", "100"]
                spy += os.environ.get("BENCH_PROFILE_FLAGS", "").split()
                cmd = [*spy, "--format", "raw", "-o", profile, "--", *cmd]
        elif self.kind == "reference":
            cmd = ["node", "web/node_modules/@y/websocket-server/src/server.js"]
            env.update(HOST="127.0.0.1", PORT=str(self.port))
        else:
            cmd = [sys.executable, "-m", "benchmarks.pycrdt_server", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not start")

    # -- rooms ---------------------------------------------------------------------------

    def new_rooms(self, count: int, title: str = "bench") -> list[str]:
        """``count`` fresh rooms. For Accord, documents whose chair is the bench user."""
        if self.kind != "accord":
            return [f"{title}-{i}-{os.urandom(4).hex()}" for i in range(count)]
        from server import documents
        from server.connection import transaction

        with transaction(self.db) as conn:
            return [documents.create(conn, f"{title} {i}", self.user_id).id for i in range(count)]

    def store_log(self, room: str, updates: list[bytes]) -> None:
        """Accord only: append ``updates`` to the document's stored log, as edits would."""
        from server.connection import transaction

        with transaction(self.db) as conn:
            conn.executemany(
                "INSERT INTO updates (document_id, data) VALUES (?, ?)",
                ((room, u) for u in updates),
            )

    def room_url(self, room: str) -> str:
        if self.kind == "accord":
            return f"ws://127.0.0.1:{self.port}/sync/{room}?token={self.token}"
        return f"ws://127.0.0.1:{self.port}/{room}"

    # -- measurements --------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self, peak: bool = False) -> float:
        assert self.proc is not None
        key = "VmHWM" if peak else "VmRSS"
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return 0.0

    def version(self) -> str:
        if self.kind == "reference":
            pkg = ROOT / "web/node_modules/@y/websocket-server/package.json"
            import json

            return f"@y/websocket-server {json.loads(pkg.read_text())['version']}"
        from importlib.metadata import version

        if self.kind == "pycrdt":
            return f"pycrdt-websocket {version('pycrdt-websocket')}"
        return f"accord {version('accord')}"

    def stop(self) -> None:
        if self.proc is not None:
            if os.environ.get("BENCH_PROFILE") and self.kind == "accord":
                self.proc.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench_token(db: str) -> tuple[int, str, dict[str, str]]:
    """An admin with an API token in a fresh database (the load generator authenticates),
    and the identity the server gives it."""
    from server import people, sessions
    from server.connection import transaction
    from server.sync_socket import identity_of

    with transaction(db) as conn:
        user_id = people.add_user(
            conn, "bench@accord.local", "Bench", None, "bench-password-1", is_admin=True
        )
        user = people.user_by_id(conn, user_id)
        assert user is not None
        token = sessions.create_token(conn, user_id, "benchmark")[1]
        return user_id, token, identity_of(user)


@contextmanager
def running(kind: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(kind, env or {})
    server.start()
    try:
        yield server
    finally:
        server.stop()
