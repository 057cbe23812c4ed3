"""Word-level differences between two texts, as operations, JSON and HTML.

The diff algorithm is Google's diff-match-patch (Myers' O(ND) diff with its speed-ups and
its semantic clean-up). It compares strings character by character, so we use its
"lines to chars" trick on words: the texts are cut into tokens (words, whitespace runs,
punctuation runs, single symbols or emoji), every distinct token is mapped to one
character, the two strings of characters are diffed, and each character is mapped back to
its token. A change therefore never starts or ends inside a word, an accented letter
written with a combining mark, an emoji ZWJ sequence or a flag.

Operations are ``(op, text)`` pairs with ``op`` one of ``equal``, ``delete``, ``insert``.
Joining the ``equal`` and ``delete`` texts gives the old text, and joining the ``equal`` and
``insert`` texts gives the new text, exactly (``apply`` checks the first against ``old``).

``collapse`` replaces long unchanged stretches by ``skip`` operations that keep only a few
lines around each change; their text is the skipped text, so a reader can expand them.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

from diff_match_patch import diff_match_patch

Op = Literal["equal", "delete", "insert", "skip"]
Operation = tuple[Op, str]

_DMP_OPS: dict[int, Op] = {0: "equal", -1: "delete", 1: "insert"}
_DIFF_TIMEOUT_S = 2.0  # past it, diff-match-patch returns a valid but less minimal diff

_ZWJ = "\u200d"
_BLANK_END = re.compile(r"\n\r?\n\Z")
_BLANK_START = re.compile(r"\r?\n\r?\n")
_KEYCAP = "\u20e3"


def _is_extender(ch: str) -> bool:
    """True for a character that belongs to the grapheme cluster before it."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")  # combining marks, VS15/VS16
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
        or ch == _KEYCAP
    )


def _is_pictograph(ch: str) -> bool:
    return unicodedata.category(ch) == "So"


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_ideograph(ch: str) -> bool:
    """Scripts written without spaces between words: each character is its own token."""
    cp = ord(ch)
    return (
        0x3040 <= cp <= 0x30FF  # hiragana, katakana
        or 0x3400 <= cp <= 0x4DBF  # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= cp <= 0x3FFFF  # CJK extensions B and later
    )


def graphemes(text: str) -> Iterable[str]:
    """Approximate extended grapheme clusters (enough never to split what a reader sees as
    one character: base + combining marks, emoji ZWJ sequences, modifiers, flags, CRLF)."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if (text[i] == "\r" and j < n and text[j] == "\n") or (
            _is_regional_indicator(text[i]) and j < n and _is_regional_indicator(text[j])
        ):
            j += 1
        while j < n:
            if _is_extender(text[j]):
                j += 1
            elif text[j] == _ZWJ:
                # an emoji ZWJ sequence: pictograph ZWJ pictograph (GB11, approximately)
                joins = j + 1 < n and _is_pictograph(text[i]) and _is_pictograph(text[j + 1])
                j += 2 if joins else 1
            else:
                break
        yield text[i:j]
        i = j


def _kind(cluster: str) -> str:
    """The token class of a cluster: runs of the same 'w', 's' or 'p' class join."""
    base = cluster[0]
    if base.isspace():
        return "s"
    if _is_ideograph(base):
        return "i"  # never joins
    category = unicodedata.category(base)
    if category[0] in "LN" or base == "_":
        return "w"
    if category[0] == "P":
        return "p"
    return "o"  # symbols, emoji, controls: one token each


def tokenize(text: str) -> list[str]:
    """Cut ``text`` into tokens whose concatenation is ``text``."""
    tokens: list[str] = []
    previous = ""
    for cluster in graphemes(text):
        kind = _kind(cluster)
        if tokens and kind == previous and kind in "wsp":
            tokens[-1] += cluster
        else:
            tokens.append(cluster)
        previous = kind
    return tokens


class _TokenDiff(diff_match_patch):  # type: ignore[misc]
    """diff-match-patch working on token characters.

    Its lossless semantic pass slides an edit sideways to the most natural boundary (a
    blank line, a line break, the end of a sentence, a space), judging by the characters
    on each side. Here a character stands for a whole token, so the pass is redone on the
    same plan, sliding whole tokens and judging by the tokens they stand for.
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        super().__init__()
        self.symbols = symbols

    def _token(self, char: str) -> str:
        code = ord(char)
        return self.symbols[code - 0x800 if code >= 0xE000 else code]

    def _score(self, one: str, two: str) -> int:
        """6 (best) to 0: how natural a boundary between ``one`` and ``two`` is."""
        if not one or not two:
            return 6
        left, right = self._token(one[-1]), self._token(two[0])
        if _BLANK_END.search(left) or _BLANK_START.match(right):
            return 5
        if left[-1] in "\r\n" or right[0] in "\r\n":
            return 4
        if not left[-1].isalnum() and not left[-1].isspace() and right[0].isspace():
            return 3
        if left[-1].isspace() or right[0].isspace():
            return 2
        if not left[-1].isalnum() or not right[0].isalnum():
            return 1
        return 0

    def diff_cleanupSemanticLossless(self, diffs: list[tuple[int, str]]) -> None:
        pointer = 1
        while pointer < len(diffs) - 1:
            before, (op, edit), after = diffs[pointer - 1], diffs[pointer], diffs[pointer + 1]
            if before[0] != self.DIFF_EQUAL or after[0] != self.DIFF_EQUAL:
                pointer += 1
                continue
            best = self._slide(before[1], edit, after[1])
            if best[0] != before[1]:
                diffs[pointer - 1 : pointer + 2] = [
                    (kind, text)
                    for kind, text in zip((self.DIFF_EQUAL, op, self.DIFF_EQUAL), best, strict=True)
                    if text
                ]
                pointer -= (not best[0]) + (not best[2])
            pointer += 1

    def _slide(self, equal1: str, edit: str, equal2: str) -> tuple[str, str, str]:
        """Shift the edit fully left, then step right keeping the best-scored position."""
        common = self.diff_commonSuffix(equal1, edit)
        if common:
            shared = edit[-common:]
            equal1, edit, equal2 = equal1[:-common], shared + edit[:-common], shared + equal2
        best = (equal1, edit, equal2)
        best_score = self._score(equal1, edit) + self._score(edit, equal2)
        while edit and equal2 and edit[0] == equal2[0]:
            equal1, edit, equal2 = equal1 + edit[0], edit[1:] + equal2[0], equal2[1:]
            score = self._score(equal1, edit) + self._score(edit, equal2)
            if score >= best_score:  # ties go right, as upstream
                best, best_score = (equal1, edit, equal2), score
        return best


def _encode(tokens: Sequence[str], table: dict[str, str], symbols: list[str]) -> str:
    chars = []
    for token in tokens:
        char = table.get(token)
        if char is None:
            code = len(symbols)
            if code >= 0xD800:  # skip the surrogate range
                code += 0x800
            if code > 0x10FFFF:
                raise ValueError("too many distinct words to compare")
            char = chr(code)
            table[token] = char
            symbols.append(token)
        chars.append(char)
    return "".join(chars)


def diff(old: str, new: str, *, semantic: bool = True) -> list[Operation]:
    """Word-level operations turning ``old`` into ``new``.

    With ``semantic`` (the default), short unchanged words between changes are folded into
    the changes, which reads better than a scatter of one-word edits.
    """
    table: dict[str, str] = {}
    symbols: list[str] = []
    chars_old = _encode(tokenize(old), table, symbols)
    chars_new = _encode(tokenize(new), table, symbols)
    engine = _TokenDiff(symbols)
    engine.Diff_Timeout = _DIFF_TIMEOUT_S
    raw: list[tuple[int, str]] = engine.diff_main(chars_old, chars_new, checklines=False)
    if semantic:
        engine.diff_cleanupSemantic(raw)
    return _merge(
        (_DMP_OPS[code], "".join(engine._token(char) for char in chars)) for code, chars in raw
    )


def _merge(operations: Iterable[Operation]) -> list[Operation]:
    """Drop empty operations and join neighbours of the same kind."""
    merged: list[Operation] = []
    for op, text in operations:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


def old_text(operations: Iterable[Operation]) -> str:
    return "".join(text for op, text in operations if op in ("equal", "delete", "skip"))


def new_text(operations: Iterable[Operation]) -> str:
    return "".join(text for op, text in operations if op in ("equal", "insert", "skip"))


def apply(old: str, operations: Iterable[Operation]) -> str:
    """The new text, after checking that ``operations`` start from ``old``."""
    operations = list(operations)
    if old_text(operations) != old:
        raise ValueError("the operations do not start from this text")
    return new_text(operations)


def to_json(operations: Iterable[Operation]) -> list[list[str]]:
    """The JSON form: a list of ``[op, text]``."""
    return [[op, text] for op, text in operations]


def from_json(data: object) -> list[Operation]:
    """Read the JSON form back, refusing anything else."""
    if not isinstance(data, list):
        raise ValueError("a diff is a list of [op, text]")
    operations: list[Operation] = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], str)):
            raise ValueError("a diff is a list of [op, text]")
        op = item[0]
        if op not in ("equal", "delete", "insert", "skip"):
            raise ValueError(f"unknown diff operation {op!r}")
        operations.append((op, item[1]))
    return operations


_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def _split_lines(text: str) -> list[str]:
    """Lines with their endings, as Markdown counts them (LF, CRLF or CR)."""
    return _LINE.findall(text)


def _collapse_equal(text: str, keep_before: int | None, keep_after: int | None) -> list[Operation]:
    """Keep ``keep_before`` lines after the previous change (``None``: no change before) and
    ``keep_after`` lines before the next change; skip the lines in between."""
    lines = _split_lines(text)
    # The first piece finishes the line of the change before; the last starts the next one.
    head = 0 if keep_before is None else 1 + keep_before
    tail = 0 if keep_after is None else 1 + keep_after
    if len(lines) <= head + tail + 1:
        return [("equal", text)]
    kept_tail = lines[len(lines) - tail :] if tail else []
    return _merge(
        [
            ("equal", "".join(lines[:head])),
            ("skip", "".join(lines[head : len(lines) - tail])),
            ("equal", "".join(kept_tail)),
        ]
    )


def collapse(operations: Sequence[Operation], context: int = 2) -> list[Operation]:
    """Replace unchanged stretches far from any change by ``skip`` operations.

    ``context`` whole lines are kept on each side of a change (a Markdown paragraph is
    usually one line). A text without changes collapses to a single ``skip``.
    """
    if context < 0:
        raise ValueError("context must be >= 0")
    out: list[Operation] = []
    last = len(operations) - 1
    for index, (op, text) in enumerate(operations):
        if op != "equal":
            out.append((op, text))
            continue
        keep_before = None if index == 0 else context
        keep_after = None if index == last else context
        if keep_before is None and keep_after is None:
            out.append(("skip", text))
        else:
            out.extend(_collapse_equal(text, keep_before, keep_after))
    return _merge(out)


def to_html(operations: Iterable[Operation]) -> str:
    """An HTML fragment: changes in ``<ins>``/``<del>``, skipped stretches as an ellipsis.

    All text is escaped. The fragment keeps the text's line breaks, so show it in an
    element with ``white-space: pre-wrap``. A skip becomes
    ``<span class="diff-skip" data-lines="N">…</span>`` (N = skipped lines), for the page
    to label in the reader's language.
    """
    parts: list[str] = []
    for op, text in operations:
        escaped = html.escape(text, quote=True)
        if op == "insert":
            parts.append(f"<ins>{escaped}</ins>")
        elif op == "delete":
            parts.append(f"<del>{escaped}</del>")
        elif op == "skip":
            count = len(_split_lines(text))
            parts.append(f'<span class="diff-skip" data-lines="{count}">\u2026</span>')
        else:
            parts.append(escaped)
    return "".join(parts)


def render(old: str, new: str, *, context: int | None = 2) -> str:
    """The HTML diff of two texts; ``context=None`` shows every unchanged line."""
    operations = diff(old, new)
    if context is not None:
        operations = collapse(operations, context)
    return to_html(operations)
