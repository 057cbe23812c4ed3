"""The audit log: every wired change is recorded with its actor, in the same transaction; the
hash chain survives concurrent writers (server and command line at once); `accord audit
verify` passes on a real server's database and names the first bad entry of a tampered one;
the chairs' audit API and who may read it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import audit
from server.connection import transaction
from tests.helpers import ROOT, Server
from tests.people_helpers import (
    Person,
    accord,
    accord_command,
    add_document,
    add_person,
    missing_document_id,
    reading,
)

PASSWORD = "clave-de-prueba-123"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("audit") / "accord.db").start()
    yield instance
    instance.stop()


def cli(server: Server | Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    db = server.db if isinstance(server, Server) else server
    return accord(*args, "--db", str(db), stdin=stdin)


def trail(server: Server, document_id: str, person: Person | None = None) -> dict[str, Any]:
    headers = person.bearer if person else server.headers
    response = httpx.get(
        f"{server.url}/api/documents/{document_id}/audit", headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rows(db: Path) -> list[audit.Entry]:
    with reading(db) as conn:
        found = conn.execute(f"SELECT {audit.COLUMNS} FROM audit_log ORDER BY seq").fetchall()
    return [audit.Entry(*row) for row in found]


def actor(entry: dict[str, Any]) -> tuple[Any, ...]:
    who = entry["actor"]
    return (who["type"], who.get("id"), who.get("name"), who.get("email"))


def as_actor(person: Person) -> tuple[Any, ...]:
    return ("user", person.id, person.name, person.email)


# -- what is recorded, by whom -----------------------------------------------------------------


def test_document_and_membership_changes_are_recorded_with_their_actor(shared: Server) -> None:
    admin = httpx.get(shared.url + "/api/me", headers=shared.headers, timeout=30).json()
    chair, delegate, joiner = (add_person(shared.db, label) for label in ("chair", "del", "join"))
    api = httpx.Client(base_url=shared.url, timeout=30)

    document_id = shared.create_document("Estatuto de la federación")
    members = f"/api/documents/{document_id}/members"
    added = api.post(members, json={"email": chair.email, "role": "chair"}, headers=shared.headers)
    assert added.status_code == 201, added.text
    as_chair = {"headers": chair.bearer}
    joined = api.post(members, json={"email": delegate.email, "role": "delegate"}, **as_chair)
    assert joined.status_code == 201, joined.text
    lowered = api.put(f"{members}/{delegate.id}", json={"role": "reviewer"}, **as_chair)
    assert lowered.status_code == 200, lowered.text
    assert api.delete(f"{members}/{delegate.id}", **as_chair).status_code == 204
    invitations = f"/api/documents/{document_id}/invitations"
    revoked = api.post(invitations, json={"role": "observer"}, **as_chair).json()
    assert api.delete(f"{invitations}/{revoked['id']}", **as_chair).status_code == 204
    used = api.post(invitations, json={"role": "delegate"}, **as_chair).json()
    token = used["url"].rsplit("/", 1)[1]
    link_use = httpx.post(f"{shared.url}/api/links/{token}", json={}, headers=joiner.bearer)
    assert link_use.status_code == 200, link_use.text  # (it sets a session cookie: no jar here)
    fresh = api.post(invitations, json={"role": "reviewer"}, **as_chair).json()
    newcomer = {"email": "nueva.audit@test.accord", "name": "Nueva Persona", "password": PASSWORD}
    response = httpx.post(f"{shared.url}/api/links/{fresh['url'].rsplit('/', 1)[1]}", json=newcomer)
    assert response.status_code == 200, response.text
    api.close()

    body = trail(shared, document_id, chair)
    assert body["chain_ok"] is True and body["chain_problem"] is None
    entries = list(reversed(body["entries"]))  # oldest first
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    admin_actor = ("user", admin["id"], admin["name"], admin["email"])
    seen = [(e["action"], actor(e)) for e in entries]
    newcomer_entry = entries[-1]
    assert seen[:-1] == [
        ("document.create", admin_actor),
        ("member.add", admin_actor),
        ("member.add", as_actor(chair)),
        ("member.role", as_actor(chair)),
        ("member.remove", as_actor(chair)),
        ("invitation.create", as_actor(chair)),
        ("invitation.revoke", as_actor(chair)),
        ("invitation.create", as_actor(chair)),
        ("member.add", as_actor(joiner)),
        ("invitation.create", as_actor(chair)),
    ]
    assert newcomer_entry["action"] == "member.add"
    assert newcomer_entry["actor"]["email"] == newcomer["email"]
    assert newcomer_entry["actor"]["name"] == newcomer["name"]

    details = [e["details"] for e in entries]
    assert details[0] == {"title": "Estatuto de la federación"}
    assert details[3]["member"]["id"] == delegate.id
    assert (details[3]["previous_role"], details[3]["role"]) == ("delegate", "reviewer")
    assert details[4] == {
        "member": {"id": delegate.id, "name": delegate.name, "email": delegate.email},
        "previous_role": "reviewer",
    }
    assert details[6] == {"invitation": revoked["id"]}
    assert details[8]["invitation"] == used["id"] and details[8]["role"] == "delegate"
    assert details[10]["invitation"] == fresh["id"] and details[10]["role"] == "reviewer"
    assert all(e["document_id"] == document_id for e in entries)
    for secret in (token, PASSWORD, chair.token, shared.token):
        assert secret not in json.dumps(body)

    # Accounts made on the way are in the log too, with no document.
    everything = [e for e in rows(shared.db) if e.document_id is None]
    assert ("user.add", newcomer["email"]) in [
        (e.action, json.loads(e.details)["user"]["email"]) for e in everything
    ]


def test_a_refused_change_leaves_no_entry(shared: Server) -> None:
    chair = add_person(shared.db, "chair")
    document_id = add_document(shared.db, chair)
    before = rows(shared.db)
    last_chair = httpx.delete(
        f"{shared.url}/api/documents/{document_id}/members/{chair.id}",
        headers=chair.bearer,
        timeout=30,
    )
    assert last_chair.status_code == 409
    assert rows(shared.db) == before


def test_append_only_inside_the_changes_transaction(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    with transaction(str(db)) as conn:
        audit.append(conn, audit.SYSTEM, "test.kept")
    with pytest.raises(ZeroDivisionError), transaction(str(db)) as conn:
        audit.append(conn, audit.SYSTEM, "test.rolled_back")
        _ = 1 / 0
    assert [e.action for e in rows(db)] == ["test.kept"]
    with transaction(str(db)) as conn:
        conn.execute("COMMIT")  # outside any transaction now
        with pytest.raises(RuntimeError, match="inside the write transaction"):
            audit.append(conn, audit.SYSTEM, "test.outside")
        conn.execute("BEGIN IMMEDIATE")


def test_command_line_changes_are_recorded_as_cli(shared: Server) -> None:
    chair = add_person(shared.db, "chair")
    leaving = add_person(shared.db, "leaving")
    document_id = add_document(shared.db, chair, [(leaving, "delegate")])
    email = "cli.audit@test.accord"
    steps = [
        (("orgs", "add", "AUD", "--name", "Auditoría", "--country", "AR"), ""),
        (("users", "add", email, "--name", "Cli Persona", "--org", "AUD"), f"{PASSWORD}\n" * 2),
        (("tokens", "create", email, "--name", "bot"), ""),
        (("users", "reset", email), ""),
        (("users", "remove", leaving.email), ""),
    ]
    before = len(rows(shared.db))
    outputs = []
    for args, stdin in steps:
        result = cli(shared, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    token_id = int(outputs[2].split()[1])
    assert cli(shared, "tokens", "revoke", str(token_id)).returncode == 0

    new = rows(shared.db)[before:]
    assert [(e.action, e.document_id) for e in new] == [
        ("organization.add", None),
        ("user.add", None),
        ("token.create", None),
        ("user.reset", None),
        ("user.remove", None),
        ("member.remove", document_id),
        ("token.revoke", None),
    ]
    assert all(json.loads(e.actor) == {"type": "cli"} for e in new)
    assert json.loads(new[1].details)["user"]["email"] == email
    assert json.loads(new[5].details)["member"]["id"] == leaving.id
    assert json.loads(new[6].details) == {"token": token_id}
    for entry in new:
        assert PASSWORD not in entry.details and outputs[2].split()[-1] not in entry.details

    shown = cli(shared, "audit", "show", "--document", document_id, "--limit", "1")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 1
    seq, _, who, action, document, details = lines[0].split("\t")
    assert (int(seq), who, action, document) == (new[5].seq, "cli", "member.remove", document_id)
    assert json.loads(details)["previous_role"] == "delegate"


# -- the chain under concurrent writers, and verify on a real server's database ---------------


def test_concurrent_writers_keep_one_chain(shared: Server) -> None:
    chair = add_person(shared.db, "chair")
    bot = add_person(shared.db, "bot")
    document_id = add_document(shared.db, chair)
    before = len(rows(shared.db))
    url = f"{shared.url}/api/documents/{document_id}/invitations"

    async def invite_many(count: int) -> list[int]:
        async with httpx.AsyncClient(timeout=60, headers=chair.bearer) as client:
            answers = await asyncio.gather(
                *(client.post(url, json={"role": "observer"}) for _ in range(count))
            )
        return [answer.status_code for answer in answers]

    commands = [
        subprocess.Popen(
            [*accord_command(), "tokens", "create", bot.email, "--db", str(shared.db)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    statuses = asyncio.run(invite_many(40))
    for command in commands:
        _, err = command.communicate(timeout=60)
        assert command.returncode == 0, err
    assert statuses == [201] * 40

    chain = rows(shared.db)
    assert len(chain) == before + 44
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    verified = cli(shared, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == (f"audit log OK: {len(chain)} entries, head {chain[-1].hash}")
    assert trail(shared, document_id, chair)["chain_ok"] is True


def test_verify_on_a_missing_file_is_an_error(tmp_path: Path) -> None:
    result = cli(tmp_path / "nowhere.db", "audit", "verify")
    assert result.returncode == 1 and "no database file" in result.stderr
    assert not (tmp_path / "nowhere.db").exists()


# -- tampering -------------------------------------------------------------------------------


def logged(db: Path, count: int = 6) -> list[audit.Entry]:
    """A database whose log holds ``count`` entries, each appended in its own transaction."""
    for number in range(count):
        with transaction(str(db)) as conn:
            audit.append(conn, audit.SYSTEM, "test.step", None, {"step": number, "ñ": "😀"})
    assert cli(db, "audit", "verify").returncode == 0
    return rows(db)


def tamper(db: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    conn = sqlite3.connect(db)
    with conn:
        for sql, params in statements:
            conn.execute(sql, params)
    conn.close()


def broken(db: Path, *args: str) -> str:
    result = cli(db, "audit", "verify", *args)
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    return result.stderr.strip()


def test_an_altered_entry_fails_verify(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    logged(db)
    tamper(db, ("UPDATE audit_log SET details = ? WHERE seq = 3", ('{"step":99}',)))
    assert broken(db) == (
        "accord: audit log BROKEN at seq 3: altered entry: its contents do not match its hash"
    )


def test_an_altered_and_rehashed_entry_breaks_the_next_link(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    entry = logged(db)[2]
    forged = audit.entry_hash(
        entry.seq, entry.time, entry.actor, entry.action, None, '{"step":99}', entry.prev_hash
    )
    tamper(
        db,
        ("UPDATE audit_log SET details = ?, hash = ? WHERE seq = 3", ('{"step":99}', forged)),
    )
    message = broken(db)
    assert message.startswith("accord: audit log BROKEN at seq 4: bad prev link"), message


def test_a_removed_entry_fails_verify(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    logged(db)
    tamper(db, ("DELETE FROM audit_log WHERE seq = 3", ()))
    message = broken(db)
    assert message.startswith("accord: audit log BROKEN at seq 3: removed entry"), message
    assert "from seq 2 to seq 4" in message


def test_removed_and_renumbered_entries_fail_verify(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    logged(db)
    tamper(
        db,
        ("DELETE FROM audit_log WHERE seq = 3", ()),
        ("UPDATE audit_log SET seq = seq - 1 WHERE seq > 3", ()),
    )
    message = broken(db)
    assert message.startswith("accord: audit log BROKEN at seq 3: bad prev link"), message


def test_swapped_entries_fail_verify(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    logged(db)
    tamper(
        db,
        ("UPDATE audit_log SET seq = -1 WHERE seq = 3", ()),
        ("UPDATE audit_log SET seq = 3 WHERE seq = 4", ()),
        ("UPDATE audit_log SET seq = 4 WHERE seq = -1", ()),
    )
    message = broken(db)
    assert message.startswith("accord: audit log BROKEN at seq 3: reordered"), message
    assert "after what is now seq 4" in message


def test_a_cut_off_end_is_caught_against_a_recorded_head(tmp_path: Path) -> None:
    db = tmp_path / "accord.db"
    head = logged(db)[-1].hash
    assert cli(db, "audit", "verify", "--head", head).returncode == 0
    tamper(db, ("DELETE FROM audit_log WHERE seq = 6", ()))
    assert cli(db, "audit", "verify").returncode == 0  # the chain alone cannot tell
    message = broken(db, "--head", head)
    assert message.startswith(f"accord: audit log BROKEN: the recorded head {head} is not in"), (
        message
    )


def test_the_api_reports_a_broken_chain(server: Server) -> None:
    document_id = server.create_document()
    assert trail(server, document_id)["chain_ok"] is True
    first = rows(server.db)[0]
    tamper(server.db, ("UPDATE audit_log SET details = ? WHERE seq = ?", ("{}", first.seq)))
    body = trail(server, document_id)
    assert body["chain_ok"] is False
    assert body["chain_problem"].startswith(f"audit log BROKEN at seq {first.seq}: altered")
    assert cli(server, "audit", "verify").returncode == 1


# -- who may read a document's audit trail ---------------------------------------------------


def test_only_chairs_and_admins_read_the_audit_trail(shared: Server) -> None:
    chair = add_person(shared.db, "chair")
    roles = {role: add_person(shared.db, role) for role in ("delegate", "reviewer", "observer")}
    admin_observer = add_person(shared.db, "admin", admin=True)
    admin_outsider = add_person(shared.db, "admin", admin=True)
    outsider = add_person(shared.db, "outsider")
    document_id = add_document(
        shared.db,
        chair,
        [*((p, role) for role, p in roles.items()), (admin_observer, "observer")],
    )
    url = f"{shared.url}/api/documents/{document_id}/audit"

    def status(person: Person | None, target: str = url) -> int:
        headers = person.bearer if person else {}
        return httpx.get(target, headers=headers, timeout=30).status_code

    assert status(chair) == 200
    assert status(admin_observer) == 200
    for person in roles.values():
        assert status(person) == 403
    assert status(outsider) == 404
    assert status(admin_outsider) == 404
    assert status(None) == 401
    missing = f"{shared.url}/api/documents/{missing_document_id()}/audit"
    assert status(chair, missing) == 404
    assert status(chair, url + "?limit=0") == 400
    assert status(chair, url + "?limit=x") == 400
