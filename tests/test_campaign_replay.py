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


def test_every_frame_counts_the_rebuilds_and_keeps_their_updates(tmp_path: Path) -> None:
    """With ``every_frame`` the frames the server closed the connection on are fed too, and
    each refusal that came after the Doc had begun to take an update (a rebuild) is kept with
    the update: here a deletion that waited for half an emoji and the emoji that brings it
    (tests/corpus/pending_delete.json)."""
    from tests.test_campaign_fuzz import corpus_updates

    updates = corpus_updates("pending_delete")
    log = FrameLog(tmp_path / "room.frames")
    log.write(protocol.sync_update(updates[0]), 0)
    log.write(protocol.sync_update(updates[1]), 0)
    log.write(protocol.sync_update(updates[2]), 1007)  # refused live, after a rebuild
    log.write(protocol.sync_update(updates[2]), 1)  # not answered: never replayed
    log.close()
    for every_frame, rebuilds in ((False, 0), (True, 1)):
        work = tmp_path / f"work-{every_frame}"
        work.mkdir()
        found = asyncio.run(replay(tmp_path / "room.frames", work, every_frame))
        assert len(found.rebuilt) == rebuilds
    why, update = found.rebuilt[0]
    assert "character" in why and update == updates[2]
    assert sum(found.refused.values()) == 1
