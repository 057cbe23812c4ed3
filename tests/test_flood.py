"""A client that sends faster than the flood limit is slowed down, never dropped: every
message it sent is handled, in order, and the other rooms are not held back."""

from __future__ import annotations

import asyncio
import time

from pycrdt import Doc, Text

from server.sync import protocol
from server.sync_socket import BURST, MESSAGES_PER_SECOND
from tests.helpers import Server, SyncClient

FLOOD = 5_000  # messages sent back to back: BURST of them pass at once, the rest are paced


def flood_frames() -> tuple[list[bytes], str]:
    """FLOOD one-character updates typed by one client, and the text they make."""
    doc: Doc[Text] = Doc()
    text = doc.get("content", type=Text)
    frames = []
    for i in range(FLOOD):
        before = doc.get_state()
        text.insert(len(str(text)), "abcdefghij"[i % 10])
        frames.append(protocol.sync_update(doc.get_update(before)))
    return frames, str(text)


def test_a_flooding_client_is_slowed_and_loses_nothing(server: Server) -> None:
    flooded = server.create_document("Inundado")
    other = server.create_document("Otro")
    frames, expected = flood_frames()

    async def scenario() -> None:
        flooder = await SyncClient(server.ws_url, flooded).connect()
        reader = await SyncClient(server.ws_url, flooded).connect()
        writer = await SyncClient(server.ws_url, other).connect()
        neighbour = await SyncClient(server.ws_url, other).connect()
        assert flooder.ws is not None
        started = time.monotonic()
        for frame in frames:  # as fast as the socket takes them
            await flooder.ws.send(frame)
        # Meanwhile the other room is served.
        await writer.edit(0, "¡hola!")
        await neighbour.wait_text("¡hola!", timeout=30)
        await reader.wait_text(expected, timeout=120)
        elapsed = time.monotonic() - started
        # Paced, not dropped: what exceeds the burst went through at the allowed rate.
        assert elapsed >= 0.8 * (FLOOD - BURST) / MESSAGES_PER_SECOND
        assert not flooder.closed.is_set(), f"flooder closed with {flooder.close_code}"
        for client in (flooder, reader, writer, neighbour):
            await client.close()

    asyncio.run(scenario())
    assert server.markdown(flooded) == expected
    assert server.markdown(other) == "¡hola!"
    assert server.alive()
