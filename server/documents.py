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


STATUSES = ("draft", "review", "ratified")
COLUMNS = "d.id, d.title, d.created_at, d.updated_at, d.status, d.revision_of"


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    created_at: str
    updated_at: str
    status: str = "draft"  # draft -> review -> ratified; only a draft's text can change
    revision_of: str | None = None  # the ratified document this draft revises

    @property
    def writable(self) -> bool:
        return self.status == "draft"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def create(
    conn: sqlite3.Connection,
    title: str,
    chair: int | None = None,
    revision_of: str | None = None,
) -> Document:
    """A new, empty document; ``chair`` (a user id) becomes its first chair."""
    stamp = now()
    document = Document(new_id(), title, stamp, stamp, "draft", revision_of)
    conn.execute(
        "INSERT INTO documents (id, title, created_at, updated_at, revision_of) "
        "VALUES (?, ?, ?, ?, ?)",
        (document.id, document.title, document.created_at, document.updated_at, revision_of),
    )
    if chair is not None:
        conn.execute(
            "INSERT INTO memberships (document_id, user_id, role) VALUES (?, ?, 'chair')",
            (document.id, chair),
        )
    return document


def get(conn: sqlite3.Connection, document_id: str) -> Document | None:
    row = conn.execute(
        f"SELECT {COLUMNS} FROM documents d WHERE d.id = ?", (document_id,)
    ).fetchone()
    return Document(*row) if row else None


def list_all(conn: sqlite3.Connection) -> list[Document]:
    rows = conn.execute(f"SELECT {COLUMNS} FROM documents d ORDER BY d.updated_at DESC").fetchall()
    return [Document(*row) for row in rows]


def revised_by(conn: sqlite3.Connection, document_id: str) -> str | None:
    """The draft that revises a ratified document, if one was started."""
    row = conn.execute(
        "SELECT id FROM documents WHERE revision_of = ? ORDER BY created_at DESC LIMIT 1",
        (document_id,),
    ).fetchone()
    return str(row[0]) if row else None


def set_status(conn: sqlite3.Connection, document_id: str, status: str) -> None:
    conn.execute(
        "UPDATE documents SET status = ?, updated_at = ? WHERE id = ?",
        (status, now(), document_id),
    )


def list_for(conn: sqlite3.Connection, user_id: int) -> list[tuple[Document, str]]:
    """The documents a person belongs to, with their role, most recently changed first."""
    rows = conn.execute(
        f"SELECT {COLUMNS}, m.role FROM documents d "
        "JOIN memberships m ON m.document_id = d.id WHERE m.user_id = ? "
        "ORDER BY d.updated_at DESC",
        (user_id,),
    ).fetchall()
    return [(Document(*row[:6]), row[6]) for row in rows]
