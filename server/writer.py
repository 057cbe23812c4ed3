"""The single writer: one thread that runs every write to the database, grouped into
transactions a few milliseconds apart, so many websocket updates cost one fsync; and the
checkpointer beside it, which copies the WAL into the database file and starts the WAL over
under steady writing.

`server.db.Database` owns one `Writer`; everything else reaches it through
`Database.write` (or, for a room's keystrokes, `Writer.submit` with a `Row`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from server.connection import BUSY_TIMEOUT_MS, connect, migrate

log = logging.getLogger(__name__)
T = TypeVar("T")

Job = Callable[[sqlite3.Connection], Any]


class _Reopen:
    """A writer queue entry: close the writer's connection and open a new one."""


REOPEN = _Reopen()
Settled = tuple[asyncio.Future[Any], Any, BaseException | None]  # a job's future, value, error
Around = tuple[Callable[[], None], Callable[[], None]]


@dataclass(frozen=True, slots=True)
class Row:
    """A job that is one INSERT and its parameters; its value is the new row's id.
    Consecutive rows of the same statement in one commit go to SQLite together
    (``executemany``): a room's keystrokes cost the writer one call, not a savepoint and a
    statement each."""

    sql: str
    params: tuple[Any, ...]


Queued = tuple[Job | Row | _Reopen, asyncio.Future[Any]]


# Under steady writing the passive checkpoints never catch up with the writer, so SQLite never
# starts the WAL over and it grows without end (a soak with 1,000 writers grew it by ~4 MB a
# second). Past this many frames (64 MiB of 4 KiB pages) the writer runs a RESTART
# checkpoint between two commits; the WAL starts over and is cut back to WAL_SIZE_LIMIT.
WAL_RESTART_FRAMES = 16_384
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# How long that checkpoint may wait for readers still on the old WAL (a backup, say) before
# it gives up until the next time: the writer waits with it.
WAL_RESTART_WAIT_MS = 50


class Writer:
    """The single writer: runs jobs in grouped transactions on its own thread."""

    def __init__(self, path: str, group_ms: float = 2.0) -> None:
        self.path = path
        self.group_seconds = group_ms / 1000
        # Read when the writer starts (tests set smaller ones).
        self.wal_restart_frames = WAL_RESTART_FRAMES
        self.wal_size_limit = WAL_SIZE_LIMIT
        self.checkpoint_seconds = 1.0
        self._checkpointing = threading.Lock()  # one checkpoint at a time, no busy-waiting
        self._restart_wal = threading.Event()
        self.wal_restarts = 0
        self._queue: queue.SimpleQueue[Queued | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        self.commits = 0
        # Run on the event loop just before and just after the done-callbacks of one
        # commit's jobs (the server gathers the network writes those callbacks make, see
        # `server.ws_protocol.Cork`).
        self.around_callbacks: Around | None = None

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.path)
        # Checkpoints fsync the main file; inside a commit they would hold up the broadcast of
        # that commit's updates. A separate thread runs them instead (WAL lets it proceed
        # while the writer commits).
        conn.execute("PRAGMA wal_autocheckpoint=0")
        # When the WAL starts over, the writer cuts the file back to this size.
        conn.execute(f"PRAGMA journal_size_limit={int(self.wal_size_limit)}")
        return conn

    def start(self) -> None:
        conn = self._open()
        migrate(conn)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="accord-writer", daemon=True
        )
        self._thread.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint, name="accord-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _checkpoint(self) -> None:
        conn = connect(self.path)
        # One cursor for good: `conn.execute` would make one per checkpoint, each leaving a
        # weak reference in the connection until 200 more are made (see `Database.refresh`).
        cursor = conn.cursor()
        try:
            while not self._stopping.wait(self.checkpoint_seconds):
                try:
                    with self._checkpointing:
                        _, frames, _ = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[
                            0
                        ]
                except sqlite3.Error:
                    log.warning("a WAL checkpoint failed; the next one will retry", exc_info=True)
                else:
                    if frames >= self.wal_restart_frames:
                        self._restart_wal.set()  # the writer does it between two commits
        finally:
            conn.close()

    def _restart(self, conn: sqlite3.Connection) -> None:
        """Copy what the passive checkpoints have not yet copied, wait (briefly) until no
        reader is on the WAL, so the next commit writes the WAL from its start and cuts the
        file back to ``wal_size_limit``. Between two commits: only this thread writes."""
        self._restart_wal.clear()
        started = time.perf_counter()
        with self._checkpointing:
            conn.execute(f"PRAGMA busy_timeout={WAL_RESTART_WAIT_MS}")
            try:
                busy, frames, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()[0]
            except sqlite3.Error:
                log.warning("a WAL restart failed; the next one will retry", exc_info=True)
                return
            finally:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if busy:
            log.info("the WAL could not start over yet (%d frames, readers on it)", frames)
        else:
            self.wal_restarts += 1
            log.info(
                "the WAL starts over: %d frames, written to the database in %.1f ms",
                frames,
                (time.perf_counter() - started) * 1000,
            )

    def submit(self, job: Job | Row | _Reopen) -> asyncio.Future[Any]:
        """Queue ``job(conn)``; the future resolves once its transaction is committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put((job, future))
        return future

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self.submit(job)
        return result

    async def reopen(self) -> None:
        """Replace the writer's connection with a new one, between two commits."""
        await self.submit(REOPEN)

    def _run(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            # Group what is already queued (it arrived while the last commit was syncing);
            # wait for more only if a grouping interval is configured.
            deadline = time.monotonic() + self.group_seconds
            while len(batch) < 1000:
                try:
                    wait = deadline - time.monotonic()
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            jobs: list[tuple[Job | Row, asyncio.Future[Any]]] = []
            reopen: list[asyncio.Future[Any]] = []
            for job, future in batch:
                if isinstance(job, _Reopen):
                    reopen.append(future)
                else:
                    jobs.append((job, future))
            if jobs:
                self._commit(conn, jobs)
            if reopen:  # after the commit: what was queued before it is written first
                conn = self._reopen(conn, reopen)
            if self._restart_wal.is_set():
                self._restart(conn)
            # Done jobs must not stay referenced while the thread waits for the next one:
            # their closures hold rooms, which would stay in memory after they unload.
            first = item = None
            del job, future
            batch, jobs, reopen = [], [], []
        # Fold the WAL into the main file so a stopped server leaves one self-contained file.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()

    def _reopen(
        self, conn: sqlite3.Connection, futures: list[asyncio.Future[Any]]
    ) -> sqlite3.Connection:
        settled: list[Settled]
        try:
            new = self._open()
        except sqlite3.Error as exc:
            log.warning("could not reopen the writer's connection; the old one is kept")
            settled = [(future, None, exc) for future in futures]
        else:
            conn.close()
            conn = new
            settled = [(future, None, None) for future in futures]
        futures[0].get_loop().call_soon_threadsafe(_settle_all, settled, None)
        return conn

    def _commit(
        self, conn: sqlite3.Connection, batch: list[tuple[Job | Row, asyncio.Future[Any]]]
    ) -> None:
        results: list[Settled] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                self._one(conn, batch[0], results, alone=True)
            else:
                self._together(conn, batch, results)
            if conn.in_transaction:  # (not if its only job failed and was rolled back)
                conn.execute("COMMIT")
                self.commits += 1
        except Exception as exc:
            log.exception("commit failed; %d jobs rolled back", len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            results = [(future, None, exc) for _, future in batch]
        # One wake-up of the event loop for the whole commit, not one per job.
        by_loop: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
        for settled in results:
            by_loop.setdefault(settled[0].get_loop(), []).append(settled)
        for loop, settled_there in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, settled_there, self.around_callbacks)

    @staticmethod
    def _rows(
        conn: sqlite3.Connection,
        group: list[tuple[Job | Row, asyncio.Future[Any]]],
        results: list[Settled],
    ) -> bool:
        """Run rows of one statement together; False (and nothing done) if one fails, so
        they are run one by one and only the failing one fails."""
        rows = [job.params for job, _ in group if isinstance(job, Row)]
        conn.execute("SAVEPOINT rows")
        try:
            conn.executemany(cast(Row, group[0][0]).sql, rows)
        except sqlite3.Error:
            conn.execute("ROLLBACK TO rows")
            conn.execute("RELEASE rows")
            return False
        conn.execute("RELEASE rows")
        # An INSERT's value is its row id: the writer is alone, so the ids are consecutive.
        (last,) = conn.execute("SELECT last_insert_rowid()").fetchone()
        first = last - len(group) + 1
        results.extend((future, first + n, None) for n, (_, future) in enumerate(group))
        return True

    def _together(
        self,
        conn: sqlite3.Connection,
        batch: list[tuple[Job | Row, asyncio.Future[Any]]],
        results: list[Settled],
    ) -> None:
        """Run the jobs of one transaction, each undone alone if it fails."""
        start = 0
        while start < len(batch):
            job = batch[start][0]
            end = start + 1
            if isinstance(job, Row):
                while end < len(batch):
                    following = batch[end][0]
                    if not isinstance(following, Row) or following.sql != job.sql:
                        break
                    end += 1
            if end - start > 1 and self._rows(conn, batch[start:end], results):
                start = end
                continue
            for item in batch[start:end]:
                self._one(conn, item, results)
            start = end

    @staticmethod
    def _one(
        conn: sqlite3.Connection,
        item: tuple[Job | Row, asyncio.Future[Any]],
        results: list[Settled],
        alone: bool = False,
    ) -> None:
        """Run one job in a savepoint, so that its failure undoes only itself; or, when it
        is ``alone`` in its transaction, without one, its failure rolling the transaction
        back. (A keystroke is usually alone in its commit: two statements fewer, each a wait
        for the interpreter's lock when the event loop is busy.)"""
        job, future = item
        if not alone:
            conn.execute("SAVEPOINT job")
        try:
            if isinstance(job, Row):
                value: Any = conn.execute(job.sql, job.params).lastrowid
            else:
                value = job(conn)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # one job's failure must not undo the others;
            # a Rust panic inside pycrdt (a BaseException) must not end this thread,
            # or every later commit would wait forever
            if not alone:
                conn.execute("ROLLBACK TO job")
            elif conn.in_transaction:  # (SQLite rolls back by itself after some errors)
                conn.execute("ROLLBACK")
            results.append((future, None, exc))
        else:
            results.append((future, value, None))
        if not alone:
            conn.execute("RELEASE job")


def _settle_all(results: list[Settled], around: Around | None) -> None:
    loop = asyncio.get_running_loop()
    if around is not None:  # the futures' callbacks run, in order, between these two
        loop.call_soon(around[0])
    for future, value, error in results:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    if around is not None:
        loop.call_soon(around[1])
