"""Anchors: Yjs relative positions, decoded strictly and resolved on the server's Doc.

A comment's anchor is a pair of Yjs ``RelativePosition``s made by the browser
(``Y.encodeRelativePosition``): ``start`` sticks to the first character of the range (assoc 0),
``end`` to the last (assoc -1). They follow their characters through any concurrent edit.

pycrdt can decode them, but its ``StickyIndex.get_index`` mixes units: the UTF-8 bytes of the
text before the block (yrs item) holding the character, plus the distance inside that block in
clocks (UTF-16 units). So it is exact only at the first clock of a block, or for a deleted
block (then it counts only the visible text before it, as Yjs does). This module resolves
positions exactly as ``Y.createAbsolutePositionFromRelativePosition`` does, in UTF-16 units:
it reads the client's blocks from the Doc's own update, asks yrs for the offset of the
block's first clock, and adds the distance in clocks. tests/test_anchors.py checks it against
Yjs on thousands of positions in multilingual documents edited concurrently.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from dataclasses import dataclass

from pycrdt import Assoc, Doc, StickyIndex, Text

from server.errors import BadRequest
from server.positions import Offsets, utf16_length
from server.sync import protocol
from server.sync.protocol import Reader, var_bytes, var_uint

MAX_ENCODED = 64  # a relative position is a tag, two varints and an assoc: ~25 bytes


@dataclass(frozen=True)
class Position:
    """A decoded relative position: an item id (``client``, ``clock``), or the whole type."""

    client: int | None
    clock: int | None
    assoc: int  # >= 0: sticks to the character on its right; < 0: on its left

    @property
    def is_type(self) -> bool:
        return self.client is None


def decode(encoded: object) -> Position:
    """A base64 ``Y.encodeRelativePosition`` of a position in the document's text."""
    if not isinstance(encoded, str) or not 0 < len(encoded) <= MAX_ENCODED * 2:
        raise BadRequest("an anchor must be a base64 string")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("an anchor must be a base64 string") from exc
    reader = Reader(data)
    try:
        tag = reader.var_uint()
        if tag == 0:
            client, clock = reader.var_uint(), reader.var_uint()
            position = Position(client, clock, 0)
        elif tag == 1:
            if reader.var_string() != "content":
                raise BadRequest("an anchor must point into the document's text")
            position = Position(None, None, 0)
        else:
            raise BadRequest("an anchor must point into the document's text")
        assoc = _read_var_int(reader) if not reader.done() else 0
        if not reader.done():
            raise BadRequest("an anchor has trailing bytes")
    except BadRequest:
        raise
    except Exception as exc:  # a truncated varint or string (InvalidPayload)
        raise BadRequest("an anchor is not a valid relative position") from exc
    return Position(position.client, position.clock, assoc)


def encode(position: Position) -> str:
    """The base64 form ``Y.decodeRelativePosition`` reads (for anchors the server makes)."""
    out = bytearray()
    if position.client is None or position.clock is None:
        out += b"\x01" + var_bytes(b"content")
    else:
        out += b"\x00" + var_uint(position.client) + var_uint(position.clock)
    out += _var_int(position.assoc)
    return base64.b64encode(bytes(out)).decode()


def _byte(reader: Reader) -> int:
    if reader.pos >= len(reader.data):
        raise BadRequest("an anchor is not a valid relative position")
    reader.pos += 1
    return reader.data[reader.pos - 1]


def _read_var_int(reader: Reader) -> int:
    """lib0's signed varint: sign in bit 6 of the first byte, 6 bits there, then 7 per byte."""
    first = _byte(reader)
    value, negative, shift = first & 0x3F, bool(first & 0x40), 6
    more = first & 0x80
    while more:
        if shift > 63:
            raise BadRequest("an anchor is not a valid relative position")
        byte = _byte(reader)
        value |= (byte & 0x7F) << shift
        shift += 7
        more = byte & 0x80
    return -value if negative else value


def _var_int(n: int) -> bytes:
    negative, n = n < 0, abs(n)
    out = bytearray([(0x80 if n > 0x3F else 0) | (0x40 if negative else 0) | (n & 0x3F)])
    n >>= 6
    while n > 0:
        out.append((0x80 if n > 0x7F else 0) | (n & 0x7F))
        n >>= 7
    return bytes(out)


class Unknown(Exception):
    """The position names a character this Doc has not received yet (the author's edit is
    still on its way): ask again shortly."""


@dataclass(frozen=True)
class Block:
    clock: int  # first clock of the block
    length: int  # in clock units (UTF-16 units for text)
    deleted: bool


class Resolver:
    """Resolves positions against one state of a Doc's text (build one per read)."""

    def __init__(self, doc: Doc[Text]) -> None:
        self.doc = doc
        self.text = doc.get("content", type=Text)
        self.offsets = Offsets(str(self.text))
        self.state = protocol.parse_state_vector(doc.get_state())
        self._blocks: dict[int, list[Block]] = {}

    def resolve(self, position: Position) -> int:
        """The position's UTF-16 offset in the current text, as Yjs computes it."""
        if position.client is None or position.clock is None:
            return self.offsets.utf16_length if position.assoc >= 0 else 0
        client, clock = position.client, position.clock
        if self.state.get(client, 0) <= clock:
            raise Unknown(f"{client}:{clock}")
        block = self._block(client, clock)
        if block.deleted:  # Yjs: the visible text before it; yrs counts that in bytes
            return self.offsets.utf16_from_utf8(self._mixed(client, clock))
        # At a block's first clock, yrs's mixed offset is exact (bytes before the block).
        start = self.offsets.utf16_from_utf8(self._mixed(client, block.clock))
        return start + (clock - block.clock) + (1 if position.assoc < 0 else 0)

    def make(self, offset: int, assoc: int) -> Position:
        """The position ``Y.createRelativePositionFromTypeIndex(text, offset, assoc)`` makes:
        assoc >= 0 sticks to the unit at ``offset``, assoc < 0 to the unit before it."""
        length = self.offsets.utf16_length
        if not 0 <= offset <= length:
            raise BadRequest("an offset is outside the text")
        unit = offset if assoc >= 0 else offset - 1
        if unit < 0 or unit >= length:  # before the start / past the end: the type itself
            return Position(None, None, assoc)
        client, clock = self.id_of(unit)
        return Position(client, clock, assoc)

    def id_of(self, unit: int) -> tuple[int, int]:
        """The (client, clock) of the UTF-16 unit at an offset of the current text.

        pycrdt's ``sticky_index`` mixes units the other way (the clock of the block's start
        plus the distance in bytes): find the block that explains it, then count in units.
        """
        offsets = self.offsets
        start = offsets.char_start(unit)
        byte = offsets.utf8_from_utf16(start)
        found = self.text.sticky_index(byte, Assoc.AFTER).to_json().get("item")
        if not found:
            raise BadRequest("an offset is outside the text")
        client, mixed = int(found["client"]), int(found["clock"])
        for block in self._client(client):
            if block.deleted or block.clock > mixed:
                continue
            block_start = self._mixed(client, block.clock)
            if block_start > byte or block.clock + (byte - block_start) != mixed:
                continue
            clock = block.clock + (start - offsets.utf16_from_utf8(block_start))
            if clock < block.clock + block.length:
                return client, clock + (unit - start)
        raise BadRequest("the text could not be anchored")

    def _mixed(self, client: int, clock: int) -> int:
        sticky = StickyIndex.from_json(
            {"item": {"client": client, "clock": clock}, "assoc": 0}, self.text
        )
        try:
            return sticky.get_index()
        except BaseException as exc:  # a PanicException is a BaseException
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise BadRequest("an anchor is not a valid relative position") from None

    def _client(self, client: int) -> list[Block]:
        blocks = self._blocks.get(client)
        if blocks is None:
            blocks = self._blocks[client] = client_blocks(self.doc, client, self.state)
        return blocks

    def _block(self, client: int, clock: int) -> Block:
        blocks = self._client(client)
        index = bisect.bisect_right([b.clock for b in blocks], clock) - 1
        if index < 0 or clock >= blocks[index].clock + blocks[index].length:
            raise BadRequest("an anchor is not a valid relative position")
        return blocks[index]


def client_blocks(doc: Doc[Text], client: int, state: dict[int, int]) -> list[Block]:
    """The blocks (items and GC ranges) of one client, as the Doc stores them."""
    others = {c: clock for c, clock in state.items() if c != client}
    vector = protocol.var_uint(len(others) + 1) + protocol.var_uint(client) + b"\x00"
    for c, clock in others.items():
        vector += protocol.var_uint(c) + protocol.var_uint(clock)
    reader = Reader(doc.get_update(vector))
    blocks: list[Block] = []
    for _ in range(reader.var_uint()):
        count, owner, clock = reader.var_uint(), reader.var_uint(), reader.var_uint()
        for _ in range(count):
            length, deleted = _struct(reader)
            if owner == client and length:
                blocks.append(Block(clock, length, deleted))
            clock += length
    return blocks


def _struct(reader: Reader) -> tuple[int, bool]:
    """Skip one struct of a v1 update; return its length in clocks and whether it is deleted."""
    info = _byte(reader)
    ref = info & 0x1F
    if ref in (0, 10):  # GC, Skip
        return reader.var_uint(), ref == 0
    if info & 0x80:
        reader.var_uint(), reader.var_uint()  # origin
    if info & 0x40:
        reader.var_uint(), reader.var_uint()  # right origin
    if not info & 0xC0:
        if reader.var_uint() == 1:
            reader.var_string()  # parent: a root type's name
        else:
            reader.var_uint(), reader.var_uint()  # parent: an item id
        if info & 0x20:
            reader.var_string()  # parent_sub
    if ref == 1:  # deleted
        return reader.var_uint(), True
    if ref == 4:  # string
        return utf16_length(reader.var_bytes().decode("utf-8", "replace")), False
    if ref == 2:  # JSON
        count = reader.var_uint()
        for _ in range(count):
            reader.var_bytes()
        return count, False
    if ref == 3:  # binary
        reader.var_bytes()
        return 1, False
    if ref == 5:  # embed
        reader.var_bytes()
        return 1, False
    if ref == 6:  # format
        reader.var_bytes(), reader.var_bytes()
        return 1, False
    if ref == 7:  # type
        if reader.var_uint() in (3, 5):  # XmlElement, XmlHook carry a name
            reader.var_bytes()
        return 1, False
    if ref == 8:  # any
        count = reader.var_uint()
        for _ in range(count):
            _skip_any(reader)
        return count, False
    if ref == 9:  # subdocument
        reader.var_bytes()
        _skip_any(reader)
        return 1, False
    raise BadRequest("the document holds content Accord does not read")


def _skip_any(reader: Reader, depth: int = 0) -> None:
    """Skip one lib0 ``any`` value."""
    if depth > 64:
        raise BadRequest("the document holds content Accord does not read")
    tag = _byte(reader)
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if tag == 125:  # integer
        _read_var_int(reader)
    elif tag == 124:
        reader.pos += 4
    elif tag in (123, 122):
        reader.pos += 8
    elif tag in (119, 116):  # string, bytes
        reader.var_bytes()
    elif tag == 118:  # object
        for _ in range(reader.var_uint()):
            reader.var_bytes()
            _skip_any(reader, depth + 1)
    elif tag == 117:  # array
        for _ in range(reader.var_uint()):
            _skip_any(reader, depth + 1)
    else:
        raise BadRequest("the document holds content Accord does not read")


__all__ = ["Position", "Resolver", "Unknown", "decode", "encode"]
