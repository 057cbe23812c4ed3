"""The committed browser bundle and the interface strings.

- server/static/app.js and app.css are exactly what `web/build.mjs` makes from web/src (a
  stale bundle would ship code nobody reviewed, or miss a fix that is in the source);
- the bundle stays small enough to load quickly;
- server/i18n/messages.json is complete in both languages and holds every key the code uses.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

WEB = ROOT / "web"
STATIC = ROOT / "server" / "static"
CATALOG = ROOT / "server" / "i18n" / "messages.json"
MAX_GZIPPED = 300_000  # bytes of app.js at gzip level 9

# build.mjs writes to server/static; the test builds the same way into a temporary directory.
OUT_DIR_LINE = "const outDir = join(here, '..', 'server', 'static')"


def build_into(out: Path) -> subprocess.CompletedProcess[str]:
    """Run web/build.mjs with only its output directory changed.

    The script is evaluated from web/ (so `import.meta.url` resolves to web/ and `esbuild` to
    web/node_modules), the same plugin and options, nothing written under server/.
    """
    source = (WEB / "build.mjs").read_text(encoding="utf-8")
    assert source.count(OUT_DIR_LINE) == 1, "build.mjs changed: update OUT_DIR_LINE"
    source = source.replace(OUT_DIR_LINE, "const outDir = process.env.ACCORD_BUNDLE_OUT")
    return subprocess.run(
        ["node", "--input-type=module", "-e", source],
        cwd=WEB,
        env={**os.environ, "ACCORD_BUNDLE_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.node
def test_committed_bundle_is_what_the_source_builds(tmp_path: Path) -> None:
    result = build_into(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("app.js", "app.css"):
        built = (tmp_path / name).read_bytes()
        committed = (STATIC / name).read_bytes()
        assert built == committed, (
            f"server/static/{name} is stale ({len(committed)} bytes; a build from web/src "
            f"gives {len(built)}): run `cd web && npm run build` and commit the result"
        )


def test_bundle_is_small() -> None:
    size = len(gzip.compress((STATIC / "app.js").read_bytes(), compresslevel=9))
    assert size <= MAX_GZIPPED, f"app.js is {size} bytes gzipped, limit {MAX_GZIPPED}"


# -- interface strings --------------------------------------------------------------------


def catalog() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(CATALOG.read_text(encoding="utf-8"))
    return data


# A quoted string that looks like a key of one of the catalog's namespaces ("docs.new.label");
# file names ("app.js") are not keys.
KEY_LITERAL = re.compile(r"""(['"`])([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\1""")
FILE_NAME = re.compile(r"\.(js|mjs|css|json|svg|png|html|py)$")
# A template literal that builds a key: `lang.${lang}`
KEY_TEMPLATE = re.compile(r"`([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.)\$\{")


def keys_in(files: list[Path], namespaces: set[str]) -> dict[str, set[str]]:
    """Key-like literals of the catalog's namespaces, with the files they appear in."""
    found: dict[str, set[str]] = {}
    for path in files:
        for match in KEY_LITERAL.finditer(path.read_text(encoding="utf-8")):
            key = match.group(2)
            if key.split(".")[0] in namespaces and not FILE_NAME.search(key):
                found.setdefault(key, set()).add(path.name)
    return found


def test_catalog_has_the_same_keys_in_both_languages() -> None:
    messages = catalog()
    assert set(messages) == {"en", "es"}
    only_en = sorted(set(messages["en"]) - set(messages["es"]))
    only_es = sorted(set(messages["es"]) - set(messages["en"]))
    assert (only_en, only_es) == ([], [])


def test_catalog_has_no_empty_values_and_the_same_placeholders() -> None:
    messages = catalog()
    for lang, strings in messages.items():
        empty = [
            key for key, value in strings.items() if not isinstance(value, str) or not value.strip()
        ]
        assert empty == [], f"{lang}: empty or non-string values for {empty}"
    placeholder = re.compile(r"\{(\w+)\}")
    differ = {
        key: (placeholder.findall(messages["en"][key]), placeholder.findall(value))
        for key, value in messages["es"].items()
        if key in messages["en"]
        and set(placeholder.findall(messages["en"][key])) != set(placeholder.findall(value))
    }
    assert differ == {}


def test_every_key_the_browser_uses_is_in_the_catalog() -> None:
    messages = catalog()
    namespaces = {key.split(".")[0] for key in messages["en"]}
    sources = sorted((WEB / "src").glob("*.js"))
    used = keys_in(sources, namespaces)
    # sanity: the extraction sees the keys of the plain calls
    calls = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        calls |= set(re.findall(r"""\bt\(\s*['"]([^'"]+)['"]""", text))
        calls |= set(re.findall(r"""\btranslated\([^,()]+,\s*['"]([^'"]+)['"]""", text))
    assert len(calls) >= 10 and calls <= set(used), sorted(calls - set(used))
    missing = {key: sorted(files) for key, files in used.items() if key not in messages["en"]}
    assert missing == {}
    # keys built from a template: `lang.${lang}` for each of the app's languages
    i18n_js = (WEB / "src" / "i18n.js").read_text(encoding="utf-8")
    langs = re.search(r"LANGS\s*=\s*\[([^\]]*)\]", i18n_js)
    assert langs is not None
    for path in sources:
        for prefix in KEY_TEMPLATE.findall(path.read_text(encoding="utf-8")):
            assert prefix == "lang.", f"{path.name}: a new key template `{prefix}${{...}}`"
            for lang in re.findall(r"'(\w+)'", langs.group(1)):
                assert prefix + lang in messages["en"], prefix + lang


def test_every_key_the_server_uses_is_in_the_catalog() -> None:
    messages = catalog()
    namespaces = {key.split(".")[0] for key in messages["en"]}
    used = keys_in(sorted((ROOT / "server").glob("*.py")), namespaces)
    assert "page.documents" in used  # sanity: the page titles are found
    missing = {key: sorted(files) for key, files in used.items() if key not in messages["en"]}
    assert missing == {}
