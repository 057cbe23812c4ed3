"""Checks on what a client sends, before the room's Doc takes it: pycrdt failures on hostile
input, what a read-only connection may send back, and whose client id an update writes under."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise

from pycrdt import Doc, Text, get_update

from server.errors import InvalidPayload, PolicyViolation, ReadOnly, SyncError
from server.sync import protocol, structs

log = logging.getLogger(__name__)


def merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, length) ranges sorted, overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for start, length in sorted(ranges):
        if out and start <= out[-1][0] + out[-1][1]:
            first, size = out[-1]
            out[-1] = (first, max(size, start + length - first))
        elif length > 0:
            out.append((start, length))
    return out


def covers(ranges: Sequence[tuple[int, int]], start: int, length: int) -> bool:
    """Whether merged, sorted ``ranges`` hold the whole of [start, start + length)."""
    if length <= 0:
        return True
    index = bisect_right(ranges, (start, float("inf"))) - 1
    if index < 0:
        return False
    first, size = ranges[index]
    return first <= start and start + length <= first + size


def uncovered(ranges: Sequence[tuple[int, int]], start: int, length: int) -> list[tuple[int, int]]:
    """The parts of [start, start + length) that merged, sorted ``ranges`` do not hold."""
    parts: list[tuple[int, int]] = []
    at, end = start, start + length
    index = max(bisect_right(ranges, (start, float("inf"))) - 1, 0)
    for first, size in ranges[index:]:
        if first >= end:
            break
        if first > at:
            parts.append((at, first - at))
        at = max(at, first + size)
    if at < end:
        parts.append((at, end - at))
    return parts


def is_panic(exc: BaseException) -> bool:
    """A Rust panic inside pycrdt (pyo3's PanicException derives from BaseException)."""
    return not isinstance(exc, Exception) and type(exc).__name__ == "PanicException"


def is_failure(exc: BaseException) -> bool:
    """An error to recover from: an Exception, or a Rust panic inside pycrdt (not an
    interrupt nor an exit, which must go on up)."""
    return isinstance(exc, Exception) or is_panic(exc)


@contextmanager
def untrusted() -> Iterator[None]:
    """pycrdt work on client input: any failure, a Rust panic included, is InvalidPayload."""
    try:
        yield
    except SyncError:
        raise
    except Exception as exc:
        raise InvalidPayload("invalid update") from exc
    except BaseException as exc:
        if is_panic(exc):
            raise InvalidPayload("invalid update") from None
        raise


def check_read_only(
    doc: Doc[Text], update: bytes, deleted: Callable[[], dict[int, list[tuple[int, int]]]]
) -> None:
    """A read-only client may send what the server already has (a browser replays its
    local copy on connect); that is dropped. Anything new is refused with 4403. The
    room's Doc never sees the update. ``deleted`` gives the Doc's delete set (see
    `delete_set`), asked for only if the update deletes something.

    New content is a struct the server lacks; a new deletion is a deleted range the
    Doc's own delete set does not cover. (The update used to be tried on a scratch copy
    of the whole document: for a large document that was milliseconds of the event loop
    for every frame a read-only client sent.)"""
    with untrusted():
        # The part of the update the server lacks: any struct in it is new content.
        missing = get_update(update, doc.get_state())
    if protocol.Reader(missing).var_uint() > 0:
        raise ReadOnly("this connection is read-only")
    deletes = structs.update_deletes(update)
    if not deletes:
        return
    held = deleted()
    for client, ranges in deletes.items():
        if not all(covers(held.get(client, ()), start, length) for start, length in ranges):
            raise ReadOnly("this connection is read-only")


def delete_set(doc: Doc[Text]) -> dict[int, list[tuple[int, int]]]:
    """The Doc's delete set, ranges merged and sorted per client."""
    held = structs.update_deletes(doc.get_update(doc.get_state()))
    return {client: merged(ranges) for client, ranges in held.items()}


def claims(
    doc: Doc[Text], writers: dict[int, int], user_id: int | None, walk: structs.Walk
) -> list[int]:
    """The client ids under which an update (``walk``) writes something new that nobody owns yet
    (``writers``: {client id: user id}); raise `PolicyViolation` if it writes under an id
    another person owns.

    A client id belongs to the person who first wrote with it in this document. New
    content under somebody else's id is refused with 1008: the server would keep the
    first of two different changes at the same clock and drop the other as a duplicate,
    so the owner's edits would be silently lost and their copy would never agree with the
    room again. Content the server already holds (a reply to an older state vector) is
    anybody's to resend; the same person may write from several tabs or connections."""
    ends = walk.ends
    others = [client for client in ends if writers.get(client) != user_id]
    if not others:
        return []
    state = protocol.parse_state_vector(doc.get_state())
    new = [client for client in others if ends[client] > state.get(client, 0)]
    if any(client in writers for client in new):
        raise PolicyViolation("this update writes under another person's client id")
    return new


def halves(update: bytes) -> dict[int, set[int]]:
    """Per client, the clocks in ``update`` (a Doc's whole state, say) at which a cut would
    split a character in two (see `whole_characters`).

    Walking every struct of a large document takes a while (~6 µs a struct), so the bytes
    are first searched for a character outside the BMP at all (UTF-8, four bytes): most
    documents have none. Other bytes can look like one; then the walk finds nothing."""
    if not structs.may_hold_astral(update):
        return {}
    try:
        found = structs.walk_update(update).halves
    except InvalidPayload:  # stored before the structure checks: nothing known, nothing refused
        log.warning("a document's encoding could not be walked; its emoji are not guarded")
        return {}
    return {client: set(clocks) for client, clocks in found.items()}


def whole_characters(
    walk: structs.Walk,
    known: dict[int, set[int]],
    state: Callable[[], dict[int, int]],
    deleted: Callable[[], dict[int, list[tuple[int, int]]]],
) -> None:
    """Refuse (1007) an update that inserts or deletes inside a character outside the BMP.

    Yjs counts text in UTF-16 units, so an emoji is two clocks, and a client can place an
    insertion between them or delete one of them. Yjs then turns both halves into U+FFFD;
    yrs (pycrdt) keeps two empty strings, and its encoding of the document no longer holds
    what its own text shows: every client that joins later disagrees with everyone already
    there. ``known`` holds such clocks for the document (`halves`); the update's own strings
    count too.

    What the document already holds is not refused: a client sends back structs the server
    has and the whole delete set, and a document stored before this check may hold such cuts.
    ``state`` (the Doc's state vector) and ``deleted`` (its delete set, see `delete_set`) are
    asked for only when a cut is found."""
    own = walk.halves

    def inside(client: int, clock: int) -> bool:
        return is_half(known, own, client, clock)

    for client, clock, _, left, right, _ in walk.items:
        cut = (left is not None and inside(left[0], left[1] + 1)) or (
            right is not None and inside(*right)
        )
        if cut and clock >= state().get(client, 0):
            raise InvalidPayload(CUT)
    for client, ranges in walk.deletes.items():
        for start, length in ranges:
            if not (inside(client, start) or inside(client, start + length)):
                continue
            # Only what this deletes anew counts: its parts the Doc has not deleted yet.
            for first, size in uncovered(deleted().get(client, ()), start, length):
                if inside(client, first) or inside(client, first + size):
                    raise InvalidPayload(CUT)


def is_half(known: dict[int, set[int]], own: dict[int, list[int]], client: int, clock: int) -> bool:
    """Whether ``clock`` of ``client`` is the second half of a character outside the BMP, in
    the document (``known``) or in the update (``own``): a cut there splits the character."""
    return clock in known.get(client, ()) or clock in own.get(client, ())


CUT = "this edit cuts a character in half (a UTF-16 surrogate pair)"


def no_cut_deletions(
    changes: list[structs.Walk], known: dict[int, set[int]], own: dict[int, list[int]]
) -> None:
    """Refuse (1007) an update whose integration deleted half of a character outside the
    BMP (``known``: the document's halves, see `halves`; ``own``: the update's). A Yjs
    deletion may arrive before the text it deletes; yrs keeps it waiting, unreported, and
    applies it when the text comes, as part of that later change (``changes``, walked). So a
    deletion that waited for the second half of an emoji cuts it when the emoji arrives,
    which `whole_characters` could not see coming."""

    for change in changes:
        for client, ranges in change.deletes.items():
            for start, length in ranges:
                if is_half(known, own, client, start) or is_half(
                    known, own, client, start + length
                ):
                    raise InvalidPayload(CUT)


MISSING = "update depends on changes the server does not have"


def held_dependencies(walk: structs.Walk, prior: dict[int, int]) -> None:
    """Refuse (1007), before the Doc sees it, an update (``walk``) that needs structs neither
    the Doc (state vector ``prior``) nor the update holds: a client's clocks past a gap, an
    origin the room never had, or a neighbour or parent at the struct's own clock or a later
    one of its client (142 of the 146 rebuilds left in a replay of the fuzz run of 2026-11-29
    23:31 had their right neighbour at their own clock). yrs would keep such structs
    waiting, unreported, in the Doc; the room would then have to be rebuilt. (A gap between
    two blocks of one client inside the update, or a parent item the room lacks, is left to
    the check after applying.)

    A Skip struct is such a gap inside a client's block, and worse: yrs 0.14 integrates
    what follows it anyway, past clocks its state vector does not reach, and reports (so the
    room would store and relay) a change with the Skip in it. A history holding one can make
    yrs loop forever when it is loaded again (a fuzz run stored one; the room could never be
    opened again) and has crashed a client applying it. A Yjs client sends one only in a sync
    reply that carries structs it holds waiting for their own dependencies; what follows the
    Skip would wait in the room too, so such an update was refused before as well."""
    if walk.skips:
        raise InvalidPayload(MISSING)

    def held(client: int, clock: int) -> bool:
        start = walk.starts.get(client)
        return clock < prior.get(client, 0) or (
            start is not None and start <= clock < walk.ends[client]
        )

    def needs_itself(client: int, clock: int, at: structs.ID | None) -> bool:
        # A struct is made next to (or inside) what exists then: never next to its own
        # clock or a later one of its client. yrs keeps such a struct waiting for itself.
        return at is not None and at[0] == client and at[1] >= clock

    if any(start > prior.get(client, 0) for client, start in walk.starts.items()):
        raise InvalidPayload(MISSING)
    for client, clock, _, left, right, parent in walk.items:
        if (left is not None and not held(*left)) or (right is not None and not held(*right)):
            raise InvalidPayload(MISSING)
        if (
            needs_itself(client, clock, left)
            or needs_itself(client, clock, right)
            or (parent is not None and needs_itself(client, clock, structs.parent_item(parent)))
        ):
            raise InvalidPayload(MISSING)


def no_rewrites(doc: Doc[Text], update: bytes, walk: structs.Walk, prior: dict[int, int]) -> None:
    """Refuse (1007) an update that writes, at clocks its client has already used, other
    content than the Doc holds there. ``walk`` is the update's walk, ``prior`` the Doc's state
    vector before it.

    Structs at used clocks are normal when a client resends what it wrote (a reply to an older
    state vector, a copy kept offline): the Doc skips what it has and joins the rest after it.
    But a client that rewrote its own clocks with other content places its new text by
    neighbours (origins) the room does not hold where the client thinks. yrs then places later
    text differently when it applies the updates one by one (the room) and when it decodes
    them in one go (a newcomer), and the two never agree again. So the overlapping part is
    compared unit by unit with the Doc's own encoding of those clocks: the content, the
    origins and the parent must be the same. Content deleted on either side is compared by its
    origins only, and garbage-collected content not at all. Only updates that overlap pay."""
    overlap = {
        client: (start, prior[client])
        for client, start in walk.starts.items()
        if start < prior.get(client, 0)
    }
    if not overlap:
        return
    sent = structs.walk_update(update, keep=overlap).runs
    vector = protocol.parse_state_vector(doc.get_state())
    vector.update((client, low) for client, (low, _) in overlap.items())
    held = structs.walk_update(doc.get_update(protocol.state_vector(vector)), keep=overlap).runs
    for client, (low, high) in overlap.items():
        if not same_runs(client, sent.get(client, []), held.get(client, []), low, high):
            raise InvalidPayload(REWRITE)


def same_runs(
    client: int, sent: list[structs.Run], held: list[structs.Run], low: int, high: int
) -> bool:
    """Whether two encodings of ``client``'s clocks [low, high) agree (see `no_rewrites`);
    clocks that one side lacks, or holds as garbage-collected, are not compared."""
    sent, held = sorted(sent, key=start_of), sorted(held, key=start_of)
    cuts = sorted(
        {low, high}
        | {clock for run in (*sent, *held) for clock in (run.start, run.end) if low < clock < high}
    )
    i = j = 0
    for first, last in pairwise(cuts):
        while i < len(sent) and sent[i].end <= first:
            i += 1
        while j < len(held) and held[j].end <= first:
            j += 1
        if i == len(sent) or j == len(held):
            break
        mine, theirs = sent[i], held[j]
        if mine.start > first or theirs.start > first or GONE & {mine.ref, theirs.ref}:
            continue
        if (
            mine.origin_at(client, first) != theirs.origin_at(client, first)
            or mine.right != theirs.right
            or mine.parent_at(first) != theirs.parent_at(first)
        ):
            return False
        if DELETED not in (mine.ref, theirs.ref) and (
            mine.ref != theirs.ref or mine.part(first, last) != theirs.part(first, last)
        ):
            return False
    return True


def start_of(run: structs.Run) -> int:
    return run.start


GONE = {0, 10}  # garbage-collected, skipped: nothing to compare
DELETED = 1  # deleted content: only its place to compare


REWRITE = "this update rewrites clocks its client has already used with other content"
