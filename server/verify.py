"""Does a file match a ratified version, and which one?

A version's fingerprint is the SHA-256 of its Markdown's exact UTF-8 bytes (``fingerprint``).

``identify(data)`` says what a file is and which fingerprint it stands for:

- a PDF export (``%PDF-``) carries it in its metadata, ``/Keywords (accord-sha256:<hex>)``;
- an HTML export carries it in ``<meta name="accord-sha256" content="<hex>">``;
- anything else is taken as Markdown, and its fingerprint is the hash of its bytes.

``lookup(data, known)`` checks that claim against the caller's set of ratified fingerprints:

- ``exact``: the Markdown's bytes are the ratified text's, byte for byte;
- ``normalized``: they are once CRLF line ends become LF, a byte order mark is dropped or
  the final newline is added or removed (a copy that went through an editor or e-mail);
- ``export``: an HTML or PDF export, and the caller's ``regenerate`` callback, which exports
  the version again, gives exactly the same bytes (exports are deterministic);
- ``embedded``: an HTML or PDF export that names a ratified fingerprint, when no
  ``regenerate`` was given. That is the file's own word: its content was not compared.

A file whose export differs from the regenerated one, or whose hash is unknown, matches
nothing (``None``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

Kind = Literal["markdown", "html", "pdf"]
How = Literal["exact", "normalized", "export", "embedded"]

_HEX = re.compile(r"[0-9a-f]{64}")
_PDF_CLAIM = re.compile(rb"accord-sha256:([0-9a-f]{64})")
_PDF_LANG = re.compile(rb"/Lang\s*\(([A-Za-z-]{1,16})\)")
_BOM = b"\xef\xbb\xbf"


def fingerprint(markdown: str) -> str:
    """The SHA-256 (hex) of a text's exact UTF-8 bytes: no normalization of any kind."""
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """What a file says it is.

    ``sha256`` is the hash of the bytes for Markdown (``how="exact"``) and the fingerprint
    written inside an export (``how="embedded"``; ``None`` if it has none or several).
    ``variants`` are the fingerprints of the Markdown's normalized forms.
    """

    kind: Kind
    sha256: str | None
    how: Literal["exact", "embedded"]
    variants: tuple[str, ...] = ()
    lang: str | None = None  # the language an export was made in, when it says


@dataclass(frozen=True)
class Match:
    kind: Kind
    sha256: str
    how: How


def identify(data: bytes) -> Claim:
    if data[:1024].find(b"%PDF-") != -1:
        return _identify_pdf(data)
    head = data[:2048].lstrip(_BOM).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        claim = _identify_html(data)
        if claim is not None:
            return claim
    return Claim("markdown", hashlib.sha256(data).hexdigest(), "exact", _variants(data))


def lookup(
    data: bytes,
    known: Collection[str],
    *,
    regenerate: Callable[[Claim], bytes | None] | None = None,
) -> Match | None:
    """The ratified version (by fingerprint, from ``known``) that ``data`` is a copy of.

    ``regenerate(claim)`` should return the export of kind ``claim.kind`` (in
    ``claim.lang``) of the version whose fingerprint is ``claim.sha256``, or ``None``.
    """
    claim = identify(data)
    if claim.sha256 is None:
        return None
    if claim.kind == "markdown":
        if claim.sha256 in known:
            return Match("markdown", claim.sha256, "exact")
        for variant in claim.variants:
            if variant in known:
                return Match("markdown", variant, "normalized")
        return None
    if claim.sha256 not in known:
        return None
    if regenerate is None:
        return Match(claim.kind, claim.sha256, "embedded")
    again = regenerate(claim)
    return Match(claim.kind, claim.sha256, "export") if again == data else None


def _variants(data: bytes) -> tuple[str, ...]:
    """Fingerprints of the usual harmless changes to a text file, exact bytes excluded."""
    forms: list[bytes] = []
    for base in (data, data.removeprefix(_BOM)):
        for lines in (base, base.replace(b"\r\n", b"\n")):
            stripped = lines.rstrip(b"\r\n")
            for form in (lines, stripped + b"\n", stripped):
                if form != data and form not in forms:
                    forms.append(form)
    return tuple(hashlib.sha256(form).hexdigest() for form in forms)


def _identify_pdf(data: bytes) -> Claim:
    found = {match.group(1).decode() for match in _PDF_CLAIM.finditer(data)}
    lang = _PDF_LANG.search(data)
    return Claim(
        "pdf",
        found.pop() if len(found) == 1 else None,
        "embedded",
        lang=lang.group(1).decode() if lang else None,
    )


class _MetaReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hashes: set[str] = set()
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html" and self.lang is None:
            self.lang = values.get("lang")
        if tag == "meta" and values.get("name") == "accord-sha256":
            self.hashes.add(values.get("content") or "")


def _identify_html(data: bytes) -> Claim | None:
    """An HTML export's claim; ``None`` if the page has no ``accord-sha256`` meta."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    reader = _MetaReader()
    reader.feed(text)
    reader.close()
    if not reader.hashes:
        return None
    sha = next(iter(reader.hashes)) if len(reader.hashes) == 1 else None
    if sha is not None and not _HEX.fullmatch(sha):
        sha = None
    return Claim("html", sha, "embedded", lang=reader.lang)
