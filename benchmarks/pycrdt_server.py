"""pycrdt-websocket (the Python peer) as a standalone server for the benchmarks.

    python -m benchmarks.pycrdt_server PORT

Its stock `WebsocketServer` behind its `ASGIServer`, on uvicorn with the same websocket
settings Accord uses (websockets-sansio, no compression): documents in memory, a room per
path, rooms dropped when their last client leaves.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer


async def main(port: int) -> None:
    websocket_server = WebsocketServer()
    app = ASGIServer(websocket_server)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_max_size=64 * 1024 * 1024,
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    async with websocket_server:
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
