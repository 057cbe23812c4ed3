"""Soak: hours of steady editing must not grow the server's memory.

    python -m benchmarks.faults.soak [--minutes 30] [--connections 1000] [--rooms 100]
                                     [--edits append|replace]

The load of scenario 3 of the benchmarks: ``--connections`` clients over ``--rooms``
documents, each typing one edit a second and sending its cursor (awareness) once a second,
against a real `accord serve`, for ``--minutes``. The load runs in ``--workers`` processes
of its own; clients speak the protocol (they answer the server's SyncStep1, so the 'saved'
notices flow) but never apply what they receive. Every 10 s the server's RSS is sampled;
the report gives the least-squares slope of RSS over time in MB/hour, over all samples and
over those after ``--warmup-seconds`` (when every room is open and the caches are warm).
Then the clients leave, and the RSS once every room has unloaded is set beside the RSS before
the load: what the server kept, against how much the documents grew (their stored size).

With ``--edits append`` (the default, scenario 3) each edit adds a word, so the documents
grow all the time and so does the memory of their open rooms. With ``--edits replace`` each
edit replaces the client's word with the next one in one transaction, so every document's
text stays the same length: a slope that stays with this load is not the documents' growth.

Not part of the test suite. Prints a table of samples and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import random
import re
import resource
import sqlite3
import sys
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import websockets
from pycrdt import Doc, Text

from benchmarks.faults.common import (
    WORDS,
    ServerProcess,
    machine,
    setup_database,
    table,
    workdir,
    write_results,
)
from server.sync import protocol, store
from server.sync.store import content_of


class SoakClient:
    """One connection: edits and cursor once a second each; reconnects if closed."""

    def __init__(self, url: str, seed: int, replace: bool = False) -> None:
        self.url = url
        self.replace = replace
        self.doc: Doc[Text] = Doc()
        self.text = self.doc.get("content", type=Text)
        self.word = WORDS[seed % len(WORDS)]
        self.awareness_clock = 0
        self.stats = {"edits": 0, "cursors": 0, "frames": 0, "closes": 0, "errors": 0}

    async def run(self, stop: asyncio.Event, ready: asyncio.Event, phase: float) -> None:
        first = True
        while not stop.is_set():
            try:
                # Like y-websocket, no pings of its own (the server's pings are answered).
                async with websockets.connect(
                    self.url, max_size=None, compression=None, open_timeout=60, ping_interval=None
                ) as ws:
                    await ws.send(protocol.sync_step1(self.doc.get_state()))
                    reader = asyncio.create_task(self._read(ws))
                    if first:
                        ready.set()
                        first = False
                    try:
                        await self._type(ws, stop, phase)
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
            except websockets.ConnectionClosed:
                self.stats["closes"] += 1
            except (TimeoutError, OSError, websockets.InvalidHandshake):
                self.stats["errors"] += 1
                await asyncio.sleep(1)

    async def _read(self, ws: websockets.ClientConnection) -> None:
        async for frame in ws:
            self.stats["frames"] += 1
            if isinstance(frame, bytes) and frame[:2] == b"\x00\x00":
                vector = protocol.Reader(frame[2:]).var_bytes()
                await ws.send(protocol.sync_step2(self.doc.get_update(vector)))

    async def _type(
        self, ws: websockets.ClientConnection, stop: asyncio.Event, phase: float
    ) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time() + phase
        while not stop.is_set():
            await asyncio.sleep(max(0.0, tick - loop.time()))
            tick += 1.0
            before = self.doc.get_state()
            with self.doc.transaction():
                written = len(self.text)
                self.text.insert(written, self.word)
                if self.replace and written:
                    del self.text[0:written]
            await ws.send(protocol.sync_update(self.doc.get_update(before)))
            self.stats["edits"] += 1
            await asyncio.sleep(0.5)
            self.awareness_clock += 1
            at = len(self.text)
            cursor = {"anchor": {"client": self.doc.client_id, "clock": at}, "head": at}
            state = json.dumps({"cursor": cursor})
            await ws.send(protocol.awareness([(self.doc.client_id, self.awareness_clock, state)]))
            self.stats["cursors"] += 1


def worker(
    urls: list[str], seed: int, replace: bool, ready: Any, stop: Event, results: Any
) -> None:
    """One load-generator process: its share of the connections."""

    async def main() -> dict[str, Any]:
        rng = random.Random(seed)
        clients = [SoakClient(url, seed * 100_000 + i, replace) for i, url in enumerate(urls)]
        halt = asyncio.Event()
        opened = [asyncio.Event() for _ in clients]
        tasks = []
        for client, event in zip(clients, opened, strict=True):
            tasks.append(asyncio.create_task(client.run(halt, event, rng.random())))
            await asyncio.sleep(0.005)  # ramp up: ~200 connections a second per worker
        # Wait for every connection to open, but not forever: on a loaded machine a few may
        # still be retrying; the report says how many were open.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 300)
        ready.put(sum(e.is_set() for e in opened))
        while not stop.is_set():
            await asyncio.sleep(0.5)
        halt.set()
        await asyncio.wait(tasks, timeout=10)
        totals = {k: sum(c.stats[k] for c in clients) for k in clients[0].stats}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {**totals, "cpu_s": usage.ru_utime + usage.ru_stime}

    results.put(asyncio.run(main()))


def warnings_in(log: Path) -> dict[str, int]:
    """How often each WARNING or ERROR message appears in the server's log."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        for level in (" WARNING ", " ERROR "):
            if level in line:
                message = level.strip() + " " + line.split(level, 1)[1][:80]
                counts[message] = counts.get(message, 0) + 1
    return counts


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    num = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    den = sum((t - mean_t) ** 2 for t, _ in samples)
    return num / den * 3600 if den else 0.0


def soak(args: argparse.Namespace) -> dict[str, Any]:
    work = workdir("accord-soak-")
    db = work / "accord.db"
    token, ids = setup_database(db, args.rooms)
    env = {"ACCORD_ROOM_UNLOAD_SECONDS": "5", **dict(item.split("=", 1) for item in args.env)}
    # INFO: the log then says when the WAL started over (counted in the report).
    server = ServerProcess(db, env={"ACCORD_LOG_LEVEL": "info", **env})
    server.start()
    rss_idle = server.rss_mb()
    urls = [server.url(ids[i % args.rooms], token) for i in range(args.connections)]
    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [urls[w :: args.workers] for w in range(args.workers)]
    workers = [
        ctx.Process(target=worker, args=(share, w, args.edits == "replace", ready, stop, results))
        for w, share in enumerate(shares)
    ]
    try:
        for process in workers:
            process.start()
        connected = sum(ready.get(timeout=900) for _ in workers)
        print(f"{connected} connections open; soaking for {args.minutes} min", file=sys.stderr)
        samples: list[tuple[float, float]] = []
        wal_sizes: list[int] = []
        started = time.monotonic()
        cpu_start = server.cpu_seconds()
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            samples.append((elapsed, server.rss_mb()))
            wal_sizes.append(wal_bytes(db))
            print(
                f"{elapsed:7.0f} s  RSS {samples[-1][1]:.1f} MB  WAL {wal_sizes[-1] / 1e6:.1f} MB",
                file=sys.stderr,
            )
            time.sleep(min(args.interval, max(0.0, args.minutes * 60 - elapsed)))
        samples.append((time.monotonic() - started, server.rss_mb()))
        server_cpu = server.cpu_seconds() - cpu_start
        alive = server.proc is not None and server.proc.poll() is None
        stop.set()
        load = [results.get(timeout=120) for _ in workers]
        # Every client has gone: once the rooms have unloaded (and their versions are
        # written) and the freed memory is released, what stays is what the server kept.
        time.sleep(float(env["ACCORD_ROOM_UNLOAD_SECONDS"]) + args.settle_seconds)
        rss_after_unload = server.rss_mb()
    finally:
        stop.set()
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        server.stop()
    steady = [(t, m) for t, m in samples if t >= args.warmup_seconds]
    totals = {k: sum(w[k] for w in load) for k in load[0]}
    seconds = samples[-1][0]
    return {
        "scenario": "soak",
        "options": vars(args),
        "machine": machine(),
        "server_alive_at_end": alive,
        "server_warnings": warnings_in(server.log),
        "connections": connected,
        "seconds": seconds,
        "samples": [{"t_s": t, "rss_mb": m} for t, m in samples],
        "rss_start_mb": samples[0][1],
        "rss_end_mb": samples[-1][1],
        "rss_max_mb": max(m for _, m in samples),
        "rss_idle_before_mb": rss_idle,
        "rss_after_unload_mb": rss_after_unload,
        "wal_max_bytes": max(wal_sizes),
        "wal_end_bytes": wal_sizes[-1],
        "wal_restarts": len(re.findall("the WAL starts over", server.log.read_text())),
        "stored_bytes": stored_bytes(db),
        "text_chars": text_lengths(db),
        "slope_mb_per_hour": slope_mb_per_hour(samples),
        "steady_slope_mb_per_hour": slope_mb_per_hour(steady),
        "server_cpu_s": server_cpu,
        "edits_per_s": totals["edits"] / seconds,
        "cursors_per_s": totals["cursors"] / seconds,
        "frames_received_per_s": totals["frames"] / seconds,
        "load": totals,
    }


def wal_bytes(db: Path) -> int:
    """The size of the database's write-ahead log file (0 when there is none)."""
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def stored_bytes(db: Path) -> int:
    """The documents' stored size (compacted states and the log rows after them)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(
            conn.execute(
                "SELECT (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM updates)"
                " + (SELECT COALESCE(SUM(LENGTH(state)), 0) FROM document_states)"
            ).fetchone()[0]
        )


def text_lengths(db: Path) -> list[int]:
    """Each document's text length at the end, as a restarted server would load it."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM documents")]
        return sorted(len(content_of([store.read(conn, i).state])[0]) for i in ids)


def report(result: dict[str, Any]) -> str:
    rows = [{"t": s["t_s"], "rss": s["rss_mb"]} for s in result["samples"]]
    load = result["load"]
    return "\n".join(
        [
            table(rows, [("t", "seconds"), ("rss", "server RSS MB")]),
            "",
            f"{result['connections']} connections, {result['seconds'] / 60:.1f} min; "
            f"{result['edits_per_s']:.0f} edits/s, {result['cursors_per_s']:.0f} cursors/s, "
            f"{result['frames_received_per_s']:.0f} frames/s received by the clients",
            f"server RSS: start {result['rss_start_mb']:.1f} MB, end {result['rss_end_mb']:.1f} MB,"
            f" max {result['rss_max_mb']:.1f} MB; idle before the load"
            f" {result['rss_idle_before_mb']:.1f} MB, after every room unloaded"
            f" {result['rss_after_unload_mb']:.1f} MB; documents stored"
            f" {result['stored_bytes'] / 1e6:.1f} MB; their texts"
            f" {min(result['text_chars'], default=0)}-{max(result['text_chars'], default=0)}"
            f" characters ({result['options']['edits']} edits)",
            f"WAL file: at most {result['wal_max_bytes'] / 1e6:.1f} MB,"
            f" {result['wal_end_bytes'] / 1e6:.1f} MB at the end;"
            f" started over {result['wal_restarts']} times",
            f"RSS slope: {result['slope_mb_per_hour']:+.1f} MB/hour over all samples; "
            f"{result['steady_slope_mb_per_hour']:+.1f} MB/hour after the warm-up",
            f"server CPU {result['server_cpu_s']:.0f} s; load generator CPU {load['cpu_s']:.0f} s;"
            f" connections closed {load['closes']} times, connect errors {load['errors']};"
            f" server log warnings {result['server_warnings']}; server alive at end:"
            f" {result['server_alive_at_end']}",
        ]
    )


def options(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    p.add_argument("--connections", type=int, default=1000, help="clients (default 1000)")
    p.add_argument("--rooms", type=int, default=100, help="documents (default 100)")
    p.add_argument("--workers", type=int, default=2, help="load processes (default 2)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument(
        "--warmup-seconds", type=float, default=120.0, help="left out of the steady slope"
    )
    p.add_argument(
        "--edits",
        choices=("append", "replace"),
        default="append",
        help="each edit adds a word (default), or replaces the client's word in place",
    )
    p.add_argument(
        "--settle-seconds",
        type=float,
        default=20.0,
        help="wait after the rooms' unload delay before the RSS after unload is read",
    )
    p.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="server setting"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    result = soak(options(argv))
    print(report(result))
    print(f"\nwrote {write_results('soak', result)}")
    return 0 if result["server_alive_at_end"] else 1


if __name__ == "__main__":
    sys.exit(main())
