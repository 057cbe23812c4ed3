"""Organizations (the federation's affiliates) and the people who use Accord."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from server.documents import now
from server.errors import BadRequest, Conflict, NotFound
from server.passwords import check_strength, hash_password

LANGUAGES = ("es", "en")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SHORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class Organization:
    id: int
    short_name: str
    name: str
    country: str

    def to_json(self) -> dict[str, Any]:
        return {"short_name": self.short_name, "name": self.name, "country": self.country}


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    organization: Organization | None
    language: str
    is_admin: bool
    has_password: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "organization": self.organization.to_json() if self.organization else None,
            "language": self.language,
            "is_admin": self.is_admin,
        }


def clean_text(value: object, what: str, limit: int = 200) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a string")
    text = " ".join(value.split())
    if not text:
        raise BadRequest(f"{what} must not be empty")
    if len(text) > limit:
        raise BadRequest(f"{what} must be at most {limit} characters")
    return text


def clean_email(value: object) -> str:
    email = clean_text(value, "email", 254).lower()
    if not EMAIL.fullmatch(email):
        raise BadRequest("email is not valid")
    return email


def add_organization(conn: sqlite3.Connection, short: str, name: str, country: str) -> int:
    if not SHORT_NAME.fullmatch(short):
        raise BadRequest("short name: letters, digits, - and _, at most 32")
    country = country.upper()
    if not COUNTRY.fullmatch(country):
        raise BadRequest("country must be a two-letter ISO code, e.g. MX")
    try:
        cursor = conn.execute(
            "INSERT INTO organizations (short_name, name, country, created_at) VALUES (?,?,?,?)",
            (short, clean_text(name, "name"), country, now()),
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"organization {short} exists") from exc
    return int(cursor.lastrowid or 0)


def organization_by_short(conn: sqlite3.Connection, short: str) -> Organization:
    row = conn.execute(
        "SELECT id, short_name, name, country FROM organizations WHERE short_name = ?", (short,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no organization {short}")
    return Organization(*row)


def organizations(conn: sqlite3.Connection) -> list[Organization]:
    rows = conn.execute(
        "SELECT id, short_name, name, country FROM organizations ORDER BY short_name"
    ).fetchall()
    return [Organization(*row) for row in rows]


def add_user(
    conn: sqlite3.Connection,
    email: object,
    name: object,
    organization_id: int | None,
    password: object,
    is_admin: bool = False,
    language: str = "es",
    password_hash: str | None = None,
) -> int:
    """Add a person. Pass ``password`` (hashed here) or an already computed
    ``password_hash`` (hash off the writer thread: argon2 takes a tenth of a second)."""
    if language not in LANGUAGES:
        raise BadRequest("language must be es or en")
    if password_hash is None and password is not None:
        password_hash = hash_password(check_strength(password))
    try:
        cursor = conn.execute(
            "INSERT INTO users (email, name, organization_id, language, password_hash, is_admin,"
            " created_at) VALUES (?,?,?,?,?,?,?)",
            (
                clean_email(email),
                clean_text(name, "name"),
                organization_id,
                language,
                password_hash,
                int(is_admin),
                now(),
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict("a person with that email exists") from exc
    return int(cursor.lastrowid or 0)


_USER_SQL = """
SELECT u.id, u.email, u.name, u.language, u.is_admin, u.password_hash IS NOT NULL,
       o.id, o.short_name, o.name, o.country
FROM users u LEFT JOIN organizations o ON o.id = u.organization_id
WHERE u.removed_at IS NULL AND {where}
"""


def _user(row: tuple[Any, ...] | None) -> User | None:
    if row is None:
        return None
    org = Organization(row[6], row[7], row[8], row[9]) if row[6] is not None else None
    return User(row[0], row[1], row[2], org, row[3], bool(row[4]), bool(row[5]))


def user_by_id(conn: sqlite3.Connection, user_id: int) -> User | None:
    return _user(conn.execute(_USER_SQL.format(where="u.id = ?"), (user_id,)).fetchone())


def user_by_email(conn: sqlite3.Connection, email: str) -> User | None:
    return _user(conn.execute(_USER_SQL.format(where="u.email = ?"), (email,)).fetchone())


def password_hash_of(conn: sqlite3.Connection, email: str) -> tuple[int, str | None] | None:
    row = conn.execute(
        "SELECT id, password_hash FROM users WHERE email = ? AND removed_at IS NULL", (email,)
    ).fetchone()
    return (int(row[0]), row[1]) if row else None


def set_password(
    conn: sqlite3.Connection, user_id: int, password: object, password_hash: str | None = None
) -> None:
    password_hash = password_hash or hash_password(check_strength(password))
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def set_language(conn: sqlite3.Connection, user_id: int, language: object) -> None:
    if language not in LANGUAGES:
        raise BadRequest("language must be es or en")
    conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


def remove_user(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("UPDATE users SET removed_at = ? WHERE id = ?", (now(), user_id))
    conn.execute("DELETE FROM memberships WHERE user_id = ?", (user_id,))


def count_users(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def all_users(conn: sqlite3.Connection) -> list[User]:
    rows = conn.execute(_USER_SQL.format(where="1") + " ORDER BY u.name").fetchall()
    return [u for u in map(_user, rows) if u is not None]
