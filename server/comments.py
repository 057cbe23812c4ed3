"""Comments and suggestions: threads anchored to the text, their replies, and who may do
what. Mentions and unread notices are `server.notices`.

They live in SQLite, not in the shared Y.Doc, so a reviewer never needs write access to the
text. A thread's anchor is a pair of Yjs relative positions (see `server.anchors`); where the
anchored text is now is computed when the thread is read (`Placement`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from server import notices
from server.documents import now
from server.errors import BadRequest, Forbidden, NotFound

COMMENTERS = frozenset({"chair", "delegate", "reviewer"})
MAX_BODY = 10_000
MAX_REPLACEMENT = 100_000
KINDS = ("comment", "suggestion")
STATUSES = {"comment": ("open", "resolved"), "suggestion": ("open", "accepted", "rejected")}


def can_comment(role: str | None) -> bool:
    return role in COMMENTERS


def can_decide(role: str | None, delegates_decide: bool) -> bool:
    return role == "chair" or (role == "delegate" and delegates_decide)


def clean_body(value: object, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest("body must be a string")
    body = value.strip()
    if required and not body:
        raise BadRequest("body must not be empty")
    if len(body) > MAX_BODY:
        raise BadRequest(f"body must be at most {MAX_BODY} characters")
    return body


def clean_replacement(value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest("replacement must be a string")
    if len(value) > MAX_REPLACEMENT:
        raise BadRequest(f"replacement must be at most {MAX_REPLACEMENT} characters")
    return value


@dataclass(frozen=True)
class Viewer:
    """Who is reading: what each thread lets them do depends on it."""

    user_id: int
    role: str
    delegates_decide: bool
    writable: bool = True  # the text is a draft: accepting a suggestion can change it


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    organization: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "organization": self.organization}


@dataclass
class Comment:
    id: int
    document_id: str
    thread_id: int | None
    kind: str
    author: Person
    body: str
    anchor_start: str | None
    anchor_end: str | None
    quote: str | None
    replacement: str | None
    status: str
    status_by: Person | None
    status_at: str | None
    created_at: str
    edited_at: str | None
    removed_by: Person | None
    removed_at: str | None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    replies: list[Comment] = field(default_factory=list)

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def removal_json(self) -> dict[str, Any] | None:
        if self.removed_by is None:
            return None
        return {
            "by": {"id": self.removed_by.id, "name": self.removed_by.name},
            "at": self.removed_at,
            "moderated": self.removed_by.id != self.author.id,
        }

    def reply_json(self, viewer: Viewer) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author.to_json(),
            "body": "" if self.removed else self.body,
            "mentions": [] if self.removed else self.mentions,
            "created_at": self.created_at,
            "edited_at": self.edited_at,
            "removed": self.removal_json(),
            "can": {
                "edit": may_edit(self, viewer),
                "delete": may_delete(self, viewer),
            },
        }


@dataclass(frozen=True)
class Placement:
    """Where a thread's anchored text is now (UTF-16 offsets and 1-based lines)."""

    start: int
    end: int
    line: int
    end_line: int
    current: str


def thread_json(thread: Comment, viewer: Viewer, placement: Placement | None) -> dict[str, Any]:
    quote = thread.quote or ""
    deleted = placement is not None and placement.start >= placement.end and quote != ""
    current = placement.current if placement is not None else None
    return {
        "id": thread.id,
        "kind": thread.kind,
        "status": thread.status,
        "anchor": {"start": thread.anchor_start, "end": thread.anchor_end},
        "quote": quote,
        "replacement": thread.replacement,
        "range": None
        if placement is None
        else {
            "from": placement.start,
            "to": max(placement.start, placement.end),
            "line": placement.line,
            "end_line": placement.end_line,
        },
        "current": current,
        "deleted": deleted,
        "conflict": thread.kind == "suggestion"
        and thread.status == "open"
        and current is not None
        and current != quote,
        "author": thread.author.to_json(),
        "body": "" if thread.removed else thread.body,
        "mentions": [] if thread.removed else thread.mentions,
        "created_at": thread.created_at,
        "edited_at": thread.edited_at,
        "removed": thread.removal_json(),
        "resolved": None
        if thread.status_by is None
        else {
            "by": {"id": thread.status_by.id, "name": thread.status_by.name},
            "at": thread.status_at,
        },
        "replies": [reply.reply_json(viewer) for reply in thread.replies],
        "mine": thread.author.id == viewer.user_id,
        "can": {
            "reply": can_comment(viewer.role) and not thread.removed,
            "edit": may_edit(thread, viewer),
            "delete": may_delete(thread, viewer),
            "resolve": thread.kind == "comment" and can_comment(viewer.role) and not thread.removed,
            "decide": thread.kind == "suggestion"
            and thread.status == "open"
            and viewer.writable
            and not thread.removed
            and can_decide(viewer.role, viewer.delegates_decide),
        },
    }


def may_edit(comment: Comment, viewer: Viewer) -> bool:
    return comment.author.id == viewer.user_id and can_comment(viewer.role) and not comment.removed


def may_delete(comment: Comment, viewer: Viewer) -> bool:
    if comment.removed:
        return False
    return viewer.role == "chair" or (
        comment.author.id == viewer.user_id and can_comment(viewer.role)
    )


# -- reading -----------------------------------------------------------------------------

_SELECT = """
    SELECT c.id, c.document_id, c.thread_id, c.kind, c.body, c.anchor_start, c.anchor_end,
           c.quote, c.replacement, c.status, c.status_at, c.created_at, c.edited_at,
           c.removed_at, c.author_id, c.status_by, c.removed_by
    FROM comments c
"""


def people_by_id(conn: sqlite3.Connection, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT u.id, u.name, o.id, o.short_name, o.name, o.country FROM users u "
        f"LEFT JOIN organizations o ON o.id = u.organization_id WHERE u.id IN ({marks})",
        tuple(ids),
    ).fetchall()
    return {
        row[0]: Person(
            row[0],
            row[1],
            None
            if row[2] is None
            else {"id": row[2], "short_name": row[3], "name": row[4], "country": row[5]},
        )
        for row in rows
    }


def _build(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[Comment]:
    ids = {r[14] for r in rows} | {r[15] for r in rows if r[15]} | {r[16] for r in rows if r[16]}
    people = people_by_id(conn, ids)
    mentions = _mentions(conn, [r[0] for r in rows])
    return [
        Comment(
            id=r[0],
            document_id=r[1],
            thread_id=r[2],
            kind=r[3],
            body=r[4],
            anchor_start=r[5],
            anchor_end=r[6],
            quote=r[7],
            replacement=r[8],
            status=r[9],
            status_at=r[10],
            created_at=r[11],
            edited_at=r[12],
            removed_at=r[13],
            author=people[r[14]],
            status_by=people.get(r[15]) if r[15] else None,
            removed_by=people.get(r[16]) if r[16] else None,
            mentions=mentions.get(r[0], []),
        )
        for r in rows
    ]


def _mentions(conn: sqlite3.Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for comment_id, user_id, name in conn.execute(
            "SELECT m.comment_id, u.id, u.name FROM mentions m JOIN users u ON u.id = m.user_id "
            f"WHERE m.comment_id IN ({marks}) ORDER BY u.name",
            tuple(chunk),
        ):
            found.setdefault(comment_id, []).append({"id": user_id, "name": name})
    return found


def threads(conn: sqlite3.Connection, document_id: str) -> list[Comment]:
    """Every thread of the document with its replies, oldest first."""
    rows = conn.execute(_SELECT + " WHERE c.document_id = ? ORDER BY c.id", (document_id,))
    everything = _build(conn, rows.fetchall())
    roots = {c.id: c for c in everything if c.thread_id is None}
    for comment in everything:
        if comment.thread_id is not None and comment.thread_id in roots:
            roots[comment.thread_id].replies.append(comment)
    return list(roots.values())


def thread(conn: sqlite3.Connection, document_id: str, thread_id: int) -> Comment:
    rows = conn.execute(
        _SELECT + " WHERE c.document_id = ? AND (c.id = ? OR c.thread_id = ?) ORDER BY c.id",
        (document_id, thread_id, thread_id),
    ).fetchall()
    found = _build(conn, rows)
    if not found or found[0].id != thread_id or found[0].thread_id is not None:
        raise NotFound("comment not found")
    root, root.replies = found[0], found[1:]
    return root


def comment(conn: sqlite3.Connection, document_id: str, comment_id: int) -> Comment:
    rows = conn.execute(
        _SELECT + " WHERE c.document_id = ? AND c.id = ?", (document_id, comment_id)
    ).fetchall()
    if not rows:
        raise NotFound("comment not found")
    return _build(conn, rows)[0]


def delegates_decide(conn: sqlite3.Connection, document_id: str) -> bool:
    row = conn.execute(
        "SELECT delegates_decide FROM document_settings WHERE document_id = ?", (document_id,)
    ).fetchone()
    return bool(row and row[0])


def set_delegates_decide(conn: sqlite3.Connection, document_id: str, value: bool) -> None:
    conn.execute(
        "INSERT INTO document_settings (document_id, delegates_decide) VALUES (?, ?) "
        "ON CONFLICT(document_id) DO UPDATE SET delegates_decide = excluded.delegates_decide",
        (document_id, int(value)),
    )


# -- writing -----------------------------------------------------------------------------


def create_thread(
    conn: sqlite3.Connection,
    document_id: str,
    author_id: int,
    kind: str,
    body: str,
    anchor: tuple[str, str],
    quote: str,
    replacement: str | None = None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO comments (document_id, kind, author_id, body, anchor_start, anchor_end, "
        "quote, replacement, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (document_id, kind, author_id, body, anchor[0], anchor[1], quote, replacement, now()),
    )
    comment_id = int(cursor.lastrowid or 0)
    notices.notify_mentions(conn, document_id, comment_id, author_id, body)
    return comment_id


def add_reply(
    conn: sqlite3.Connection, document_id: str, thread_id: int, author_id: int, body: str
) -> int:
    root = thread(conn, document_id, thread_id)
    if root.removed:
        raise NotFound("comment not found")
    cursor = conn.execute(
        "INSERT INTO comments (document_id, thread_id, kind, author_id, body, created_at) "
        "VALUES (?,?,?,?,?,?)",
        (document_id, thread_id, "reply", author_id, body, now()),
    )
    reply_id = int(cursor.lastrowid or 0)
    mentioned = notices.notify_mentions(conn, document_id, reply_id, author_id, body)
    # everyone who took part in the thread, or was named in it, hears of the reply (once,
    # even if also mentioned in it)
    participants = {root.author.id} | {r.author.id for r in root.replies}
    participants |= {m["id"] for c in [root, *root.replies] for m in c.mentions}
    for user_id in participants - mentioned - {author_id}:
        notices.notice(conn, user_id, document_id, reply_id, "reply")
    return reply_id


def edit_body(conn: sqlite3.Connection, target: Comment, author_id: int, body: str) -> None:
    conn.execute(
        "UPDATE comments SET body = ?, edited_at = ? WHERE id = ?", (body, now(), target.id)
    )
    conn.execute("DELETE FROM mentions WHERE comment_id = ?", (target.id,))
    notices.notify_mentions(conn, target.document_id, target.id, author_id, body)


def remove(conn: sqlite3.Connection, target: Comment, by: int) -> None:
    """Removed, not erased: the thread keeps its place and shows who removed it. The text of
    the comment is gone (its author or a chair wanted it gone)."""
    conn.execute(
        "UPDATE comments SET body = '', removed_by = ?, removed_at = ? WHERE id = ?",
        (by, now(), target.id),
    )
    conn.execute("DELETE FROM mentions WHERE comment_id = ?", (target.id,))
    conn.execute("DELETE FROM notices WHERE comment_id = ?", (target.id,))


def set_status(conn: sqlite3.Connection, target: Comment, status: str, by: int | None) -> None:
    if status not in STATUSES[target.kind]:
        raise BadRequest(f"a {target.kind} cannot be {status}")
    conn.execute(
        "UPDATE comments SET status = ?, status_by = ?, status_at = ? WHERE id = ?",
        (status, by, now() if by is not None else None, target.id),
    )


def check_may(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


__all__ = ["Comment", "Placement", "Viewer", "thread_json", "threads"]
