"""Side-by-side sync benchmarks: Accord vs the reference Yjs server (@y/websocket-server).

    python -m benchmarks.run [--scenario NAME ...] [--server accord|reference ...] [--seconds S]

Each scenario runs against each server in turn (alternating), on loopback, with this process
as the load generator (it does no CRDT work: writers send pre-encoded updates, observers only
parse the header of what arrives and time it). Prints a table and writes JSON to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets
from pycrdt import Doc, Text

from server.sync import protocol

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    kind: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    tmp: str = ""

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}" + ("/sync" if self.kind == "accord" else "")

    def start(self) -> None:
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix=f"bench-{self.kind}-")
        if self.kind == "accord":
            self.token = bench_token(f"{self.tmp}/accord.db")
            cmd = [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--db",
                f"{self.tmp}/accord.db",
            ]
            env = {**os.environ, "ACCORD_LOG_LEVEL": "warning"}
        else:
            cmd = ["node", "web/node_modules/@y/websocket-server/src/server.js"]
            env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not start")

    token: str = ""

    def new_room(self, title: str) -> str:
        if self.kind == "accord":
            r = httpx.post(
                f"http://127.0.0.1:{self.port}/api/documents",
                json={"title": title},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            r.raise_for_status()
            return str(r.json()["id"])
        return title.replace(" ", "-")

    def room_url(self, room: str) -> str:
        if self.kind == "accord":
            return f"{self.ws_base}/{room}?token={self.token}"
        return f"{self.ws_base}/{room}"

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def rss_mb(self, peak: bool = False) -> float:
        assert self.proc is not None
        key = "VmHWM" if peak else "VmRSS"
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench_token(db: str) -> str:
    """An admin with an API token in a fresh database: the load generator authenticates."""
    from server import people, sessions
    from server.db import transaction

    with transaction(db) as conn:
        user_id = people.add_user(
            conn, "bench@accord.local", "Bench", None, "bench-password-1", is_admin=True
        )
        return sessions.create_token(conn, user_id, "benchmark")[1]


@contextmanager
def running(kind: str) -> Iterator[ServerProcess]:
    server = ServerProcess(kind)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def writer_updates(count: int, client_id: int, cursor: bool = False) -> list[bytes]:
    """Pre-encoded Update frames: one character each, clocks 0..count-1 of one client."""
    doc = Doc(client_id=client_id)
    text = doc.get("content", type=Text)
    frames = []
    for i in range(count):
        before = doc.get_state()
        text.insert(len(text), "abcdefghij"[i % 10])
        frames.append(protocol.sync_update(doc.get_update(before)))
    return frames


def first_struct(frame: bytes) -> tuple[int, int] | None:
    """(client, clock) of the first struct of an Update or SyncStep2 frame, without a Doc."""
    reader = protocol.Reader(frame)
    if reader.var_uint() != 0 or reader.var_uint() not in (1, 2):
        return None
    reader.var_uint()  # payload length
    if reader.var_uint() == 0:  # number of clients
        return None
    reader.var_uint()  # number of structs
    return reader.var_uint(), reader.var_uint()


@dataclass
class Outcome:
    scenario: str
    server: str
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    sent: int = 0
    expected: int = 0
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    loadgen_cpu_s: float = 0.0

    def summary(self) -> dict[str, object]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else float("nan")

        return {
            "scenario": self.scenario,
            "server": self.server,
            "updates_sent": self.sent,
            "deliveries": len(lat),
            "deliveries_expected": self.expected,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1], 2) if lat else float("nan"),
            "mean_ms": round(statistics.fmean(lat), 2) if lat else float("nan"),
            "throughput_updates_s": round(self.sent / self.seconds, 1) if self.seconds else 0,
            "server_cpu_s": round(self.server_cpu_s, 2),
            "server_peak_rss_mb": round(self.peak_rss_mb, 1),
            "loadgen_cpu_s": round(self.loadgen_cpu_s, 2),
        }


class Observer:
    """Speaks the protocol, applies nothing, timestamps arriving updates by (client, clock)."""

    def __init__(
        self,
        url: str,
        sent_at: dict[tuple[int, int], float],
        sink: list[float],
        own: int | None = None,
    ) -> None:
        self.url = url
        self.sent_at = sent_at
        self.sink = sink
        self.own = own
        self.ws: websockets.ClientConnection | None = None
        self.synced = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, compression=None, max_size=None)
        await self.ws.send(protocol.sync_step1(b"\x00"))
        self.task = asyncio.create_task(self.read())
        await asyncio.wait_for(self.synced.wait(), 60)

    async def read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                assert isinstance(frame, bytes)
                if frame[:2] == b"\x00\x01":
                    self.synced.set()
                elif frame[:2] == b"\x00\x00":  # a SyncStep1: answer with an empty update
                    await self.ws.send(protocol.sync_step2(b"\x00\x00"))
                    continue
                key = first_struct(frame)
                if key is not None and key[0] != self.own:
                    sent = self.sent_at.get(key)
                    if sent is not None:
                        self.sink.append((now - sent) * 1000)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await self.task


async def fanout(
    server: ServerProcess,
    writers: int,
    observers: int,
    rate: float,
    seconds: float,
    burst: bool,
    cursors: bool,
    name: str,
) -> Outcome:
    room = server.new_room(name)
    url = server.room_url(room)
    count = int(rate * seconds) if not burst else 400
    sent_at: dict[tuple[int, int], float] = {}
    latencies: list[float] = []
    writer_ids = [1000 + i for i in range(writers)]
    frames = {cid: writer_updates(count, cid) for cid in writer_ids}
    peers = [Observer(url, sent_at, latencies, own=cid) for cid in writer_ids]
    peers += [Observer(url, sent_at, latencies) for _ in range(observers)]
    for chunk in range(0, len(peers), 50):
        await asyncio.gather(*(p.connect() for p in peers[chunk : chunk + 50]))
    cpu0 = server.cpu_seconds()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()

    async def write(index: int, cid: int) -> None:
        ws = peers[index].ws
        assert ws is not None
        interval = 1 / rate
        next_at = time.perf_counter() + (index / max(1, writers)) * interval
        for clock, frame in enumerate(frames[cid]):
            if not burst:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += interval
            sent_at[(cid, clock)] = time.perf_counter()
            await ws.send(frame)
            if cursors:
                state = json.dumps({"user": {"name": f"w{cid}"}, "cursor": {"anchor": clock}})
                await ws.send(protocol.awareness([(cid, clock + 1, state)]))
            if burst and clock % 20 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(write(i, cid) for i, cid in enumerate(writer_ids)))
    expected = writers * count * (writers - 1 + observers)
    deadline = time.perf_counter() + 30
    while len(latencies) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    outcome = Outcome(
        name,
        server.kind,
        latencies,
        writers * count,
        expected,
        elapsed,
        server.cpu_seconds() - cpu0,
        server.rss_mb(peak=True),
        (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime),
    )
    for chunk in range(0, len(peers), 100):
        await asyncio.gather(*(p.close() for p in peers[chunk : chunk + 100]))
    return outcome


SCENARIOS = {
    "writers20-paced": dict(writers=20, observers=0, rate=10, burst=False, cursors=False),
    "writers20-paced-cursors": dict(writers=20, observers=0, rate=10, burst=False, cursors=True),
    "writers20-burst": dict(writers=20, observers=0, rate=1000, burst=True, cursors=False),
    "observers100": dict(writers=1, observers=100, rate=25, burst=False, cursors=False),
    "observers500": dict(writers=1, observers=500, rate=25, burst=False, cursors=False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--server", action="append", choices=["accord", "reference"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    scenarios = args.scenario or list(SCENARIOS)
    servers = args.server or ["accord", "reference"]
    results = []
    for name in scenarios:
        for _ in range(args.rounds):
            for kind in servers:  # alternate servers within each scenario
                with running(kind) as server:
                    outcome = asyncio.run(
                        fanout(server, seconds=args.seconds, name=name, **SCENARIOS[name])
                    )  # type: ignore[arg-type]
                results.append(outcome.summary())
                print(json.dumps(results[-1]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }
    out = RESULTS / f"run-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print_table(results)
    print(f"\nwritten to {out.relative_to(ROOT)}")


def print_table(results: list[dict[str, object]]) -> None:
    cols = [
        "scenario",
        "server",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "throughput_updates_s",
        "deliveries",
        "deliveries_expected",
        "server_cpu_s",
        "server_peak_rss_mb",
        "loadgen_cpu_s",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in results:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
