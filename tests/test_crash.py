"""kill -9 in the middle of heavy editing loses no update that any client received."""

from __future__ import annotations

import asyncio
import contextlib
import random

import websockets
from pycrdt import Doc, Text

from tests.helpers import Server, SyncClient


async def _type_until_killed(client: SyncClient, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    with contextlib.suppress(websockets.ConnectionClosed, AssertionError):
        while not stop.is_set() and not client.closed.is_set():
            position = rng.randint(0, len(str(client.text)))
            await client.edit(position, rng.choice(["a", "é", "ñ", "📊", " palabra "]))
            await asyncio.sleep(0.002)


def test_kill_9_loses_nothing_clients_received(server: Server) -> None:
    document_id = server.create_document("Estatuto")
    clients: list[SyncClient] = []

    async def edit_and_kill() -> None:
        for _ in range(6):
            clients.append(await SyncClient(server.ws_url, document_id).connect())
        stop = asyncio.Event()
        typing = [
            asyncio.create_task(_type_until_killed(c, stop, i)) for i, c in enumerate(clients)
        ]
        # Let them type until plenty has gone through the server, then kill it mid-stream.
        while sum(len(c.received) for c in clients) < 600:
            await asyncio.sleep(0.01)
        server.kill()
        stop.set()
        await asyncio.gather(*typing)
        for c in clients:
            await c.wait_closed(10)

    asyncio.run(edit_and_kill())
    received = [u for c in clients for u in c.received]
    assert len(received) >= 600

    server.start()

    async def check() -> None:
        fresh = await SyncClient(server.ws_url, document_id).connect()
        restored = fresh.doc.get_update()
        await fresh.close()
        doc = Doc()
        text = doc.get("content", type=Text)
        doc.apply_update(restored)
        before = str(text)
        for update in received:
            doc.apply_update(update)
        missing = str(text) != before
        assert not missing, "an update some client received is missing after restart"
        assert doc.get_state() == Doc.get_state(_doc_from(restored))

    asyncio.run(check())


def _doc_from(update: bytes) -> Doc:
    doc = Doc()
    doc.get("content", type=Text)
    doc.apply_update(update)
    return doc


def test_offline_edits_come_back_after_a_crash(server: Server) -> None:
    """A client's own edits the server lost come back through the client's resync."""
    document_id = server.create_document()

    async def scenario() -> str:
        a = await SyncClient(server.ws_url, document_id).connect()
        await a.edit(0, "Texto común. ")
        server.kill()
        await a.wait_closed(10)
        a.text.insert(len(a.text), "Escrito sin conexión.")  # offline, never sent
        server.start()
        a2 = await SyncClient(server.ws_url, document_id, doc=a.doc).connect()
        b = await SyncClient(server.ws_url, document_id).connect()
        await b.wait_text(str(a.text))
        await a2.close()
        await b.close()
        return str(a.text)

    expected = asyncio.run(scenario())
    assert server.markdown(document_id) == expected
