"""Mentions and unread notices: who is named as ``@Name`` in a comment, and the notices
each person has not read yet, per document (`server.comments` writes them with the comment
that causes them, in the same transaction).
"""

from __future__ import annotations

import re
import sqlite3

from server.documents import now


def mentioned_members(conn: sqlite3.Connection, document_id: str, body: str) -> set[int]:
    """Members named as ``@Name`` in the body (case-insensitive; the longest name wins where
    one name starts another)."""
    if "@" not in body:
        return set()
    rows = conn.execute(
        "SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.document_id = ? AND u.removed_at IS NULL",
        (document_id,),
    ).fetchall()
    found: set[int] = set()
    lowered = body.casefold()
    taken: list[tuple[int, int]] = []
    for user_id, name in sorted(rows, key=lambda r: -len(r[1])):
        pattern = re.compile("@" + re.escape(name.casefold()) + r"(?![\w])")
        for match in pattern.finditer(lowered):
            span = match.span()
            if any(a <= span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.add(user_id)
    return found


def notify_mentions(
    conn: sqlite3.Connection, document_id: str, comment_id: int, author_id: int, body: str
) -> set[int]:
    mentioned = mentioned_members(conn, document_id, body)
    for user_id in mentioned:
        conn.execute(
            "INSERT OR IGNORE INTO mentions (comment_id, user_id) VALUES (?, ?)",
            (comment_id, user_id),
        )
        if user_id != author_id:
            notice(conn, user_id, document_id, comment_id, "mention")
    return mentioned


def notice(
    conn: sqlite3.Connection, user_id: int, document_id: str, comment_id: int, kind: str
) -> None:
    already = conn.execute(
        "SELECT 1 FROM notices WHERE user_id = ? AND comment_id = ? AND read_at IS NULL",
        (user_id, comment_id),
    ).fetchone()
    if already is None:
        conn.execute(
            "INSERT INTO notices (user_id, document_id, comment_id, kind, created_at) "
            "VALUES (?,?,?,?,?)",
            (user_id, document_id, comment_id, kind, now()),
        )


def unread_counts(conn: sqlite3.Connection, user_id: int) -> dict[str, int]:
    """Unread notices per document, only for documents the person still belongs to."""
    rows = conn.execute(
        "SELECT n.document_id, count(*) FROM notices n JOIN memberships m "
        "ON m.document_id = n.document_id AND m.user_id = n.user_id "
        "WHERE n.user_id = ? AND n.read_at IS NULL GROUP BY n.document_id",
        (user_id,),
    ).fetchall()
    return {str(doc): int(count) for doc, count in rows}


def mark_read(conn: sqlite3.Connection, user_id: int, document_id: str) -> None:
    conn.execute(
        "UPDATE notices SET read_at = ? WHERE user_id = ? AND document_id = ? AND read_at IS NULL",
        (now(), user_id, document_id),
    )
