"""The structure of a Yjs update (v1 encoding), read without a Doc: which clocks it writes,
what it deletes, where its structs go, and where its characters outside the BMP are.

The checks in `server.sync.checks` use it to refuse updates that pycrdt would take and that
would leave a room that newcomers see differently. Nothing here touches a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.errors import InvalidPayload
from server.sync.protocol import MAX_VARUINT_BYTES, Reader

ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 units each

ID = tuple[int, int]  # (client, clock)
BLANKABLE_PER_BYTE = 8  # deleted units blanked per byte of the update (see `walk_update`)


@dataclass(frozen=True, slots=True)
class Run:
    """A struct as `walk_update` keeps it (see ``keep``): its clocks [start, end), its content
    type (0 GC, 10 Skip, 1 deleted, 4 string...), its origin and right origin, its parent as
    encoded (only when it has neither origin), and its content: a string as UTF-16-LE, a JSON
    or any array as one bytes per element, other content as encoded, None for GC, Skip and
    deleted content."""

    start: int
    end: int
    ref: int
    origin: ID | None
    right: ID | None
    parent: bytes | None
    content: bytes | tuple[bytes, ...] | None

    def origin_at(self, client: int, clock: int) -> ID | None:
        """The origin of the unit at ``clock`` of ``client``'s struct: inside a struct, the
        unit before it."""
        return self.origin if clock == self.start else (client, clock - 1)

    def parent_at(self, clock: int) -> bytes | None:
        return self.parent if clock == self.start else None

    def part(self, first: int, last: int) -> object:
        """The content of clocks [first, last)."""
        if self.content is None:
            return None
        if self.ref == 4:
            return self.content[2 * (first - self.start) : 2 * (last - self.start)]
        if self.ref in (2, 8):
            return self.content[first - self.start : last - self.start]
        return self.content


@dataclass(frozen=True)
class Walk:
    """What `walk_update` read from an update."""

    ends: dict[int, int]  # per client, the clock after its last struct
    deletes: dict[int, list[tuple[int, int]]]  # the delete set: per client, (clock, length)
    # Every item struct (not GC nor Skip) and where it is put: its client, clock and length,
    # its left neighbour when it was made (the origin) and its right one, and its parent as
    # encoded when it has neither neighbour (see `checks` and `server.sync.order`).
    items: list[tuple[int, int, int, ID | None, ID | None, bytes | None]]
    # Per client, the clocks of the second UTF-16 unit of each character outside the BMP
    # (an emoji, say) in the update's strings: a cut at such a clock splits a character.
    halves: dict[int, list[int]]
    starts: dict[int, int] = field(default_factory=dict)  # per client, its first clock
    # Whether the update holds a Skip struct: clocks it lacks in the middle of a client's.
    skips: bool = False
    # Asked for with ``keep`` (per client, a range of clocks): per client, the structs
    # that hold clocks in that range, in order.
    runs: dict[int, list[Run]] = field(default_factory=dict)
    # Each string and deleted content in the update (deleted content up to 8 units per byte
    # of the update): where its struct's info byte is, where its content is (from its length
    # prefix to its end), its length in UTF-16 units; and where the structs end and the
    # delete set begins: see `blanking.blanked`.
    blanks: list[tuple[int, int, int, int]] = field(default_factory=list)
    body_end: int = 0
    # For each of ``blanks``, whether it goes on from the one before it, and where each
    # client's count of structs is: (start, end, count). See `blanking.blanked_whole`.
    joins: list[bool] = field(default_factory=list)
    counts: list[tuple[int, int, int]] = field(default_factory=list)


def update_header(update: bytes) -> tuple[int, int, int | None, int]:
    """How many client blocks an update has, how many structs its first block has, and that
    block's client id (None if none) and first clock."""
    reader = Reader(update)
    clients = reader.var_uint()
    if clients == 0:
        return 0, 0, None, 0
    count = reader.var_uint()
    client = reader.var_uint()
    return clients, count, client, reader.var_uint()


def may_hold_astral(data: bytes) -> bool:
    """False if ``data`` holds no character outside the BMP in UTF-8 (four bytes). Other
    bytes (a client id's varint) can look like one, rarely: then True."""
    return ASTRAL.search(data.decode("utf-8", "ignore")) is not None


def update_clocks(update: bytes) -> dict[int, int]:
    """Per client, the clock after the update's last struct (see `walk_update`)."""
    return walk_update(update).ends


def update_deletes(update: bytes) -> dict[int, list[tuple[int, int]]]:
    """The update's delete set: per client, its (clock, length) ranges (see `walk_update`)."""
    return walk_update(update).deletes


def _uint(data: bytes, end: int, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < end and shift < 7 * MAX_VARUINT_BYTES:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise InvalidPayload("truncated or overlong varint in update")


def _skip_bytes(data: bytes, end: int, pos: int) -> tuple[int, int]:
    length, pos = _uint(data, end, pos)
    if pos + length > end:
        raise InvalidPayload("truncated update")
    return length, pos + length


def _skip_any(data: bytes, end: int, pos: int, depth: int) -> int:
    if depth > 64 or pos >= end:
        raise InvalidPayload("invalid value in update")
    kind = data[pos]
    pos += 1
    if kind in (127, 126, 121, 120):  # undefined, null, false, true
        return pos
    if kind == 125:  # signed varint
        return _uint(data, end, pos)[1]
    if kind in (124, 123, 122):  # float32, float64, bigint64
        pos += 4 if kind == 124 else 8
    elif kind in (119, 116):  # string, bytes
        pos = _skip_bytes(data, end, pos)[1]
    elif kind in (118, 117):  # object, array
        count, pos = _uint(data, end, pos)
        for _ in range(count):
            if kind == 118:
                pos = _skip_bytes(data, end, pos)[1]
            pos = _skip_any(data, end, pos, depth + 1)
    else:
        raise InvalidPayload("invalid value in update")
    if pos > end:
        raise InvalidPayload("truncated update")
    return pos


def parent_item(parent: bytes) -> ID | None:
    """The item a struct's parent names (as `Walk.items` keeps it), or None for a root type."""
    kind, pos = _uint(parent, len(parent), 0)
    if kind == 1:
        return None
    client, pos = _uint(parent, len(parent), pos)
    return client, _uint(parent, len(parent), pos)[0]


# yrs keeps clocks in 32 bits: a struct ending past this wraps around (its state vector then
# says 0) and the struct is never integrated, though the update applies without an error.
# A client would have to type four billion characters to get there; a forged update gets
# there with one struct of that length, and the room took it and had to be rebuilt (2026-11-29,
# 352 of the 354 rebuilds of a 300,000-frame fuzz run).
MAX_CLOCK = 2**32 - 1
CLOCK_RANGE = "clock out of range in update"


def walk_update(update: bytes, keep: dict[int, tuple[int, int]] | None = None) -> Walk:
    """Walk every struct of a v1 update; return, per client, the first clock and the clock
    after its last struct, the delete set, the structs' neighbours and where characters
    outside the BMP are; and, for each client in ``keep``, the structs (`Run`) that hold
    clocks in the range [first, last) given.

    Raises `InvalidPayload` if a struct is malformed or empty, or ends past `MAX_CLOCK`.
    (pycrdt can integrate a conflicting update, a reused client id whose item overlaps what
    the Doc holds, cut inside a surrogate pair, as an item with an empty string; the change
    it then reports makes every client that applies it panic. No real client sends a struct
    of length 0.)
    """
    data = update
    end = len(data)
    ends: dict[int, int] = {}
    halves: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    runs: dict[int, list[Run]] = {}
    blanks: list[tuple[int, int, int, int]] = []
    joins: list[bool] = []
    counts: list[tuple[int, int, int]] = []
    # Deleted content is only a length: blanked, it becomes that many bytes. A forged update
    # of a few bytes can claim 2^31 deleted units, so only so many are blanked (the rest
    # stays deleted content, without a place in the order).
    blankable = BLANKABLE_PER_BYTE * len(update) + 1024
    items: list[tuple[int, int, int, ID | None, ID | None, bytes | None]] = []
    skips = False
    clients, pos = _uint(data, end, 0)
    for _ in range(clients):
        count_at = pos
        structs, pos = _uint(data, end, pos)
        counts.append((count_at, pos, structs))
        blank_end, blank_right = -1, None  # the last struct, if it was blanked
        client, pos = _uint(data, end, pos)
        clock, pos = _uint(data, end, pos)
        if client in starts:
            # Every encoder writes a client's structs once, in one run of clocks. Twice,
            # they may overlap, and pycrdt then takes a change it cannot encode (a room
            # that shows one text and gives newcomers another).
            raise InvalidPayload("a client's structs appear twice in update")
        starts[client] = clock
        low, high = keep.get(client, (0, 0)) if keep else (0, 0)
        for _ in range(structs):
            if pos >= end:
                raise InvalidPayload("truncated update")
            info_at = pos
            info = data[pos]
            pos += 1
            ref = info & 0x1F
            if ref in (0, 10):  # GC, Skip: a length
                length, pos = _uint(data, end, pos)
                if length == 0:
                    raise InvalidPayload("empty struct in update")
                skips = skips or ref == 10
                if clock < high and low < clock + length:
                    run = Run(clock, clock + length, ref, None, None, None, None)
                    runs.setdefault(client, []).append(run)
                clock += length
                blank_end = -1
                continue
            origin = right = parent = None
            if info & 0x80:  # origin id
                origin_client, pos = _uint(data, end, pos)
                origin_clock, pos = _uint(data, end, pos)
                origin = (origin_client, origin_clock)
            if info & 0x40:  # right origin id
                origin_client, pos = _uint(data, end, pos)
                origin_clock, pos = _uint(data, end, pos)
                right = (origin_client, origin_clock)
            if not info & 0xC0:  # parent: a root type's name or an item id; maybe a map key
                first = pos
                kind, pos = _uint(data, end, pos)
                if kind == 1:  # a root type's name
                    pos = _skip_bytes(data, end, pos)[1]
                else:  # an item id: client, clock
                    pos = _uint(data, end, _uint(data, end, pos)[1])[1]
                if info & 0x20:
                    pos = _skip_bytes(data, end, pos)[1]
                parent = data[first:pos]
            length = 1
            first = pos
            content: bytes | tuple[bytes, ...] | None = None
            # Typed on from the blanked struct just before it (two parts of one block of
            # the room's Doc, say): blanked, the two are one string.
            joins_last = (
                info_at == blank_end
                and not info & 0x20
                and origin == (client, clock - 1)
                and right == blank_right
            )
            blanked_here = len(blanks)
            if ref == 4:  # a string: its length counts UTF-16 units
                size, pos = _skip_bytes(data, end, pos)
                chunk = data[pos - size : pos].decode("utf-8", "replace")
                encoded = chunk.encode("utf-16-le")
                length = len(encoded) // 2
                if length != len(chunk):  # characters outside the BMP: two units each
                    units = halves.setdefault(client, [])
                    for before, match in enumerate(ASTRAL.finditer(chunk)):
                        units.append(clock + match.start() + before + 1)
                content = encoded
                blanks.append((info_at, first, pos, length))
            elif ref in (1, 2, 8):  # deleted, JSON, any: a count
                length, pos = _uint(data, end, pos)
                if ref == 1 and length <= blankable:
                    blanks.append((info_at, first, pos, length))
                    blankable -= length
                values = []
                for _ in range(length if ref != 1 else 0):
                    value = pos
                    if ref == 2:
                        pos = _skip_bytes(data, end, pos)[1]
                    else:
                        pos = _skip_any(data, end, pos, 0)
                    values.append(data[value:pos])
                content = tuple(values) if ref != 1 else None
            elif ref in (3, 5):  # binary, embed
                pos = _skip_bytes(data, end, pos)[1]
            elif ref == 6:  # format: key, value
                pos = _skip_bytes(data, end, _skip_bytes(data, end, pos)[1])[1]
            elif ref == 7:  # a shared type; XML elements and hooks carry a name
                kind, pos = _uint(data, end, pos)
                if kind in (3, 5):
                    pos = _skip_bytes(data, end, pos)[1]
            elif ref == 9:  # a subdocument: guid, options
                pos = _skip_any(data, end, _skip_bytes(data, end, pos)[1], 0)
            elif ref not in (1, 2, 8):
                raise InvalidPayload(f"unknown struct type {ref} in update")
            if length == 0:
                raise InvalidPayload("empty struct in update")
            if len(blanks) > blanked_here:
                joins.append(joins_last)
                blank_end, blank_right = pos, right
            else:
                blank_end = -1
            items.append((client, clock, length, origin, right, parent))
            if clock < high and low < clock + length:
                if ref not in (1, 2, 4, 8):
                    content = data[first:pos]
                run = Run(clock, clock + length, ref, origin, right, parent, content)
                runs.setdefault(client, []).append(run)
            clock += length
        if clock > MAX_CLOCK:
            raise InvalidPayload(CLOCK_RANGE)
        ends[client] = max(ends.get(client, 0), clock)
    deletes: dict[int, list[tuple[int, int]]] = {}
    body_end = pos
    ranges, pos = _uint(data, end, pos)  # the delete set: per client, (clock, length) ranges
    for _ in range(ranges):
        client, pos = _uint(data, end, pos)
        count, pos = _uint(data, end, pos)
        deleted = deletes.setdefault(client, [])
        for _ in range(count):
            clock, pos = _uint(data, end, pos)
            length, pos = _uint(data, end, pos)
            if clock + length > MAX_CLOCK:
                raise InvalidPayload(CLOCK_RANGE)
            deleted.append((clock, length))
    if pos != end:
        raise InvalidPayload("trailing bytes after update")
    return Walk(
        ends,
        deletes,
        items,
        halves,
        starts=starts,
        runs=runs,
        skips=skips,
        blanks=blanks,
        body_end=body_end,
        joins=joins,
        counts=counts,
    )


@dataclass(frozen=True, slots=True)
class Keystroke:
    """An update of one string struct (what a person typing sends): where it goes, and where
    its content is (see `blanking.blanked`)."""

    client: int
    clock: int
    length: int  # in UTF-16 units
    origin: ID | None
    right: ID | None
    content: tuple[int, int, int]  # its info byte, its string's length prefix and its end
    body_end: int


def keystroke(update: bytes) -> Keystroke | None:
    """The update's one string struct, if it is just that (and a delete set); else None.

    For the keystroke path of a room (one struct): reads the struct's neighbours without
    walking the whole update."""
    reader = Reader(update)
    try:
        if reader.var_uint() != 1 or reader.var_uint() != 1:
            return None
        client, clock = reader.var_uint(), reader.var_uint()
        info_at = reader.pos
        info = update[info_at]
        reader.pos += 1
        if info & 0x1F != 4:
            return None
        origin = (reader.var_uint(), reader.var_uint()) if info & 0x80 else None
        right = (reader.var_uint(), reader.var_uint()) if info & 0x40 else None
        if not info & 0xC0:
            return None  # a parent instead of neighbours: rare, walked instead
        start = reader.pos
        text = reader.var_bytes()
    except (InvalidPayload, IndexError):
        return None
    length = len(text.decode("utf-8", "replace").encode("utf-16-le")) // 2
    return Keystroke(client, clock, length, origin, right, (info_at, start, reader.pos), reader.pos)
