"""Opening the SQLite file: a connection with Accord's pragmas (WAL, synchronous=FULL), the
migrations (the schema is in `server.migrations`), and one-off transactions for the command
line and tests. The running server's writer is `server.writer`, its reads `server.db`.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from server.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000


def connect(path: str) -> sqlite3.Connection:
    """A connection with Accord's pragmas: WAL, synchronous=FULL, foreign keys."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def statements(sql: str) -> Iterator[str]:
    """The statements of a script, triggers (``BEGIN ... END;``) kept whole."""
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""
    if pending.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:60]}")


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded in the database; return their names."""
    db = sqlite_utils.Database(conn)
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


@contextmanager
def transaction(path: str) -> Iterator[sqlite3.Connection]:
    """One write transaction on the database file outside the server (the CLI, tests),
    committed on success; migrations are applied first. A running server sees the change."""
    conn = connect(path)
    try:
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def server_secret(path: str, name: str) -> str:
    """A random secret kept in the database, created on first use (e.g. for CSRF tokens)."""
    with transaction(path) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?, ?)",
            (name, secrets.token_urlsafe(32)),
        )
        row = conn.execute("SELECT value FROM server_secrets WHERE name = ?", (name,)).fetchone()
        return str(row[0])


def pragmas(conn: sqlite3.Connection) -> dict[str, Any]:
    """The durability pragmas as SQLite reports them (checked and logged at start-up)."""
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
    return {"journal_mode": journal, "synchronous": {2: "FULL"}.get(synchronous, synchronous)}
