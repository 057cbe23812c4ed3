"""Versions and the status workflow (ratification and adoption: `server.ratifications`).

- A **version** is an immutable snapshot of a document's text: named by a delegate or chair,
  taken automatically when a burst of editing goes quiet (``auto``), at every status change
  (``status``), on ratification (``ratified``) and after a restore (``restore``). Each records
  who edited since the one before (the room counts every stored edit's author).
- The **status** goes ``draft`` -> ``review`` -> ``ratified``; only a draft's text changes.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from server import documents
from server.documents import now
from server.errors import BadRequest, NotFound
from server.verify import fingerprint

KINDS = ("named", "auto", "status", "ratified", "restore")
COMMITTEE_ONLY = frozenset({"auto"})  # keystroke-level history: chairs and delegates only
MAX_NAME = 200


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


__all__ = ["Version"]
