"""The durable update log of each document, and its verified compaction.

A document's state is its compacted state (table ``document_states``, possibly absent) plus the
updates appended after it (table ``updates``). Compaction merges both into a new state and
deletes the rows it covers only after checking, on fresh documents, that the merged state gives
exactly the same text and state vector as replaying the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from dataclasses import dataclass

from pycrdt import Doc, Text, get_state, merge_updates

from server.connection import connect
from server.db import Database
from server.errors import InvalidPayload
from server.sync.protocol import parse_state_vector
from server.sync.structs import update_clocks
from server.writer import Row

log = logging.getLogger(__name__)

EMPTY_UPDATE = b"\x00\x00"
SMALL_MERGE = 64  # up to this many updates, pycrdt's merge_updates is the faster way


@dataclass(frozen=True)
class Stored:
    state: bytes  # one merged update holding everything stored
    rows: int  # log rows after the compacted state


def read(conn: sqlite3.Connection, document_id: str) -> Stored:
    """Everything stored for a document, merged into one update."""
    row = conn.execute(
        "SELECT state, through_update FROM document_states WHERE document_id = ?",
        (document_id,),
    ).fetchone()
    parts: list[bytes] = []
    through = 0
    if row is not None:
        parts.append(row[0])
        through = row[1]
    updates = [
        r[0]
        for r in conn.execute(
            "SELECT data FROM updates WHERE document_id = ? AND id > ? ORDER BY id",
            (document_id, through),
        )
    ]
    parts.extend(updates)
    if not parts:
        return Stored(EMPTY_UPDATE, 0)
    return Stored(merge(parts), len(updates))


def merge(parts: list[bytes]) -> bytes:
    """The updates merged into one, in time linear in their number.

    pycrdt's ``merge_updates`` is quadratic in the number of updates (20,000 one-keystroke
    updates took 7 s, 100,000 minutes), so a long log is replayed on a Doc instead, in one
    transaction, and the Doc encodes the result. Deleted content is kept (no garbage
    collection), as ``merge_updates`` keeps it. Structs whose dependencies are missing
    are not (see `holds_all`).
    """
    if len(parts) == 1:
        return parts[0]
    if len(parts) <= SMALL_MERGE:
        return merge_updates(*parts)
    doc: Doc[Text] = Doc(skip_gc=True)
    with doc.transaction():
        for part in parts:
            doc.apply_update(part)
    return doc.get_update()


def holds_all(merged: bytes, parts: list[bytes]) -> bool:
    """Whether ``merged`` holds every struct of ``parts``. A Doc drops structs whose
    dependencies are missing (merge_updates keeps them): never the case for a log Accord
    wrote, which starts at the document's creation, but compaction deletes rows, so it
    checks before it trusts a Doc-merged state."""
    have = parse_state_vector(get_state(merged))
    try:
        for part in parts:
            for client, clock in update_clocks(part).items():
                if have.get(client, 0) < clock:
                    return False
    except InvalidPayload:
        return False
    return True


APPEND = "INSERT INTO updates (document_id, data) VALUES (?, ?)"


def append(conn: sqlite3.Connection, document_id: str, update: bytes) -> int:
    """Append one update (a trigger marks the document as changed now)."""
    return int(conn.execute(APPEND, (document_id, update)).lastrowid or 0)


CLAIM = "INSERT OR IGNORE INTO client_ids (document_id, client_id, user_id) VALUES (?, ?, ?)"


def writers(conn: sqlite3.Connection, document_id: str) -> dict[int, int]:
    """Who first wrote with each client id of a document: {client id: user id}."""
    return dict(
        conn.execute(
            "SELECT client_id, user_id FROM client_ids WHERE document_id = ?", (document_id,)
        ).fetchall()
    )


def content_of(updates: list[bytes]) -> tuple[str, dict[int, int]]:
    """Replay updates one by one on a fresh Doc: (text of ``content``, state vector).

    The state vector is compared as a mapping: yrs may encode the same clients in another
    order, and comparing bytes made every compaction of a many-writer document fail."""
    doc: Doc[Text] = Doc()
    text = doc.get("content", type=Text)
    for update in updates:
        doc.apply_update(update)
    return str(text), parse_state_vector(doc.get_state())


class CompactionMismatch(RuntimeError):
    pass


def compact(conn: sqlite3.Connection, document_id: str) -> int:
    """Merge a document's log into its state; return how many rows were removed.

    Runs inside the writer's transaction: if the check fails, nothing is changed.
    """
    row = conn.execute(
        "SELECT state, through_update FROM document_states WHERE document_id = ?",
        (document_id,),
    ).fetchone()
    base = [row[0]] if row else []
    through = row[1] if row else 0
    rows = conn.execute(
        "SELECT id, data FROM updates WHERE document_id = ? AND id > ? ORDER BY id",
        (document_id, through),
    ).fetchall()
    if not rows:
        return 0
    log_updates = base + [r[1] for r in rows]
    merged = merge(log_updates)
    if len(log_updates) > SMALL_MERGE and not holds_all(merged, log_updates):
        merged = merge_updates(*log_updates)
    if content_of([merged]) != content_of(log_updates):
        raise CompactionMismatch(f"compaction of {document_id} does not match its log")
    last = rows[-1][0]
    replace_rows(conn, document_id, merged, last)
    return len(rows)


def replace_rows(conn: sqlite3.Connection, document_id: str, state: bytes, last: int) -> None:
    """Make ``state`` the document's state, covering its log rows up to ``last``, and delete
    those rows."""
    conn.execute(
        "INSERT INTO document_states (document_id, state, through_update) VALUES (?, ?, ?) "
        "ON CONFLICT(document_id) DO UPDATE SET state = excluded.state, "
        "through_update = excluded.through_update",
        (document_id, state, last),
    )
    conn.execute("DELETE FROM updates WHERE document_id = ? AND id <= ?", (document_id, last))


def save_state(conn: sqlite3.Connection, document_id: str, state: bytes) -> int:
    """Store ``state``, an open room's whole document, as the document's state and drop the
    log rows it holds; return how many were dropped.

    The room encodes its Doc and submits this job at once: every change in the Doc had its
    append job submitted before (a change is appended as soon as it is applied), and the
    writer runs jobs in order, so the rows present now are all in ``state``. Rows appended
    later stay. Unlike `compact` nothing is merged or replayed: no pause for the writer."""
    row = conn.execute(
        "SELECT through_update FROM document_states WHERE document_id = ?", (document_id,)
    ).fetchone()
    through = row[0] if row else 0
    last, count = conn.execute(
        "SELECT max(id), count(*) FROM updates WHERE document_id = ? AND id > ?",
        (document_id, through),
    ).fetchone()
    if not count:
        return 0
    replace_rows(conn, document_id, state, last)
    return int(count)


class UpdateLog:
    """The async face of the log, bound to a `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, document_id: str) -> Stored:
        return await self.db.read(lambda conn: read(conn, document_id))

    def load_now(self, document_id: str) -> Stored:
        """Read synchronously; only for recovering a room after a crash of its Doc.

        On a connection of its own, closed at once: a pooled one would belong to the event
        loop's thread for good, and `Database.refresh` would never open it anew."""
        with contextlib.closing(connect(self.db.path)) as conn:
            return read(conn, document_id)

    def append(self, document_id: str, update: bytes) -> asyncio.Future[int]:
        return self.db.writer.submit(Row(APPEND, (document_id, update)))

    def claim(self, document_id: str, client_id: int, user_id: int) -> asyncio.Future[int]:
        """Record that ``user_id`` wrote first with ``client_id`` (committed with the update
        that follows it in the queue)."""
        return self.db.writer.submit(Row(CLAIM, (document_id, client_id, user_id)))

    def save_state(self, document_id: str, state: bytes) -> asyncio.Future[int]:
        return self.db.writer.submit(lambda conn: save_state(conn, document_id, state))

    async def compact(self, document_id: str) -> int:
        removed = await self.db.write(lambda conn: compact(conn, document_id))
        if removed:
            log.info("compacted %d updates of a document", removed)
        return removed
