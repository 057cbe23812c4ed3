"""`benchmarks.opening`'s reconnection scenario, short, against a real `accord serve`: every
connection authenticates with the benchmark's token, is synced and closed, and the row says
so. No timing figure is asserted."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from benchmarks import opening
from benchmarks.servers import running


def test_every_reconnection_is_synced_and_counted() -> None:
    with running("accord") as server:
        row = asyncio.run(opening.run_reconnect(server, "reconnect-test", 60, together=20))
        assert server.proc is not None and server.proc.poll() is None  # still up
        with contextlib.closing(sqlite3.connect(server.db)) as conn:
            (stored,) = conn.execute("SELECT count(*) FROM updates").fetchone()
    assert stored == 1  # the holder's document: what every connection was synced with
    assert row["connections"] == 60
    assert 0 < row["synced_p50_ms"] <= row["synced_p99_ms"]
    assert row["server_cpu_ms_per_connection"] > 0  # measured, from the server's own CPU time
