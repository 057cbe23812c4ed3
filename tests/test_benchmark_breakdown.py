"""`benchmarks.breakdown` against a real `accord serve`: the probe counts the event loop's
CPU per entry point over the scenario, and the counts match what the scenario sent. No
timing figure is asserted."""

from __future__ import annotations

from pathlib import Path

from benchmarks.breakdown import ENTRY_POINTS, run
from benchmarks.fanout import Fanout


def test_the_probe_counts_each_entry_point_of_a_real_server(tmp_path: Path) -> None:
    spec = Fanout(rooms=2, writers=2, observers=1, rate=10, cursors=True)
    result = run("breakdown-test", spec, 1.0, tmp_path / "probe.json")
    sent = result["summary"]["updates_sent"]
    assert sent == 2 * 2 * 10
    rows = result["rows"]
    assert rows["Room._apply"]["calls"] == sent  # every edit, once
    assert rows["Presence.relay"]["calls"] == sent  # every cursor move, once
    assert rows["broadcasts"]["calls"] >= 2 * sent  # each edit and each cursor move
    loop = result["loop_thread_cpu_s"]
    assert loop > 0
    for label, row in rows.items():
        assert label in {entry[2] for entry in ENTRY_POINTS}
        assert 0 <= row["cpu_s"] <= loop and row["calls"] > 0
    # nested rows never hold more than what holds them
    assert rows["Room._apply"]["cpu_s"] <= rows["Room.receive"]["cpu_s"]
    assert rows["Room.receive"]["cpu_s"] <= rows["ws data_received"]["cpu_s"]
