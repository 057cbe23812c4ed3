"""Documents: creating, listing and reading them (title, dates, current text)."""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from server.errors import BadRequest

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
MAX_TITLE = 200


def new_id() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def valid_id(document_id: str) -> bool:
    return bool(ID_PATTERN.fullmatch(document_id))


def clean_title(raw: Any) -> str:
    if not isinstance(raw, str):
        raise BadRequest("title must be a string")
    title = " ".join(raw.split())
    if not title:
        raise BadRequest("title must not be empty")
    if len(title) > MAX_TITLE:
        raise BadRequest(f"title must be at most {MAX_TITLE} characters")
    return title


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    created_at: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def create(conn: sqlite3.Connection, title: str, chair: int | None = None) -> Document:
    """A new, empty document; ``chair`` (a user id) becomes its first chair."""
    stamp = now()
    document = Document(new_id(), title, stamp, stamp)
    conn.execute(
        "INSERT INTO documents (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (document.id, document.title, document.created_at, document.updated_at),
    )
    if chair is not None:
        conn.execute(
            "INSERT INTO memberships (document_id, user_id, role) VALUES (?, ?, 'chair')",
            (document.id, chair),
        )
    return document


def get(conn: sqlite3.Connection, document_id: str) -> Document | None:
    row = conn.execute(
        "SELECT id, title, created_at, updated_at FROM documents WHERE id = ?", (document_id,)
    ).fetchone()
    return Document(*row) if row else None


def list_all(conn: sqlite3.Connection) -> list[Document]:
    rows = conn.execute(
        "SELECT id, title, created_at, updated_at FROM documents ORDER BY updated_at DESC"
    ).fetchall()
    return [Document(*row) for row in rows]


def list_for(conn: sqlite3.Connection, user_id: int) -> list[tuple[Document, str]]:
    """The documents a person belongs to, with their role, most recently changed first."""
    rows = conn.execute(
        "SELECT d.id, d.title, d.created_at, d.updated_at, m.role FROM documents d "
        "JOIN memberships m ON m.document_id = d.id WHERE m.user_id = ? "
        "ORDER BY d.updated_at DESC",
        (user_id,),
    ).fetchall()
    return [(Document(*row[:4]), row[4]) for row in rows]
