"""Short versions of the fault campaigns (benchmarks/faults): kill -9 and SIGTERM under load
lose nothing any client was told about, and resync brings back the rest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from benchmarks.faults.common import lacks
from benchmarks.faults.kill9 import Options, campaign
from tests.helpers import Server


def run(options: Options, work: Path) -> dict[str, object]:
    return asyncio.run(campaign(options, say=lambda line: None, work=work))


def check_nothing_lost(result: dict[str, object]) -> dict[str, int]:
    totals = result["totals"]
    assert isinstance(totals, dict)
    assert totals["sent"] > 0 and totals["received"] > 0
    assert totals["received_missing"] == 0, "a client had received an update storage lacks"
    assert totals["acked_lost"] == 0, "an edit the server had declared saved is not stored"
    assert totals["missing_after_resync"] == 0, "an edit is missing after the clients resynced"
    assert totals["recovered"] == totals["sent_lost"] + totals["unsent"]
    return totals


@pytest.mark.timeout(600)
def test_kill_9_under_load_loses_nothing_received(tmp_path: Path) -> None:
    options = Options(rounds=3, clients=10, rooms=2, min_seconds=0.5, max_seconds=2.0, seed=7)
    result = run(options, tmp_path)
    check_nothing_lost(result)
    rounds = result["rounds"]
    assert isinstance(rounds, list) and len(rounds) == 3
    assert all(row["sent"] > 0 for row in rounds)


@pytest.mark.timeout(600)
def test_sigterm_under_load_is_graceful(tmp_path: Path) -> None:
    options = Options(
        rounds=1, clients=6, rooms=2, rate=10, min_seconds=0.5, max_seconds=2.0, fault="term"
    )
    result = run(options, tmp_path)
    check_nothing_lost(result)
    rounds = result["rounds"]
    assert isinstance(rounds, list)
    (row,) = rounds
    assert row["lost_before_signal"] == 0, "an edit sent before SIGTERM was not stored"
    assert row["exit_code"] == 0
    assert row["closed_1012"] == options.clients  # every client was told: service restart


def test_the_storage_check_sees_a_missing_update() -> None:
    """`lacks` is what the campaigns count with: it must tell present from missing."""
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text).insert(0, "acuerdo")
    update = doc.get_update()
    assert lacks(update, Doc().get_state())
    assert not lacks(update, doc.get_state())


def test_startup_checks_and_logs_wal_and_synchronous_full(tmp_path: Path) -> None:
    server = Server(tmp_path / "accord.db").start()
    try:
        assert "journal_mode=wal synchronous=FULL" in server.logs()
    finally:
        server.stop()
    assert server.proc is not None and server.proc.returncode == 0
