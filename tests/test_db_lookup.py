"""`Database.lookup`: small reads by key run at once on the event loop's own connection,
never write, never wait on a lock there, and go to a reader thread when SQLite is busy."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets

from server import people
from server.app import create_app
from server.cli import uvicorn_config
from server.connection import connect
from server.db import Database
from server.settings import Settings
from tests.helpers import ADMIN_EMAIL, free_port, make_admin


def add_person(conn: sqlite3.Connection, email: str) -> int:
    return people.add_user(conn, email, "Persona", None, None, password_hash="not-a-hash")


def test_a_lookup_runs_on_the_event_loop_and_sees_every_commit(tmp_path: Path) -> None:
    async def main() -> None:
        async with Database(str(tmp_path / "accord.db")) as db:
            loop_thread = threading.current_thread()
            threads: list[threading.Thread] = []

            def find(conn: sqlite3.Connection, user_id: int) -> str | None:
                threads.append(threading.current_thread())
                user = people.user_by_id(conn, user_id)
                return None if user is None else user.email

            for n in range(5):  # each commit is seen by the next lookup, with no wait
                email = f"p{n}@example.org"
                user_id = await db.write(functools.partial(add_person, email=email))
                assert await db.lookup(functools.partial(find, user_id=user_id)) == email
            assert threads == [loop_thread] * 5
            await db.read(lambda c: find(c, 1))
            assert threads[-1] is not loop_thread  # while `read` hops to a reader thread

    asyncio.run(main())


def test_a_lookup_cannot_write(tmp_path: Path) -> None:
    async def main() -> None:
        async with Database(str(tmp_path / "accord.db")) as db:
            calls: list[threading.Thread] = []

            def write(conn: sqlite3.Connection) -> int:
                calls.append(threading.current_thread())
                return add_person(conn, "x@example.org")

            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await db.lookup(write)
            assert len(calls) == 1  # refused there, not retried elsewhere
            assert await db.read(lambda c: people.user_by_email(c, "x@example.org")) is None

    asyncio.run(main())


def test_a_busy_lookup_goes_to_a_reader_thread_and_the_loop_never_waits(tmp_path: Path) -> None:
    """A job that SQLite answers busy on the loop's connection is run again by a reader
    thread, which waits for the lock; meanwhile the event loop goes on."""

    async def main() -> None:
        path = str(tmp_path / "accord.db")
        async with Database(path) as db:
            user_id = await db.write(lambda c: add_person(c, "a@example.org"))
            holder = connect(path)  # another process's writer, say, holding the lock
            blocked = connect(path)
            blocked.execute("PRAGMA busy_timeout=0")
            threads: list[threading.Thread] = []

            def job(conn: sqlite3.Connection) -> str | None:
                threads.append(threading.current_thread())
                if len(threads) == 1:  # a real SQLITE_BUSY, raised inside the job
                    blocked.execute("BEGIN IMMEDIATE")
                user = people.user_by_id(conn, user_id)
                return None if user is None else user.email

            holder.execute("BEGIN IMMEDIATE")
            try:
                found = await db.lookup(job)
                # An error that is not "busy" is not retried.
                with pytest.raises(sqlite3.OperationalError, match="no such table"):
                    await db.lookup(lambda c: c.execute("SELECT * FROM nothing_here").fetchall())
            finally:
                holder.execute("ROLLBACK")
                holder.close()
                blocked.close()
            assert found == "a@example.org"
            assert threads[0] is threading.current_thread()
            assert threads[1] is not threading.current_thread()
            assert len(threads) == 2

    asyncio.run(main())


def test_a_lookup_before_the_database_opens_is_an_error(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "accord.db"))
    with pytest.raises(RuntimeError, match="not open"):
        asyncio.run(db.lookup(lambda c: 1))


def test_every_read_on_the_event_loop_is_served_by_an_index(tmp_path: Path) -> None:
    """What runs on the lookup connection runs on the event loop, so it must find its rows
    by key or index, never scan a table: each statement that requests and a sync connection
    run there (a real uvicorn, in a thread) is traced and its query plan read."""
    db_path = tmp_path / "a.db"
    token = make_admin(db_path)
    port = free_port()
    settings = Settings(db=str(db_path), port=port)
    app = create_app(settings)
    config = uvicorn_config(app, settings)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    statements: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            document_id = http.post("/api/documents", json={"title": "Protocolo"}).json()["id"]
            app.state.db._lookups.set_trace_callback(statements.append)
            doc = f"/api/documents/{document_id}"
            for path in ("/api/me", doc, f"{doc}/comments", f"/documents/{document_id}"):
                assert http.get(path).status_code == 200, path
        with httpx.Client(base_url=base) as browser:  # signed in with a session cookie
            login = {"email": ADMIN_EMAIL, "password": "test-password-123"}
            assert browser.post("/api/session", json=login).status_code == 200
            assert browser.get("/api/me").status_code == 200

        async def sync() -> bytes:
            url = f"ws://127.0.0.1:{port}/sync/{document_id}?token={token}"
            async with websockets.connect(url) as ws:
                first = await ws.recv()
                assert isinstance(first, bytes)
                return first

        assert asyncio.run(sync())[:2] == b"\x00\x00"  # accepted: the server's SyncStep1
    finally:
        server.should_exit = True
        thread.join(20)
    selects = sorted({s for s in statements if s.lstrip().upper().startswith("SELECT")})
    assert len(selects) >= 7, selects  # the person (by token, by session), their role...
    assert any("FROM sessions" in s for s in selects) and any("FROM tokens" in s for s in selects)
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        for sql in selects:
            plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            scans = [step for step in plan if step.startswith("SCAN")]
            assert not scans, f"{sql}\n{plan}"
