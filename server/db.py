"""The running server's database: one writer thread (`server.writer`) that groups writes into
transactions a few milliseconds apart, so many websocket updates cost one fsync, a fixed
pool of reader threads, each on its own connection, and one connection of the event loop's
own for lookups by key; WAL mode lets them all read while the writer commits. Opening the file
and migrating it is `server.connection`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TypeVar

from server.connection import connect, pragmas
from server.writer import Writer

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLite's "try again later" answers; an extended code keeps its primary code in its low byte.
BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Database(AbstractAsyncContextManager["Database"]):
    """The database of one server: a writer thread, a fixed pool of reader threads, and the
    event loop's lookup connection (`lookup`).

    The readers are all started, each with its connection, when the database opens, so
    their number is bounded and known (the default executor grew under load to six threads,
    each keeping a connection and its statement cache for good, allocated at the peak).
    """

    READERS = 4

    def __init__(self, path: str, group_ms: float = 2.0) -> None:
        self.path = path
        self.writer = Writer(path, group_ms)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._pool: ThreadPoolExecutor | None = None
        self._lookups: sqlite3.Connection | None = None

    async def __aenter__(self) -> Database:
        await asyncio.to_thread(self.writer.start)
        self._pool = ThreadPoolExecutor(self.READERS, thread_name_prefix="accord-read")
        # One job per thread, each held until all have started: every thread opens its
        # connection now.
        started = threading.Barrier(self.READERS)
        loop = asyncio.get_running_loop()
        opening = [
            loop.run_in_executor(self._pool, lambda: (self.reader(), started.wait(30)))
            for _ in range(self.READERS)
        ]
        await asyncio.gather(*opening)
        self._lookups = self._lookup_connection()
        state = await self.read(pragmas)
        log.info("database %s: journal_mode=%s synchronous=%s", self.path, *state.values())
        if state != {"journal_mode": "wal", "synchronous": "FULL"}:
            raise RuntimeError(f"SQLite is not durable here: {state}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.writer.stop)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        if self._lookups is not None:
            self._lookups.close()
            self._lookups = None

    def reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            self._readers.append(conn)
        return conn

    async def refresh(self) -> None:
        """Open every connection anew, at a quiet moment (after a series of rooms unloaded).

        Under load each connection's Python objects grow: a statement object per query text,
        and a weak reference per cursor, which the connection keeps until 200 more cursors
        are made. Made at the peak, they are scattered over the interpreter's memory arenas,
        and each keeps its arena (1 MiB) resident after the load is gone: after 1,000 rooms
        they were the only residents of about 25 of the 70 arenas the peak had added. Opened
        anew at a quiet moment, the connections make them again where the memory of quiet
        times is.
        """
        if self._pool is None:
            raise RuntimeError("the database is not open")
        loop = asyncio.get_running_loop()
        # One job per reader thread: the barrier holds each until all four have started.
        barrier = threading.Barrier(self.READERS)
        readers = [
            loop.run_in_executor(self._pool, self._reopen_reader, barrier)
            for _ in range(self.READERS)
        ]
        await asyncio.gather(self.writer.reopen(), *readers)
        if self._lookups is not None:
            self._lookups.close()
            self._lookups = self._lookup_connection()

    def _reopen_reader(self, barrier: threading.Barrier) -> None:
        barrier.wait(30)
        old: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None  # if opening fails, the next read opens one
        if old is not None:
            self._readers.remove(old)
            old.close()
        self.reader()

    async def read(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(conn)`` on a read connection in a reader thread."""
        if self._pool is None:
            raise RuntimeError("the database is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: job(self.reader()))

    async def lookup(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(conn)`` at once, on the event loop's own connection: for small reads by
        key or index (who is asking, their role in a document, a document's row), never for
        one that may scan or return much.

        The hop to a reader thread and back costs ~125 µs of CPU (a thread woken, the loop
        woken, the interpreter lock passed twice); such a read costs ~4 µs. Every request and
        every sync connection begins with one, so through the pool a refused connection spent
        a quarter of its time on the hop. WAL lets this connection read while the writer
        commits; it never waits on a lock (its busy timeout is 0): if SQLite answers busy
        (a WAL being recovered), the job goes to a reader thread, which may wait.
        """
        conn = self._lookups
        if conn is None:
            raise RuntimeError("the database is not open")
        try:
            return job(conn)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in BUSY:
                raise
        return await self.read(job)

    def _lookup_connection(self) -> sqlite3.Connection:
        conn = connect(self.path)
        conn.execute("PRAGMA busy_timeout=0")  # the event loop never sleeps in SQLite
        conn.execute("PRAGMA query_only=1")  # and never writes there
        return conn

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return await self.writer.run(job)
