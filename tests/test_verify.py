"""Verification: does a file match a ratified version? Markdown, HTML and PDF exports."""

from __future__ import annotations

import hashlib

import pytest

from server import exports
from server.verify import Claim, Kind, Match, fingerprint, identify, lookup

RATIFIED = (
    "# Estatuto de la federación\n\n"
    "Artículo 1. La federación reúne a las organizaciones afiliadas.\n\n"
    "Artículo 2. ¿Quién decide? El congreso, por mayoría. ¡Así sea! 👍\n"
)
OTHER = "# Otro texto ratificado\n\nNada que ver.\n"
KNOWN = {fingerprint(RATIFIED), fingerprint(OTHER)}
META = {"title": "Estatuto", "version": "Congreso 2026", "status": "ratified"}


def export(kind: str, markdown: str = RATIFIED, lang: str = "es") -> bytes:
    content, _, _ = exports.export(kind, **META, date="2026-11-27", markdown=markdown, lang=lang)
    return content


def regenerate(claim: Claim) -> bytes | None:
    """What the server would do: export the ratified version again, in the same language."""
    texts = {fingerprint(text): text for text in (RATIFIED, OTHER)}
    if claim.sha256 not in texts or claim.kind == "markdown":
        return None
    return export(claim.kind, texts[claim.sha256], claim.lang or "en")


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_fingerprint_is_sha256_of_the_utf8_bytes() -> None:
    assert fingerprint(RATIFIED) == hashlib.sha256(RATIFIED.encode("utf-8")).hexdigest()
    assert fingerprint("cafe\u0301") != fingerprint("caf\u00e9")  # no normalization


def test_exact_markdown_matches() -> None:
    data = RATIFIED.encode("utf-8")
    claim = identify(data)
    assert (claim.kind, claim.sha256, claim.how) == ("markdown", fingerprint(RATIFIED), "exact")
    assert lookup(data, KNOWN) == Match("markdown", fingerprint(RATIFIED), "exact")
    assert lookup(export("markdown"), KNOWN) == Match("markdown", fingerprint(RATIFIED), "exact")


@pytest.mark.parametrize(
    "copy",
    [
        RATIFIED.replace("\n", "\r\n"),  # through Windows
        RATIFIED.rstrip("\n"),  # final newline lost
        RATIFIED + "\n",  # one more
        "\ufeff" + RATIFIED,  # a byte order mark
        "\ufeff" + RATIFIED.replace("\n", "\r\n").rstrip("\r\n"),
    ],
    ids=["crlf", "no-final-newline", "extra-newline", "bom", "bom-crlf-no-newline"],
)
def test_normalized_markdown_matches_and_says_so(copy: str) -> None:
    match = lookup(copy.encode("utf-8"), KNOWN)
    assert match == Match("markdown", fingerprint(RATIFIED), "normalized")


def test_tampered_markdown_matches_nothing() -> None:
    data = RATIFIED.encode("utf-8")
    for at in (0, 10, len(data) // 2, len(data) - 2):
        assert lookup(flip(data, at), KNOWN) is None
    # a change that normalization must not excuse: a space, an accent, a different newline
    for tampered in (
        RATIFIED.replace("mayoría", "mayoria"),
        RATIFIED.replace("Artículo 1.", "Artículo 1 ."),
        RATIFIED.replace("\n\n", "\n", 1),
        RATIFIED.replace("reúne", "reu\u0301ne"),  # same letters to the eye, other bytes
    ):
        assert lookup(tampered.encode("utf-8"), KNOWN) is None


def test_unknown_and_odd_files_match_nothing() -> None:
    assert lookup(b"", KNOWN) is None
    assert lookup(bytes(range(256)), KNOWN) is None
    assert identify(bytes(range(256))).kind == "markdown"
    assert lookup(RATIFIED.encode("utf-8"), set()) is None


def test_markdown_that_quotes_a_fingerprint_is_still_markdown() -> None:
    forged = f"accord-sha256:{fingerprint(RATIFIED)}\n".encode()
    claim = identify(forged)
    assert claim.kind == "markdown" and claim.sha256 == hashlib.sha256(forged).hexdigest()
    assert lookup(forged, KNOWN) is None
    page = f'<!DOCTYPE html><html><head><meta name="other" content="{fingerprint(RATIFIED)}">'
    assert identify(page.encode()).kind == "markdown"


@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_exports_name_their_version(kind: Kind) -> None:
    data = export(kind)
    claim = identify(data)
    assert (claim.kind, claim.sha256, claim.how, claim.lang) == (
        kind,
        fingerprint(RATIFIED),
        "embedded",
        "es",
    )
    assert lookup(data, KNOWN) == Match(kind, fingerprint(RATIFIED), "embedded")
    assert lookup(data, KNOWN, regenerate=regenerate) == Match(
        kind, fingerprint(RATIFIED), "export"
    )
    assert lookup(export(kind, lang="en"), KNOWN, regenerate=regenerate) == Match(
        kind, fingerprint(RATIFIED), "export"
    )
    assert lookup(export(kind, OTHER), KNOWN, regenerate=regenerate) == Match(
        kind, fingerprint(OTHER), "export"
    )


@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_export_of_an_unratified_text_matches_nothing(kind: str) -> None:
    data = export(kind, RATIFIED + "Artículo 3. Añadido después.\n")
    assert identify(data).sha256 == fingerprint(RATIFIED + "Artículo 3. Añadido después.\n")
    assert lookup(data, KNOWN) is None
    assert lookup(data, KNOWN, regenerate=regenerate) is None


def test_tampered_html_export_matches_nothing() -> None:
    data = export("html")
    # one byte of the visible text changed: "reúne" -> "reõne" would be two; flip one ASCII
    at = data.index("La federación reúne".encode()) + 1
    tampered = flip(data, at)
    assert tampered != data
    assert lookup(tampered, KNOWN, regenerate=regenerate) is None
    # without a regenerated copy to compare, only the file's own word is left: say so
    assert lookup(tampered, KNOWN) == Match("html", fingerprint(RATIFIED), "embedded")
    # one character of the embedded fingerprint changed
    sha = fingerprint(RATIFIED)
    forged = data.replace(sha.encode(), (("0" if sha[0] != "0" else "1") + sha[1:]).encode())
    assert lookup(forged, KNOWN) is None


def test_tampered_pdf_export_matches_nothing() -> None:
    data = export("pdf")
    keywords = data.index(b"accord-sha256:")
    for at in (200, len(data) // 2, len(data) - 100):
        if keywords - 80 <= at <= keywords + 80:
            continue
        assert lookup(flip(data, at), KNOWN, regenerate=regenerate) is None
    sha = fingerprint(RATIFIED)
    forged = data.replace(sha.encode(), (("0" if sha[0] != "0" else "1") + sha[1:]).encode())
    assert lookup(forged, KNOWN) is None
    assert lookup(forged, KNOWN, regenerate=regenerate) is None


def test_export_with_two_fingerprints_is_ambiguous() -> None:
    data = export("html")
    other = f'<meta name="accord-sha256" content="{fingerprint(OTHER)}">\n'.encode()
    doubled = data.replace(b"<title>", other + b"<title>", 1)
    claim = identify(doubled)
    assert claim.kind == "html" and claim.sha256 is None
    assert lookup(doubled, KNOWN) is None
