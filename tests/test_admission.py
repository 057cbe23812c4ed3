"""New connections are admitted a few per turn of the event loop (`server.admission`): the
rest wait, in order, for later turns; none is lost, and open connections are not held."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import httpx
import websockets

from server.admission import Admission
from tests.helpers import Server, SyncClient


def test_at_most_per_turn_are_admitted_in_one_turn_and_the_rest_in_order() -> None:
    async def scenario() -> list[list[int]]:
        loop = asyncio.get_running_loop()
        admission = Admission(4)
        admitted: list[int] = []
        for i in range(10):  # ten connections whose first bytes arrive in the same turn
            admission.request(loop, functools.partial(admitted.append, i))
        turns = [list(admitted)]
        for _ in range(3):
            await asyncio.sleep(0)  # one turn of the loop
            turns.append(list(admitted))
        assert admission.deferred == 6
        return turns

    turns = asyncio.run(scenario())
    assert turns == [[0, 1, 2, 3], list(range(8)), list(range(10)), list(range(10))]


def test_a_late_arrival_waits_behind_those_already_waiting() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        admission = Admission(1)
        admitted: list[str] = []
        admission.request(loop, lambda: admitted.append("first"))
        admission.request(loop, lambda: admitted.append("second"))
        await asyncio.sleep(0)
        # The turn's one admission went to "second"; "late" waits for the next turn.
        admission.request(loop, lambda: admitted.append("late"))
        assert admitted == ["first", "second"]
        await asyncio.sleep(0)
        return admitted

    assert asyncio.run(scenario()) == ["first", "second", "late"]


def test_zero_admits_everyone_at_once() -> None:
    async def scenario() -> list[int]:
        admission = Admission(0)
        admitted: list[int] = []
        for i in range(100):
            admission.request(asyncio.get_running_loop(), functools.partial(admitted.append, i))
        assert admission.deferred == 0
        return admitted

    assert asyncio.run(scenario()) == list(range(100))


def test_a_storm_of_connections_is_served_whole_while_a_room_edits(tmp_path: Path) -> None:
    """One admission a turn (the strictest setting): 150 signed-in connections and 150
    without a credential arrive together while two people edit another document. Every
    signed-in one is synced with the document's text, every other one is refused with 4401,
    the editors' change arrives, and plain HTTP requests are still answered."""
    server = Server(tmp_path / "accord.db", env={"ACCORD_ADMIT_PER_TURN": "1"}).start()
    try:
        crowded = server.create_document("Concurrido")
        quiet = server.create_document("Tranquilo")

        async def scenario() -> None:
            seed = await SyncClient(server.ws_url, crowded).connect()
            await seed.edit(0, "Estatutos")
            writer = await SyncClient(server.ws_url, quiet).connect()
            reader = await SyncClient(server.ws_url, quiet).connect()
            await seed.wait_text("Estatutos")

            async def signed_in() -> str:
                client = await SyncClient(server.ws_url, crowded).connect()
                await client.wait_text("Estatutos")
                await client.close()
                return str(client.text)

            async def anonymous() -> int | None:
                ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/sync/{crowded}")
                try:
                    await asyncio.wait_for(ws.wait_closed(), 30)
                finally:
                    await ws.close()
                return ws.close_code

            async def http() -> int:
                async with httpx.AsyncClient(base_url=server.url) as client:
                    return (await client.get("/api/me", headers=server.headers)).status_code

            storm = asyncio.gather(
                *(signed_in() for _ in range(150)),
                *(anonymous() for _ in range(150)),
                *(http() for _ in range(20)),
            )
            await writer.edit(0, "¡hola!")
            await reader.wait_text("¡hola!", timeout=30)
            results = await asyncio.wait_for(storm, 120)
            assert results[:150] == ["Estatutos"] * 150
            assert results[150:300] == [4401] * 150
            assert results[300:] == [200] * 20
            for client in (seed, writer, reader):
                await client.close()

        asyncio.run(scenario())
        assert server.alive()
        assert "Traceback" not in server.logs()
    finally:
        server.stop()


def test_connections_that_leave_while_they_wait_are_dropped_quietly(tmp_path: Path) -> None:
    """Clients that send a request and hang up at once, 200 together with one admission a
    turn: most leave while they wait. None of them disturbs the server, which still answers."""
    server = Server(tmp_path / "accord.db", env={"ACCORD_ADMIT_PER_TURN": "1"}).start()
    try:

        async def hang_up() -> None:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /api/me HTTP/1.1\r\nHost: x\r\n\r\n")
            writer.transport.abort()  # gone before any answer

        async def scenario() -> None:
            await asyncio.gather(*(hang_up() for _ in range(200)))

        asyncio.run(scenario())
        response = httpx.get(server.url + "/api/me", headers=server.headers, timeout=30)
        assert response.status_code == 200
        assert server.alive()
        assert "Traceback" not in server.logs()
    finally:
        server.stop()
