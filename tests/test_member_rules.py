"""Rules that keep a document governable: it never loses its last chair, and the invitations
of a chair who is lowered or removed stop working."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Server
from tests.people_helpers import Browser, accord, add_document, add_person


def test_cli_refuses_to_remove_the_only_chair(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    chair = add_person(db, "chair")
    add_document(db, chair, title="Estatuto")
    result = accord("users", "remove", chair.email, "--db", str(db))
    assert result.returncode == 1
    assert "only chair" in result.stderr and "Estatuto" in result.stderr
    second = add_person(db, "second")
    add_document(db, second, title="Otro")  # unrelated document
    assert accord("users", "remove", second.email, "--db", str(db)).returncode == 1


def test_invitations_of_a_lowered_chair_stop_working(server: Server) -> None:
    lucia = add_person(server.db, "lucia")
    mateo = add_person(server.db, "mateo")
    document_id = add_document(server.db, lucia, [(mateo, "chair")])
    with Browser(server).signed_in(mateo) as browser:
        created = browser.post(
            f"/api/documents/{document_id}/invitations", json={"role": "delegate"}
        )
        assert created.status_code == 201, created.text
        token = created.json()["url"].rsplit("/", 1)[1]
        assert browser.get(f"/api/links/{token}").status_code == 200
    with Browser(server).signed_in(lucia) as browser:
        lowered = browser.put(
            f"/api/documents/{document_id}/members/{mateo.id}", json={"role": "delegate"}
        )
        assert lowered.status_code == 200, lowered.text
        assert browser.get(f"/api/links/{token}").status_code == 404
