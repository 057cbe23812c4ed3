"""Keeps open sync sockets in step with the database: a session ended, a token revoked, a
person removed or a role changed by any path (the API, the CLI, another process) reaches
the open sockets within a second. Changes made through the API also act at once."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3

from server import members
from server.db import Database
from server.documents import now
from server.sync.peer import Peer
from server.sync.rooms import Rooms

log = logging.getLogger(__name__)


def _still_valid(conn: sqlite3.Connection, peer: Peer) -> bool:
    if peer.session is not None:
        row = conn.execute(
            "SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? "
            "AND s.expires_at > ? AND u.removed_at IS NULL",
            (peer.session, now()),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT 1 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? "
            "AND t.revoked_at IS NULL AND u.removed_at IS NULL",
            (peer.token,),
        ).fetchone()
    return row is not None


def check(
    conn: sqlite3.Connection, peers: list[tuple[str, Peer]]
) -> list[tuple[str, Peer, bool, str | None]]:
    """(document id, peer, credentials valid, current role) for each peer."""
    cache: dict[tuple[str | None, str | None], bool] = {}
    out = []
    for document_id, peer in peers:
        key = (peer.session, peer.token)
        if key not in cache:
            cache[key] = _still_valid(conn, peer)
        role = members.role_of(conn, document_id, peer.user_id or 0)
        out.append((document_id, peer, cache[key], role))
    return out


async def watch(rooms: Rooms, db: Database, interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(interval)
        peers = [
            (room.document_id, peer)
            for room, peer in rooms.peers()
            if peer.user_id is not None and not peer.closing
        ]
        if not peers:
            continue
        try:
            results = await db.read(functools.partial(check, peers=peers))
        except Exception:
            log.exception("checking open sockets against the database failed")
            continue
        for document_id, peer, valid, role in results:
            if not valid:
                peer.close(4401, "signed out")
            elif role is None:
                peer.close(4403, "you are no longer a member of this document")
            else:
                room = rooms.open.get(document_id)
                if room is not None:
                    room.set_writable(peer, members.can_write(role))
