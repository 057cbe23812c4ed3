"""The replay of a fuzzed room's frame log (`benchmarks.faults.replay`): through a real `Room`
on a real database, refusals counted; and the bisection that names the change that planted
a disorder, on changes pycrdt really integrates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.faults.fuzz import WITNESS, FrameLog
from benchmarks.faults.replay import first_planting, replay
from server.sync import protocol
from tests.helpers import map_entries, string_between, typed, whole_order_budget

pytestmark = pytest.mark.usefixtures(whole_order_budget.__name__)


def test_the_bisection_names_the_change_that_planted_the_disorder() -> None:
    forged = string_between(3, "x", (1, 0), (9, 0))  # a character, then a map's entry
    changes = [map_entries(9), *typed(1, "abcd"), forged, *typed(4, "zz")]
    assert first_planting(changes) == 5
    assert first_planting([map_entries(9), *typed(1, "abcd"), *typed(4, "zz")]) is None


def test_a_frame_log_is_replayed_through_a_room(tmp_path: Path) -> None:
    log = FrameLog(tmp_path / "room.frames")
    for update in typed(1, "abcd"):
        log.write(protocol.sync_update(update), 0)
    log.write(protocol.sync_update(string_between(3, "x", (1, 0), (1, 2))), 0)  # crossed
    log.write(protocol.sync_update(typed(5, "!")[0]), 1)  # not answered: not replayed
    log.write(protocol.sync_update(typed(6, "¡")[0]), WITNESS)
    log.write(b"\x00\x01\xff", 0)  # a malformed frame is skipped
    log.close()
    work = tmp_path / "work"
    work.mkdir()
    found = asyncio.run(replay(tmp_path / "room.frames", work))
    assert len(found.taken) == 5 and found.diverged is None
    assert found.refused == {"update places text between characters that were not side by side": 1}
