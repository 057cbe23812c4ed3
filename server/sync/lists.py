"""Which of a room's clocks are in the text and which are elsewhere, and the check that new
text does not go between neighbours in two different lists (see `Lists`). Part of the order
check (`server.sync.order`), which keeps the order of the text's characters; this keeps
only, per client, the runs of clocks whose structs are in the text.
"""

from __future__ import annotations

from bisect import bisect_right, insort

from server.errors import InvalidPayload
from server.sync import structs

CONTENT = b"\x01\x07content"  # the parent of a struct put in the empty text, as encoded

ID = structs.ID
Item = tuple[int, int, int, ID | None, ID | None, bytes | None]  # as in `structs.Walk.items`


class Crossed(InvalidPayload):
    """Text put between characters that were not side by side for its typist."""

    def __init__(self) -> None:
        super().__init__("update places text between characters that were not side by side")


class Lists:
    """Which of the room's clocks are in the text's list (its characters, deleted ones
    included, and any other content put in it) and which are elsewhere (entries of a map,
    another shared type, garbage).

    Yjs and yrs put a struct that has neighbours in its left neighbour's list (its right
    one's if it has no left), then look for the right neighbour from the left one. A struct
    whose neighbours are in two lists (its left in the text and its right in a map, say) is
    one no client typed: the search for the right neighbour runs past the end of the text,
    and where the struct lands then depends on what the copy held when it came, so the room
    and a newcomer order the text differently (the planted update of the 16:05 fuzz run's
    room 0, see docs/operations.md). Such a struct is refused (`place`).

    Kept per client as the runs of clocks that are in the text, and the clock after each
    client's last struct; a struct's list is read from its neighbours' when it is taken.
    """

    def __init__(self) -> None:
        self.ends: dict[int, int] = {}
        self.starts: dict[int, list[int]] = {}  # per client, the first clock of each run
        self.stops: dict[int, list[int]] = {}  # and the clock after it

    def in_text(self, at: ID) -> bool | None:
        """Whether the held clock ``at`` is in the text; None if it is not held."""
        client, clock = at
        if clock >= self.ends.get(client, 0):
            return None
        starts = self.starts.get(client)
        if not starts:
            return False
        index = bisect_right(starts, clock) - 1
        return index >= 0 and clock < self.stops[client][index]

    def add(self, in_text: list[tuple[int, int, int]], ends: dict[int, int]) -> None:
        """Runs of clocks found in the text by `place`, and the ends of what was taken."""
        for client, start, stop in in_text:
            starts = self.starts.setdefault(client, [])
            stops = self.stops.setdefault(client, [])
            if stops and stops[-1] == start:
                stops[-1] = stop
            elif not starts or start > starts[-1]:
                starts.append(start)
                stops.append(stop)
            else:  # not in clock order (an update sent again, say): kept sorted
                insort(starts, start)
                stops.insert(starts.index(start), stop)
        for client, end in ends.items():
            if end > self.ends.get(client, 0):
                self.ends[client] = end

    def new(self, items: list[Item]) -> list[Item]:
        """The part of each item that is not held yet, as yrs integrates it: a struct that
        begins at clocks the room holds is cut at the first clock it lacks, and the part
        after the cut has the unit before the cut as its origin (which may be garbage, or
        in another list than the struct's own origin: a forged update of the fuzz did that)."""
        cut: list[Item] = []
        for item in items:
            client, clock, length, _, right, _ = item
            held = self.ends.get(client, 0)
            if clock >= held:
                cut.append(item)
            elif clock + length > held:
                cut.append((client, held, clock + length - held, (client, held - 1), right, None))
        return cut

    def place(self, items: list[Item], strict: bool) -> list[tuple[int, int, int]]:
        """The runs of ``items`` (an update's, or the room's whole state) that go in the text.

        A struct goes in its origin's list if the origin is known (held, or earlier in
        ``items``), else in its right neighbour's, else in its parent (the text when the
        parent is the root type ``content``). With ``strict``, raise `Crossed` if a struct's
        two neighbours are both known and in different lists."""
        if len(items) == 1:  # a keystroke: its neighbours are held, or it is refused
            client, clock, length, origin, right, parent = items[0]
            left = None if origin is None else self.in_text(origin)
            after = None if right is None else self.in_text(right)
            if strict and left is not None and after is not None and left != after:
                raise Crossed()
            kind = left if left is not None else after
            if kind is None:
                kind = origin is None and right is None and parent == CONTENT
            return [(client, clock, clock + length)] if kind else []
        if not strict and all(
            parent == CONTENT
            for _, _, _, origin, right, parent in items
            if origin is None and right is None
        ):
            # Only the text has structs put in it without neighbours, so every list is the
            # text's (the common case, and what makes the order of a large state quick).
            return [(item[0], item[1], item[1] + item[2]) for item in items]
        local: dict[int, list[tuple[int, int]]] = {}  # per client, (first clock, index)
        for index, item in enumerate(items):
            local.setdefault(item[0], []).append((item[1], index))
        for runs in local.values():
            runs.sort()
        kinds: list[bool | None] = [None] * len(items)

        def find(at: ID) -> int | None:
            runs = local.get(at[0])
            if runs is None:
                return None
            index = bisect_right(runs, (at[1], len(items))) - 1
            if index < 0:
                return None
            clock, found = runs[index]
            return found if at[1] < clock + items[found][2] else None

        for first in range(len(items)):
            stack, on_stack = [first], {first}
            while stack:  # depth first: a struct's neighbours in ``items`` are placed first
                at = stack[-1]
                if kinds[at] is not None:
                    on_stack.discard(stack.pop())
                    continue
                origin, right, parent = items[at][3:]
                sides: list[bool | None] = []
                waiting = None
                for neighbour in (origin, right):
                    kind = None if neighbour is None else self.in_text(neighbour)
                    if neighbour is not None and kind is None:
                        found = find(neighbour)
                        if found is not None and found != at:
                            kind = kinds[found]
                            if kind is None and found not in on_stack:
                                waiting = found
                                break
                    sides.append(kind)
                if waiting is not None:
                    stack.append(waiting)
                    on_stack.add(waiting)
                    continue
                known = [side for side in sides if side is not None]
                if strict and len(known) == 2 and known[0] != known[1]:
                    raise Crossed()
                if known:
                    kinds[at] = known[0]
                else:
                    kinds[at] = origin is None and right is None and parent == CONTENT
                on_stack.discard(stack.pop())
        return [
            (item[0], item[1], item[1] + item[2])
            for item, kind in zip(items, kinds, strict=True)
            if kind
        ]
