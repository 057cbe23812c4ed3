"""Versions, the status workflow, ratification and adoption.

- A **version** is an immutable snapshot of a document's text: named by a delegate or chair,
  taken automatically when a burst of editing goes quiet (``auto``), at every status change
  (``status``), on ratification (``ratified``) and after a restore (``restore``). Each records
  who edited since the one before (the room counts every stored edit's author).
- The **status** goes ``draft`` -> ``review`` -> ``ratified``; only a draft's text changes.
- A **ratification** stores the exact Markdown, its HTML and SHA-256, and the decision. The
  database refuses to change or delete it (triggers), and the sync server refuses every write
  to the document: a ratified text never changes by a single byte.
- **Adoptions** record each organization's decision on a ratified text; the latest per
  organization counts, the earlier ones stay as its history.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from server import documents
from server.documents import now
from server.errors import BadRequest, Conflict, NotFound
from server.render import render
from server.verify import fingerprint

KINDS = ("named", "auto", "status", "ratified", "restore")
COMMITTEE_ONLY = frozenset({"auto"})  # keystroke-level history: chairs and delegates only
DECISIONS = ("adopted", "adopted_with_reservations", "rejected", "pending")
MAX_NAME = 200
MAX_NOTES = 10_000


@dataclass(frozen=True)
class Version:
    id: int
    document_id: str
    number: int
    name: str | None
    kind: str
    status: str
    markdown: str
    sha256: str
    state_vector: bytes
    editors: tuple[int, ...]
    created_by: int | None
    created_at: str


_VERSION = (
    "SELECT id, document_id, number, name, kind, status, markdown, sha256, state_vector, "
    "editors, created_by, created_at FROM versions"
)


def _version(row: tuple[Any, ...]) -> Version:
    return Version(
        id=row[0],
        document_id=row[1],
        number=row[2],
        name=row[3],
        kind=row[4],
        status=row[5],
        markdown=row[6],
        sha256=row[7],
        state_vector=row[8],
        editors=tuple(json.loads(row[9])),
        created_by=row[10],
        created_at=row[11],
    )


def take(
    conn: sqlite3.Connection,
    document_id: str,
    *,
    kind: str,
    markdown: str,
    state_vector: bytes,
    editors: set[int] | tuple[int, ...] = (),
    name: str | None = None,
    by: int | None = None,
) -> Version:
    """Append a version (numbers count up from 1 per document)."""
    document = documents.get(conn, document_id)
    if document is None:
        raise NotFound("document not found")
    row = conn.execute(
        "SELECT coalesce(max(number), 0) + 1 FROM versions WHERE document_id = ?", (document_id,)
    ).fetchone()
    stamp = now()
    cursor = conn.execute(
        "INSERT INTO versions (document_id, number, name, kind, status, markdown, sha256, "
        "state_vector, editors, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            document_id,
            row[0],
            name,
            kind,
            document.status,
            markdown,
            fingerprint(markdown),
            state_vector,
            json.dumps(sorted(editors)),
            by,
            stamp,
        ),
    )
    return get_by_id(conn, int(cursor.lastrowid or 0))


def get_by_id(conn: sqlite3.Connection, version_id: int) -> Version:
    row = conn.execute(_VERSION + " WHERE id = ?", (version_id,)).fetchone()
    if row is None:
        raise NotFound("version not found")
    return _version(row)


def get(conn: sqlite3.Connection, document_id: str, number: int) -> Version:
    row = conn.execute(
        _VERSION + " WHERE document_id = ? AND number = ?", (document_id, number)
    ).fetchone()
    if row is None:
        raise NotFound("version not found")
    return _version(row)


def latest(conn: sqlite3.Connection, document_id: str) -> Version | None:
    row = conn.execute(
        _VERSION + " WHERE document_id = ? ORDER BY number DESC LIMIT 1", (document_id,)
    ).fetchone()
    return _version(row) if row else None


def history(conn: sqlite3.Connection, document_id: str, committee: bool) -> list[Version]:
    """Newest first. Outside the drafting committee, the automatic snapshots are left out and
    their editors are counted in the next version shown."""
    rows = conn.execute(
        _VERSION + " WHERE document_id = ? ORDER BY number", (document_id,)
    ).fetchall()
    found = [_version(row) for row in rows]
    if not committee:
        merged: list[Version] = []
        pending: set[int] = set()
        for version in found:
            if version.kind in COMMITTEE_ONLY:
                pending |= set(version.editors)
                continue
            editors = tuple(sorted(pending | set(version.editors)))
            merged.append(_with_editors(version, editors))
            pending = set()
        found = merged
    return found[::-1]


def _with_editors(version: Version, editors: tuple[int, ...]) -> Version:
    return dataclasses.replace(version, editors=editors)


def clean_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name must be a non-empty string")
    name = " ".join(value.split())
    if len(name) > MAX_NAME:
        raise BadRequest(f"name must be at most {MAX_NAME} characters")
    return name


# -- ratification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratification:
    document_id: str
    version_id: int
    title: str
    markdown: str
    html: str
    sha256: str
    body: str
    decided_on: str
    votes_for: int
    votes_against: int
    abstentions: int
    notes: str
    ratified_by: int
    ratified_at: str


_RATIFICATION = (
    "SELECT document_id, version_id, title, markdown, html, sha256, body, decided_on, "
    "votes_for, votes_against, abstentions, notes, ratified_by, ratified_at FROM ratifications"
)


@dataclass(frozen=True)
class Decision:
    """What a chair records when a congress ratifies the text."""

    body: str
    decided_on: str
    votes_for: int
    votes_against: int
    abstentions: int
    notes: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            raise BadRequest("body (the deciding body) is required")
        votes = []
        for key in ("votes_for", "votes_against", "abstentions"):
            value = data.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**6:
                raise BadRequest(f"{key} must be a whole number from 0")
            votes.append(value)
        notes = data.get("notes", "")
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            raise BadRequest(f"notes must be a string of at most {MAX_NOTES} characters")
        return cls(
            body=" ".join(body.split())[:MAX_NAME],
            decided_on=clean_date(data.get("date")),
            votes_for=votes[0],
            votes_against=votes[1],
            abstentions=votes[2],
            notes=notes.strip(),
        )


def clean_date(value: object) -> str:
    """An ISO date (YYYY-MM-DD)."""
    if not isinstance(value, str):
        raise BadRequest("date must be a date like 2026-11-20")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise BadRequest("date must be a date like 2026-11-20") from exc


def ratify(
    conn: sqlite3.Connection,
    document_id: str,
    decision: Decision,
    *,
    markdown: str,
    state_vector: bytes,
    by: int,
) -> Ratification:
    document = documents.get(conn, document_id)
    if document is None:
        raise NotFound("document not found")
    if document.status == "ratified" or ratification(conn, document_id) is not None:
        raise Conflict("this text is already ratified")
    if document.status != "review":
        raise Conflict("only a text in review can be ratified; send it to review first")
    documents.set_status(conn, document_id, "ratified")
    version = take(
        conn, document_id, kind="ratified", markdown=markdown, state_vector=state_vector, by=by
    )
    conn.execute(
        "INSERT INTO ratifications (document_id, version_id, title, markdown, html, sha256, "
        "body, decided_on, votes_for, votes_against, abstentions, notes, ratified_by, "
        "ratified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            document_id,
            version.id,
            document.title,
            markdown,
            render(markdown),
            version.sha256,
            decision.body,
            decision.decided_on,
            decision.votes_for,
            decision.votes_against,
            decision.abstentions,
            decision.notes,
            by,
            now(),
        ),
    )
    found = ratification(conn, document_id)
    assert found is not None
    return found


def ratification(conn: sqlite3.Connection, document_id: str) -> Ratification | None:
    row = conn.execute(_RATIFICATION + " WHERE document_id = ?", (document_id,)).fetchone()
    return Ratification(*row) if row else None


def ratifications(conn: sqlite3.Connection) -> list[Ratification]:
    rows = conn.execute(_RATIFICATION + " ORDER BY ratified_at DESC").fetchall()
    return [Ratification(*row) for row in rows]


def by_hash(conn: sqlite3.Connection) -> dict[str, Ratification]:
    return {r.sha256: r for r in ratifications(conn)}


# -- public permalinks ---------------------------------------------------------------------


def publication(conn: sqlite3.Connection, document_id: str) -> str | None:
    row = conn.execute(
        "SELECT slug FROM publications WHERE document_id = ?", (document_id,)
    ).fetchone()
    return str(row[0]) if row else None


def publish(conn: sqlite3.Connection, document_id: str, public: bool, by: int) -> str | None:
    if not public:
        conn.execute("DELETE FROM publications WHERE document_id = ?", (document_id,))
        return None
    existing = publication(conn, document_id)
    if existing is not None:
        return existing
    slug = secrets.token_urlsafe(12)
    conn.execute(
        "INSERT INTO publications (document_id, slug, published_by, published_at) VALUES (?,?,?,?)",
        (document_id, slug, by, now()),
    )
    return slug


def published(conn: sqlite3.Connection, slug: str) -> str | None:
    row = conn.execute("SELECT document_id FROM publications WHERE slug = ?", (slug,)).fetchone()
    return str(row[0]) if row else None


# -- adoption ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adoption:
    organization_id: int
    decision: str
    reservations: str
    body: str
    decided_on: str | None
    notes: str
    recorded_by: int
    recorded_at: str


def record_adoption(
    conn: sqlite3.Connection, document_id: str, organization_id: int, data: dict[str, Any], by: int
) -> Adoption:
    decision = data.get("decision")
    if decision not in DECISIONS:
        raise BadRequest("decision must be adopted, adopted_with_reservations, rejected or pending")
    reservations = data.get("reservations", "") or ""
    if not isinstance(reservations, str) or len(reservations) > MAX_NOTES:
        raise BadRequest("reservations must be a string")
    if decision == "adopted_with_reservations" and not reservations.strip():
        raise BadRequest("adopted with reservations: write the reservations")
    body = data.get("body", "") or ""
    notes = data.get("notes", "") or ""
    if not isinstance(body, str) or len(body) > MAX_NAME:
        raise BadRequest(f"body must be a string of at most {MAX_NAME} characters")
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        raise BadRequest(f"notes must be a string of at most {MAX_NOTES} characters")
    raw_date = data.get("date")
    decided_on = None if raw_date in (None, "") else clean_date(raw_date)
    if decision != "pending" and decided_on is None:
        raise BadRequest("date (when the organization decided) is required")
    conn.execute(
        "INSERT INTO adoptions (document_id, organization_id, decision, reservations, body, "
        "decided_on, notes, recorded_by, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            document_id,
            organization_id,
            decision,
            reservations.strip(),
            " ".join(body.split()),
            decided_on,
            notes.strip(),
            by,
            now(),
        ),
    )
    return adoptions(conn, document_id)[organization_id][0]


def adoptions(conn: sqlite3.Connection, document_id: str) -> dict[int, list[Adoption]]:
    """Each organization's records for a ratified text, newest first."""
    rows = conn.execute(
        "SELECT organization_id, decision, reservations, body, decided_on, notes, recorded_by, "
        "recorded_at FROM adoptions WHERE document_id = ? ORDER BY id DESC",
        (document_id,),
    ).fetchall()
    found: dict[int, list[Adoption]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(Adoption(*row))
    return found


def adoption_status(conn: sqlite3.Connection) -> dict[str, dict[int, str]]:
    """The latest decision of each organization on each ratified text."""
    rows = conn.execute(
        "SELECT a.document_id, a.organization_id, a.decision FROM adoptions a "
        "WHERE a.id = (SELECT max(b.id) FROM adoptions b WHERE b.document_id = a.document_id "
        "AND b.organization_id = a.organization_id)"
    ).fetchall()
    found: dict[str, dict[int, str]] = {}
    for document_id, organization_id, decision in rows:
        found.setdefault(document_id, {})[organization_id] = decision
    return found


__all__ = ["Adoption", "Decision", "Ratification", "Version"]
