"""Who belongs to which document, in which role, and what each role may do."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from server.errors import BadRequest

ROLES = ("chair", "delegate", "reviewer", "observer")
WRITERS = frozenset({"chair", "delegate"})


def clean_role(value: object) -> str:
    if value not in ROLES:
        raise BadRequest("role must be one of chair, delegate, reviewer, observer")
    assert isinstance(value, str)
    return value


def can_write(role: str | None) -> bool:
    return role in WRITERS


def can_manage(role: str | None) -> bool:
    return role == "chair"


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    email: str
    organization: str | None
    role: str

    def to_json(self, show_email: bool) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "email": self.email if show_email else None,
            "organization": self.organization,
            "role": self.role,
        }


def role_of(conn: sqlite3.Connection, document_id: str, user_id: int) -> str | None:
    """The user's role in the document, or None (also when the document does not exist)."""
    row = conn.execute(
        "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.document_id = ? AND m.user_id = ? AND u.removed_at IS NULL",
        (document_id, user_id),
    ).fetchone()
    return str(row[0]) if row else None


def set_role(conn: sqlite3.Connection, document_id: str, user_id: int, role: str) -> None:
    conn.execute(
        "INSERT INTO memberships (document_id, user_id, role) VALUES (?,?,?) "
        "ON CONFLICT(document_id, user_id) DO UPDATE SET role = excluded.role",
        (document_id, user_id, clean_role(role)),
    )


def remove(conn: sqlite3.Connection, document_id: str, user_id: int) -> bool:
    cursor = conn.execute(
        "DELETE FROM memberships WHERE document_id = ? AND user_id = ?", (document_id, user_id)
    )
    return cursor.rowcount > 0


def chairs_left(conn: sqlite3.Connection, document_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.document_id = ? AND m.role = 'chair' AND u.removed_at IS NULL",
        (document_id,),
    ).fetchone()
    return int(row[0])


def members(conn: sqlite3.Connection, document_id: str) -> list[Member]:
    rows = conn.execute(
        "SELECT u.id, u.name, u.email, o.short_name, m.role FROM memberships m "
        "JOIN users u ON u.id = m.user_id LEFT JOIN organizations o ON o.id = u.organization_id "
        "WHERE m.document_id = ? AND u.removed_at IS NULL ORDER BY u.name",
        (document_id,),
    ).fetchall()
    return [Member(*row) for row in rows]


def is_chair_anywhere(conn: sqlite3.Connection, user_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM memberships WHERE user_id = ? AND role = 'chair' LIMIT 1", (user_id,)
    ).fetchone()
    return row is not None


def memberships_of(conn: sqlite3.Connection, user_id: int) -> list[tuple[str, str]]:
    """(document id, role) of every document the person belongs to."""
    rows = conn.execute(
        "SELECT document_id, role FROM memberships WHERE user_id = ? ORDER BY document_id",
        (user_id,),
    ).fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


def sole_chair_of(conn: sqlite3.Connection, user_id: int) -> list[str]:
    """Titles of the documents whose only chair is this person."""
    rows = conn.execute(
        "SELECT d.title FROM memberships m JOIN documents d ON d.id = m.document_id "
        "WHERE m.user_id = ? AND m.role = 'chair' AND (SELECT count(*) FROM memberships o "
        "WHERE o.document_id = m.document_id AND o.role = 'chair') = 1",
        (user_id,),
    ).fetchall()
    return [str(row[0]) for row in rows]
