"""The audit log: who changed what, when, as an append-only, hash-chained table.

Each entry records its predecessor's hash and a SHA-256 over its own contents, so altering,
removing or reordering an entry breaks the chain (`verify` finds where). An entry is appended
in the same transaction as the change it records (`append` takes the caller's connection and
refuses one outside a transaction): the change and its record commit or roll back together.

Appends cannot fork the chain. Every write transaction is ``BEGIN IMMEDIATE`` (the server's
single writer thread in `server.writer.Writer`, and `server.connection.transaction` for the
command line), so reading the head and inserting the next entry happen under SQLite's one
write lock; and the table itself refuses a second entry with the same ``seq`` or the same
``prev_hash``.

Whoever can write the database file can still rewrite the whole chain from some entry onward,
or cut entries off its end; only a head hash kept elsewhere (``accord audit verify --head``)
shows that. The log never holds passwords, tokens, link secrets or document text.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from server.documents import now
from server.people import User

GENESIS = "0" * 64  # the prev_hash of the first entry
FORMAT = "accord-audit-1"  # hashed with every entry; changes if the encoding ever does
ACTION = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")
COLUMNS = "seq, time, actor, action, document_id, details, prev_hash, hash"


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: Any) -> str:
    """The one JSON text of a value: sorted keys, no spaces, UTF-8 kept as is."""
    return _ENCODER.encode(value)


@dataclass(frozen=True)
class Actor:
    """Who did it: a person (with their name and email as they were then), the ``accord``
    command on the server's host, or the server itself."""

    kind: str  # user | cli | system
    user_id: int | None = None
    name: str | None = None
    email: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind != "user":
            return {"type": self.kind}
        return {"type": "user", "id": self.user_id, "name": self.name, "email": self.email}


CLI = Actor("cli")
SYSTEM = Actor("system")


def user_actor(user: User) -> Actor:
    return Actor("user", user.id, user.name, user.email)


def actor_of(conn: sqlite3.Connection, user_id: int) -> Actor:
    """The person as the database knows them now (removed people included)."""
    found = person(conn, user_id)
    return Actor("user", user_id, found["name"], found["email"])


def person(conn: sqlite3.Connection, user_id: int) -> dict[str, Any]:
    """A person named in an entry's details: id, and name and email as they are now."""
    row = conn.execute("SELECT name, email FROM users WHERE id = ?", (user_id,)).fetchone()
    name, email = (row[0], row[1]) if row else (None, None)
    return {"id": user_id, "name": name, "email": email}


@dataclass(frozen=True)
class Entry:
    seq: int
    time: str
    actor: str  # canonical JSON, exactly as hashed
    action: str
    document_id: str | None
    details: str  # canonical JSON, exactly as hashed
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        return entry_hash(
            self.seq,
            self.time,
            self.actor,
            self.action,
            self.document_id,
            self.details,
            self.prev_hash,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": json.loads(self.actor),
            "action": self.action,
            "document_id": self.document_id,
            "details": json.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    def actor_label(self) -> str:
        actor = json.loads(self.actor)
        if actor.get("type") != "user":
            return str(actor.get("type"))
        return f"{actor.get('name')} <{actor.get('email')}> #{actor.get('id')}"


def entry_hash(
    seq: int,
    time: str,
    actor: str,
    action: str,
    document_id: str | None,
    details: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON array of the entry's fields, in this order."""
    fields = [FORMAT, seq, time, actor, action, document_id, details, prev_hash]
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


def append(
    conn: sqlite3.Connection,
    actor: Actor,
    action: str,
    document_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> Entry:
    """Append one entry, inside the caller's write transaction (the one making the change)."""
    if not conn.in_transaction:
        raise RuntimeError("audit.append must run inside the write transaction it records")
    if not ACTION.fullmatch(action):
        raise ValueError(f"not an audit action name: {action!r}")
    head = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS)
    actor_text, details_text = canonical(actor.to_json()), canonical(details or {})
    stamp = now()
    digest = entry_hash(seq, stamp, actor_text, action, document_id, details_text, prev_hash)
    entry = Entry(seq, stamp, actor_text, action, document_id, details_text, prev_hash, digest)
    conn.execute(
        f"INSERT INTO audit_log ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
        (seq, stamp, actor_text, action, document_id, details_text, prev_hash, digest),
    )
    return entry


def entries(
    conn: sqlite3.Connection,
    document_id: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[Entry]:
    """Entries newest first: all, or one document's; only those before seq ``before``."""
    where: list[str] = ["1"]
    params: list[str | int] = []
    if document_id is not None:
        where.append("document_id = ?")
        params.append(document_id)
    if before is not None:
        where.append("seq < ?")
        params.append(before)
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [Entry(*row) for row in rows]


@dataclass(frozen=True)
class Verdict:
    """The result of checking the chain: ``ok``, or the first bad ``seq`` and why."""

    ok: bool
    count: int
    head: str = GENESIS
    seq: int | None = None
    problem: str = ""

    def message(self) -> str:
        if self.ok:
            return f"audit log OK: {self.count} entries, head {self.head}"
        where = f" at seq {self.seq}" if self.seq is not None else ""
        return f"audit log BROKEN{where}: {self.problem}"


def verify(conn: sqlite3.Connection, head: str | None = None) -> Verdict:
    """Walk the whole chain from the first entry. ``head``: a head hash recorded earlier,
    which must still be in the chain (this catches entries cut off the end)."""
    rows = [Entry(*row) for row in conn.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY seq")]
    seq_of_hash = {entry.hash: entry.seq for entry in rows}
    expected, prev = 1, GENESIS
    for entry in rows:
        problem = _problem(entry, expected, prev, seq_of_hash)
        if problem is not None:
            bad_seq, why = problem
            return Verdict(False, len(rows), prev, bad_seq, why)
        expected, prev = entry.seq + 1, entry.hash
    if head is not None and head not in seq_of_hash:
        why = (
            f"the recorded head {head} is not in the log: entries were cut off its end, "
            "or the log was rewritten"
        )
        return Verdict(False, len(rows), prev, None, why)
    return Verdict(True, len(rows), prev)


def _problem(
    entry: Entry, expected: int, prev: str, seq_of_hash: dict[str, int]
) -> tuple[int, str] | None:
    """What is wrong with this entry, given the one before it; None if nothing."""
    if entry.seq < expected:  # only a seq below 1 can come before the first entry
        return entry.seq, f"inserted entry: seq {entry.seq} (the log starts at seq 1)"
    if entry.seq != expected:
        missing = str(expected) if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
        after = f"seq {expected - 1}" if expected > 1 else "the start"
        return expected, (
            f"removed entry: seq {missing} is missing (the log goes from {after} "
            f"to seq {entry.seq})"
        )
    if entry.prev_hash != prev:
        origin = seq_of_hash.get(entry.prev_hash)
        if origin is not None:
            return entry.seq, (
                f"reordered: this entry was written right after what is now seq {origin}, "
                f"not after seq {entry.seq - 1}"
            )
        if entry.prev_hash == GENESIS:
            return entry.seq, "reordered: this entry was written as the first one"
        if entry.seq == 1:
            return 1, "bad prev link: the first entry does not start the chain"
        return entry.seq, (
            f"bad prev link: its prev_hash is not the hash of seq {entry.seq - 1} "
            f"(seq {entry.seq - 1} was altered and re-hashed, or replaced)"
        )
    if entry.computed_hash() != entry.hash:
        return entry.seq, "altered entry: its contents do not match its hash"
    return None
