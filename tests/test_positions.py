"""server/positions.py: one module converts every offset between UTF-16 (Yjs, CodeMirror, the
API), UTF-8 bytes (pycrdt) and code points (Python)."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Text

from server.positions import Offsets, utf16_length

SAMPLES = {
    "spanish": "Artículo 3: la señora Núñez, ¿está de acuerdo? ¡Sí!",
    "combining": "Cafe\u0301 y man\u0303ana",  # e + combining acute, n + combining tilde
    "emoji": "Voto 📊 a favor 👩‍👩‍👧 de la familia 🇲🇽🇦🇷🇺🇸",
    "cjk": "協議 第一条 は 中文 と 日本語",
    "rtl": "שלום and مرحبا بالعالم mixed",
    "empty": "",
}


@pytest.mark.parametrize("name", SAMPLES)
def test_every_boundary_round_trips(name: str) -> None:
    text = SAMPLES[name]
    offsets = Offsets(text)
    assert offsets.utf16_length == len(text.encode("utf-16-le")) // 2 == utf16_length(text)
    assert offsets.utf8_length == len(text.encode())
    for index in range(len(text) + 1):
        u16 = len(text[:index].encode("utf-16-le")) // 2
        u8 = len(text[:index].encode())
        assert offsets.utf16_from_index(index) == u16
        assert offsets.index_from_utf16(u16) == index
        assert offsets.utf8_from_utf16(u16) == u8
        assert offsets.utf16_from_utf8(u8) == u16
        assert offsets.index_from_utf8(u8) == index


@pytest.mark.parametrize("name", SAMPLES)
def test_byte_offsets_match_pycrdt(name: str) -> None:
    """Inserting at the converted offset in pycrdt lands where Python's str says it should."""
    text = SAMPLES[name]
    offsets = Offsets(text)
    for index in range(len(text) + 1):
        doc: Doc[Text] = Doc()
        ytext = doc.get("content", type=Text)
        ytext += text
        ytext.insert(offsets.utf8_from_utf16(offsets.utf16_from_index(index)), "|")
        assert str(ytext) == text[:index] + "|" + text[index:]


def test_an_offset_inside_a_surrogate_pair_is_refused() -> None:
    offsets = Offsets("a📊b")
    assert offsets.utf16_length == 4
    with pytest.raises(ValueError, match="splits a character"):
        offsets.index_from_utf16(2)
    with pytest.raises(ValueError, match="character boundary"):
        offsets.index_from_utf8(2)  # inside the 4-byte emoji


@pytest.mark.parametrize("offset", [-1, 5])
def test_an_offset_outside_the_text_is_refused(offset: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        Offsets("a📊b").index_from_utf16(offset)


def test_slices_and_lines() -> None:
    text = "Línea uno\n👩‍👩‍👧 dos\nשלום tres"  # noqa: RUF001
    offsets = Offsets(text)
    start = offsets.utf16_from_index(text.index("dos"))
    assert offsets.slice_utf16(start, start + 3) == "dos"
    assert offsets.line_at_utf16(0) == 1
    assert offsets.line_at_utf16(start) == 2
    assert offsets.line_at_utf16(offsets.utf16_length) == 3
