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
import math
from dataclasses import dataclass, field
from enum import IntEnum

from server.errors import InvalidPayload, PolicyViolation, UnsupportedData

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
        value = state_value(state)
        entries.append(AwarenessEntry(client_id, clock, state, value))
    reader.expect_end()
    return tuple(entries)


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is out of range")
    return number


_STRICT = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def state_value(state: str) -> object:
    """An awareness state decoded, as strictly as a browser's ``JSON.parse``: Python also
    takes ``NaN`` and ``Infinity``, which would make every other client's parse throw if
    relayed, and reads ``1e400`` as infinity, which ``json.dumps`` would write as
    ``Infinity``."""
    try:
        return _STRICT.decode(state)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise InvalidPayload("awareness state is not JSON") from exc


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


def state_vector(clocks: dict[int, int]) -> bytes:
    """Encode a Yjs state vector (client id -> clock)."""
    return var_uint(len(clocks)) + b"".join(
        var_uint(client) + var_uint(clock) for client, clock in clocks.items()
    )


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
