"""Keeps open sync sockets in step with the database: a session ended, a token revoked, a
person removed or a role changed by any path (the API, the CLI, another process) reaches
the open sockets within a second. Changes made through the API also act at once."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3

from server import members
from server.db import Database
from server.documents import now
from server.sync.peer import Peer
from server.sync.rooms import Rooms

log = logging.getLogger(__name__)


def _valid_credentials(
    conn: sqlite3.Connection, sessions: set[str], tokens: set[str]
) -> tuple[set[str], set[str]]:
    """Of the given session and token hashes, those still valid (one query)."""
    rows = conn.execute(
        "SELECT 's', s.id_hash FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.id_hash IN (SELECT value FROM json_each(?)) "
        "AND s.expires_at > ? AND u.removed_at IS NULL "
        "UNION ALL "
        "SELECT 't', t.token_hash FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash IN (SELECT value FROM json_each(?)) "
        "AND t.revoked_at IS NULL AND u.removed_at IS NULL",
        (json.dumps(sorted(sessions)), now(), json.dumps(sorted(tokens))),
    ).fetchall()
    return {h for kind, h in rows if kind == "s"}, {h for kind, h in rows if kind == "t"}


def _roles(conn: sqlite3.Connection, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The current role of each (document id, user id) pair that has one (one query)."""
    documents = json.dumps(sorted({document_id for document_id, _ in pairs}))
    users = json.dumps(sorted({user_id for _, user_id in pairs}))
    rows = conn.execute(
        "SELECT m.document_id, m.user_id, m.role FROM memberships m "
        "JOIN users u ON u.id = m.user_id WHERE u.removed_at IS NULL "
        "AND m.document_id IN (SELECT value FROM json_each(?)) "
        "AND m.user_id IN (SELECT value FROM json_each(?))",
        (documents, users),
    )
    return {(row[0], row[1]): str(row[2]) for row in rows if (row[0], row[1]) in pairs}


def check(
    conn: sqlite3.Connection, peers: list[tuple[str, Peer]]
) -> list[tuple[str, Peer, bool, str | None]]:
    """(document id, peer, credentials valid, current role) for each peer.

    Two queries for the whole sweep, however many sockets are open.
    """
    sessions = {peer.session for _, peer in peers if peer.session is not None}
    tokens = {peer.token for _, peer in peers if peer.session is None and peer.token}
    valid_sessions, valid_tokens = _valid_credentials(conn, sessions, tokens)
    roles = _roles(conn, {(document_id, peer.user_id or 0) for document_id, peer in peers})
    out = []
    for document_id, peer in peers:
        if peer.session is not None:
            valid = peer.session in valid_sessions
        else:
            valid = peer.token in valid_tokens
        out.append((document_id, peer, valid, roles.get((document_id, peer.user_id or 0))))
    return out


async def watch(rooms: Rooms, db: Database, interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(interval)
        # One sweep per call: its locals (peers, rooms) must not outlive it, or a room
        # unloaded meanwhile would stay in memory while this task sleeps.
        await sweep(rooms, db)


async def sweep(rooms: Rooms, db: Database) -> None:
    peers = [
        (room.document_id, peer)
        for room, peer in rooms.peers()
        if peer.user_id is not None and not peer.closing
    ]
    if not peers:
        return
    try:
        results = await db.read(functools.partial(check, peers=peers))
    except Exception:
        log.exception("checking open sockets against the database failed")
        return
    for document_id, peer, valid, role in results:
        if not valid:
            peer.close(4401, "signed out")
        elif role is None:
            peer.close(4403, "you are no longer a member of this document")
        else:
            room = rooms.open.get(document_id)
            if room is not None:
                room.set_writable(peer, members.can_write(role))
