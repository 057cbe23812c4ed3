"""A room whose last client has left is unloaded after the configured delay, and its memory
is returned: nothing keeps the Room or its pycrdt Doc alive afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import uvloop
import websockets
from pycrdt import Doc, Text
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.server import ServerProtocol

from server.app import create_app
from server.cli import uvicorn_config
from server.settings import Settings
from server.sync import protocol, structs
from server.sync import rooms as rooms_module
from server.ws_protocol import SyncProtocol
from tests.helpers import free_port, make_admin

with warnings.catch_warnings():
    # starlette 1.10 warns on import when the test client runs on `httpx` instead of `httpx2`
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
    from starlette.testclient import TestClient


@contextlib.contextmanager
def unloading_app(tmp_path: Path) -> Iterator[TestClient]:
    """The app, with rooms unloading 0.2 s after their last client leaves, and a client
    signed in as an admin."""
    db = tmp_path / "a.db"
    token = make_admin(db)
    with TestClient(create_app(Settings(db=str(db), room_unload_seconds=0.2))) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def write_and_wait(ws: Any, text: str) -> None:
    """Write ``text`` into a just-opened room and wait until the server has committed it."""
    ws.receive_bytes()  # the server's SyncStep1
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text).insert(0, text)
    ws.send_bytes(protocol.sync_update(doc.get_update()))
    ws.send_bytes(protocol.sync_step1(b"\x00"))
    while ws.receive_bytes()[:2] != b"\x00\x01":  # committed: SyncStep2 arrives
        pass


def test_unloaded_rooms_are_freed(tmp_path: Path) -> None:
    with unloading_app(tmp_path) as client:
        rooms = client.app.state.rooms  # type: ignore[attr-defined]
        refs = []
        for i in range(20):
            document_id = client.post("/api/documents", json={"title": f"Doc {i}"}).json()["id"]
            with client.websocket_connect(f"/sync/{document_id}") as ws:
                write_and_wait(ws, "texto " * 2000)
                room = rooms.open[document_id]
                refs.append((weakref.ref(room), weakref.ref(room.doc)))
                del room
        deadline = time.monotonic() + 10
        while rooms.open and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rooms.open == {}
        gc.collect()
        alive = [r for r in refs if r[0]() is not None or r[1]() is not None]
        assert alive == [], f"{len(alive)} unloaded rooms are still in memory"
        # and they load again from storage
        response = client.get("/api/documents")
        assert len(response.json()["documents"]) == 20


def test_database_connections_are_opened_anew_after_a_series_of_unloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the connections made under load would keep memory of the peak resident, so
    the release step after unloads opens them anew (`Database.refresh`); the server goes
    on reading and writing through the new ones."""
    monkeypatch.setattr(rooms_module, "TRIM_AFTER_SECONDS", 0.1)
    with unloading_app(tmp_path) as client:
        rooms = client.app.state.rooms  # type: ignore[attr-defined]
        database = client.app.state.db  # type: ignore[attr-defined]
        document_id = client.post("/api/documents", json={"title": "Doc"}).json()["id"]
        readers = list(database._readers)
        lookups = database._lookups
        with client.websocket_connect(f"/sync/{document_id}") as ws:
            write_and_wait(ws, "texto")

        def reopened() -> bool:
            # the refresh closes the old readers before it opens the new ones, and replaces
            # the lookup connection last: wait for all of it, not for its first half
            return (
                not set(database._readers) & set(readers)
                and len(database._readers) == len(readers)
                and database._lookups is not lookups
            )

        deadline = time.monotonic() + 10
        while (rooms.open or not reopened()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rooms.open == {}
        assert not set(database._readers) & set(readers), "the readers were not reopened"
        assert len(database._readers) == len(readers)
        assert database._lookups is not None and database._lookups is not lookups
        # reads and writes go on, through the new connections
        assert client.post("/api/documents", json={"title": "Otro"}).status_code == 201
        titles = [d["title"] for d in client.get("/api/documents").json()["documents"]]
        assert sorted(titles) == ["Doc", "Otro"]


TRIM_SCRIPT = """
from pycrdt import Doc, Text
from server.sync.memory import release_free_memory

def rss():
    status = open("/proc/self/status").read().splitlines()
    return int(next(l for l in status if l.startswith("VmRSS")).split()[1]) / 1024

docs, keep = [], []
for _ in range(2000):  # documents, with small long-lived allocations in between
    doc = Doc()
    text = doc.get("content", type=Text)
    for _ in range(50):
        text.insert(len(text), "palabra ñ " * 3)
    docs.append(doc)
    keep.append(bytearray(200))
del docs, doc, text
freed = rss()
release_free_memory()
print(freed, rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_freed_document_memory_goes_back_to_the_system() -> None:
    """What unloading rooms frees (pycrdt's allocations) stays in glibc's arenas, and in the
    process's resident size, until `release_free_memory` (run after a series of unloads)."""
    result = subprocess.run(
        [sys.executable, "-c", TRIM_SCRIPT], capture_output=True, text=True, check=True
    )
    freed, trimmed = map(float, result.stdout.split())
    assert trimmed < freed - 3, (freed, trimmed)


ARENAS_SCRIPT = """
import asyncio, datetime, gc, os, re, sys, tempfile
import uvloop
from server.sync.memory import release_free_memory, renew_free_lists

def arenas():  # pymalloc's arenas of 1 MiB, from its statistics (written to C's stderr)
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()
    return int(re.search(r"arenas allocated current\\s*=\\s*([\\d,]+)", text)[1].replace(",", ""))

def nothing():
    pass

async def main():
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    zone = datetime.timezone(datetime.timedelta(hours=-6))
    await renew_free_lists()
    release_free_memory()
    start = arenas()
    # A peak: objects of every size, and among them what the event loop and the interpreter
    # keep afterwards: callbacks, timers, future iterators, names left in the type cache
    peak, callbacks, timers, iterators = [], [], [], []
    for _ in range(300):
        peak.append([bytes(n % 480) for n in range(2000)])
        callbacks.append(loop.call_soon(nothing))
        timers.append(loop.call_later(3600, nothing))
        iterators.append(future.__await__())
        datetime.datetime.now(zone).isoformat()
    for timer in timers:
        timer.cancel()
    await asyncio.sleep(0)
    del peak, callbacks, timers, iterators
    gc.collect()
    left = arenas()
    await renew_free_lists()
    release_free_memory()
    print(start, left, arenas())

uvloop.run(main())
"""


def test_what_a_peak_leaves_behind_does_not_keep_its_memory() -> None:
    """Python's allocator frees a 1 MiB arena only when nothing in it is alive. After a peak,
    the objects the event loop keeps for reuse and the names in the interpreter's type cache
    are enough to keep most of the peak's arenas: `renew_free_lists` and
    `release_free_memory` (run after a series of unloads) let them go. Counted in arenas, in
    a process of its own, with Python's own allocator."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}
    result = subprocess.run(
        [sys.executable, "-c", ARENAS_SCRIPT], capture_output=True, text=True, check=True, env=env
    )
    start, left, released = map(int, result.stdout.split())
    assert left > start + 40, "the peak left nothing behind: the test shows nothing"
    assert released <= start + 8, (start, left, released)


@contextlib.contextmanager
def real_server(
    tmp_path: Path, **settings: Any
) -> Iterator[tuple[uvicorn.Server, asyncio.AbstractEventLoop, str]]:
    """A real uvicorn configured as `accord serve` configures it, on its own event loop in a
    thread: the server, its loop, and the sync address of a new document (with an admin's
    token)."""
    db = tmp_path / "a.db"
    token = make_admin(db)
    port = free_port()
    app_settings = Settings(db=str(db), port=port, **settings)
    server = uvicorn.Server(uvicorn_config(create_app(app_settings), app_settings))
    loop = uvloop.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}"
        document_id = httpx.post(f"{base}/api/documents", json={"title": "Acta"}, headers=headers)
        yield server, loop, f"ws://127.0.0.1:{port}/sync/{document_id.json()['id']}?token={token}"
    finally:
        server.should_exit = True
        thread.join(10)
        loop.close()


def test_closed_connections_leave_no_reference_cycles(tmp_path: Path) -> None:
    """Every object of a finished connection (uvicorn's protocols, HTTP and websocket, the
    websockets parser, the transport) is freed by reference counting when it ends. With
    reference cycles they wait for a full collection, which `accord serve`'s thresholds make
    rare: memory grew with every connection ever made. A real uvicorn configured as
    `accord serve` configures it, in a thread."""
    with real_server(tmp_path, room_unload_seconds=0.2) as (server, _, url):
        port = server.config.port

        async def visit(address: str) -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async with websockets.connect(address) as ws:
                    await ws.send(protocol.sync_step1(b"\x00"))
                    await ws.recv()

        async def visits() -> None:
            for i in range(20):  # every fourth without its token: refused, 4401
                await visit(url if i % 4 != 3 else url[: url.index("?")])

        asyncio.run(visits())
        deadline = time.monotonic() + 10
        while server.server_state.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        gc.collect()  # the test's own garbage, and anything older, out of the way
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            asyncio.run(visits())
            deadline = time.monotonic() + 10
            while server.server_state.connections and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            gc.collect()
            left = [
                type(o).__name__
                for o in gc.garbage
                if isinstance(o, SyncProtocol | ServerProtocol | HttpToolsProtocol)
                or (
                    isinstance(o, asyncio.Transport)
                    and (o.get_extra_info("sockname") or ("", 0))[1] == port
                )
            ]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert left == [], f"{len(left)} objects of closed connections waited for the collector"


def test_an_idle_connection_holds_two_tasks(tmp_path: Path) -> None:
    """Every task a connection holds for its lifetime is memory (its coroutines, futures,
    context) times the number of people connected. An idle sync connection holds two:
    uvicorn's, running the endpoint, and its reader. The sender task starts only when a frame
    has to wait, and nothing waits for the close but the reader. A real uvicorn configured
    as `accord serve` configures it, on its own event loop in a thread."""

    async def count_tasks() -> int:
        return len(asyncio.all_tasks())

    with real_server(tmp_path) as (_, loop, url):

        def tasks_in_server() -> int:
            return asyncio.run_coroutine_threadsafe(count_tasks(), loop).result(10)

        async def connect(how_many: int) -> list[websockets.ClientConnection]:
            sockets = []
            for _ in range(how_many):
                ws = await websockets.connect(url)
                await ws.send(protocol.sync_step1(b"\x00"))
                while (await ws.recv())[:2] != b"\x00\x01":  # synced: its SyncStep2
                    pass
                sockets.append(ws)
            return sockets

        async def scenario() -> tuple[int, int]:
            first = await connect(1)
            one = tasks_in_server()
            others = await connect(20)
            twenty_one = tasks_in_server()
            for ws in first + others:
                await ws.close()
            return one, twenty_one

        one, twenty_one = asyncio.run(scenario())
        assert (twenty_one - one) / 20 == 2, (one, twenty_one)


def test_walking_an_update_leaves_no_reference_cycles() -> None:
    """`structs.walk_update` runs for every update that is not a single keystroke: its
    helpers were nested functions, one of them recursive, so each walk left a cycle of
    functions and cells for the collector."""
    doc = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "Artículo 1. 📊")
    update = doc.get_update()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(10):
            structs.walk_update(update)
        gc.collect()
        left = [o for o in gc.garbage if getattr(o, "__module__", None) == structs.__name__]
        cells = [o for o in gc.garbage if type(o).__name__ == "cell"]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == [] and cells == []
