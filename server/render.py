"""The one canonical rendering of Markdown to HTML.

Raw HTML is off (it is shown as text) and markdown-it's link check blocks ``javascript:``,
``vbscript:``, ``file:`` and non-image ``data:`` URLs. The browser preview uses markdown-it
(JS) with exactly the same options; a test compares both on a corpus.

Every block element carries ``data-line="N"``, the 1-based source line it starts on (from the
token's map), so that people can say "line 42" in a debate; web/src/render.js adds the same.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore


def _source_lines(state: StateCore) -> None:
    """data-line on every block token that opens an element and knows its source lines."""
    for token in state.tokens:
        if token.block and token.nesting >= 0 and token.map and token.type != "inline":
            token.attrSet("data-line", str(token.map[0] + 1))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.core.ruler.push("source_lines", _source_lines)
    return md


def render(markdown: str) -> str:
    html: str = _parser().render(markdown)
    return html
