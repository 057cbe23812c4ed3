"""Exports of a version: exact Markdown, standalone HTML and a PDF read back with pypdf."""

from __future__ import annotations

import hashlib
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from pypdf import PdfReader

from server import exports
from server.verify import fingerprint

TEXT = (
    "# Declaración de principios\n"
    "\n"
    "¿Qué decide el congreso? ¡Sí! El año del niño y la niña.\n"
    "Acentos compuestos: declaracio\u0301n, an\u0303o.\n"
    "\n"
    "- Artículo 1: la federación.\n"
    "- Artículo 2: las organizaciones afiliadas.\n"
    "\n"
    "```\n"
    "código\tcon tabulador\n"
    "```\n"
    "Emoji 👍 👨\u200d👩\u200d👧 🇦🇷 y CJK 中文 sin romperse.\n"
)
META: dict[str, Any] = {
    "title": "Declaración de principios",
    "version": "Texto final del congreso",
    "status": "ratified",
    "date": "2026-11-27",
}


def pdf_of(markdown: str, **overrides: Any) -> tuple[bytes, PdfReader]:
    content, media_type, name = exports.export("pdf", **{**META, **overrides}, markdown=markdown)
    assert media_type == "application/pdf"
    assert name.endswith(".pdf")
    return content, PdfReader(io.BytesIO(content))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def test_markdown_export_is_the_exact_bytes() -> None:
    for text in (TEXT, "sin salto final", "línea\r\ncon CRLF\r\n", ""):
        content, media_type, name = exports.export("markdown", **META, markdown=text)
        assert content == text.encode("utf-8")
        assert media_type == "text/markdown; charset=utf-8"
        assert name == "declaracion-de-principios-texto-final-del-congreso.md"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        exports.export("docx", **META, markdown=TEXT)


def test_file_names_are_plain_ascii() -> None:
    assert exports.filename("¿Año 2026? <b>", "v1/../x", "pdf") == "ano-2026-b-v1-x.pdf"
    assert exports.filename("中文", "👍", "html") == "document.html"


# -- HTML -----------------------------------------------------------------------------------


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


HOSTILE_TITLE = 'Título <script>alert(1)</script> "x" onload=alert(1)'
HOSTILE_TEXT = (
    "<script>alert(1)</script>\n\n"
    '<img src=x onerror="alert(1)">\n\n'
    "[enlace](javascript:alert(1))\n\n"
    "<style>body{display:none}</style>\n"
)


def test_html_export_carries_the_fingerprint_and_no_script() -> None:
    content, media_type, name = exports.export(
        "html", **{**META, "title": HOSTILE_TITLE, "version": "<v1>"}, markdown=HOSTILE_TEXT
    )
    assert media_type == "text/html; charset=utf-8"
    assert name.endswith(".html")
    page = content.decode("utf-8")
    sha = fingerprint(HOSTILE_TEXT)
    assert sha == hashlib.sha256(HOSTILE_TEXT.encode("utf-8")).hexdigest()
    elements = parse(page)
    metas = {
        attrs.get("name"): attrs.get("content") for tag, attrs in elements.tags if tag == "meta"
    }
    assert metas["accord-sha256"] == sha
    assert metas["accord-status"] == "ratified"
    assert sha in "".join(elements.text)  # shown to the reader too
    tags = [tag for tag, _ in elements.tags]
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    assert tags.count("style") == 1  # ours, in the head
    assert not any(
        key.startswith("on") or (value or "").strip().lower().startswith("javascript:")
        for _, attrs in elements.tags
        for key, value in attrs.items()
    )
    assert "<script" not in page.lower()
    # the hostile text is shown as text
    shown = "".join(elements.text)
    assert "<script>alert(1)</script>" in shown
    assert HOSTILE_TITLE in shown


def test_html_export_is_standalone_and_numbers_source_lines() -> None:
    content, _, _ = exports.export("html", **META, markdown=TEXT, lang="es")
    page = content.decode("utf-8")
    elements = parse(page)
    for tag, attrs in elements.tags:
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), "CSS is inline"
        assert "src" not in attrs, "nothing loaded from elsewhere"
    lines = {attrs.get("data-line") for _, attrs in elements.tags if "data-line" in attrs}
    assert {"1", "3", "6", "7", "9"} <= lines  # heading, paragraph, list items, code
    assert '<html lang="es">' in page
    assert "Huella (SHA-256)" in page and "Ratificado" in page
    assert "Declaración de principios" in page and "¿Qué decide el congreso? ¡Sí!" in page


def test_html_export_in_english_and_an_unknown_status() -> None:
    content, _, _ = exports.export("html", **{**META, "status": "odd"}, markdown=TEXT, lang="en")
    page = content.decode("utf-8")
    assert "Fingerprint (SHA-256)" in page and "<dd>odd</dd>" in page


# -- PDF ------------------------------------------------------------------------------------


def test_pdf_carries_title_version_status_date_and_fingerprint() -> None:
    _, reader = pdf_of(TEXT, lang="es")
    sha = fingerprint(TEXT)
    metadata = reader.metadata
    assert metadata is not None
    assert str(metadata["/Title"]) == META["title"]
    assert str(metadata["/Keywords"]) == f"accord-sha256:{sha}"
    assert sha in str(metadata["/Subject"])
    text = text_of(reader)
    for expected in (META["title"], META["version"], "Ratificado", "2026-11-27", sha):
        assert expected in text
    assert "Página 1 de 1" in text


def test_pdf_renders_spanish_and_does_not_drop_emoji_or_cjk() -> None:
    _, reader = pdf_of(TEXT)
    text = text_of(reader)
    for word in ("Declaración", "¿Qué", "¡Sí!", "año", "niña", "Artículo", "federación"):
        assert word in text
    # combining accents are drawn with the precomposed glyph
    assert "declaración" in text and "año." in text
    # what the fonts cannot draw is shown as code points, never silently dropped
    assert "[U+1F44D]" in text
    assert "[U+1F468 U+1F469 U+1F467]" in text
    assert "[U+4E2D][U+6587]" in text


def numbered_lines(text: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for line in text.splitlines():
        match = re.match(r"(\d+) (.*)", line)
        if match:
            found.setdefault(int(match.group(1)), match.group(2))
    return found


def test_pdf_numbers_every_source_line() -> None:
    markdown = "".join(f"Artículo {n}: texto del artículo número {n}.\n" for n in range(1, 121))
    _, reader = pdf_of(markdown)
    numbered = numbered_lines(text_of(reader))
    for n in (1, 2, 42, 99, 120):
        assert numbered[n] == f"Artículo {n}: texto del artículo número {n}."


def test_pdf_long_lines_wrap_with_one_number() -> None:
    paragraph = " ".join(["palabra"] * 300)
    unbroken = "x" * 400  # a word longer than the line is cut, not lost
    markdown = f"uno\n{paragraph}\n{unbroken}\ncuatro\n"
    _, reader = pdf_of(markdown)
    text = text_of(reader)
    numbered = numbered_lines(text)
    assert numbered[1] == "uno" and numbered[4] == "cuatro"
    assert numbered[2].startswith("palabra palabra")
    assert text.count("palabra") == 300
    assert text.count("x") >= 400


def test_two_thousand_lines_give_a_sane_page_count() -> None:
    markdown = "".join(f"Línea {n} del estatuto, con algunas palabras.\n" for n in range(1, 2001))
    _, reader = pdf_of(markdown)
    # about 50 lines a page
    assert 30 <= len(reader.pages) <= 60
    last = reader.pages[-1].extract_text()
    assert "2000 Línea 2000 del estatuto" in last
    assert f"{len(reader.pages)} de {len(reader.pages)}" in last or (
        f"{len(reader.pages)} of {len(reader.pages)}" in last
    )
    assert fingerprint(markdown) in last  # every page carries the fingerprint


def test_exports_are_deterministic() -> None:
    for kind in ("html", "pdf"):
        first, _, _ = exports.export(kind, **META, markdown=TEXT)
        second, _, _ = exports.export(kind, **META, markdown=TEXT)
        assert first == second
    other, _, _ = exports.export("pdf", **META, markdown=TEXT + ".")
    assert other != first


def test_pdf_survives_hostile_and_odd_text() -> None:
    odd = (
        "{nb} \ufdd0\ufdd0 page alias lookalikes\n"
        "controles \x00 \x0b \x0c \x1b y privados \ue000 \U0010ffff\n"
        "\r\n\r\nCR solo\rotra\n"
        + "<script>alert(1)</script>\n"
        + "\t\tsangría con tabuladores\n"
        + "‮texto invertido‬ y árabe السلام عليكم\n"
    )
    content, reader = pdf_of(odd, title="{nb} " + "Título muy largo " * 20, date="no es fecha")
    text = text_of(reader)
    assert "{nb}" in text and "[U+FDD0][U+FDD0]" in text
    assert "Page 1 of 1" in text  # the page count alias is not confused with the text
    assert "\u2026" in text  # the long title is cut in the footer
    assert "[U+0000]" in text
    assert "CR solo" in text and "otra" in text
    assert "<script>alert(1)</script>" in text
    assert content.startswith(b"%PDF-")


def test_empty_document() -> None:
    _, reader = pdf_of("")
    assert len(reader.pages) == 1
    assert fingerprint("") in text_of(reader)


def test_source_lines_count_like_the_editor() -> None:
    assert exports.source_lines("a\nb\r\nc\rd") == ["a", "b", "c", "d"]
    assert exports.source_lines("a\n\n") == ["a", ""]
    assert exports.source_lines("") == []
