"""The SQLite database: opening it, migrating it (the schema is in `server.migrations`), one
writer thread, and reads.

All writes go through one `Writer` thread that groups them into transactions (a few
milliseconds apart), so many websocket updates cost one fsync. Reads run in worker threads,
each on its own connection; WAL mode lets them proceed while the writer commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar, cast

import sqlite_utils

from server.migrations import MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")
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
    import secrets

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

    @staticmethod
    def _one(
        conn: sqlite3.Connection,
        item: tuple[Job | Row, asyncio.Future[Any]],
        results: list[Settled],
    ) -> None:
        job, future = item
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
            conn.execute("ROLLBACK TO job")
            results.append((future, None, exc))
        else:
            results.append((future, value, None))
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


class Database(AbstractAsyncContextManager["Database"]):
    """The database of one server: a writer thread and a fixed pool of reader threads.

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

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return await self.writer.run(job)
