"""The order of a room's characters, deleted ones included, and a check that new text goes
between characters that were side by side for whoever typed it.

A Yjs client types a character between two that are next to each other in its copy: its left
neighbour (the origin) and its right one (the right origin). Other people's characters may
have come between them since, but only ones the typist had not received. Every copy keeps
characters in the same relative order, so if the room holds, between the two neighbours, a
character the typist must have had, no real client made that change. A forged one of that
kind (copies of text with crossing neighbours, found by the frame fuzzer, "cause 7" in
docs/operations.md) passes every other check and leaves the room and newcomers ordering the
same characters differently.

What a typist must have had, from the struct alone: its own earlier clocks, and every clock
of the neighbours' clients up to the neighbours' own (a Yjs client integrates each client's
structs in clock order). Anything else between the neighbours may be concurrent, and is fine.

The room's Doc cannot show where deleted characters are, so the order is kept in a second
Doc: every change the room took, with each string and each deleted content replaced by as
many ASCII characters as it has UTF-16 units and its delete set dropped (`blanking.blanked`),
so that nothing in it is deleted and pycrdt's indexes count UTF-16 units. It is made from the
room's Doc in a reader thread once the room is loaded (`made_ahead`, `Rooms._make_order`),
or at the first update before that, and kept when the room rebuilds its Doc after a refusal
(`Ordering.rebuilt`), with the parts of each block the
deletions cut joined again as they are blanked (`blanking.blanked_whole`: yrs would join them
while it commits, in time that grows with the square of their number).

Cost: a person typing on sends each character right after their previous one, with the same
right neighbour. That continuation is recognised by the first bytes of the update (made when
the previous one was taken), and changes wait in a queue that is merged into the order Doc
only when something needs it. Anything else asks yrs where the neighbours are, which walks
the text (about 30 µs in a text typed in 2,000 places, 0.7 ms in one of 20,000), and looks at
what lies between them. An update gets at most `BUDGET` seconds of such lookups, counted in
the event loop thread's own CPU time (time the machine gives to other processes, or to the
room's other threads, does not count: on a busy machine the check finds what it finds on
an idle one); the rest of it is taken unchecked. The check never refuses more than it can
show, and never spends longer than that on one update.

Before any of that, each new struct's two neighbours must be in the same list (both in the
text, or both elsewhere: `server.sync.lists`), judged on the part of the struct the room
does not hold yet.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from pycrdt import Assoc, Doc, StickyIndex, Text, merge_updates

from server.errors import InvalidPayload
from server.sync import blanking, checks, structs
from server.sync.lists import CONTENT, Crossed, Item, Lists
from server.sync.protocol import Reader, parse_state_vector, var_uint

log = logging.getLogger(__name__)

BUDGET = 0.002  # seconds of the thread's CPU time for lookups in the order Doc per update
PROBES = 16  # characters looked at between one struct's neighbours
QUEUE = 256  # changes waiting before they are merged into the order Doc anyway

ID = structs.ID


class Placed(NamedTuple):
    """One new struct: its first clock, its length and its neighbours."""

    client: int
    clock: int
    length: int
    origin: ID | None
    right: ID | None


class Next(NamedTuple):
    """Where a client typing on would type next (`Order.typed`)."""

    prefix: bytes  # the update's first bytes, up to its string's length
    info_at: int
    clock: int
    right: ID | None
    client_bytes: bytes
    right_bytes: bytes


class Placing(NamedTuple):
    """What `Ordering.check` found in an update, for `Ordering.taken` once the room took it:
    its structs, where the strings and deleted content to blank are, and which of its
    clocks are in the text (`Lists.place`)."""

    placed: list[Placed]
    blanks: list[tuple[int, int, int, int]]
    body_end: int
    in_text: list[tuple[int, int, int]]
    ends: dict[int, int]


def placed(items: list[Item]) -> list[Placed]:
    """The item structs of an update that go in a list by their neighbours (those with a
    neighbour), and those put in the text with nothing on either side."""
    return [
        Placed(client, clock, length, origin, right)
        for client, clock, length, origin, right, parent in items
        if origin is not None or right is not None or parent == CONTENT
    ]


class Order:
    """The room's characters in document order, nothing deleted (see the module)."""

    def __init__(self, state: bytes) -> None:
        self.doc: Doc[Text] = Doc()
        self.text = self.doc.get("content", type=Text)
        walk = structs.walk_update(state)
        self.doc.apply_update(blanking.blanked_whole(state, walk))
        self.lists = Lists()
        self.lists.add(self.lists.place(walk.items, strict=False), walk.ends)
        self.queue: list[bytes] = []
        # Per client, what the update of a person typing on after their last character
        # begins with (see `typed`), and the clock it would have.
        self.next: dict[int, Next] = {}

    def add(self, blanked: bytes) -> None:
        """A change the room took, blanked (`blanking.blanked`)."""
        self.queue.append(blanked)
        if len(self.queue) >= QUEUE:
            self._flush()

    def typed(self, done: list[Placed]) -> None:
        """The structs of a change the room took: typing may go on after each."""
        for client, clock, length, _, right in done:
            before = self.next.get(client)
            if before is not None and before.right == right:
                client_bytes, right_bytes = before.client_bytes, before.right_bytes
            else:
                client_bytes = var_uint(client)
                right_bytes = b"" if right is None else var_uint(right[0]) + var_uint(right[1])
            after = clock + length
            head = b"\x01\x01" + client_bytes + var_uint(after)
            info = b"\xc4" if right is not None else b"\x84"  # a string after its origin
            prefix = head + info + client_bytes + var_uint(after - 1) + right_bytes
            self.next[client] = Next(prefix, len(head), after, right, client_bytes, right_bytes)

    def continuation(self, update: bytes) -> Placing | None:
        """The update, if it is one string typed right after its client's last character
        with the same right neighbour (the common case, seen by its first bytes); else None."""
        if update[:2] != b"\x01\x01":
            return None
        reader = Reader(update)
        reader.pos = 2
        try:
            client = reader.var_uint()
            expected = self.next.get(client)
            if expected is None or not update.startswith(expected.prefix):
                return None
            reader.pos = len(expected.prefix)
            size = reader.var_uint()
        except InvalidPayload:
            return None
        start = reader.pos
        end = start + size
        content = update[start:end]
        if size <= 0 or len(content) != size:
            return None
        if content.isascii():
            length = size
        else:
            try:
                length = len(content.decode("utf-8").encode("utf-16-le")) // 2
            except UnicodeDecodeError:
                return None
        clock = expected.clock
        struct = Placed(client, clock, length, (client, clock - 1), expected.right)
        blanks = [(expected.info_at, len(expected.prefix), end, length)]
        in_text = (
            [(client, clock, clock + length)] if self.lists.in_text((client, clock - 1)) else []
        )
        return Placing([struct], blanks, end, in_text, {client: clock + length})

    def _flush(self) -> None:
        if self.queue:
            queue, self.queue = self.queue, []
            self.doc.apply_update(queue[0] if len(queue) == 1 else merge_updates(*queue))

    def check(self, new: list[Placed]) -> None:
        """Raise `Crossed` if a struct goes between neighbours that had, between them, a
        character its typist must have had (within `BUDGET`)."""
        deadline = None
        for struct in new:
            expected = self.next.get(struct.client)
            if (
                expected is not None
                and struct.clock == expected.clock
                and struct.origin == (struct.client, expected.clock - 1)
                and struct.right == expected.right
            ):
                continue  # typing on, right after its own last character
            if deadline is None:
                self._flush()  # work owed by earlier updates, not this one's lookups
                deadline = time.thread_time() + BUDGET
            elif time.thread_time() > deadline:
                return
            if self._crossed(struct, deadline):
                raise Crossed()

    def _crossed(self, struct: Placed, deadline: float) -> bool:
        """Whether the room holds, between the struct's neighbours, a character its typist
        must have had (False when that cannot be told)."""
        known = {struct.client: struct.clock - 1}
        for neighbour in (struct.origin, struct.right):
            if neighbour is not None:
                if neighbour[1] >= self.lists.ends.get(neighbour[0], 0):
                    return False  # in the same update, or not held: not checked here
                known[neighbour[0]] = max(known.get(neighbour[0], -1), neighbour[1])
        try:
            with checks.untrusted(), self.doc.transaction():  # one for every lookup
                # Each neighbour must be a character of the text (not a formatting mark, nor
                # part of another type): then its index is where it is.
                low, high = -1, len(self.text)
                if struct.origin is not None:
                    low = self._index(struct.origin)
                    if time.thread_time() > deadline or self._at(low) != struct.origin:
                        return False
                if struct.right is not None:
                    if time.thread_time() > deadline:
                        return False
                    high = self._index(struct.right)
                    if time.thread_time() > deadline or self._at(high) != struct.right:
                        return False
                if high <= low:
                    return True  # the right neighbour is on the left
                for index in range(low + 1, min(high, low + 1 + PROBES)):
                    if time.thread_time() > deadline:
                        return False
                    client, clock = self._at(index)
                    if clock <= known.get(client, -1):
                        return True
        except InvalidPayload:
            return False  # a neighbour yrs cannot place (a GC struct, say): not checked
        return False

    def _index(self, at: ID) -> int:
        encoded = var_uint(0) + var_uint(at[0]) + var_uint(at[1]) + var_uint(0)
        return StickyIndex.decode(encoded, self.text).get_index()

    def _at(self, index: int) -> ID:
        reader = Reader(self.text.sticky_index(index, Assoc.AFTER).encode())
        if reader.var_uint() != 0:
            return (-1, -1)  # the end of the text: no character
        return reader.var_uint(), reader.var_uint()


def made_ahead(state: bytes) -> Order | None:
    """The order of a room's state, made in a reader thread once the room is loaded, so
    that its first update does not make it on the event loop (243 ms for a document of
    20,000 deleted ranges, all other rooms waiting). None if it cannot be made: the first update
    then tries, and fails, as it would have."""
    try:
        return Order(state)
    except BaseException as exc:
        if not checks.is_failure(exc):
            raise
        log.warning("the order of the document's text could not be made ahead")
        return None


class Ordering:
    """A room's `Order`, made from its Doc after it was loaded (`made_ahead`, or at the first
    update), kept across a rebuild that leaves its structs as they were. If the order itself
    fails (it should not: it takes only what the room's Doc
    took), it is made anew from the Doc, and nothing is refused meanwhile."""

    def __init__(self) -> None:
        self.order: Order | None = None
        self.failures = 0  # times the order failed and was made anew
        # What `may_skip_walk` read of the update it was asked about, for `check` to reuse:
        # (the update, its continuation or None, its keystroke or None).
        self._read: tuple[bytes, Placing | None, structs.Keystroke | None] | None = None

    def rebuilt(self, doc: Doc[Text]) -> None:
        """The room's Doc was made anew from what it had taken (after refusing an update it
        had begun to apply). The order took only what the room took, and deletions change
        nothing in it: it is kept if it holds the new Doc's structs, the same clocks for
        every client, and made anew at the next update otherwise (243 ms on the event loop
        for a document of 20,000 deleted ranges)."""
        order, self.order, self._read = self.order, None, None
        if order is not None and order.lists.ends == parse_state_vector(doc.get_state()):
            self.order = order

    def adopt(self, order: Order | None) -> None:
        """Take an order made ahead (`made_ahead`) from the structs the Doc still has,
        unless the room made one meanwhile."""
        if self.order is None:
            self.order = order

    def check(self, doc: Doc[Text], update: bytes, walk: structs.Walk | None) -> Placing | None:
        """Raise `Crossed` for an update that puts text between characters that were not
        side by side for its typist. ``walk`` is the room's, if it walked the update (it did
        not for a keystroke, which has no character outside the BMP)."""
        if update[:1] == b"\x00":
            return None  # no structs (a deletion): nothing is placed
        try:
            if self.order is None:
                self.order = Order(doc.get_update())
            read, self._read = self._read, None
            if walk is None:
                if read is not None and read[0] is update:
                    found, keystroke = read[1], read[2]
                else:
                    found, keystroke = self.order.continuation(update), None
                if found is not None:
                    return found
                keystroke = keystroke or structs.keystroke(update)
                if keystroke is not None:
                    k = keystroke
                    items = self.order.lists.new(
                        [(k.client, k.clock, k.length, k.origin, k.right, None)]
                    )
                    in_text = self.order.lists.place(items, strict=True)
                    new = placed(items)
                    self.order.check(new)
                    ends = {k.client: k.clock + k.length}
                    return Placing(new, [(*k.content, k.length)], k.body_end, in_text, ends)
                walk = structs.walk_update(update)
            if walk.skips:
                return None  # refused as a gap by the room
            items = self.order.lists.new(walk.items)
            in_text = self.order.lists.place(items, strict=True)
            new = placed(items)
            self.order.check(new)
            return Placing(new, walk.blanks, walk.body_end, in_text, walk.ends)
        except Crossed:
            raise
        except InvalidPayload:
            return None  # malformed: the room refuses it
        except BaseException as exc:  # the order's own failure is not the update's fault
            self._failed(exc)
            return None

    def may_skip_walk(self, update: bytes, client: int, clock: int) -> bool:
        """Whether ``update``, one struct of ``client`` at ``clock``, is a plain keystroke as
        far as the order knows (its lists end where the Doc's state does): at the client's
        next clock (an earlier one is sent again or written over, a later one leaves a gap),
        between neighbours the Doc holds. Otherwise the room walks it and checks it against
        the Doc's state before the Doc sees it: yrs would keep a struct with a missing
        neighbour waiting, and the room would find that only after applying it (and rebuild
        its Doc). The first update after the room was loaded or rebuilt (no order yet), and a
        struct that is not a string, are walked too (a struct of any other kind carries its
        length as a number, which can be anything)."""
        if self.order is None:
            return False
        ends = self.order.lists.ends
        if clock != ends.get(client, 0):
            return False
        found = self.order.continuation(update)
        if found is not None:  # typing on: the neighbours its previous character had
            self._read = (update, found, None)
            return True
        keystroke = structs.keystroke(update)
        self._read = (update, None, keystroke)
        if keystroke is None:
            return False  # not a string
        return all(
            neighbour is None or neighbour[1] < ends.get(neighbour[0], 0)
            for neighbour in (keystroke.origin, keystroke.right)
        )

    def taken(self, changes: list[bytes], update: bytes, placing: Placing | None) -> None:
        """The changes the room's Doc took (from ``update``, checked as ``placing``; None for
        a server-side edit): blanked, for the order."""
        if self.order is None or not changes:
            return
        try:
            for change in changes:
                if change[:1] == b"\x00":
                    continue  # only deletions: the order keeps everything
                if placing is not None and change == update:
                    blanked = blanking.blanked(update, placing.blanks, placing.body_end)
                    self.order.lists.add(placing.in_text, placing.ends)
                else:
                    walk = structs.walk_update(change)
                    blanked = blanking.blanked(change, walk.blanks, walk.body_end)
                    lists = self.order.lists
                    lists.add(lists.place(lists.new(walk.items), strict=False), walk.ends)
                self.order.add(blanked)
            if placing is not None:
                self.order.typed(placing.placed)
        except BaseException as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        if not checks.is_failure(exc):
            raise exc
        log.warning("the order of the document's text failed; it is made anew")
        self.failures += 1
        self.order = None
