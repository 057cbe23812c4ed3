"""What the order check (`server.sync.order`) costs a room per update, beside what applying the
update to the room's Doc costs anyway.

    python -m benchmarks.order                 # texts typed in 100, 2,000 and 20,000 places

For each text: one person typing on (each character after their last: the common case), one
typing every character somewhere else (the worst case for real typing: each one asks yrs where
its neighbours are), and a client coming back online with 100 separate edits in one update.
Times are per update, in µs, as the room spends them: `Ordering.check` before the Doc takes the
update and `Ordering.taken` after. Also: the time to make the order from the room's Doc (once
per room, at its first edit) and the memory it takes beside the room's own Doc (resident
size before and after, so only roughly). Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text

from benchmarks.faults.common import machine, table, write_results
from server.sync import order, structs


def resident_mb() -> float:
    """This process's resident memory, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def text_typed_in(places: int, seed: int = 1) -> Doc[Text]:
    rnd = random.Random(seed)
    doc: Doc[Text] = Doc(client_id=77)
    text = doc.get("content", type=Text)
    for _ in range(places):
        text.insert(rnd.randint(0, len(text)), "palabra ")
    return doc


Edit = Callable[[Text, int], None]


def updates_of(doc: Doc[Text], client: int, count: int, edit: Edit) -> list[bytes]:
    typist: Doc[Text] = Doc(client_id=client)
    typist.apply_update(doc.get_update())
    text = typist.get("content", type=Text)
    found = []
    for n in range(count):
        before = typist.get_state()
        edit(text, n)
        found.append(typist.get_update(before))
    return found


def timed(room: Doc[Text], updates: list[bytes], check: bool) -> float:
    """µs per update: applying it to the room's Doc, with the order check or without."""
    ordering = order.Ordering()
    changes: list[bytes] = []
    room.observe(lambda event: changes.append(event.update))
    if check:
        ordering.order = order.Order(room.get_update())  # made at the first update, not timed
    start = time.perf_counter()
    for update in updates:
        walk = structs.walk_update(update) if structs.may_hold_astral(update) else None
        placing = ordering.check(room, update, walk) if check else None
        changes.clear()
        room.apply_update(update)
        if check:
            ordering.taken(list(changes), update, placing)
    return (time.perf_counter() - start) / len(updates) * 1e6


def case(base: Doc[Text], updates: list[bytes]) -> tuple[float, float]:
    without: Doc[Text] = Doc()
    without.apply_update(base.get_update())
    with_check: Doc[Text] = Doc()
    with_check.apply_update(base.get_update())
    return timed(without, updates, False), timed(with_check, updates, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", type=int, nargs="*", default=[100, 2000, 20000])
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for places in args.places:
        base = text_typed_in(places)
        size = len(base.get("content", type=Text))
        state = base.get_update()
        rss = resident_mb()
        room: Doc[Text] = Doc()
        room.apply_update(state)
        room_mb = resident_mb() - rss
        start = time.perf_counter()
        made = order.Order(state)
        made_ms = (time.perf_counter() - start) * 1000
        order_mb = resident_mb() - rss - room_mb
        del room, made
        rnd = random.Random(places)
        middle = size // 2

        def on(text: Text, n: int, middle: int = middle) -> None:
            text.insert(middle + n, "x")

        def elsewhere(text: Text, n: int, rnd: random.Random = rnd) -> None:
            text.insert(rnd.randint(0, len(text)), "y")

        offline: Doc[Text] = Doc(client_id=8)
        offline.apply_update(base.get_update())
        known = offline.get_state()
        content = offline.get("content", type=Text)
        for _ in range(100):
            content.insert(rnd.randint(0, len(content)), "z")
        cases = [
            ("typing on", updates_of(base, 5, 400, on)),
            ("each elsewhere", updates_of(base, 6, 200, elsewhere)),
            ("back online, 100 edits", [offline.get_update(known)]),
        ]
        for name, updates in cases:
            plain, checked = case(base, updates)
            rows.append(
                {
                    "places": places,
                    "characters": size,
                    "order_made_ms": round(made_ms, 1),
                    "room_doc_mb": round(room_mb, 1),
                    "order_doc_mb": round(order_mb, 1),
                    "case": name,
                    "apply_us": round(plain, 1),
                    "with_check_us": round(checked, 1),
                    "added_us": round(checked - plain, 1),
                }
            )
    print(
        table(
            rows,
            [
                ("places", "typed in places"),
                ("characters", "characters"),
                ("order_made_ms", "order made, ms"),
                ("room_doc_mb", "room Doc MB"),
                ("order_doc_mb", "order Doc MB"),
                ("case", "case"),
                ("apply_us", "apply µs"),
                ("with_check_us", "with check µs"),
                ("added_us", "added µs"),
            ],
        )
    )
    path = write_results("order", {"machine": machine(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
