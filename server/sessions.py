"""Secrets that stand for a person: sessions (browser), API tokens (scripts) and one-time
links (setup, invitations, password resets). Only SHA-256 hashes of them are stored."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.documents import now

SESSION_DAYS = 14
LINK_DAYS = 7


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _later(**delta: float) -> str:
    stamp = datetime.now(UTC) + timedelta(**delta)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- sessions -----------------------------------------------------------------------------


def start_session(conn: sqlite3.Connection, user_id: int) -> str:
    secret = new_secret()
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?,?,?,?)",
        (digest(secret), user_id, now(), _later(days=SESSION_DAYS)),
    )
    return secret


def session_user(conn: sqlite3.Connection, secret: str) -> int | None:
    row = conn.execute(
        "SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.id_hash = ? AND s.expires_at > ? AND u.removed_at IS NULL",
        (digest(secret), now()),
    ).fetchone()
    return int(row[0]) if row else None


def end_session(conn: sqlite3.Connection, secret: str) -> None:
    conn.execute("DELETE FROM sessions WHERE id_hash = ?", (digest(secret),))


def end_all_sessions(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


# -- API tokens ---------------------------------------------------------------------------


def create_token(conn: sqlite3.Connection, user_id: int, name: str) -> tuple[int, str]:
    secret = "acc_" + new_secret()
    cursor = conn.execute(
        "INSERT INTO tokens (user_id, token_hash, name, created_at) VALUES (?,?,?,?)",
        (user_id, digest(secret), name, now()),
    )
    return int(cursor.lastrowid or 0), secret


def token_user(conn: sqlite3.Connection, secret: str) -> int | None:
    row = conn.execute(
        "SELECT t.user_id FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.removed_at IS NULL",
        (digest(secret),),
    ).fetchone()
    return int(row[0]) if row else None


def revoke_token(conn: sqlite3.Connection, token_id: int) -> bool:
    cursor = conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now(), token_id)
    )
    return cursor.rowcount > 0


def tokens_of(conn: sqlite3.Connection, user_id: int) -> list[tuple[int, str, str, str | None]]:
    return [
        (int(r[0]), r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT id, name, created_at, revoked_at FROM tokens WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
    ]


# -- one-time links -----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    id: int
    kind: str  # setup | invite | password | document
    user_id: int | None
    document_id: str | None
    role: str | None
    email: str | None
    expires_at: str


def retire_setup_links(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE links SET used_at = ? WHERE kind = 'setup' AND used_at IS NULL", (now(),))


def create_link(
    conn: sqlite3.Connection,
    kind: str,
    *,
    user_id: int | None = None,
    document_id: str | None = None,
    role: str | None = None,
    email: str | None = None,
    created_by: int | None = None,
    days: float = LINK_DAYS,
) -> tuple[str, Link]:
    secret = new_secret()
    expires = _later(days=days)
    cursor = conn.execute(
        "INSERT INTO links (token_hash, kind, user_id, document_id, role, email, created_by,"
        " created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (digest(secret), kind, user_id, document_id, role, email, created_by, now(), expires),
    )
    link = Link(int(cursor.lastrowid or 0), kind, user_id, document_id, role, email, expires)
    return secret, link


def find_link(conn: sqlite3.Connection, secret: str) -> Link | None:
    """A link that exists, is unused and has not expired."""
    row = conn.execute(
        "SELECT id, kind, user_id, document_id, role, email, expires_at FROM links "
        "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (digest(secret), now()),
    ).fetchone()
    return Link(*row) if row else None


def use_link(conn: sqlite3.Connection, link_id: int) -> bool:
    """Mark a link used; False if it was used meanwhile (single use, even under a race)."""
    cursor = conn.execute(
        "UPDATE links SET used_at = ? WHERE id = ? AND used_at IS NULL", (now(), link_id)
    )
    return cursor.rowcount == 1


def pending_invitations(conn: sqlite3.Connection, document_id: str) -> list[Link]:
    rows = conn.execute(
        "SELECT id, kind, user_id, document_id, role, email, expires_at FROM links "
        "WHERE document_id = ? AND kind = 'document' AND used_at IS NULL AND expires_at > ? "
        "ORDER BY id",
        (document_id, now()),
    ).fetchall()
    return [Link(*row) for row in rows]


def revoke_link(conn: sqlite3.Connection, link_id: int, document_id: str) -> bool:
    cursor = conn.execute(
        "UPDATE links SET used_at = ? WHERE id = ? AND document_id = ? AND used_at IS NULL",
        (now(), link_id, document_id),
    )
    return cursor.rowcount == 1


def unused_setup_link_exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM links WHERE kind = 'setup' AND used_at IS NULL AND expires_at > ?",
        (now(),),
    ).fetchone()
    return row is not None


def revoke_links_by(conn: sqlite3.Connection, user_id: int, document_id: str) -> None:
    """A chair lowered or removed: the invitations they made stop working."""
    conn.execute(
        "UPDATE links SET used_at = ? WHERE created_by = ? AND document_id = ? AND used_at IS NULL",
        (now(), user_id, document_id),
    )
