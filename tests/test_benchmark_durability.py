"""`benchmarks.durability`, short: each variant really runs at the level it names (SQLite
refuses to change it inside the writer's transaction, so the benchmark sets it when the
connection is made), every append is committed and timed, and the shipped setting is back
afterwards. No timing is asserted."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from benchmarks import durability
from server import connection


@pytest.mark.parametrize("synchronous", ["FULL", "OFF"])
def test_a_short_round_measures_what_it_names(tmp_path: Path, synchronous: str) -> None:
    path = tmp_path / "durability.db"
    row = asyncio.run(durability.run_once(path, synchronous, rate=200, seconds=0.25))
    assert row["synchronous"] == synchronous
    assert row["appends"] == 50
    assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM updates").fetchone() == (50,)
    with contextlib.closing(connection.connect(str(path))) as conn:  # the shipped level is back
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
