"""Word-level diff: a hand-checked corpus, random texts, collapsing and safe HTML."""

from __future__ import annotations

import itertools
import json
import random
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from server import diff as d

CORPUS = json.loads((Path(__file__).parent / "corpus" / "diffs.json").read_text("utf-8"))
CASES = CORPUS["cases"]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({case["name"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_corpus(case: dict[str, object]) -> None:
    old, new = str(case["old"]), str(case["new"])
    operations = d.diff(old, new)
    assert d.to_json(operations) == case["ops"]
    assert d.apply(old, operations) == new
    assert d.old_text(operations) == old


# Pieces that random texts are made of: Spanish with precomposed and combining accents,
# emoji (astral, ZWJ sequences, skin tones, flags, keycaps), CJK, Arabic, markup,
# every kind of line ending and some invisible characters.
PIECES = [
    "el",
    "la",
    "congreso",
    "organización",
    "año",
    "niño",
    "¿",
    "?",
    "¡",
    "!",
    "acción",
    "cafe\u0301",
    "n\u0303",
    "e\u0301",
    "\u0301",
    "Ñandú",
    "über",
    "ß",
    "👍",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🏳\ufe0f\u200d🌈",
    "🇦🇷",
    "🇲🇽",
    "1\ufe0f\u20e3",
    "😀",
    "中",
    "文",
    "会議",
    "です",
    "우리는",
    "السلام",
    "<script>",
    "</script>",
    "&amp;",
    '"',
    "'",
    "<",
    ">",
    "&",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    ".",
    ",",
    "...",
    "-",
    "#",
    "*",
    "_",
    "\u200d",
    "\u200b",
    "\ufeff",
    "\x00",
    "\ud7ff",
    "\ue000",
    "\U0010ffff",
]


def random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(length))


def mutate(rng: random.Random, text: str) -> str:
    """Edit a text the way people do: a few insertions, deletions and replacements."""
    chars = list(text)
    for _ in range(rng.randint(0, 6)):
        at = rng.randint(0, len(chars))
        action = rng.choice(("insert", "delete", "replace"))
        piece = list(random_text(rng, rng.randint(1, 4)))
        if action == "insert":
            chars[at:at] = piece
        elif action == "delete":
            del chars[at : at + rng.randint(1, 8)]
        else:
            chars[at : at + rng.randint(1, 8)] = piece
    return "".join(chars)


def check_operations(old: str, new: str, operations: list[d.Operation]) -> None:
    assert d.old_text(operations) == old
    assert d.new_text(operations).encode("utf-8", "surrogatepass") == new.encode(
        "utf-8", "surrogatepass"
    )
    assert all(text for _, text in operations), "no empty operation"
    kinds = [op for op, _ in operations]
    assert all(a != b for a, b in itertools.pairwise(kinds)), "neighbours merged"
    assert set(kinds) <= {"equal", "delete", "insert"}


@pytest.mark.parametrize("seed", range(40))
def test_random_related_texts(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(10):
        old = random_text(rng, rng.randint(0, 60))
        new = mutate(rng, old)
        for semantic in (True, False):
            operations = d.diff(old, new, semantic=semantic)
            check_operations(old, new, operations)
            assert d.apply(old, operations) == new
            # The JSON form survives a round trip through a JSON text.
            again = d.from_json(json.loads(json.dumps(d.to_json(operations))))
            assert d.new_text(again) == new


@pytest.mark.parametrize("seed", range(10))
def test_random_unrelated_texts(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(10):
        old = random_text(rng, rng.randint(0, 80))
        new = random_text(rng, rng.randint(0, 80))
        check_operations(old, new, d.diff(old, new))


@pytest.mark.parametrize("seed", range(10))
def test_random_collapse_is_lossless(seed: int) -> None:
    rng = random.Random(2000 + seed)
    for _ in range(10):
        old = random_text(rng, rng.randint(0, 200))
        new = mutate(rng, old)
        operations = d.diff(old, new)
        for context in (0, 1, 2, 5):
            collapsed = d.collapse(operations, context)
            assert d.old_text(collapsed) == old
            assert d.new_text(collapsed) == new


def boundaries(pieces: list[str]) -> set[int]:
    ends, at = {0}, 0
    for piece in pieces:
        at += len(piece)
        ends.add(at)
    return ends


@pytest.mark.parametrize("seed", range(10))
def test_changes_never_split_a_character(seed: int) -> None:
    """Every place where a change starts or ends, in the old text and in the new one, is a
    token boundary: an accent written as a combining mark, an emoji sequence or a flag is
    never cut in two, nor a word."""
    rng = random.Random(3000 + seed)
    for _ in range(20):
        old = random_text(rng, rng.randint(1, 40))
        new = mutate(rng, old)
        operations = d.diff(old, new)
        in_old = [text for op, text in operations if op != "insert"]
        in_new = [text for op, text in operations if op != "delete"]
        assert boundaries(in_old) <= boundaries(d.tokenize(old)), (old, new)
        assert boundaries(in_new) <= boundaries(d.tokenize(new)), (old, new)
    assert "e\u0301" not in d.tokenize("cafe\u0301")  # the mark stays with its letter


def test_tokens_cover_the_text_and_keep_clusters() -> None:
    text = "¿Qué? cafe\u0301 👨\u200d👩\u200d👧 🇦🇷🇲🇽 1\ufe0f\u20e3 中文 snake_case l'eau\r\n"
    tokens = d.tokenize(text)
    assert "".join(tokens) == text
    assert "cafe\u0301" in tokens
    assert "👨\u200d👩\u200d👧" in tokens
    assert "🇦🇷" in tokens and "🇲🇽" in tokens
    assert "1\ufe0f\u20e3" in tokens
    assert [t for t in tokens if t in "中文"] == ["中", "文"]
    assert "snake_case" in tokens
    assert "\r\n" in tokens


def test_accents_precomposed_and_combining_are_different_bytes() -> None:
    """The diff is byte-exact: it does not normalize, so a ratified text's bytes show."""
    operations = d.diff("cafe\u0301", "caf\u00e9")
    assert operations == [("delete", "cafe\u0301"), ("insert", "caf\u00e9")]
    assert d.diff("caf\u00e9", "caf\u00e9") == [("equal", "caf\u00e9")]


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<a href='javascript:alert(1)'>x</a>",
    "&lt;script&gt; &amp; &#x3C;",
    "<!-- --><style>*{}</style>",
    "</ins><script>x</script><ins>",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_html_escapes_hostile_text(hostile: str) -> None:
    old = f"Texto previo {hostile} fin.\n"
    new = f"Texto nuevo {hostile}{hostile} fin.\n"
    for context in (None, 0, 2):
        fragment = d.render(old, new, context=context)
        parser = TagCollector()
        parser.feed(fragment)
        parser.close()
        assert {tag for tag, _ in parser.tags} <= {"ins", "del", "span"}
        assert all(attrs == [] for tag, attrs in parser.tags if tag != "span")
        assert "<script" not in fragment and "<img" not in fragment
    parser = TagCollector()
    parser.feed(d.render(old, new, context=None))
    parser.close()
    # Deleted and inserted text together, once the tags are dropped: the old text with the
    # inserted pieces added. The text the reader sees is the text written, escaped.
    shown = "".join(parser.text)
    assert hostile in shown


def test_html_marks_insertions_and_deletions() -> None:
    fragment = d.render("El congreso aprobó.", "El congreso ratificó.", context=None)
    assert fragment == "El congreso <del>aprobó</del><ins>ratificó</ins>."


def long_text(lines: int) -> str:
    return "".join(f"Párrafo {i}: la federación acordó el punto {i}.\n" for i in range(lines))


def test_collapse_keeps_context_lines_around_changes() -> None:
    old = long_text(200)
    new = old.replace("punto 100.", "punto cien.").replace("Párrafo 150:", "Párrafo CL:")
    operations = d.collapse(d.diff(old, new), context=2)
    skips = [text for op, text in operations if op == "skip"]
    assert len(skips) == 3  # before the first change, between them, after the last
    shown = d.new_text(op for op in operations if op[0] != "skip")
    for kept in (98, 99, 101, 102, 148, 149, 151, 152):
        assert f"Párrafo {kept}:" in shown
    for hidden in (0, 50, 97, 103, 147, 153, 199):
        assert f"Párrafo {hidden}:" not in shown
    fragment = d.to_html(operations)
    assert fragment.count('class="diff-skip"') == 3
    assert 'data-lines="98"' in fragment  # lines 0 to 97
    assert "<del>100</del><ins>cien</ins>" in fragment


def test_collapse_of_identical_texts_is_one_skip() -> None:
    text = long_text(10)
    assert d.collapse(d.diff(text, text)) == [("skip", text)]
    assert d.collapse([]) == []


def test_collapse_leaves_short_stretches_alone() -> None:
    old = "uno\ndos\ntres\n"
    new = "uno\nDOS\ntres\n"
    operations = d.diff(old, new)
    assert d.collapse(operations, 2) == operations


def test_long_documents_diff_correctly() -> None:
    old = long_text(2000)
    rng = random.Random(7)
    lines = old.splitlines(keepends=True)
    for index in rng.sample(range(len(lines)), 40):
        lines[index] = lines[index].replace("acordó", "rechazó")
    new = "".join(lines)
    operations = d.diff(old, new)
    check_operations(old, new, operations)
    assert sum(1 for op, _ in operations if op == "insert") == 40


def test_unrelated_long_documents_still_give_a_valid_diff() -> None:
    """Past diff-match-patch's time budget the diff is less minimal, never wrong."""
    rng = random.Random(8)
    old = random_text(rng, 6000)
    new = random_text(rng, 6000)
    check_operations(old, new, d.diff(old, new))


def test_apply_refuses_operations_for_another_text() -> None:
    operations = d.diff("uno dos", "uno tres")
    with pytest.raises(ValueError):
        d.apply("otro texto", operations)


@pytest.mark.parametrize(
    "data",
    [{}, [["equal"]], [["move", "x"]], [["equal", 1]], "equal", [("equal", "x")], [None]],
)
def test_from_json_refuses_malformed_input(data: object) -> None:
    with pytest.raises(ValueError):
        d.from_json(data)


def test_every_piece_is_classified_without_error() -> None:
    for piece in PIECES:
        assert "".join(d.tokenize(piece)) == piece
    # the combining characters used in the cluster test really are combining
    assert unicodedata.category("\u0301") == "Mn"
