"""The docs say what the code does: every setting is documented, the changelog exists."""

from __future__ import annotations

from server.cli import build_parser
from server.settings import Settings
from tests.helpers import ROOT


def test_every_setting_is_in_the_deployment_docs() -> None:
    docs = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    missing = [name for name, _, _ in Settings.table() if name not in docs]
    assert not missing, f"settings missing from docs/deployment.md: {missing}"


def test_every_serve_option_is_documented() -> None:
    docs = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    for action in serve._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert option in docs, f"{option} is not in docs/deployment.md"


def test_settings_from_environment_and_overrides() -> None:
    settings = Settings.from_env({"ACCORD_PORT": "9001", "ACCORD_DB": "x.db"}, db="y.db")
    assert settings.port == 9001
    assert settings.db == "y.db"


def test_bad_setting_is_a_clear_error() -> None:
    try:
        Settings.from_env({"ACCORD_PORT": "eighty"})
    except SystemExit as exc:
        assert "ACCORD_PORT" in str(exc)
    else:
        raise AssertionError("a bad port was accepted")


def test_changelog_and_readme_commands() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in readme.split("```sh")[1:]]
    assert [b.split("```")[0].strip() for b in blocks] == ["make serve", "make test"]
