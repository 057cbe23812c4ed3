"""Consistent copies of a live database with SQLite's online backup API, and restoring them.

The backup API copies pages under SQLite's own locking, so a copy taken while the server is
committing is a consistent snapshot (WAL contents included); the copy is then checked with
``PRAGMA integrity_check`` before it is called good.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from server.connection import connect
from server.errors import AccordError


def integrity(path: str | Path) -> str:
    """SQLite's verdict on a database file: "ok", or what is wrong."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"not a usable SQLite database ({exc})"


def copy(source: str | Path, target: str | Path) -> None:
    src = connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def backup(db: str, target: str) -> int:
    """Copy the live database ``db`` to ``target`` (which must not exist); return its size."""
    if os.path.exists(target):
        raise AccordError(f"{target} exists; choose a new file name")
    if not os.path.exists(db):
        raise AccordError(f"no database at {db}")
    copy(db, target)
    result = integrity(target)
    if result != "ok":
        os.remove(target)
        raise AccordError(f"the copy failed its integrity check: {result}")
    return os.path.getsize(target)


def restore(source: str, db: str) -> None:
    """Bring a backup back as the database ``db``. Stop the server first."""
    if not os.path.exists(source):
        raise AccordError(f"no backup at {source}")
    result = integrity(source)
    if result != "ok":
        raise AccordError(f"the backup fails its integrity check: {result}")
    copy(source, db)  # the backup API overwrites every page of db, WAL included
