"""Versions, the status workflow, ratification, adoption, exports and verification against a
real server, with real sync clients trying to write where nobody may."""

from __future__ import annotations

import asyncio
import hashlib
import io
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from server.sync import protocol, structs
from tests.helpers import ROOT, Server
from tests.people_helpers import (
    Person,
    RoleClient,
    add_document,
    add_person,
    content_update,
    reading,
    run,
    stored_rows,
    stored_text,
    writing,
)
from tests.test_comments_api import anchor_of, span

SEED = "# Protocolo para quejas\n\nArtículo 1. Toda queja se atiende en 30 días. ✅\n"


@dataclass
class Cast:
    server: Server
    chair: Person
    delegate: Person
    reviewer: Person
    observer: Person
    admin: Person
    outsider: Person
    delegate_ar: Person

    def url(self, document_id: str, path: str = "") -> str:
        return f"{self.server.url}/api/documents/{document_id}{path}"

    def document(self, seed: str = SEED) -> str:
        return add_document(
            self.server.db,
            self.chair,
            [
                (self.delegate, "delegate"),
                (self.delegate_ar, "delegate"),
                (self.reviewer, "reviewer"),
                (self.observer, "observer"),
                (self.admin, "observer"),
            ],
            seed=seed,
        )

    def everyone(self) -> dict[str, Person]:
        return {
            "chair": self.chair,
            "delegate": self.delegate,
            "reviewer": self.reviewer,
            "observer": self.observer,
            "admin": self.admin,
        }


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    server = Server(
        tmp_path_factory.mktemp("versions") / "accord.db",
        env={"ACCORD_VERSION_QUIET_SECONDS": "0.5", "ACCORD_ROOM_UNLOAD_SECONDS": "0.5"},
    ).start()
    db = server.db
    yield Cast(
        server,
        chair=add_person(db, "chair", name="Carmen Presidenta", org="FMX"),
        delegate=add_person(db, "delegate", name="Diego Delegado", org="FMX"),
        reviewer=add_person(db, "reviewer", name="Rosa Revisora", org="CAR"),
        observer=add_person(db, "observer", name="Olga Observadora", org="UUS"),
        admin=add_person(db, "admin", name="Ada Admin", org=None, admin=True),
        outsider=add_person(db, "outsider", name="Otto", org="UUS"),
        delegate_ar=add_person(db, "delegatear", name="Ana Delegada", org="CAR"),
    )
    server.stop()


def call(who: Person | None, method: str, url: str, body: object = None) -> httpx.Response:
    headers = who.bearer if who else {}
    return httpx.request(method, url, json=body, headers=headers, timeout=60)


async def restore(cast: Cast, document_id: str, number: int) -> None:
    """The delegate restores version ``number`` through the API (from a running scenario)."""
    restored = await asyncio.to_thread(
        call, cast.delegate, "POST", cast.url(document_id, f"/versions/{number}/restore")
    )
    assert restored.status_code == 200, restored.text


def type_text(cast: Cast, document_id: str, who: Person, content: str) -> None:
    """A real sync client appends ``content``; returns once storage holds it."""

    async def scenario() -> None:
        client = await RoleClient(cast.server, document_id, who.token).connect()
        before = str(client.text)
        await client.edit(len(before), content)
        for _ in range(200):
            if stored_text(cast.server.db, document_id) == before + content:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the edit was not stored")

    run(scenario())


def to_review(cast: Cast, document_id: str) -> None:
    response = call(cast.chair, "PUT", cast.url(document_id, "/status"), {"status": "review"})
    assert response.status_code == 200, response.text


DECISION = {
    "body": "Congreso de la Federación",
    "date": "2026-11-20",
    "votes_for": 40,
    "votes_against": 3,
    "abstentions": 2,
    "notes": "Aprobado en la sesión plenaria.",
}


def ratified(cast: Cast, seed: str = SEED) -> tuple[str, dict[str, Any]]:
    document_id = cast.document(seed)
    to_review(cast, document_id)
    response = call(cast.chair, "POST", cast.url(document_id, "/ratify"), DECISION)
    assert response.status_code == 201, response.text
    return document_id, response.json()


# -- versions --------------------------------------------------------------------------------


def test_named_and_automatic_versions_with_who_edited(cast: Cast) -> None:
    document_id = cast.document()
    type_text(cast, document_id, cast.delegate, "Artículo 2. Nuevo.\n")
    named = call(
        cast.delegate,
        "POST",
        cast.url(document_id, "/versions"),
        {"name": "Borrador para el congreso"},
    )
    assert named.status_code == 201, named.text
    version = named.json()
    assert version["kind"] == "named" and version["name"] == "Borrador para el congreso"
    assert [e["name"] for e in version["editors"]] == ["Diego Delegado"]
    assert version["organizations"] == ["FMX"]
    assert version["sha256"] == hashlib.sha256((SEED + "Artículo 2. Nuevo.\n").encode()).hexdigest()
    type_text(cast, document_id, cast.delegate_ar, "Artículo 3. Otro.\n")
    # a burst that went quiet becomes an automatic version, seen only by the committee
    for _ in range(100):
        listed = call(cast.delegate, "GET", cast.url(document_id, "/versions")).json()["versions"]
        if listed[0]["kind"] == "auto":
            break
        run(asyncio.sleep(0.1))
    assert listed[0]["kind"] == "auto" and listed[0]["organizations"] == ["CAR"]
    public = call(cast.reviewer, "GET", cast.url(document_id, "/versions")).json()
    assert [v["kind"] for v in public["versions"]] == ["named"]
    assert public["can_snapshot"] is False
    assert (
        call(cast.reviewer, "POST", cast.url(document_id, "/versions"), {"name": "x"}).status_code
        == 403
    )
    auto = listed[0]["number"]
    assert call(cast.reviewer, "GET", cast.url(document_id, f"/versions/{auto}")).status_code == 404
    shown = call(
        cast.reviewer, "GET", cast.url(document_id, f"/versions/{version['number']}")
    ).json()
    assert shown["markdown"] == SEED + "Artículo 2. Nuevo.\n" and "<h1" in shown["html"]
    bad = call(cast.delegate, "POST", cast.url(document_id, "/versions"), {"name": "  "})
    assert bad.status_code == 400


def test_word_diff_and_restore_on_top_of_history(cast: Cast) -> None:
    document_id = cast.document()
    first = call(cast.chair, "POST", cast.url(document_id, "/versions"), {"name": "uno"}).json()
    type_text(cast, document_id, cast.delegate, "Artículo 2. Las quejas son confidenciales. 🔒\n")
    diffed = call(
        cast.reviewer, "GET", cast.url(document_id, f"/diff?from={first['number']}&to=current")
    )
    assert diffed.status_code == 200
    assert "<ins>" in diffed.json()["html"] and "confidenciales" in diffed.json()["html"]
    assert diffed.json()["stats"]["inserted_words"] >= 6
    assert call(cast.reviewer, "GET", cast.url(document_id, "/diff?from=abc")).status_code == 400
    assert call(cast.reviewer, "GET", cast.url(document_id, "/diff?from=999")).status_code == 404
    before = len(call(cast.chair, "GET", cast.url(document_id, "/versions")).json()["versions"])

    async def scenario() -> None:
        watcher = await RoleClient(cast.server, document_id, cast.observer.token).connect()
        await restore(cast, document_id, first["number"])
        await watcher.wait_text(SEED)  # live, for an open editor

    run(scenario())
    assert stored_text(cast.server.db, document_id) == SEED
    after = call(cast.chair, "GET", cast.url(document_id, "/versions")).json()["versions"]
    assert len(after) > before and after[0]["kind"] == "restore"  # history kept, never rewritten
    assert (
        call(cast.reviewer, "POST", cast.url(document_id, "/versions/1/restore")).status_code == 403
    )


# -- status and the locked text --------------------------------------------------------------


def test_review_makes_the_text_read_only_for_everyone_at_the_socket(cast: Cast) -> None:
    document_id = cast.document()
    assert (
        call(
            cast.delegate, "PUT", cast.url(document_id, "/status"), {"status": "review"}
        ).status_code
        == 403
    )

    async def scenario() -> None:
        open_editor = await RoleClient(cast.server, document_id, cast.delegate.token).connect()
        await asyncio.to_thread(to_review, cast, document_id)
        for _ in range(100):  # told at once that it is read-only now
            if open_editor.denied:
                break
            await asyncio.sleep(0.05)
        assert open_editor.denied
        rows = stored_rows(cast.server.db, document_id)
        await open_editor.edit(0, "intruso ")
        assert await open_editor.wait_closed(10) == 4403
        for who in cast.everyone().values():  # a new connection, from every role
            client = await RoleClient(cast.server, document_id, who.token).connect()
            assert client.denied, who.name
            await client.send(protocol.sync_update(content_update("cambio no autorizado")))
            assert await client.wait_closed(10) == 4403, who.name
        assert stored_rows(cast.server.db, document_id) == rows
        assert stored_text(cast.server.db, document_id) == SEED

    run(scenario())
    statuses = [
        v["status"]
        for v in call(cast.chair, "GET", cast.url(document_id, "/versions")).json()["versions"]
    ]
    assert statuses[0] == "review"  # a version at every status change
    back = call(cast.chair, "PUT", cast.url(document_id, "/status"), {"status": "draft"})
    assert back.status_code == 200 and back.json()["status"] == "draft"
    type_text(cast, document_id, cast.delegate, "Editable otra vez.\n")
    again = call(cast.chair, "PUT", cast.url(document_id, "/status"), {"status": "draft"})
    assert again.status_code == 409
    assert (
        call(
            cast.chair, "PUT", cast.url(document_id, "/status"), {"status": "ratified"}
        ).status_code
        == 400
    )


def test_ratify_stores_an_immutable_text_and_nothing_can_change_it(cast: Cast) -> None:
    document_id = cast.document()
    too_soon = call(cast.chair, "POST", cast.url(document_id, "/ratify"), DECISION)
    assert too_soon.status_code == 409
    start, end = span(SEED, "30 días")
    suggestion = call(
        cast.reviewer,
        "POST",
        cast.url(document_id, "/suggestions"),
        {"anchor": anchor_of(cast.server.db, document_id, start, end), "replacement": "90 días"},
    )
    assert suggestion.status_code == 201, suggestion.text
    to_review(cast, document_id)
    for field in ("body", "date", "votes_for"):
        broken = {**DECISION, field: None}
        assert call(cast.chair, "POST", cast.url(document_id, "/ratify"), broken).status_code == 400
    assert (
        call(cast.delegate, "POST", cast.url(document_id, "/ratify"), DECISION).status_code == 403
    )
    response = call(cast.chair, "POST", cast.url(document_id, "/ratify"), DECISION)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["markdown"] == SEED
    assert body["sha256"] == hashlib.sha256(SEED.encode()).hexdigest()
    assert body["votes"] == {"for": 40, "against": 3, "abstentions": 2}
    assert body["ratified_by"]["name"] == "Carmen Presidenta"
    assert call(cast.chair, "POST", cast.url(document_id, "/ratify"), DECISION).status_code == 409
    for status in ("draft", "review"):
        changed = call(cast.chair, "PUT", cast.url(document_id, "/status"), {"status": status})
        assert changed.status_code == 409

    async def scenario() -> None:
        for who in cast.everyone().values():
            client = await RoleClient(cast.server, document_id, who.token).connect()
            assert client.denied
            await client.send(protocol.sync_update(content_update("X")))
            assert await client.wait_closed(10) == 4403

    rows = stored_rows(cast.server.db, document_id)
    run(scenario())
    assert stored_rows(cast.server.db, document_id) == rows
    # the database itself refuses to change it
    for statement in (
        "UPDATE ratifications SET markdown = 'otro' WHERE document_id = ?",
        "DELETE FROM ratifications WHERE document_id = ?",
        "UPDATE documents SET status = 'draft' WHERE id = ?",
        "UPDATE versions SET markdown = 'otro' WHERE document_id = ?",
    ):
        with (
            pytest.raises(sqlite3.IntegrityError, match="never changes"),
            writing(cast.server.db) as conn,
        ):
            conn.execute(statement, (document_id,))
    again = call(cast.observer, "GET", f"{cast.server.url}/api/ratified/{document_id}").json()
    assert again["markdown"].encode() == SEED.encode()
    # accepting a suggestion made in the draft cannot change it either
    accept = cast.url(document_id, f"/suggestions/{suggestion.json()['id']}/accept")
    assert call(cast.chair, "POST", accept).status_code == 409
    assert stored_text(cast.server.db, document_id) == SEED


def test_a_revision_starts_from_the_ratified_text(cast: Cast) -> None:
    document_id, _ = ratified(cast)
    response = call(cast.chair, "POST", cast.url(document_id, "/revision"))
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["status"] == "draft" and draft["revision_of"] == document_id
    assert stored_text(cast.server.db, draft["id"]) == SEED
    members = call(cast.chair, "GET", cast.url(draft["id"], "/members")).json()["members"]
    assert {m["name"] for m in members} >= {"Diego Delegado", "Rosa Revisora"}
    type_text(cast, draft["id"], cast.delegate, "Enmienda.\n")
    assert call(cast.chair, "POST", cast.url(document_id, "/revision")).status_code == 409
    assert call(cast.chair, "POST", cast.url(draft["id"], "/revision")).status_code == 409
    shown = call(cast.reviewer, "GET", f"{cast.server.url}/api/ratified/{document_id}").json()
    assert shown["revised_by"] == draft["id"]


# -- adoption ----------------------------------------------------------------------------------


def test_adoptions_by_organization_and_the_dashboard(cast: Cast) -> None:
    document_id, _ = ratified(cast)
    url = f"{cast.server.url}/api/ratified/{document_id}/adoptions"
    adopted = call(
        cast.chair,
        "POST",
        url,
        {
            "organization": "FMX",
            "decision": "adopted",
            "body": "Asamblea FMX",
            "date": "2026-12-01",
        },
    )
    assert adopted.status_code == 201, adopted.text
    assert adopted.json()["decision"] == "adopted"
    assert adopted.json()["recorded_by"]["name"] == "Carmen Presidenta"
    with_reservations = {
        "organization": "CAR",
        "decision": "adopted_with_reservations",
        "body": "Asamblea CAR",
        "date": "2026-12-02",
    }
    assert call(cast.delegate_ar, "POST", url, with_reservations).status_code == 400  # say which
    with_reservations["reservations"] = "El artículo 1 se aplica con plazos de 45 días."
    assert call(cast.delegate_ar, "POST", url, with_reservations).status_code == 201
    # a delegate records only for their own organization; reviewers and outsiders not at all
    assert (
        call(
            cast.delegate_ar, "POST", url, {**with_reservations, "organization": "FMX"}
        ).status_code
        == 403
    )
    assert (
        call(cast.reviewer, "POST", url, {**with_reservations, "organization": "CAR"}).status_code
        == 403
    )
    assert (
        call(cast.outsider, "POST", url, {**with_reservations, "organization": "UUS"}).status_code
        == 403
    )
    assert (
        call(cast.admin, "POST", url, {"organization": "UUS", "decision": "pending"}).status_code
        == 201
    )
    assert (
        call(cast.chair, "POST", url, {"organization": "NOPE", "decision": "adopted"}).status_code
        == 404
    )
    assert (
        call(cast.chair, "POST", url, {"organization": "FMX", "decision": "maybe"}).status_code
        == 400
    )
    # the same organization again: the latest counts, the earlier one is its history
    call(
        cast.chair,
        "POST",
        url,
        {"organization": "FMX", "decision": "rejected", "date": "2026-12-03"},
    )
    page = call(cast.outsider, "GET", f"{cast.server.url}/api/ratified/{document_id}").json()
    by_org = {a["organization"]["short_name"]: a for a in page["adoptions"]}
    assert (
        by_org["FMX"]["decision"] == "rejected"
        and by_org["FMX"]["history"][0]["decision"] == "adopted"
    )
    assert by_org["CAR"]["reservations"].startswith("El artículo 1")
    assert page["can_record"] == []
    dashboard = call(cast.outsider, "GET", f"{cast.server.url}/api/ratified").json()
    row = next(t for t in dashboard["texts"] if t["document_id"] == document_id)
    assert (
        row["adoptions"]["FMX"] == "rejected"
        and row["adoptions"]["CAR"] == "adopted_with_reservations"
    )
    assert call(None, "GET", f"{cast.server.url}/api/ratified").status_code == 401


def test_publishing_at_a_public_permalink(cast: Cast) -> None:
    document_id, _ = ratified(cast)
    url = f"{cast.server.url}/api/ratified/{document_id}/public"
    assert call(cast.delegate, "PUT", url, {"public": True}).status_code == 403
    link = call(cast.chair, "PUT", url, {"public": True}).json()["public_url"]
    slug = link.rsplit("/", 1)[1]
    public = httpx.get(f"{cast.server.url}/api/public/{slug}").json()
    assert public["markdown"] == SEED and public["ratified_by"] is None
    assert httpx.get(cast.server.url + link).status_code == 200
    assert call(cast.chair, "PUT", url, {"public": False}).json()["public_url"] is None
    assert httpx.get(f"{cast.server.url}/api/public/{slug}").status_code == 404


# -- exports and verification ----------------------------------------------------------------


def test_exports_carry_the_hash_and_verify_recognizes_them(cast: Cast, tmp_path: Path) -> None:
    seed = SEED + "Artículo 2. ¿Qué pasa con las quejas anónimas? Se atienden igual. ¡Sí!\n"
    document_id, body = ratified(cast, seed)
    digest = body["sha256"]
    base = f"{cast.server.url}/api/ratified/{document_id}/export"
    markdown = call(cast.reviewer, "GET", base + "?format=md")
    assert markdown.status_code == 200 and markdown.content == seed.encode()
    assert "attachment" in markdown.headers["content-disposition"]
    pdf = call(cast.reviewer, "GET", base + "?format=pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert digest in text.replace("\n", "") and "Protocolo para quejas" in text
    html = call(cast.reviewer, "GET", base + "?format=html")
    assert digest in html.text and "<script" not in html.text
    assert call(cast.reviewer, "GET", base + "?format=docx").status_code == 400

    def verify(data: bytes) -> dict[str, Any]:
        response = httpx.post(
            f"{cast.server.url}/api/verify",
            content=data,
            headers={**cast.observer.bearer, "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    assert verify(markdown.content)["match"]["how"] == "exact"
    assert verify(html.content)["sha256"] == hashlib.sha256(html.content).hexdigest()
    assert verify(html.content)["claimed"] == digest
    # without an account, only texts a chair published can be recognized
    anonymous = httpx.post(f"{cast.server.url}/api/verify", content=markdown.content)
    assert anonymous.status_code == 200 and anonymous.json()["match"] is None
    call(
        cast.chair, "PUT", f"{cast.server.url}/api/ratified/{document_id}/public", {"public": True}
    )
    anonymous = httpx.post(f"{cast.server.url}/api/verify", content=markdown.content)
    assert anonymous.json()["match"]["document_id"] == document_id
    assert verify(markdown.content.replace(b"\n", b"\r\n"))["match"]["how"] == "normalized"
    assert verify(pdf.content)["match"]["how"] == "export"
    assert verify(html.content)["match"]["document_id"] == document_id
    tampered = markdown.content.replace("30 días".encode(), "31 días".encode())
    assert verify(tampered)["match"] is None
    forged = html.content.replace(b"30 d", b"90 d")  # names the right hash, other content
    assert verify(forged)["match"] is None
    empty = httpx.post(f"{cast.server.url}/api/verify", content=b"", headers=cast.observer.bearer)
    assert empty.status_code == 400
    # the command line says the same
    good, bad = tmp_path / "copia.md", tmp_path / "alterada.md"
    good.write_bytes(markdown.content)
    bad.write_bytes(tampered)
    command = [sys.executable, "-m", "server.cli", "verify", "--db", str(cast.server.db)]
    ok = subprocess.run([*command, str(good)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "MATCH" in ok.stdout and digest in ok.stdout
    no = subprocess.run([*command, str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert no.returncode == 1 and "NO MATCH" in no.stdout
    missing = subprocess.run(
        [*command, str(tmp_path / "nada.md")], capture_output=True, text=True, cwd=ROOT
    )
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_version_exports_and_the_audit_trail(cast: Cast) -> None:
    document_id, _ = ratified(cast)
    versions = call(cast.reviewer, "GET", cast.url(document_id, "/versions")).json()["versions"]
    number = versions[0]["number"]
    pdf = call(cast.reviewer, "GET", cast.url(document_id, f"/versions/{number}/export?format=pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with reading(cast.server.db) as conn:
        actions = [
            row[0]
            for row in conn.execute(
                "SELECT action FROM audit_log WHERE document_id = ? ORDER BY seq", (document_id,)
            )
        ]
    assert actions[-3:] == ["document.status", "document.ratify", "document.export"]
    verify = subprocess.run(
        [sys.executable, "-m", "server.cli", "audit", "verify", "--db", str(cast.server.db)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert verify.returncode == 0, verify.stderr


def test_who_may_read_and_act(cast: Cast) -> None:
    document_id, _ = ratified(cast)
    draft = cast.document()
    for who in (cast.outsider, None):
        expected = 404 if who else 401
        assert call(who, "GET", cast.url(draft, "/versions")).status_code == expected
        assert (
            call(who, "PUT", cast.url(draft, "/status"), {"status": "review"}).status_code
            == expected
        )
        assert call(who, "POST", cast.url(draft, "/ratify"), DECISION).status_code == expected
    assert (
        call(cast.outsider, "GET", f"{cast.server.url}/api/ratified/{document_id}").status_code
        == 200
    )
    assert call(cast.outsider, "GET", f"{cast.server.url}/api/ratified/{draft}").status_code == 404
    assert call(cast.observer, "GET", cast.url(draft, "/versions")).status_code == 200


def test_an_emoji_a_restore_puts_back_cannot_be_cut_in_half(cast: Cast) -> None:
    """A server-side edit (here a restore) that brings back a character outside the BMP: the
    room learns where its halves are, so a client that deletes one half is refused (1007)."""
    document_id = cast.document()

    async def scenario() -> None:
        writer = await RoleClient(cast.server, document_id, cast.delegate.token).connect()
        await writer.edit(0, "🔒 ")
        await writer.barrier()
        version = await asyncio.to_thread(
            call, cast.chair, "POST", cast.url(document_id, "/versions"), {"name": "candado"}
        )
        before = writer.doc.get_state()
        del writer.text[0 : len("🔒 ".encode())]  # pycrdt counts UTF-8 bytes
        await writer.send(protocol.sync_update(writer.doc.get_update(before)))
        await writer.barrier()
        await restore(cast, document_id, version.json()["number"])
        await writer.wait_text("🔒 " + SEED)
        back = next(u for u in reversed(writer.received) if structs.walk_update(u).halves)
        ((client, (second,)),) = structs.walk_update(back).halves.items()
        cut = bytes([0, 1]) + protocol.var_uint(client) + bytes([1])
        cut += protocol.var_uint(second - 1) + bytes([1])  # the first half alone
        await writer.try_send(protocol.sync_update(cut))
        assert await writer.wait_closed(10) == 1007

    run(scenario())
    assert stored_text(cast.server.db, document_id) == "🔒 " + SEED
