"""Interface strings in Spanish and English, from the one catalog the browser also uses."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("es", "en")
DEFAULT = "en"  # the browser app falls back to English too
CATALOG = Path(__file__).parent / "i18n" / "messages.json"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(CATALOG.read_text(encoding="utf-8"))
    return data


def negotiate(accept_language: str | None) -> str:
    """The first of our languages in an Accept-Language header, by quality."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES:
            choices.append((-quality, index, primary))
    return min(choices)[2] if choices else DEFAULT


def text(key: str, language: str) -> str:
    strings = catalog().get(language) or catalog()[DEFAULT]
    return strings.get(key, key)
