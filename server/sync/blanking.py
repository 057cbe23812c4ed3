"""Updates rewritten for the room's order of characters (`server.sync.order`): every string's
content, and every deleted content, replaced by as many ASCII characters as it has UTF-16 units,
and the delete set dropped, so that in the order's Doc nothing is deleted and each unit is one
character. Where those contents are comes from `structs.walk_update` (`Walk.blanks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.sync.protocol import var_uint
from server.sync.structs import Walk


def blanked(update: bytes, blanks: list[tuple[int, int, int, int]], body_end: int) -> bytes:
    """The update with every string's content, and every deleted content, replaced by a
    string of as many ASCII characters as it has UTF-16 units, and without its delete set:
    the same structs in the same places, in a text where every unit is one character and
    nothing is deleted (`server.sync.order`)."""
    parts: list[bytes] = []
    at = 0
    for info_at, start, end, length in blanks:
        info = update[info_at] & 0xE0 | 4  # a string, with the same neighbours and parent
        parts += [update[at:info_at], bytes([info]), update[info_at + 1 : start]]
        parts += [var_uint(length), b"x" * length]
        at = end
    parts += [update[at:body_end], b"\x00"]
    return b"".join(parts)


@dataclass(slots=True)
class _String:
    """A string `blanked_whole` writes: its struct's info byte and neighbours, its length."""

    head: bytes
    length: int


def blanked_whole(update: bytes, walk: Walk) -> bytes:
    """`blanked`, with each run of structs that go on one from the other (`Walk.joins`) made
    one string, and each client's count of structs lowered to match.

    For a whole document (the order's first state, `server.sync.order`): the room's Doc
    writes each part of a block cut by deletions as its own struct, and blanked, nothing
    parts them any more. yrs would join them again while it commits (each join moving the
    rest of the client's blocks: 2.7 s of the event loop for a document of 20,000 deleted
    ranges); joined here, the same Doc comes out of one pass."""
    edits: list[tuple[int, int, bytes | _String]] = []  # (start, end, what replaces it)
    joined = [0] * len(walk.counts)
    section = 0
    string = _String(b"", 0)
    for (info_at, start, end, length), join in zip(walk.blanks, walk.joins, strict=True):
        while section + 1 < len(walk.counts) and walk.counts[section + 1][0] < info_at:
            section += 1
        if join:
            string.length += length
            joined[section] += 1
            edits.append((info_at, end, b""))
            continue
        string = _String(bytes([update[info_at] & 0xE0 | 4]) + update[info_at + 1 : start], length)
        edits.append((info_at, end, string))
    for (count_at, count_end, count), less in zip(walk.counts, joined, strict=True):
        if less:
            edits.append((count_at, count_end, var_uint(count - less)))
    edits.sort(key=lambda edit: edit[0])
    parts: list[bytes] = []
    at = 0
    for start, end, replacement in edits:
        parts.append(update[at:start])
        if isinstance(replacement, _String):
            parts += [replacement.head, var_uint(replacement.length), b"x" * replacement.length]
        else:
            parts.append(replacement)
        at = end
    parts += [update[at : walk.body_end], b"\x00"]
    return b"".join(parts)
