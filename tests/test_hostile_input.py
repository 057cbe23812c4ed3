"""Hostile frames cost only their sender its connection.

For every frame in ``tests/corpus/hostile_frames.json`` (and a text frame, oversized frames and
an awareness message that speaks for another client): two well-behaved clients A and B edit a
document, an attacker C joins and sends the frame, and then

(a) C is closed with exactly the expected close code,
(b) the server process is still alive,
(c) the document text (GET /api/documents/{id}) is unchanged,
(d) A and B keep editing and converging,
(e) nothing was written to the ``updates`` table,
(f) A's and B's connections stay open (and nothing C sent was relayed to them),
and a brand-new client joining afterwards syncs the right text (the room was not left broken,
which matters for the updates that make pycrdt panic).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pycrdt import Doc, Text

from server.sync import protocol
from server.sync.room import REBASE_AFTER
from tests.helpers import Server, SyncClient

CORPUS_FILE = Path(__file__).parent / "corpus" / "hostile_frames.json"
CORPUS: list[dict[str, Any]] = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))["frames"]
SMALL_LIMIT = 65536

Attack = Callable[[SyncClient, SyncClient, SyncClient], Awaitable[None]]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module (each test uses its own document), with a small frame limit."""
    instance = Server(
        tmp_path_factory.mktemp("hostile") / "accord.db",
        env={"ACCORD_MAX_MESSAGE_BYTES": str(SMALL_LIMIT), "RUST_BACKTRACE": "0"},
    ).start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One HTTP client for the module (creating one per request costs ~40 ms of TLS setup)."""
    with httpx.Client(timeout=30) as client:
        yield client


def create_document(http: httpx.Client, server: Server) -> str:
    response = http.post(
        server.url + "/api/documents", json={"title": "Tratado"}, headers=server.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def markdown(http: httpx.Client, server: Server, document_id: str) -> str:
    response = http.get(f"{server.url}/api/documents/{document_id}", headers=server.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["markdown"])


def stored_updates(server: Server) -> tuple[int, int]:
    """(row count, highest row id) of the ``updates`` table, read through a read-only handle."""
    uri = server.db.resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        count, highest = conn.execute("SELECT COUNT(*), MAX(id) FROM updates").fetchone()
    return int(count), int(highest or 0)


def read_log(server: Server) -> bytes:
    return server.log.read_bytes() if server.log else b""


def log_size(server: Server) -> int:
    return len(read_log(server))


def awareness_of(client: SyncClient, name: str) -> bytes:
    state = json.dumps({"user": {"name": name, "color": "#30bced"}}, ensure_ascii=False)
    return protocol.awareness([(client.doc.client_id, 1, state)])


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def big_update(size: int) -> bytes:
    """A real, valid update that inserts ``size`` ASCII characters."""
    doc = Doc()
    doc.get("content", type=Text).insert(0, "A" * size)
    return doc.get_update()


def run_attack(
    server: Server,
    http: httpx.Client,
    attack: Attack,
    expected_code: int,
    timeout: float = 10,
    clean_log: bool = True,
    probe: bool = True,
) -> None:
    """A and B edit, C joins and runs ``attack``; check (a)-(f) and a newcomer's sync.

    With ``probe``, C also sends a query-awareness right after the attack, so that a frame the
    server wrongly accepts fails at once instead of after ``timeout``. ``clean_log`` also
    requires that nothing was logged with a traceback meanwhile.
    """
    document_id = create_document(http, server)

    async def text_on_server() -> str:
        return await asyncio.to_thread(markdown, http, server, document_id)

    async def scenario() -> None:
        a = await SyncClient(server.ws_url, document_id).connect()
        b = await SyncClient(server.ws_url, document_id).connect()
        clients = [a, b]
        try:
            await a.send(awareness_of(a, "Ana"))
            await b.send(awareness_of(b, "Bülent"))
            await a.edit(0, "Artículo 1. Las partes acuerdan 📊 ")
            await b.wait_text(str(a.text))
            await b.edit(len(str(b.text).encode()), "中文 العربية עברית e\u0301")
            await a.wait_text(str(b.text))
            # own echo + the other's state: awareness is relayed to the sender too
            await wait_for(lambda: len(a.awareness) >= 2 and len(b.awareness) >= 2, "awareness")

            before_text = str(a.text)
            assert await text_on_server() == before_text
            before_rows = stored_updates(server)
            before_a = (len(a.received), len(a.awareness))
            before_b = (len(b.received), len(b.awareness))
            log_start = log_size(server)

            c = await SyncClient(server.ws_url, document_id).connect()
            clients.append(c)
            answers = len(c.awareness)
            await attack(c, a, b)
            # A query-awareness after the hostile frame: frames of one connection are handled
            # in order, so an answer means the server kept reading C instead of closing it.
            if probe:
                with contextlib.suppress(websockets.ConnectionClosed):
                    await c.send(bytes([protocol.MessageType.QUERY_AWARENESS]))
            await wait_for(
                lambda: c.closed.is_set() or len(c.awareness) > answers, "C closed", timeout
            )
            assert c.closed.is_set(), "C was not closed: the server accepted the frame"
            code = c.close_code

            assert code == expected_code, f"close code {code} ({c.close_reason!r})"  # (a)
            assert server.alive()  # (b)
            # (c) the text is unchanged; the GET also waits for every pending commit
            assert await text_on_server() == before_text
            assert stored_updates(server) == before_rows  # (e)
            # (f) A and B are still connected and got nothing from C
            assert not a.closed.is_set() and not b.closed.is_set()
            assert (len(a.received), len(a.awareness)) == before_a
            assert (len(b.received), len(b.awareness)) == before_b
            assert str(a.text) == str(b.text) == before_text

            # (d) A and B keep editing and converging
            await a.edit(0, "Preámbulo. ")
            await b.wait_text(str(a.text))
            await b.edit(len(str(b.text).encode()), " Fin ✓")
            await a.wait_text(str(b.text))
            final = str(a.text)
            assert final == "Preámbulo. " + before_text + " Fin ✓"
            assert stored_updates(server)[0] == before_rows[0] + 2
            assert await text_on_server() == final

            # a brand-new client gets the right text: the room is not broken
            d = await SyncClient(server.ws_url, document_id).connect()
            clients.append(d)
            assert str(d.text) == final
            await d.edit(0, "» ")
            await a.wait_text("» " + final)
            await b.wait_text("» " + final)

            assert not a.closed.is_set() and not b.closed.is_set()  # (f)
            new_log = read_log(server)[log_start:].decode(errors="replace")
            assert "Exception in ASGI application" not in new_log, new_log
            if clean_log:  # no error escaped or was logged with a traceback
                assert "Traceback" not in new_log, new_log
        finally:
            for client in clients:
                await client.close()

    asyncio.run(scenario())


def sender(frame: bytes | str) -> Attack:
    async def attack(c: SyncClient, a: SyncClient, b: SyncClient) -> None:
        # the server may close the connection while a large frame is still going out
        with contextlib.suppress(websockets.ConnectionClosed):
            await c.send(frame)

    return attack


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["name"] for entry in CORPUS])
def test_hostile_frame(hostile_server: Server, http: httpx.Client, entry: dict[str, Any]) -> None:
    frame = base64.b64decode(entry["frame_b64"])
    run_attack(hostile_server, http, sender(frame), entry["close_code"])


def test_text_frame(hostile_server: Server, http: httpx.Client) -> None:
    run_attack(hostile_server, http, sender("hola"), 1003)


def test_text_frame_that_looks_like_a_sync_message(
    hostile_server: Server, http: httpx.Client
) -> None:
    run_attack(
        hostile_server, http, sender(protocol.sync_update(big_update(10)).decode("latin-1")), 1003
    )


def test_frame_over_the_configured_limit(hostile_server: Server, http: httpx.Client) -> None:
    frame = protocol.sync_update(big_update(SMALL_LIMIT))  # a valid update, but too big
    assert len(frame) > SMALL_LIMIT
    # no probe frame after it: uvicorn closes the TCP connection right after its close frame,
    # and unread bytes behind the oversized frame would make the kernel reset the connection
    run_attack(hostile_server, http, sender(frame), 1009, probe=False)


def test_frame_of_17_mb_against_the_default_limit(
    shared_server: Server, http: httpx.Client
) -> None:
    frame = protocol.sync_update(big_update(17 * 1024 * 1024))
    assert len(frame) > 8 * 1024 * 1024
    run_attack(shared_server, http, sender(frame), 1009, timeout=60, probe=False)


def test_awareness_for_another_connections_client_id(
    hostile_server: Server, http: httpx.Client
) -> None:
    async def attack(c: SyncClient, a: SyncClient, b: SyncClient) -> None:
        state = json.dumps({"user": {"name": "Ana (impostora)"}})
        await c.send(protocol.awareness([(a.doc.client_id, 99, state)]))

    run_attack(hostile_server, http, attack, 1008)


def test_awareness_removing_another_connections_client(
    hostile_server: Server, http: httpx.Client
) -> None:
    async def attack(c: SyncClient, a: SyncClient, b: SyncClient) -> None:
        await c.send(protocol.awareness([(b.doc.client_id, 99, "null")]))

    run_attack(hostile_server, http, attack, 1008)


def test_awareness_mixing_own_and_another_client_id(
    hostile_server: Server, http: httpx.Client
) -> None:
    async def attack(c: SyncClient, a: SyncClient, b: SyncClient) -> None:
        own = (c.doc.client_id, 1, json.dumps({"user": {"name": "Carla"}}))
        await c.send(protocol.awareness([own, (a.doc.client_id, 50, "null")]))

    run_attack(hostile_server, http, attack, 1008)


@pytest.mark.parametrize("state", ['{"x": NaN}', '{"cursor": Infinity}', '{"x": 1e400}'])
def test_awareness_state_a_browser_cannot_parse(
    hostile_server: Server, http: httpx.Client, state: str
) -> None:
    """Python's json reads these, a browser's JSON.parse throws on them: relayed, they would
    break every other client's handling of the message."""

    async def attack(c: SyncClient, a: SyncClient, b: SyncClient) -> None:
        await c.send(protocol.awareness([(c.doc.client_id, 1, state)]))

    run_attack(hostile_server, http, attack, 1007)


def test_text_frame_with_invalid_utf8(hostile_server: Server, http: httpx.Client) -> None:
    async def attack(c: SyncClient, a: SyncClient, b: SyncClient) -> None:
        assert c.ws is not None
        await c.ws.send(b'\x00\x02\xff{"a":"\xff"}', text=True)  # RFC 6455: invalid UTF-8 -> 1007

    # uvicorn itself closes with 1007 before the app sees the frame, and logs it with a
    # traceback (uvicorn.error "Invalid UTF-8 sequence received from client.")
    run_attack(hostile_server, http, attack, 1007, clean_log=False, probe=False)


BEFORE_HANDSHAKE = [
    next(e for e in CORPUS if e["category"] == category)
    for category in dict.fromkeys(entry["category"] for entry in CORPUS)
]


@pytest.mark.parametrize(
    "entry", BEFORE_HANDSHAKE, ids=[f"{e['category']}:{e['name']}" for e in BEFORE_HANDSHAKE]
)
def test_hostile_frame_as_the_first_message(
    hostile_server: Server, http: httpx.Client, entry: dict[str, Any]
) -> None:
    """The attacker skips the handshake: its first frame is the hostile one."""
    document_id = create_document(http, hostile_server)

    async def raw_attacker(frame: bytes) -> int | None:
        """Send ``frame`` first thing; return the close code, or None if never closed."""
        url = hostile_server.sync_url(document_id)
        async with websockets.connect(url, compression=None, max_size=None) as ws:
            await ws.send(frame)  # before reading anything, before any SyncStep1
            with contextlib.suppress(websockets.ConnectionClosed):
                # answered only if the server goes on reading after the hostile frame
                await ws.send(bytes([protocol.MessageType.QUERY_AWARENESS]))
            awareness_frames = 0
            with contextlib.suppress(websockets.ConnectionClosed):
                async for message in ws:
                    if isinstance(message, bytes) and message[:1] == b"\x01":
                        awareness_frames += 1  # 1: A's state, sent on join; 2: the answer
                        if awareness_frames == 2:
                            return None
            return ws.close_code

    async def scenario() -> None:
        a = await SyncClient(hostile_server.ws_url, document_id).connect()
        try:
            await a.send(awareness_of(a, "Ana"))
            await a.edit(0, "Texto previo. ")
            await wait_for(lambda: len(a.awareness) >= 1, "A's awareness echo")
            code = await asyncio.wait_for(raw_attacker(base64.b64decode(entry["frame_b64"])), 10)
            assert code == entry["close_code"]
            await a.edit(0, "Más. ")
            d = await SyncClient(hostile_server.ws_url, document_id).connect()
            await d.wait_text("Más. Texto previo. ")
            await d.close()
            assert not a.closed.is_set()
        finally:
            await a.close()

    asyncio.run(scenario())
    assert markdown(http, hostile_server, document_id) == "Más. Texto previo. "


@pytest.fixture(scope="module")
def slow_commit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Commits grouped 150 ms apart, so applied edits stay uncommitted for a while."""
    instance = Server(
        tmp_path_factory.mktemp("slow") / "accord.db",
        env={"ACCORD_COMMIT_INTERVAL_MS": "150", "RUST_BACKTRACE": "0"},
    ).start()
    yield instance
    instance.stop()


@pytest.mark.parametrize("which", [0, -1])
def test_panic_while_edits_are_uncommitted(
    slow_commit_server: Server, http: httpx.Client, which: int
) -> None:
    """A panic that lands while another client's edits are applied but not yet committed:
    the rebuilt room must keep them (they are replayed from memory, not from storage)."""
    server = slow_commit_server
    panics = [e for e in CORPUS if e["category"] == "panic_update"]
    frame = base64.b64decode(panics[which]["frame_b64"])
    document_id = create_document(http, server)
    edits = 20

    async def scenario() -> str:
        a = await SyncClient(server.ws_url, document_id).connect()
        b = await SyncClient(server.ws_url, document_id).connect()
        c = await SyncClient(server.ws_url, document_id).connect()
        clients = [a, b, c]
        try:
            await a.send(awareness_of(a, "Ana"))
            await a.edit(0, "Inicio. ")
            await b.wait_text("Inicio. ")
            rows_before = stored_updates(server)[0]

            for i in range(edits):
                await a.edit(len(str(a.text).encode()), f"línea {i} ñ📊\n")
            # the answer to a query-awareness is immediate, and frames of one connection are
            # handled in order: once it is back, the server has applied all of A's edits
            answers = len(a.awareness)
            await a.send(bytes([protocol.MessageType.QUERY_AWARENESS]))
            await wait_for(lambda: len(a.awareness) > answers, "the awareness answer")
            await c.send(frame)
            assert await c.wait_closed(10) == 1007

            expected = str(a.text)
            await b.wait_text(expected)
            assert await asyncio.to_thread(markdown, http, server, document_id) == expected
            assert stored_updates(server)[0] == rows_before + edits
            d = await SyncClient(server.ws_url, document_id).connect()
            clients.append(d)
            assert str(d.text) == expected
            await b.edit(0, "» ")
            await a.wait_text("» " + expected)
            await d.wait_text("» " + expected)
            assert not a.closed.is_set() and not b.closed.is_set()
            return "» " + expected
        finally:
            for client in clients:
                await client.close()

    final = asyncio.run(scenario())
    assert markdown(http, server, document_id) == final


def test_rebuilds_again_and_again_keep_every_edit(
    hostile_server: Server, http: httpx.Client
) -> None:
    """After a first rebuild the room keeps what storage holds in memory and rebuilds from
    it (merging it again past `REBASE_AFTER` changes): edits made between rebuilds, and
    across a re-merge, must all survive the next crash."""
    server = hostile_server
    panic = base64.b64decode(
        next(e for e in CORPUS if e["category"] == "panic_update")["frame_b64"]
    )
    document_id = create_document(http, server)
    rounds = [3, 7, REBASE_AFTER + 10, 5]

    async def scenario() -> str:
        a = await SyncClient(server.ws_url, document_id).connect()
        try:
            for number, edits in enumerate(rounds):
                for i in range(edits):
                    await a.edit(len(str(a.text)), f"{number}.{i} ")
                attacker = await SyncClient(server.ws_url, document_id).connect()
                await attacker.send(panic)
                assert await attacker.wait_closed(10) == 1007
                joiner = await SyncClient(server.ws_url, document_id).connect()
                assert str(joiner.text) == str(a.text)
                await joiner.close()
            assert not a.closed.is_set()
            return str(a.text)
        finally:
            await a.close()

    expected = asyncio.run(scenario())
    assert expected.count(" ") == sum(rounds)
    assert markdown(http, server, document_id) == expected


POISON = [e for e in CORPUS if e["category"] == "poison_update"]


@pytest.mark.parametrize("entry", POISON, ids=[e["name"] for e in POISON])
def test_poison_update_does_not_brick_the_room(
    hostile_server: Server, http: httpx.Client, entry: dict[str, Any]
) -> None:
    """An update pycrdt applies without error but that leaves the room's Doc panicking on
    every later get_update: whatever happens to the sender, newcomers must still sync."""
    server = hostile_server
    document_id = create_document(http, server)

    async def scenario() -> None:
        a = await SyncClient(server.ws_url, document_id).connect()
        c = await SyncClient(server.ws_url, document_id).connect()
        clients = [a, c]
        try:
            await a.edit(0, "Texto acordado 📊")
            await c.wait_text("Texto acordado 📊")
            log_start = log_size(server)
            with contextlib.suppress(websockets.ConnectionClosed):
                await c.send(base64.b64decode(entry["frame_b64"]))

            d = SyncClient(server.ws_url, document_id)
            clients.append(d)
            await d.connect(handshake=False)
            await d.send(awareness_of(d, "Diego"))
            await d.send(protocol.sync_step1(d.doc.get_state()))
            await wait_for(lambda: d.synced.is_set() or d.closed.is_set(), "D synced or closed")
            new_log = read_log(server)[log_start:].decode(errors="replace")
            assert d.synced.is_set(), (
                f"a new client could not sync: closed with {d.close_code}\n{new_log[-3000:]}"
            )
            assert str(d.text) == "Texto acordado 📊"
            assert "Exception in ASGI application" not in new_log, new_log

            # and when D leaves, everyone sees it go (its connection really left the room)
            def d_removed() -> bool:
                entries = [e for p in a.awareness for e in protocol.parse_awareness(p, 100)]
                mine = [e for e in entries if e.client_id == d.doc.client_id]
                return bool(mine) and mine[-1].state == "null"

            await d.close()
            await wait_for(d_removed, "D's presence to be removed")
        finally:
            for client in clients:
                await client.close()

    asyncio.run(scenario())


def peak_rss_mb(server: Server) -> float:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
        / 1024
    )


@pytest.mark.parametrize("kind", [protocol.sync_update, protocol.sync_step2])
def test_update_claiming_millions_of_clients(
    hostile_server: Server, http: httpx.Client, kind: Callable[[bytes], bytes]
) -> None:
    """A 20-byte update that claims 200 million clients: pycrdt would reserve and clear a
    table for all of them (hundreds of MB). Refused before pycrdt sees it: 1007, and the
    server's peak memory does not move (found by the frame fuzzer)."""
    before = peak_rss_mb(hostile_server)
    frame = kind(protocol.var_uint(200_000_000) + bytes(12))
    run_attack(hostile_server, http, sender(frame), 1007)
    assert peak_rss_mb(hostile_server) < before + 50
