"""Replay a fuzzed room's frame log through a real `Room`, find where it became inconsistent,
and name the change that planted the disorder.

    python -m benchmarks.faults.replay benchmarks/results/fuzz-<stamp>-room<N>.frames

A room is left broken (the fuzz report's ``broken``) when newcomers see another text than the
people already in it. The fuzzer keeps the frame log of every broken room
(`fuzz.FrameLog`). This replays, in order, the frames the live server answered: the fuzzing
writer's as a delegate's, the witness's edits as the chair's, through `server.sync.room.Room`
in this process, on a fresh database. After each update the room takes, its text is compared
with its own encoding decoded anew (what a newcomer gets); the replay stops at the first
difference.

The update where the texts part is often innocent (a character with no neighbour, which lands
among deleted ones the two copies order differently): the disorder was planted earlier. So the
changes the room stored are then bisected: for k, the first k changes decoded in one go and the
others applied one by one after them; the first k whose text differs from applying every
change one by one names the change that planted it (printed with the update that brought it,
in hex, and its structs). The raw updates are not bisected that way: a deletion that comes
before its text waits in the live Doc but not in its encoding, and would be named wrongly.

Closed forms found with it are in docs/operations.md (fuzzing, cause 7).

    python -m benchmarks.faults.replay --every-frame <work directory>/room-<N>.frames

feeds the frames the server closed the connection on too (through the same writer), and
counts the rebuilds: refusals that came after the room's Doc had begun to take an update.
With ``--show N`` it prints the first N updates that caused one, with their structs. (That is
how the two shapes behind most of the rebuilds of 2026-11-29 were found, docs/operations.md.)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pycrdt import Doc, Text

from benchmarks.faults.common import setup_database
from benchmarks.faults.fuzz import WITNESS, add_member
from server import db
from server.errors import SyncError
from server.sync import protocol, structs
from server.sync.peer import Peer
from server.sync.room import Room
from server.sync.store import EMPTY_UPDATE, UpdateLog


def frames(path: Path) -> Iterator[tuple[int, bytes]]:
    """The (outcome, frame) records of a `fuzz.FrameLog`."""
    data = path.read_bytes()
    at = 0
    while at + 6 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        outcome = int.from_bytes(data[at + 4 : at + 6], "big")
        yield outcome, data[at + 6 : at + 6 + size]
        at += 6 + size


class Nobody:
    """Where the replayed peers' frames go: nowhere (the replay reads the room's Doc)."""

    async def send(self, frame: bytes) -> None:
        pass

    def send_now(self, frame: bytes) -> bool:
        return True

    async def close(self, code: int, reason: str) -> None:
        pass


class Recording(Room):
    """A room that keeps, for each update it took, the update and the changes it stored;
    and each update it refused after its Doc had begun to take it (a rebuild), with why."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.taken: list[tuple[bytes, list[bytes]]] = []
        self.rebuilt: list[tuple[str, bytes]] = []
        self._rebuilds = 0

    def _rebuild(self) -> None:
        self._rebuilds += 1
        super()._rebuild()

    def _apply(self, update: bytes, walk: structs.Walk | None = None) -> list[bytes]:
        rebuilds = self._rebuilds
        try:
            changes = super()._apply(update, walk)
        except SyncError as exc:
            if self._rebuilds != rebuilds:
                self.rebuilt.append((exc.message, bytes(update)))
            raise
        self.taken.append((bytes(update), [bytes(change) for change in changes]))
        return changes


@dataclass
class Replay:
    taken: list[tuple[bytes, list[bytes]]] = field(default_factory=list)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    rebuilt: list[tuple[str, bytes]] = field(default_factory=list)  # (why, update)
    diverged: int | None = None  # how many updates were taken when the texts parted


def doc_of(*updates: bytes) -> Doc[Text]:
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text)
    for update in updates:
        doc.apply_update(update)
    return doc


def same_text(one: Doc[Text], other: Doc[Text]) -> bool:
    """Whether two copies show the same text. Lengths first: a copy decoded from a broken
    room can claim billions of units, and reading them would exhaust the memory."""
    first, second = one.get("content", type=Text), other.get("content", type=Text)
    return len(first) == len(second) and str(first) == str(second)


async def replay(path: Path, work: Path, every_frame: bool = False) -> Replay:
    """Replay the answered sync frames of ``path`` through a `Recording` room (with
    ``every_frame``, those the server closed the connection on too, and without stopping
    where the texts part)."""
    database_path = work / "replay.db"
    _, ids = setup_database(database_path, 1)
    add_member(database_path, ids, "delegate")
    with sqlite3.connect(database_path) as conn:
        users = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
    found = Replay()
    async with db.Database(database_path) as database:
        room = Recording(ids[0], EMPTY_UPDATE, UpdateLog(database))
        writer, witness = Peer(Nobody(), 10**9, "writer"), Peer(Nobody(), 10**9, "witness")
        writer.user_id, witness.user_id = users[-1], users[0]
        room.join(writer)
        room.join(witness)
        for outcome, frame in frames(path):
            if outcome == 1 or (outcome not in (0, WITNESS) and not every_frame):
                continue  # not answered, or closed on: the server did not take it
            try:
                message = protocol.parse(frame)
            except SyncError:
                continue
            if not isinstance(message, protocol.SyncMessage):
                continue
            if message.kind == protocol.SyncType.STEP1:
                continue
            try:
                room.receive(witness if outcome == WITNESS else writer, frame)
            except SyncError as exc:
                found.refused[str(exc)] += 1
                continue
            if not every_frame and not same_text(room.doc, doc_of(room.doc.get_update())):
                found.diverged = len(room.taken)
                break
        found.taken, found.rebuilt = room.taken, room.rebuilt
    return found


def first_planting(changes: list[bytes]) -> int | None:
    """The index of the change after which decoding in one go and applying one by one part
    (see the module), or None if they never do."""

    def alike(k: int) -> bool:
        decoded = doc_of(doc_of(*changes[:k]).get_update(), *changes[k:])
        return same_text(decoded, expected)

    expected = doc_of(*changes)
    low, high = 0, len(changes)
    if alike(high):
        return None
    while high - low > 1:  # alike(low), not alike(high)
        middle = (low + high) // 2
        if alike(middle):
            low = middle
        else:
            high = middle
    return high - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", type=Path, help="a room's frame log kept by the fuzzer")
    parser.add_argument(
        "--every-frame", action="store_true", help="the refused frames too; count rebuilds"
    )
    parser.add_argument("--show", type=int, default=0, help="updates that caused a rebuild")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accord-replay-") as work:
        found = asyncio.run(replay(args.frames, Path(work), args.every_frame))
    print(f"taken: {len(found.taken)} updates; refused: {sum(found.refused.values())}")
    for reason, count in found.refused.most_common():
        print(f"  {count:6}  {reason}")
    if args.every_frame:
        causes = collections.Counter(why for why, _ in found.rebuilt)
        print(f"rebuilds after a refusal: {len(found.rebuilt)}")
        for reason, count in causes.most_common():
            print(f"  {count:6}  {reason}")
        for why, update in found.rebuilt[: args.show]:
            print(f"rebuilt for: {why}")
            show(update)
        return
    if found.diverged is None:
        print("consistent: the room's text equals its own encoding decoded, after every update")
        return
    print(f"the texts part after update {found.diverged} (of those taken)")
    last, made = found.taken[-1]
    for change in made:
        try:
            malformed = "holds a Skip" if structs.walk_update(change).skips else ""
        except SyncError as exc:
            malformed = str(exc)
        if malformed:  # pycrdt took the update as something else than what it says
            print(f"the change stored for it is malformed ({malformed}): {change.hex()}")
            show(last)
            return
    changes = [(n, change) for n, (_, made) in enumerate(found.taken) for change in made]
    planted = first_planting([change for _, change in changes])
    if planted is None:
        print("the stored changes agree however they are decoded: not planted by a change")
        return
    number, change = changes[planted]
    print(f"planted by change {planted}, from update {number + 1}")
    show(found.taken[number][0])


def show(update: bytes) -> None:
    """An update in hex, and its structs."""
    print(f"  update {update.hex()}")
    try:
        walk = structs.walk_update(update)
    except SyncError as exc:
        print(f"  (its structs cannot be read: {exc})")
        return
    for client, clock, length, origin, right, parent in walk.items:
        print(f"  struct {client}:{clock}+{length} origin {origin} right {right} parent {parent!r}")
    print(f"  deletes {walk.deletes}")


if __name__ == "__main__":
    main()
