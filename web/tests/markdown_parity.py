"""Fuzz the browser's Markdown renderer against the server's.

Generates random Markdown (seeded, so a failure can be replayed), renders it with
the server's renderer (server/render.py) and with web/tests/render.mjs (the browser's
web/src/render.js), and prints the shortest inputs whose HTML differs. Exit status 1 if any do.

    .venv/bin/python web/tests/markdown_parity.py --count 20000 --seed 1

It found every patch in web/src/markdown-compat.js; a pytest can import `differences()`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from server.render import render

RENDER_MJS = Path(__file__).with_name("render.mjs")

# Characters and fragments that exercise the places the two ports have differed.
# fmt: off
PIECES = [
    "*", "**", "_", "__", "~~", "~", "`", "``", "a", "b", " ", "  ", "\t", "\n", "\n\n",
    "\r\n", "📊", "🎉", "é", "中", "ǅ", "İ", "ẞ", "Ω", "K", "\u0301", "\u200f", "ـ",
    ".", ",", "!", "€", "\ufeff", "\x85", "\x0b", "\x00", "\u00a0", "\u3000", "\u2028",
    "[", "]", "(", ")", "<", ">", "\\", "\\|", "|", "-", "#", "=", "1.", "2)", "> ", "- ",
    "    ", "---", "***", "![a", "](", '"', "'", "(t)", "&ouml;", "&#0;", "&#xFEFF;",
    "&nbsp;", "&bogus;", "javascript:", "<http://ñandú.com/á?b=ç>", "[x](http://ÉX.com/ü)",
    "<mailto:a@ß.de>", "<a@b.c>", "[r]", "[r]: <u v> 'tí'\n", "| c | d |", "\n|:-|-:|",
    "```", "~~~",
]
# fmt: on
WORDS = ["palabra", "ñandú", "中文", "📊", "x_y", "b*c", "`c`", "&amp;", "\\*", "http://x.y/z"]
DESTINATIONS = ["/u", "<a b>", "http://ex.com/ñ", "javascript:x", 'x "t"', "(p)", "a\\)b"]


def random_characters(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 20)))


def random_inline(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.35:
        return rng.choice(WORDS)
    s = random_inline(rng, depth + 1) + rng.choice(["", " "]) + random_inline(rng, depth + 1)
    ticks = "`" * rng.randint(1, 3)
    return rng.choice(
        [
            f"*{s}*",
            f"**{s}**",
            f"_{s}_",
            f"__{s}__",
            f"~~{s}~~",
            f"{ticks}{s}{ticks}",
            f"[{s}]({rng.choice(DESTINATIONS)})",
            f"![{s}](/i.png)",
            f"[{s}][r]",
            s + rng.choice(["  \n", "\\\n", "\n"]) + s,
        ]
    )


def random_block(rng: random.Random, depth: int = 0) -> str:
    line = " ".join(random_inline(rng) for _ in range(rng.randint(1, 4)))
    kind = rng.choice(["p", "h", "list", "quote", "fence", "table", "ref"] if depth < 3 else ["p"])
    if kind == "h":
        return "#" * rng.randint(1, 7) + " " + line
    if kind == "list":
        items = [random_block(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        return "\n".join(rng.choice(["- ", "1. "]) + i.replace("\n", "\n   ") for i in items)
    if kind == "quote":
        return "\n".join("> " + x for x in random_block(rng, depth + 1).split("\n"))
    if kind == "fence":
        return f"```{rng.choice(['', 'py', 'a b', '&ouml;'])}\n{line}\n```"
    if kind == "table":
        cols = rng.randint(1, 3)
        cells = [
            [random_inline(rng) for _ in range(rng.randint(0, cols + 1))]
            for _ in range(rng.randint(0, 3))
        ]
        rows = ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(["| " + " | ".join(["h"] * cols) + " |", "|" + "---|" * cols, *rows])
    if kind == "ref":
        return f'[r]: {rng.choice(DESTINATIONS[:3])} "t"'
    return line


def corpus(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        if rng.random() < 0.5:
            docs.append(random_characters(rng))
        else:
            docs.append("\n\n".join(random_block(rng) for _ in range(rng.randint(1, 5))))
    return docs


def differences(docs: list[str]) -> list[tuple[str, str, str]]:
    """(markdown, server html, browser html) for every input whose HTML differs."""
    expected = [render(d) for d in docs]
    out = subprocess.run(
        ["node", str(RENDER_MJS)], input=json.dumps(docs).encode(), capture_output=True, check=True
    )
    actual = json.loads(out.stdout)
    return [(d, e, a) for d, e, a in zip(docs, expected, actual, strict=True) if e != a]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    diffs = sorted(differences(corpus(args.count, args.seed)), key=lambda d: len(d[0]))
    for markdown, server, browser in diffs[:10]:
        print(f"markdown {markdown!r}\n  server  {server!r}\n  browser {browser!r}")
    print(f"{args.count - len(diffs)} passed, {len(diffs)} failed")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
