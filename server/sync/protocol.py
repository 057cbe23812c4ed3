"""The y-websocket wire protocol: lib0 varints, message parsing and encoding.

Every frame holds one message: ``varUint(type)`` then a payload.

- ``0`` sync: ``varUint(subtype)`` then ``varUint8Array``; subtype 0 = SyncStep1 (a state
  vector), 1 = SyncStep2 (an update), 2 = Update.
- ``1`` awareness: ``varUint8Array`` of ``varUint(n)`` then ``n`` x (client, clock, JSON state).
- ``2`` auth: ``varUint(0)`` + ``varString(reason)`` means permission denied.
- ``3`` query-awareness: no payload.

Parsing is strict: a message must be consumed exactly, or it is rejected with
`InvalidPayload`. Nothing here touches a document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import IntEnum

from server.errors import InvalidPayload, PolicyViolation, UnsupportedData

ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 units each
MAX_VARUINT_BYTES = 8  # 56 bits, more than any length or clock a real client sends


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


class Reader:
    """Reads lib0 encodings from a bytes buffer, raising `InvalidPayload` on anything off."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        pos = self.pos
        if pos < len(self.data):  # one byte: nearly every type, length and small clock
            byte = self.data[pos]
            if byte < 0x80:
                self.pos = pos + 1
                return byte
        value = 0
        shift = 0
        for _ in range(MAX_VARUINT_BYTES):
            if self.pos >= len(self.data):
                raise InvalidPayload("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise InvalidPayload("varint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise InvalidPayload("truncated byte array")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidPayload("string is not UTF-8") from exc

    def done(self) -> bool:
        return self.pos == len(self.data)

    def expect_end(self) -> None:
        if not self.done():
            raise InvalidPayload("trailing bytes after message")


def var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


@dataclass(frozen=True, slots=True)
class SyncMessage:
    kind: SyncType
    payload: bytes  # state vector for STEP1, update for STEP2 and UPDATE


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: str  # the JSON text, "null" when the client left
    value: object = field(default=None, compare=False, repr=False)  # ``state`` decoded


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    entries: tuple[AwarenessEntry, ...]
    payload: bytes  # the original varUint8Array content, relayed as is


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


Message = SyncMessage | AwarenessMessage | QueryAwareness


def parse(frame: bytes, max_awareness_entries: int = 64) -> Message:
    """Parse one frame from a client. Raise a `SyncError` subclass if it is not acceptable."""
    reader = Reader(frame)
    kind = reader.var_uint()
    if kind == MessageType.SYNC:
        sub = reader.var_uint()
        if sub not in (0, 1, 2):
            raise UnsupportedData(f"unknown sync message type {sub}")
        payload = reader.var_bytes()
        reader.expect_end()
        return SyncMessage(SyncType(sub), payload)
    if kind == MessageType.AWARENESS:
        payload = reader.var_bytes()
        reader.expect_end()
        return AwarenessMessage(parse_awareness(payload, max_awareness_entries), payload)
    if kind == MessageType.QUERY_AWARENESS:
        reader.expect_end()
        return QueryAwareness()
    raise UnsupportedData(f"unknown message type {kind}")


def parse_awareness(payload: bytes, max_entries: int) -> tuple[AwarenessEntry, ...]:
    reader = Reader(payload)
    count = reader.var_uint()
    if count > max_entries:
        raise PolicyViolation(f"awareness update with {count} entries")
    entries = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        state = reader.var_string()
        try:
            value = json.loads(state)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise InvalidPayload("awareness state is not JSON") from exc
        entries.append(AwarenessEntry(client_id, clock, state, value))
    reader.expect_end()
    return tuple(entries)


def check_update_counts(update: bytes) -> None:
    """Refuse an update that claims more clients than its bytes could hold. yrs reserves (and
    clears) a table of that size before it reads on: a 20-byte update claiming 100 million
    clients made the server touch 130 MB. Each client's section takes at least 3 bytes."""
    reader = Reader(update)
    clients = reader.var_uint()
    if clients * 3 > len(update) - reader.pos:
        raise InvalidPayload("update claims more clients than it holds")


def parse_state_vector(payload: bytes) -> dict[int, int]:
    """Decode a Yjs state vector strictly: client id -> clock."""
    reader = Reader(payload)
    count = reader.var_uint()
    vector = {}
    for _ in range(count):
        client = reader.var_uint()
        vector[client] = reader.var_uint()
    reader.expect_end()
    return vector


def sync_step1(state_vector: bytes) -> bytes:
    return bytes((MessageType.SYNC, SyncType.STEP1)) + var_bytes(state_vector)


def sync_step2(update: bytes) -> bytes:
    return bytes((MessageType.SYNC, SyncType.STEP2)) + var_bytes(update)


def sync_update(update: bytes) -> bytes:
    return bytes((MessageType.SYNC, SyncType.UPDATE)) + var_bytes(update)


def awareness(entries: list[tuple[int, int, str]]) -> bytes:
    body = bytearray(var_uint(len(entries)))
    for client_id, clock, state in entries:
        body += var_uint(client_id) + var_uint(clock) + var_bytes(state.encode("utf-8"))
    return bytes((MessageType.AWARENESS,)) + var_bytes(bytes(body))


def awareness_frame(payload: bytes) -> bytes:
    return bytes((MessageType.AWARENESS,)) + var_bytes(payload)


def auth_denied(reason: str) -> bytes:
    return bytes((MessageType.AUTH, 0)) + var_bytes(reason.encode("utf-8"))


# -- Yjs update structure (v1 encoding) ---------------------------------------------------------


# A struct as `walk_update` finds it: first clock, the clock after it, whether it is an item
# (not GC or Skip), its right origin (client, clock) or None.
Held = tuple[int, int, bool, "tuple[int, int] | None"]


@dataclass(frozen=True)
class Walk:
    """What `walk_update` read from an update."""

    ends: dict[int, int]  # per client, the clock after its last struct
    deletes: dict[int, list[tuple[int, int]]]  # the delete set: per client, (clock, length)
    # Where each struct is put: (its client, its clock, and the client and clock of its left
    # neighbour when it was made: the origin), and the same with its right origin. Structs
    # without one are left out.
    lefts: list[tuple[int, int, int, int]]
    rights: list[tuple[int, int, int, int]]
    # Per client, the clocks of the second UTF-16 unit of each character outside the BMP
    # (an emoji, say) in the update's strings: a cut at such a clock splits a character.
    halves: dict[int, list[int]]
    # Asked for with ``at`` (per client, a clock): per client, the struct holding that clock.
    found: dict[int, Held] = field(default_factory=dict)


def state_vector(clocks: dict[int, int]) -> bytes:
    """Encode a Yjs state vector (client id -> clock)."""
    return var_uint(len(clocks)) + b"".join(
        var_uint(client) + var_uint(clock) for client, clock in clocks.items()
    )


def update_header(update: bytes) -> tuple[int, int | None]:
    """How many client blocks an update has, and the first block's client id (None if none)."""
    reader = Reader(update)
    clients = reader.var_uint()
    if clients == 0:
        return 0, None
    reader.var_uint()  # its number of structs
    return clients, reader.var_uint()


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


def walk_update(update: bytes, at: dict[int, int] | None = None) -> Walk:
    """Walk every struct of a v1 update; return, per client, the clock after its last struct,
    the delete set, the structs' neighbours and where characters outside the BMP are; and,
    for each client in ``at``, the struct that holds the clock given.

    Raises `InvalidPayload` if a struct is malformed or empty. (pycrdt can integrate a
    conflicting update, a reused client id whose item overlaps what the Doc holds, cut inside a
    surrogate pair, as an item with an empty string; the change it then reports makes every
    client that applies it panic. No real client sends a struct of length 0.)
    """
    data = update
    end = len(data)

    def uint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while pos < end and shift < 7 * MAX_VARUINT_BYTES:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, pos
            shift += 7
        raise InvalidPayload("truncated or overlong varint in update")

    def skip_bytes(pos: int) -> tuple[int, int]:
        length, pos = uint(pos)
        if pos + length > end:
            raise InvalidPayload("truncated update")
        return length, pos + length

    def skip_any(pos: int, depth: int) -> int:
        if depth > 64 or pos >= end:
            raise InvalidPayload("invalid value in update")
        kind = data[pos]
        pos += 1
        if kind in (127, 126, 121, 120):  # undefined, null, false, true
            return pos
        if kind == 125:  # signed varint
            return uint(pos)[1]
        if kind in (124, 123, 122):  # float32, float64, bigint64
            pos += 4 if kind == 124 else 8
        elif kind in (119, 116):  # string, bytes
            pos = skip_bytes(pos)[1]
        elif kind in (118, 117):  # object, array
            count, pos = uint(pos)
            for _ in range(count):
                if kind == 118:
                    pos = skip_bytes(pos)[1]
                pos = skip_any(pos, depth + 1)
        else:
            raise InvalidPayload("invalid value in update")
        if pos > end:
            raise InvalidPayload("truncated update")
        return pos

    ends: dict[int, int] = {}
    lefts: list[tuple[int, int, int, int]] = []
    rights: list[tuple[int, int, int, int]] = []
    halves: dict[int, list[int]] = {}
    found: dict[int, Held] = {}
    clients, pos = uint(0)
    for _ in range(clients):
        structs, pos = uint(pos)
        client, pos = uint(pos)
        clock, pos = uint(pos)
        wanted = at.get(client, -1) if at else -1
        for _ in range(structs):
            if pos >= end:
                raise InvalidPayload("truncated update")
            info = data[pos]
            pos += 1
            ref = info & 0x1F
            if ref in (0, 10):  # GC, Skip: a length
                length, pos = uint(pos)
                if length == 0:
                    raise InvalidPayload("empty struct in update")
                if clock <= wanted < clock + length:
                    found[client] = (clock, clock + length, False, None)
                clock += length
                continue
            right = None
            if info & 0x80:  # origin id
                origin_client, pos = uint(pos)
                origin_clock, pos = uint(pos)
                lefts.append((client, clock, origin_client, origin_clock))
            if info & 0x40:  # right origin id
                origin_client, pos = uint(pos)
                origin_clock, pos = uint(pos)
                rights.append((client, clock, origin_client, origin_clock))
                right = (origin_client, origin_clock)
            if not info & 0xC0:  # parent: a root type's name or an item id; maybe a map key
                kind, pos = uint(pos)
                pos = skip_bytes(pos)[1] if kind == 1 else uint(uint(pos)[1])[1]
                if info & 0x20:
                    pos = skip_bytes(pos)[1]
            length = 1
            if ref == 4:  # a string: its length counts UTF-16 units
                size, pos = skip_bytes(pos)
                chunk = data[pos - size : pos].decode("utf-8", "replace")
                length = len(chunk.encode("utf-16-le")) // 2
                if length != len(chunk):  # characters outside the BMP: two units each
                    units = halves.setdefault(client, [])
                    for before, match in enumerate(ASTRAL.finditer(chunk)):
                        units.append(clock + match.start() + before + 1)
            elif ref in (1, 2, 8):  # deleted, JSON, any: a count
                length, pos = uint(pos)
                for _ in range(length if ref != 1 else 0):
                    pos = skip_bytes(pos)[1] if ref == 2 else skip_any(pos, 0)
            elif ref in (3, 5):  # binary, embed
                pos = skip_bytes(pos)[1]
            elif ref == 6:  # format: key, value
                pos = skip_bytes(skip_bytes(pos)[1])[1]
            elif ref == 7:  # a shared type; XML elements and hooks carry a name
                kind, pos = uint(pos)
                if kind in (3, 5):
                    pos = skip_bytes(pos)[1]
            elif ref == 9:  # a subdocument: guid, options
                pos = skip_any(skip_bytes(pos)[1], 0)
            elif ref not in (1, 2, 8):
                raise InvalidPayload(f"unknown struct type {ref} in update")
            if length == 0:
                raise InvalidPayload("empty struct in update")
            if clock <= wanted < clock + length:
                found[client] = (clock, clock + length, True, right)
            clock += length
        ends[client] = max(ends.get(client, 0), clock)
    deletes: dict[int, list[tuple[int, int]]] = {}
    ranges, pos = uint(pos)  # the delete set: per client, (clock, length) ranges
    for _ in range(ranges):
        client, pos = uint(pos)
        count, pos = uint(pos)
        deleted = deletes.setdefault(client, [])
        for _ in range(count):
            clock, pos = uint(pos)
            length, pos = uint(pos)
            deleted.append((clock, length))
    if pos != end:
        raise InvalidPayload("trailing bytes after update")
    return Walk(ends, deletes, lefts, rights, halves, found)
