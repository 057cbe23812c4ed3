"""`benchmarks.deletions`, short: the document really holds the deleted ranges it names, its
answers to a saved notice carry them, and every keystroke it times is taken by the room and
stored, after a refused update as before it. No timing is asserted."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from pycrdt import Doc, Text

from benchmarks import deletions
from server.sync import checks


def test_the_document_holds_the_deleted_ranges_it_names() -> None:
    doc = deletions.edited(40)
    ranges = checks.delete_set(doc)
    assert sum(len(spans) for spans in ranges.values()) == 40


def test_a_short_round_times_answers_and_keystrokes_that_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "deletions.db"
    row = asyncio.run(deletions.measure(path, ranges=50, repeat=20))
    assert row["ranges"] == 50
    assert row["answer_bytes"] > 2 * 50  # a clock and a length for each range, at least
    for key in ("open_ms", "loop_held_ms", "answer_first_us", "first_keystroke_ms"):
        assert row[key] > 0
    assert row["order_ms"] >= row["open_ms"]  # made after the room opened, in a thread
    assert row["keystroke_us"] > 0
    assert row["refusal_ms"] > 0 and row["after_refusal_ms"] > 0
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = [data for (data,) in conn.execute("SELECT data FROM updates ORDER BY id")]
    assert len(rows) == 1 + 20 + 1  # the document, each keystroke, the one after the refusal
    stored: Doc[Text] = Doc()
    for data in rows:
        stored.apply_update(data)
    assert str(stored.get("content", type=Text)).endswith("x" * 20 + "y")
