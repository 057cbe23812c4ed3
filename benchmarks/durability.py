"""What the durable commit costs: Accord's own writer (`server.writer.Writer`, its thread, its
pragmas, its grouping) appending one small update at a time, as a room does, and the time
from ``submit`` until the event loop sees the commit done (queue, commit with its
``fdatasync`` of the WAL, hand-back to the loop).

    python -m benchmarks.durability                      # 200 updates/s for 8 s, 3 rounds
    python -m benchmarks.durability --rate 1000 --seconds 8

Each round runs twice on a fresh database file on the same disk, interleaved: as shipped
(``synchronous=FULL``) and, for comparison only, with ``synchronous=OFF`` on the writer's
connection (no sync: what the commit costs without the disk). The difference is the price
of "persist before broadcast". Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.faults.common import machine, setup_database, table, workdir, write_results
from server import writer as writer_module
from server.sync.store import APPEND
from server.writer import Row, Writer

UPDATE = bytes(range(30))  # the size of a one-character Yjs update, give or take


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def paced_appends(
    writer: Writer, document_id: str, rate: float, seconds: float
) -> list[float]:
    """Submit one append every 1/rate s; return each one's submit-to-done time in ms."""
    latencies: list[float] = []
    pending: set[asyncio.Future[Any]] = set()
    loop = asyncio.get_running_loop()
    start = loop.time()

    def timed(submitted: float) -> Callable[[asyncio.Future[Any]], None]:
        return lambda _: latencies.append((time.perf_counter() - submitted) * 1000)

    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        submitted = time.perf_counter()
        future = writer.submit(Row(APPEND, (document_id, UPDATE)))
        future.add_done_callback(timed(submitted))
        pending.add(future)
        future.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)
    return latencies


@contextlib.contextmanager
def sync_level(synchronous: str) -> Iterator[None]:
    """While starting a writer, its connection gets ``synchronous``. SQLite refuses to
    change it inside a transaction, and the writer is always in one, so the connection is
    made with it: a measurement, not a setting Accord has."""
    if synchronous == "FULL":
        yield
        return
    shipped = writer_module.connect

    def connect(path: str) -> sqlite3.Connection:
        conn = shipped(path)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        return conn

    writer_module.connect = connect  # the name the writer opens its connection with
    try:
        yield
    finally:
        writer_module.connect = shipped


async def run_once(path: Path, synchronous: str, rate: float, seconds: float) -> dict[str, Any]:
    _, (document_id,) = setup_database(path, 1)
    writer = Writer(str(path), group_ms=0)
    with sync_level(synchronous):
        writer.start()
    try:
        latencies = sorted(await paced_appends(writer, document_id, rate, seconds))
        mode = await writer.run(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    finally:
        writer.stop()
    return {
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL"}.get(mode, str(mode)),
        "appends": len(latencies),
        "commits": writer.commits,
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p90_ms": round(percentile(latencies, 0.90), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(latencies[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="appends per second")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="where the database files go (default: /tmp)")
    args = parser.parse_args()
    rows = []
    for round_ in range(args.rounds):
        for synchronous in ("FULL", "OFF"):
            folder = args.dir or workdir("durability-")
            path = folder / f"durability-{round_}-{synchronous}.db"
            row = asyncio.run(run_once(path, synchronous, args.rate, args.seconds))
            rows.append({"round": round_, **row})
            print(row, flush=True)
    columns = [("round", "round"), ("synchronous", "synchronous"), ("appends", "appends")]
    columns += [("commits", "commits"), ("p50_ms", "p50 ms"), ("p90_ms", "p90 ms")]
    columns += [("p99_ms", "p99 ms"), ("max_ms", "max ms")]
    print(table(rows, columns))
    path = write_results(
        "durability",
        {"machine": machine(), "rate": args.rate, "seconds": args.seconds, "rows": rows},
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
