"""Unit tests of the update log (server/sync/store.py) and the migrations (server/connection.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text, merge_updates

from server import connection as dbmod
from server.db import Database
from server.sync import store
from server.sync.store import EMPTY_UPDATE, CompactionMismatch, Stored, UpdateLog

DOC = "documento-de-prueba-0001"
OTHER = "documento-de-prueba-0002"
STAMP = "2000-01-01T00:00:00.000Z"

SAMPLES = {
    "spanish": "El niño comió piña en Logroño. ¿Qué tal? ¡Sí, señoría!",
    "emoji": "Firmado ✍️ 📊 👩‍👩‍👧 🇪🇸🇫🇷 👍🏽",
    "cjk": "各国代表同意本条约。한국어 조약 日本語のテキスト",
    "arabic": "اتفاقية باريس بشأن تغير المناخ",
    "hebrew": "הסכם שלום בין המדינות",
    "bidi": "Artículo ١٢ / סעיף 3 / المادة 📊",
    "combining": "e\u0301 n\u0303 a\u0308 Z\u0351\u0327 \u0915\u094d\u0937",
}


def insert_document(conn: sqlite3.Connection, document_id: str) -> None:
    conn.execute(
        "INSERT INTO documents (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (document_id, "Tratado", STAMP, STAMP),
    )


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    dbmod.migrate(connection)
    insert_document(connection, DOC)
    insert_document(connection, OTHER)
    yield connection
    connection.close()


def text_of(*updates: bytes) -> str:
    doc = Doc()
    text = doc.get("content", type=Text)
    for update in updates:
        doc.apply_update(update)
    return str(text)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def history(sample: str) -> tuple[list[bytes], str]:
    """Incremental updates of two writers editing ``sample``, and the text they end with.

    Inserts at both ends, a deletion and two concurrent edits, so that merging has work to do.
    """
    a, b = Doc(), Doc()
    ta, tb = a.get("content", type=Text), b.get("content", type=Text)
    updates: list[bytes] = []

    def step(doc: Doc, action: Callable[[], object]) -> bytes:
        before = doc.get_state()
        action()
        update = doc.get_update(before)
        updates.append(update)
        return update

    half = len(sample) // 2
    first, second = sample[:half], sample[half:]
    b.apply_update(step(a, lambda: ta.insert(0, first)))
    a.apply_update(step(b, lambda: tb.insert(utf8_len(first), second)))
    b.apply_update(step(a, lambda: ta.insert(0, "« ")))
    a.apply_update(step(b, lambda: tb.insert(utf8_len(str(tb)), " »")))

    def delete_first_code_point() -> None:  # Text indexes count UTF-8 bytes
        del ta[utf8_len("« ") : utf8_len("« " + sample[0])]

    b.apply_update(step(a, delete_first_code_point))
    # concurrent: neither has seen the other's edit when making its own
    ua = step(a, lambda: ta.insert(0, "[A] "))
    ub = step(b, lambda: tb.insert(utf8_len(str(tb)), " [B]"))
    a.apply_update(ub)
    b.apply_update(ua)
    assert str(ta) == str(tb)
    expected = "[A] « " + sample[1:] + " » [B]"
    assert str(ta) == expected
    return updates, expected


def rows_of(conn: sqlite3.Connection, document_id: str) -> list[tuple[int, bytes]]:
    return conn.execute(
        "SELECT id, data FROM updates WHERE document_id = ? ORDER BY id", (document_id,)
    ).fetchall()


def state_row(conn: sqlite3.Connection, document_id: str) -> tuple[bytes, int] | None:
    row = conn.execute(
        "SELECT state, through_update FROM document_states WHERE document_id = ?",
        (document_id,),
    ).fetchone()
    return None if row is None else (bytes(row[0]), int(row[1]))


def stored_text(conn: sqlite3.Connection, document_id: str = DOC) -> str:
    return text_of(store.read(conn, document_id).state)


# -- migrations ---------------------------------------------------------------------------


def test_migrations_are_recorded_and_idempotent() -> None:
    with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as connection:
        assert dbmod.migrate(connection) == [name for name, _ in dbmod.MIGRATIONS]
        recorded = [r[0] for r in connection.execute("SELECT name FROM _migrations ORDER BY name")]
        assert recorded == [name for name, _ in dbmod.MIGRATIONS]
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"documents", "updates", "document_states", "_migrations"} <= tables
        assert dbmod.migrate(connection) == []
        assert dbmod.migrate(connection) == []
        assert connection.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == len(
            dbmod.MIGRATIONS
        )


def test_migrations_survive_reopening_a_file(tmp_path: Path) -> None:
    path = str(tmp_path / "accord.db")
    with contextlib.closing(dbmod.connect(path)) as connection:
        assert dbmod.migrate(connection) == [name for name, _ in dbmod.MIGRATIONS]
        insert_document(connection, DOC)
        store.append(connection, DOC, text_history_update("hola"))
    with contextlib.closing(dbmod.connect(path)) as connection:
        assert dbmod.migrate(connection) == []
        assert dbmod.pragmas(connection) == {"journal_mode": "wal", "synchronous": "FULL"}
        assert stored_text(connection) == "hola"


def text_history_update(text: str) -> bytes:
    doc = Doc()
    doc.get("content", type=Text).insert(0, text)
    return doc.get_update()


# -- append and read ----------------------------------------------------------------------


def test_read_of_a_document_without_updates(conn: sqlite3.Connection) -> None:
    assert store.read(conn, DOC) == Stored(EMPTY_UPDATE, 0)


def test_append_read_round_trip(conn: sqlite3.Connection) -> None:
    updates, expected = history(SAMPLES["spanish"])
    ids = [store.append(conn, DOC, update) for update in updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [bytes(data) for _, data in rows_of(conn, DOC)] == updates
    stored = store.read(conn, DOC)
    assert stored.rows == len(updates)
    assert text_of(stored.state) == expected
    assert store.read(conn, OTHER) == Stored(EMPTY_UPDATE, 0)
    updated_at = conn.execute("SELECT updated_at FROM documents WHERE id = ?", (DOC,)).fetchone()
    assert updated_at[0] > STAMP


def test_read_of_a_single_update_returns_it(conn: sqlite3.Connection) -> None:
    update = text_history_update("Sólo una")
    store.append(conn, DOC, update)
    assert store.read(conn, DOC) == Stored(update, 1)


# -- compaction ---------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES.values(), ids=SAMPLES.keys())
def test_compaction_keeps_the_text(conn: sqlite3.Connection, sample: str) -> None:
    updates, expected = history(sample)
    ids = [store.append(conn, DOC, update) for update in updates]
    other = text_history_update("otro documento")
    store.append(conn, OTHER, other)
    before = stored_text(conn)
    assert before == expected

    assert store.compact(conn, DOC) == len(updates)

    assert rows_of(conn, DOC) == []
    state = state_row(conn, DOC)
    assert state is not None
    assert state[1] == ids[-1]
    assert text_of(state[0]) == expected
    assert store.content_of([state[0]]) == store.content_of(updates)
    stored = store.read(conn, DOC)
    assert stored.rows == 0
    assert text_of(stored.state) == before
    # the other document is untouched
    assert [bytes(d) for _, d in rows_of(conn, OTHER)] == [other]
    assert state_row(conn, OTHER) is None


def test_compaction_twice(conn: sqlite3.Connection) -> None:
    doc = Doc()
    text = doc.get("content", type=Text)

    def edit(at_end: str) -> bytes:
        before = doc.get_state()
        text.insert(utf8_len(str(text)), at_end)
        return doc.get_update(before)

    for piece in ["Primera ", "parte 📊 ", "中文 "]:
        store.append(conn, DOC, edit(piece))
    assert store.compact(conn, DOC) == 3
    first_state = state_row(conn, DOC)
    assert first_state is not None

    later = [store.append(conn, DOC, edit(piece)) for piece in ["שלום ", "مرحبا ", "fin\u0301"]]
    assert store.read(conn, DOC).rows == 3
    assert stored_text(conn) == str(text)

    assert store.compact(conn, DOC) == 3
    second_state = state_row(conn, DOC)
    assert second_state is not None
    assert second_state[1] == later[-1]
    assert rows_of(conn, DOC) == []
    assert text_of(second_state[0]) == str(text)
    assert stored_text(conn) == "Primera parte 📊 中文 שלום مرحبا fin\u0301"

    assert store.compact(conn, DOC) == 0  # nothing new
    assert state_row(conn, DOC) == second_state


def test_compaction_with_no_rows(conn: sqlite3.Connection) -> None:
    assert store.compact(conn, DOC) == 0
    assert state_row(conn, DOC) is None
    assert store.read(conn, DOC) == Stored(EMPTY_UPDATE, 0)


def test_failed_check_leaves_every_row(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    updates, expected = history(SAMPLES["emoji"])
    for update in updates:
        store.append(conn, DOC, update)
    rows_before = rows_of(conn, DOC)
    calls: list[int] = []

    def lying_content_of(replayed: list[bytes]) -> tuple[str, dict[int, int]]:
        calls.append(len(replayed))
        return (f"version {len(calls)}", {})  # the merged and the log replay differ

    monkeypatch.setattr(store, "content_of", lying_content_of)
    with pytest.raises(CompactionMismatch):
        store.compact(conn, DOC)
    assert calls == [1, len(updates)]  # the merged state, then the log
    monkeypatch.undo()

    assert rows_of(conn, DOC) == rows_before
    assert state_row(conn, DOC) is None
    assert stored_text(conn) == expected


def test_failed_check_after_an_earlier_compaction(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    updates, expected = history(SAMPLES["hebrew"])
    for update in updates[:3]:
        store.append(conn, DOC, update)
    assert store.compact(conn, DOC) == 3
    compacted = state_row(conn, DOC)
    for update in updates[3:]:
        store.append(conn, DOC, update)
    rows_before = rows_of(conn, DOC)

    answers = iter([("a", {}), ("b", {})])
    monkeypatch.setattr(store, "content_of", lambda replayed: next(answers))
    with pytest.raises(CompactionMismatch):
        store.compact(conn, DOC)
    monkeypatch.undo()

    assert rows_of(conn, DOC) == rows_before
    assert state_row(conn, DOC) == compacted
    assert stored_text(conn) == expected


def test_content_of_replays_one_by_one() -> None:
    updates, expected = history(SAMPLES["arabic"])
    text, vector = store.content_of(updates)
    assert text == expected
    assert store.content_of([merge_updates(*updates)]) == (text, vector)
    assert store.content_of([]) == ("", {})


def test_a_log_of_many_writers_compacts(conn: sqlite3.Connection) -> None:
    """Concurrent writers, their updates stored in arrival order: yrs may list the same
    clients in another order after merging, so the check compares the state vectors as
    mappings (comparing bytes refused half of these logs, and their logs grew forever)."""
    for seed in range(10):
        document = f"many-writers-{seed}".ljust(22, "x")
        insert_document(conn, document)
        rnd = random.Random(seed)
        writers = [Doc() for _ in range(6)]
        for doc in writers:
            doc.get("content", type=Text)
        for round_ in range(10):
            updates = []
            for number, doc in enumerate(writers):
                before = doc.get_state()
                doc.get("content", type=Text).insert(0, f"{number}·{round_} ")
                updates.append(doc.get_update(before))
            rnd.shuffle(updates)
            for update in updates:
                store.append(conn, document, update)
            for doc in writers:
                for update in updates:
                    doc.apply_update(update)
        expected = str(writers[0].get("content", type=Text))
        assert store.compact(conn, document) == 60
        assert stored_text(conn, document) == expected


# -- the async face -----------------------------------------------------------------------


def test_update_log_on_a_database(tmp_path: Path) -> None:
    updates, expected = history(SAMPLES["cjk"])

    async def scenario() -> None:
        async with Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            ids = await asyncio.gather(*(log.append(DOC, u) for u in updates))
            assert list(ids) == sorted(ids)
            loaded = await log.load(DOC)
            assert loaded.rows == len(updates)
            assert text_of(loaded.state) == expected
            assert await log.compact(DOC) == len(updates)
            assert await log.compact(DOC) == 0
            now = log.load_now(DOC)
            assert now.rows == 0
            assert text_of(now.state) == expected

    asyncio.run(scenario())


def test_rows_of_one_statement_are_written_together_and_fail_alone(tmp_path: Path) -> None:
    """Appends queued behind a commit are written with one executemany; an update for a
    document that does not exist (a foreign key violation) fails alone, with its error,
    and every other append of its commit is stored with the right id."""

    async def scenario() -> None:
        async with Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            writer = database.writer
            # Hold the writer in a slow job so that the appends queue up behind it.
            slow = writer.submit(lambda conn: time.sleep(0.3))
            await asyncio.sleep(0.1)
            good = [log.append(DOC, bytes([0, 0, n])) for n in range(20)]
            bad = log.append("no-such-document", b"\x00\x00")
            more = [log.append(DOC, bytes([0, 0, n])) for n in range(20, 40)]
            before = writer.commits
            await slow
            ids = await asyncio.gather(*good, *more)
            with pytest.raises(sqlite3.IntegrityError):
                await bad
            assert writer.commits - before <= 2  # grouped, not one commit per append
            rows = [
                tuple(row)
                for row in database.reader().execute(
                    "SELECT id, data FROM updates WHERE document_id = ? ORDER BY id", (DOC,)
                )
            ]
            assert [row[0] for row in rows] == list(ids)
            assert [row[1] for row in rows] == [bytes([0, 0, n]) for n in range(40)]
            assert database.reader().execute(
                "SELECT count(*) FROM updates WHERE document_id = 'no-such-document'"
            ).fetchone() == (0,)
            # all good: the grouped path gives every row its own consecutive id
            ids = await asyncio.gather(*(log.append(DOC, b"\x00\x00") for _ in range(30)))
            assert list(ids) == list(range(ids[0], ids[0] + 30))

    asyncio.run(scenario())


class Panic(BaseException):
    """What a Rust panic inside pycrdt looks like to Python: not an Exception."""


def test_a_job_alone_in_its_commit_is_undone_whole_when_it_fails(tmp_path: Path) -> None:
    """A job alone in its transaction runs without a savepoint: when it fails (an error, or
    a panic), everything it wrote is rolled back, its error reaches its caller, nothing is
    counted as committed, and the writer goes on with the next job."""

    async def scenario() -> None:
        async with Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            first = await log.append(DOC, b"\x00\x00")

            def half_then(error: BaseException) -> Callable[[sqlite3.Connection], None]:
                def job(conn: sqlite3.Connection) -> None:
                    store.append(conn, DOC, b"\x00\x01")
                    raise error

                return job

            commits = database.writer.commits
            with pytest.raises(ValueError, match="broken"):
                await database.write(half_then(ValueError("broken")))
            with pytest.raises(Panic):
                await database.write(half_then(Panic()))
            with pytest.raises(sqlite3.IntegrityError):  # a row alone that fails
                await log.append("no-such-document", b"\x00\x00")
            assert database.writer.commits == commits
            second = await log.append(DOC, b"\x00\x02")
            assert database.writer.commits == commits + 1
            rows = (
                database.reader()
                .execute("SELECT id, data FROM updates WHERE document_id = ? ORDER BY id", (DOC,))
                .fetchall()
            )
            assert [tuple(row) for row in rows] == [(first, b"\x00\x00"), (second, b"\x00\x02")]

    asyncio.run(scenario())


def test_refresh_reopens_every_connection_and_loses_no_write(tmp_path: Path) -> None:
    """`Database.refresh` (run after a series of rooms unloaded) replaces the writer's and
    every reader's connection; appends queued before, during and after it are all stored,
    in order, and reads go on working on every reader thread."""

    async def scenario() -> None:
        async with Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            old_writer = await database.write(lambda conn: conn)
            old_readers = list(database._readers)
            assert len(old_readers) == database.READERS

            before = [log.append(DOC, b"\x00\x00") for _ in range(100)]
            refreshing = asyncio.ensure_future(database.refresh())
            during = [log.append(DOC, b"\x00\x00") for _ in range(100)]
            await refreshing
            after = [log.append(DOC, b"\x00\x00") for _ in range(100)]
            ids = await asyncio.gather(*before, *during, *after)
            assert list(ids) == sorted(set(ids))  # each stored once, in the order sent

            new_writer = await database.write(lambda conn: conn)
            assert new_writer is not old_writer
            for conn in [old_writer, *old_readers]:
                with pytest.raises(sqlite3.ProgrammingError):
                    conn.execute("SELECT 1")
            assert len(database._readers) == database.READERS
            assert not set(map(id, database._readers)) & set(map(id, old_readers))
            counts = await asyncio.gather(
                *(
                    database.read(lambda c: c.execute("SELECT count(*) FROM updates").fetchone()[0])
                    for _ in range(4 * database.READERS)
                )
            )
            assert set(counts) == {300}
            stored = await log.load(DOC)
            assert stored.rows == 300

    asyncio.run(scenario())


def test_load_now_reads_everything_and_keeps_no_connection(tmp_path: Path) -> None:
    """The room's crash recovery reads synchronously on the event loop's thread; the
    connection it reads on is closed afterwards, so every connection the database keeps is
    one `Database.refresh` opens anew."""

    async def scenario() -> None:
        async with Database(str(tmp_path / "accord.db")) as database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            await asyncio.gather(*(log.append(DOC, b"\x00\x00") for _ in range(5)))
            readers = list(database._readers)
            assert log.load_now(DOC).rows == 5
            assert log.load_now(DOC) == await log.load(DOC)
            assert database._readers == readers
            assert getattr(database._local, "conn", None) is None  # none for this thread

    asyncio.run(scenario())


def test_the_wal_starts_over_under_steady_writing(tmp_path: Path) -> None:
    """Under steady writing (and reading) the passive checkpoints never catch up, so SQLite
    never starts the WAL over and the file grows without end (~27 MB here). Past
    `wal_restart_frames` the writer runs a RESTART checkpoint between two commits; the WAL
    starts over and is cut back to `wal_size_limit`. Every write is kept; reads go on."""
    path = tmp_path / "accord.db"
    wal = tmp_path / "accord.db-wal"

    async def scenario() -> tuple[int, list[int]]:
        database = Database(str(path), group_ms=0)
        database.writer.wal_restart_frames = 64
        database.writer.wal_size_limit = 256 * 1024
        database.writer.checkpoint_seconds = 0.05
        async with database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            payload = bytes(3000)  # each commit writes a page of its own and more
            sizes, written = [], 0
            count = lambda c: c.execute("SELECT count(*) FROM updates").fetchone()[0]  # noqa: E731
            while written < 4_000:
                await asyncio.gather(
                    *(log.append(DOC, payload) for _ in range(10)), database.read(count)
                )
                written += 10
                sizes.append(wal.stat().st_size)
            assert await database.read(count) == written
            return database.writer.wal_restarts, sizes

    restarts, sizes = asyncio.run(scenario())
    assert restarts >= 3
    assert max(sizes) < 8 * 1024 * 1024
    cut_back = [after for before, after in itertools.pairwise(sizes) if after < before]
    assert cut_back and min(cut_back) <= 256 * 1024
    with contextlib.closing(sqlite3.connect(path)) as conn:  # the stop folded the WAL in
        assert conn.execute("SELECT count(*) FROM updates").fetchone()[0] == 4_000


def test_a_reader_on_the_wal_does_not_hold_up_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A long read (a backup, say) keeps the WAL from starting over; the writer's RESTART
    checkpoint waits for it only briefly and gives up, and every commit goes on. Once the
    reader has left, the WAL starts over at the next try."""
    path = tmp_path / "accord.db"

    async def scenario() -> tuple[int, int]:
        database = Database(str(path), group_ms=0)
        database.writer.wal_restart_frames = 64
        database.writer.checkpoint_seconds = 0.05
        async with database:
            await database.write(lambda c: insert_document(c, DOC))
            log = UpdateLog(database)
            reader = sqlite3.connect(path, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM updates").fetchall()  # holds its snapshot
            written = 0
            while written < 1_000:
                await asyncio.gather(*(log.append(DOC, bytes(3000)) for _ in range(10)))
                written += 10
                await asyncio.sleep(0.005)  # room for the checkpointer's turns
            held = database.writer.wal_restarts
            reader.execute("COMMIT")
            reader.close()
            while database.writer.wal_restarts == held:
                await asyncio.gather(*(log.append(DOC, bytes(3000)) for _ in range(10)))
                written += 10
                await asyncio.sleep(0.005)
            assert (
                await database.read(
                    lambda c: c.execute("SELECT count(*) FROM updates").fetchone()[0]
                )
                == written
            )
            return held, database.writer.wal_restarts

    caplog.set_level(logging.INFO, logger="server.writer")
    held, after = asyncio.run(scenario())
    assert held == 0
    assert "the WAL could not start over yet" in caplog.text  # it tried, and gave up
    assert after >= 1
