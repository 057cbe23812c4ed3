"""Two real clients on a real server: convergence, persistence and ordering."""

from __future__ import annotations

import asyncio

from tests.helpers import Server, SyncClient, text_of


def test_two_clients_converge(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> None:
        a = await SyncClient(server.ws_url, document_id).connect()
        b = await SyncClient(server.ws_url, document_id).connect()
        await a.edit(0, "Artículo 1. ")
        await b.wait_text("Artículo 1. ")
        await asyncio.gather(a.edit(0, "¡Hola! "), b.edit(len("Artículo 1. "), "Fin 📊"))
        await a.wait_text("¡Hola! Artículo 1. Fin 📊")
        await b.wait_text("¡Hola! Artículo 1. Fin 📊")
        await a.close()
        await b.close()
        assert server.markdown(document_id) == str(a.text)

    asyncio.run(scenario())


def test_document_survives_restart(server: Server) -> None:
    document_id = server.create_document()

    async def write() -> str:
        a = await SyncClient(server.ws_url, document_id).connect()
        for i in range(50):
            await a.edit(len(str(a.text)), f"línea {i}\n")
        b = await SyncClient(server.ws_url, document_id).connect()
        await b.wait_text(str(a.text))
        await a.close()
        await b.close()
        return str(a.text)

    expected = asyncio.run(write())
    server.stop()
    server.start()
    assert server.markdown(document_id) == expected

    async def read() -> None:
        c = await SyncClient(server.ws_url, document_id).connect()
        assert str(c.text) == expected
        await c.close()

    asyncio.run(read())


def test_received_updates_are_what_the_server_stores(server: Server) -> None:
    document_id = server.create_document()

    async def scenario() -> list[bytes]:
        writer = await SyncClient(server.ws_url, document_id).connect()
        reader = await SyncClient(server.ws_url, document_id).connect()
        for i in range(20):
            await writer.edit(0, f"{i} ")
        await reader.wait_text(str(writer.text))
        await writer.close()
        await reader.close()
        return reader.received

    received = asyncio.run(scenario())
    assert text_of(*received) == server.markdown(document_id)
