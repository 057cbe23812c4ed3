"""The one canonical rendering of Markdown to HTML.

Raw HTML is off (it is shown as text) and markdown-it's link check blocks ``javascript:``,
``vbscript:``, ``file:`` and non-image ``data:`` URLs. The browser preview uses markdown-it
(JS) with exactly the same options; a test compares both on a corpus.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(markdown: str) -> str:
    html: str = _parser().render(markdown)
    return html
