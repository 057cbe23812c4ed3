"""server/anchors.py: Yjs relative positions resolved on the server exactly as Yjs resolves
them, on multilingual documents edited concurrently by several real Yjs clients (Node)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from server.anchors import Position, Resolver, Unknown, decode, encode
from server.errors import BadRequest

WEB = Path(__file__).resolve().parent.parent / "web"


def yjs_cases(seed: int, count: int) -> list[dict[str, object]]:
    out = subprocess.run(
        ["node", "tests/anchors.mjs", str(seed), str(count)],
        cwd=WEB,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    cases: list[dict[str, object]] = json.loads(out)["cases"]
    return cases


def doc_of(update_b64: str) -> Doc[Text]:
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text)
    doc.apply_update(base64.b64decode(update_b64))
    return doc


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_positions_resolve_exactly_as_yjs_resolves_them(seed: int) -> None:
    """Three clients type Spanish, emoji, CJK, RTL and combining marks and delete around
    positions made earlier; every position (alive, deleted, at the end) lands where Yjs puts
    it."""
    checked = deleted_or_moved = 0
    for case in yjs_cases(seed, 40):
        doc = doc_of(str(case["update"]))
        assert str(doc.get("content", type=Text)) == case["text"]
        resolver = Resolver(doc)
        for position in case["positions"]:  # type: ignore[attr-defined]
            assert resolver.resolve(decode(position["b64"])) == position["index"], position
            checked += 1
        deleted_or_moved += 1
    assert checked > 1000 and deleted_or_moved == 40


def test_a_position_at_the_end_of_the_text_resolves_without_crashing_pycrdt() -> None:
    doc: Doc[Text] = Doc()
    text = doc.get("content", type=Text)
    text += "Fin 👋"
    resolver = Resolver(doc)
    end = Position(None, None, 0)
    assert resolver.resolve(decode(encode(end))) == 6
    assert resolver.resolve(decode(encode(Position(None, None, -1)))) == 0


def test_a_position_the_server_has_not_received_yet_is_unknown() -> None:
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text)
    with pytest.raises(Unknown):
        Resolver(doc).resolve(Position(12345, 0, 0))


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "not base64!",
        base64.b64encode(b"\x00").decode(),  # truncated ids
        base64.b64encode(b"\x00\x01").decode(),
        base64.b64encode(b"\x00\x01\x02\x00\x00").decode(),  # trailing byte
        base64.b64encode(b"\x01\x05other\x00").decode(),  # another type
        base64.b64encode(b"\x02\x01\x02\x00").decode(),  # a nested type
        base64.b64encode(b"\x00" + b"\xff" * 12).decode(),  # endless varint
        "A" * 500,
    ],
)
def test_malformed_anchors_are_refused(value: object) -> None:
    with pytest.raises(BadRequest):
        decode(value)


def test_encode_and_decode_round_trip() -> None:
    for position in [Position(1, 2, 0), Position(2**40, 77, -1), Position(None, None, 0)]:
        assert decode(encode(position)) == position


@pytest.mark.parametrize("seed", [4, 5])
def test_the_server_makes_the_same_positions_as_yjs(seed: int) -> None:
    """Anchors the server makes from offsets (for API clients and server-side edits) are
    byte for byte the ones Yjs makes for the same offsets."""
    made = 0
    for case in yjs_cases(seed, 30):
        resolver = Resolver(doc_of(str(case["made"])))
        for position in case["positions"]:  # type: ignore[attr-defined]
            ours = resolver.make(position["made_at"], position["assoc"])
            assert encode(ours) == position["b64"], position
            made += 1
    assert made > 500
