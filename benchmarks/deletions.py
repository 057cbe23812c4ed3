"""What a document's deletions cost its room, per message: a document edited for weeks holds
thousands of deleted ranges, which the fan-out scenarios (typing only) never have.

    python -m benchmarks.deletions                         # 0, 1,000, 5,000, 20,000 ranges
    python -m benchmarks.deletions --ranges 5000 --repeat 500

For each size, a real `Room` on a real database (in this process, no network) is opened
as the server opens it (`Rooms.get`: ``open_ms``; ``order_ms`` until its order of characters
is made, in a reader thread; ``loop_held_ms``, the longest the event loop was held over
both, seen by a task ticking every millisecond), then given one message at a time through
`Room.receive`, as the server's event loop would:

- an answer to a saved notice: y-websocket answers each notice with a SyncStep2 holding no
  new text and the sender's whole delete set. ``answer_first_us``: such an answer applied to
  the Doc (every answer, before the room kept the last one that changed nothing);
  ``answer_again_us``: the same bytes again, as every other writer of the room sends them
  until someone deletes (recognised, not applied);
- ``first_keystroke_ms``: the first character typed after the room was loaded (which made
  the room's order of characters, `server.sync.order`, before it was made while loading);
- ``keystroke_us``: each next character typed at the end of the text, as Yjs sends it (the
  transaction's update);
- ``refusal_ms``: an update the room refuses only after its Doc began to take it, with the
  Doc's rebuild (given to the room's apply step directly: those that reach it through
  `Room.receive` are rare, and found by the fuzzer, not made by hand);
  ``after_refusal_ms``: the next real keystroke (which made the order of characters anew
  on the event loop, before the room kept it across a rebuild).

Medians of ``--repeat`` messages (wall time of this single thread), printed as a table and
written as JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from pathlib import Path
from typing import Any

from pycrdt import Doc, Text

from benchmarks.faults.common import machine, setup_database, table, workdir, write_results
from server import db
from server.errors import SyncError
from server.settings import Settings
from server.sync import protocol, store
from server.sync.peer import Peer
from server.sync.rooms import Rooms
from server.sync.store import UpdateLog


class Discard:
    """The network end of the benchmark's only connection: what the room sends is dropped."""

    def send_now(self, frame: bytes) -> bool:
        return True

    async def send(self, frame: bytes) -> None:
        pass

    async def close(self, code: int, reason: str) -> None:
        pass


def edited(ranges: int) -> Doc[Text]:
    """A document with ``ranges`` separate deleted ranges (every other character of its
    first 2 x ``ranges``), and some text after them."""
    doc: Doc[Text] = Doc(client_id=7)
    text = doc.get("content", type=Text)
    text.insert(0, "Articulo primero. Las denuncias son confidenciales. " * (ranges // 20 + 2))
    for k in range(ranges):
        del text[k]
    return doc


def after_a_gap(doc: Doc[Text], client_id: int) -> bytes:
    """A character typed at the end of ``doc``'s text by ``client_id``, as one keystroke, after
    text of that client that was never sent: an update at clocks the receiver never had."""
    fork: Doc[Text] = Doc(client_id=client_id)
    fork.apply_update(doc.get_update())
    text = fork.get("content", type=Text)
    text.insert(len(text), "never sent")
    state = fork.get_state()
    text.insert(len(text), "!")
    return fork.get_update(state)


def timed(receive: Any, frames: list[bytes], before: Any = None) -> float:
    """The median time of ``receive(frame)`` in µs, ``before()`` run untimed before each."""
    spent = []
    for frame in frames:
        if before is not None:
            before()
        start = time.perf_counter()
        receive(frame)
        spent.append(time.perf_counter() - start)
    return round(statistics.median(spent) * 1e6, 1)


async def measure(path: Path, ranges: int, repeat: int) -> dict[str, Any]:
    _, (document_id,) = setup_database(path, 1)
    typist = edited(ranges)
    async with db.Database(str(path)) as database:
        await database.write(lambda conn: store.append(conn, document_id, typist.get_update()))
        rooms = Rooms(UpdateLog(database), Settings())
        loop = asyncio.get_running_loop()
        gaps: list[float] = []

        async def tick() -> None:  # how long the loop is held while the room loads
            last = loop.time()
            while True:
                await asyncio.sleep(0.001)
                gaps.append(loop.time() - last)
                last = loop.time()

        ticking = asyncio.create_task(tick())
        await asyncio.sleep(0.01)
        start = time.perf_counter()
        room = await rooms.get(document_id)
        opened = round((time.perf_counter() - start) * 1000, 1)
        while room.ordering.order is None and time.perf_counter() - start < 30:
            await asyncio.sleep(0.001)  # made in a reader thread, while clients sync
        assert room.ordering.order is not None, "the order was not made after opening"
        ordered = round((time.perf_counter() - start) * 1000, 1)
        ticking.cancel()
        held = round(max(gaps) * 1000, 1)
        peer = Peer(Discard(), limit=repeat + 10)

        def receive(frame: bytes) -> None:
            room.receive(peer, frame)

        answer = protocol.sync_step2(typist.get_update(room.doc.get_state()))

        def forget() -> None:  # as every answer was treated before the room kept the last
            room._idle_update = None

        first = timed(receive, [answer] * repeat, before=forget)
        again = timed(receive, [answer] * repeat)
        text = typist.get("content", type=Text)
        keystrokes: list[bytes] = []  # each transaction's update, as Yjs sends it
        typist.observe(lambda event: keystrokes.append(protocol.sync_update(event.update)))
        for _ in range(repeat):
            text.insert(len(text), "x")
        start = time.perf_counter()
        receive(keystrokes[0])  # the first after the room was loaded makes its order
        first_keystroke = round((time.perf_counter() - start) * 1000, 3)
        keystroke = timed(receive, keystrokes[1:])
        # An update that the room refuses only after its Doc began to take it, so that the Doc
        # is rebuilt: a keystroke's shape after clocks the room never had, given to the room's
        # apply step unwalked, as happens to updates whose fault shows only once applied (the
        # room walks this one and refuses it earlier, when it comes through `receive`).
        skipping = after_a_gap(typist, 7)
        rebuilt_from = room.doc
        start = time.perf_counter()
        with contextlib.suppress(SyncError):
            room._apply(skipping)
        refusal = round((time.perf_counter() - start) * 1000, 3)
        assert room.doc is not rebuilt_from, "the refusal did not rebuild the Doc"
        text.insert(len(text), "y")
        start = time.perf_counter()
        receive(keystrokes[-1])  # the first after the rebuild
        after_refusal = round((time.perf_counter() - start) * 1000, 3)
        await room.settle()
        assert room.text == str(text)
        await rooms.close()
        room.close()
    return {
        "ranges": ranges,
        "open_ms": opened,
        "order_ms": ordered,
        "loop_held_ms": held,
        "answer_bytes": len(answer),
        "answer_first_us": first,
        "answer_again_us": again,
        "first_keystroke_ms": first_keystroke,
        "keystroke_us": keystroke,
        "refusal_ms": refusal,
        "after_refusal_ms": after_refusal,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ranges", type=int, action="append", help="deleted ranges (repeatable)")
    parser.add_argument("--repeat", type=int, default=200, help="messages of each kind")
    args = parser.parse_args()
    folder = workdir("deletions-")
    rows = []
    for ranges in args.ranges or [0, 1000, 5000, 20000]:
        row = asyncio.run(measure(folder / f"deletions-{ranges}.db", ranges, args.repeat))
        rows.append(row)
        print(row, flush=True)
    columns = [("ranges", "deleted ranges"), ("open_ms", "open, ms"), ("order_ms", "order, ms")]
    columns += [("loop_held_ms", "loop held, ms"), ("answer_bytes", "answer bytes")]
    columns += [("answer_first_us", "answer applied, µs"), ("answer_again_us", "same again, µs")]
    columns += [("first_keystroke_ms", "first keystroke, ms"), ("keystroke_us", "keystroke, µs")]
    columns += [("refusal_ms", "refusal, rebuild, ms"), ("after_refusal_ms", "keystroke after, ms")]
    print(table(rows, columns))
    path = write_results("deletions", {"machine": machine(), "repeat": args.repeat, "rows": rows})
    print(f"written to {path}")


if __name__ == "__main__":
    main()
