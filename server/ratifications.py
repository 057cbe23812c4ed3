"""Ratification and adoption of a document's text.

- A **ratification** stores the exact Markdown, its HTML and SHA-256, and the decision. The
  database refuses to change or delete it (triggers), and the sync server refuses every write
  to the document: a ratified text never changes by a single byte. Ratifying also takes the
  ``ratified`` version (`server.versions`).
- **Adoptions** record each organization's decision on a ratified text; the latest per
  organization counts, the earlier ones stay as its history.
- A ratified text can be **published** under a public address (a slug).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from server import documents
from server.documents import now
from server.errors import BadRequest, Conflict, NotFound
from server.render import render
from server.versions import MAX_NAME, take

DECISIONS = ("adopted", "adopted_with_reservations", "rejected", "pending")
MAX_NOTES = 10_000


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


__all__ = ["Adoption", "Decision", "Ratification"]
