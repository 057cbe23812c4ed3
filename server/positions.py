"""Offsets in a text, between the three units Accord meets.

- UTF-16 code units: Yjs, CodeMirror and the browser count in these, and so does every offset
  in Accord's API (``from``/``to`` of a comment's range).
- UTF-8 bytes: pycrdt's ``Text.insert``, ``len(text)``, ``del text[a:b]`` and event deltas.
- Code points: Python's ``str`` indexing.

Every offset the server reads or writes goes through this module. An offset that falls inside
a character (between the two halves of a surrogate pair, or inside a UTF-8 sequence) is refused
with ValueError rather than rounded: splitting a character would corrupt the text.
"""

from __future__ import annotations

import bisect
from functools import cached_property


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class Offsets:
    """Conversions for one text. Build it once per text; each lookup is O(log n)."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def _astral(self) -> list[int]:
        """Code-point indexes of the characters outside the BMP (two UTF-16 units each)."""
        return [i for i, ch in enumerate(self.text) if ord(ch) > 0xFFFF]

    @cached_property
    def utf8_starts(self) -> list[int]:
        """Byte offset where each code point starts, and the total length at the end."""
        starts = [0] * (len(self.text) + 1)
        total = 0
        for i, ch in enumerate(self.text):
            starts[i] = total
            code = ord(ch)
            total += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        starts[len(self.text)] = total
        return starts

    @property
    def utf16_length(self) -> int:
        return len(self.text) + len(self._astral)

    @property
    def utf8_length(self) -> int:
        return self.utf8_starts[-1]

    # -- to and from code points ----------------------------------------------------------

    def index_from_utf16(self, offset: int) -> int:
        """The code-point index at a UTF-16 offset."""
        if not 0 <= offset <= self.utf16_length:
            raise ValueError(f"offset {offset} is outside the text")
        # each astral character before the answer adds a unit: find i, i + astral(<i) == offset
        low, high = 0, len(self.text)
        while low < high:
            mid = (low + high) // 2
            if mid + bisect.bisect_left(self._astral, mid) < offset:
                low = mid + 1
            else:
                high = mid
        if low + bisect.bisect_left(self._astral, low) != offset:
            raise ValueError(f"offset {offset} splits a character")
        return low

    def utf16_from_index(self, index: int) -> int:
        if not 0 <= index <= len(self.text):
            raise ValueError(f"index {index} is outside the text")
        return index + bisect.bisect_left(self._astral, index)

    def index_from_utf8(self, offset: int) -> int:
        starts = self.utf8_starts
        index = bisect.bisect_left(starts, offset)
        if not 0 <= offset <= starts[-1] or starts[index] != offset:
            raise ValueError(f"byte offset {offset} is not at a character boundary")
        return index

    def utf8_from_index(self, index: int) -> int:
        if not 0 <= index <= len(self.text):
            raise ValueError(f"index {index} is outside the text")
        return self.utf8_starts[index]

    # -- between the units pycrdt and Yjs use ---------------------------------------------

    def utf8_from_utf16(self, offset: int) -> int:
        return self.utf8_from_index(self.index_from_utf16(offset))

    def utf16_from_utf8(self, offset: int) -> int:
        return self.utf16_from_index(self.index_from_utf8(offset))

    def advance_utf16(self, byte_offset: int, units: int) -> int:
        """The byte offset ``units`` UTF-16 units after ``byte_offset``."""
        return self.utf8_from_utf16(self.utf16_from_utf8(byte_offset) + units)

    def char_start(self, offset: int) -> int:
        """The UTF-16 offset where the character holding the unit at ``offset`` starts (Yjs
        can name the second half of a surrogate pair)."""
        try:
            self.index_from_utf16(offset)
        except ValueError:
            if 0 < offset < self.utf16_length:
                return offset - 1
            raise
        return offset

    def slice_utf16(self, start: int, end: int) -> str:
        return self.text[self.index_from_utf16(start) : self.index_from_utf16(end)]

    def line_at_utf16(self, offset: int) -> int:
        """The 1-based line number of the line holding the offset."""
        return self.text.count("\n", 0, self.index_from_utf16(offset)) + 1


__all__ = ["Offsets", "utf16_length"]
