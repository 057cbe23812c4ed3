"""A room whose last client has left is unloaded after the configured delay, and its memory
is returned: nothing keeps the Room or its pycrdt Doc alive afterwards."""

from __future__ import annotations

import gc
import time
import warnings
import weakref
from pathlib import Path

from pycrdt import Doc, Text

from server.app import create_app
from server.settings import Settings
from server.sync import protocol
from tests.helpers import make_admin

with warnings.catch_warnings():
    # starlette 1.10 warns on import when the test client runs on `httpx` instead of `httpx2`
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
    from starlette.testclient import TestClient


def test_unloaded_rooms_are_freed(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    token = make_admin(db)
    settings = Settings(db=str(db), room_unload_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        rooms = client.app.state.rooms  # type: ignore[attr-defined]
        refs = []
        for i in range(20):
            document_id = client.post("/api/documents", json={"title": f"Doc {i}"}).json()["id"]
            with client.websocket_connect(f"/sync/{document_id}") as ws:
                ws.receive_bytes()  # the server's SyncStep1
                doc: Doc[Text] = Doc()
                doc.get("content", type=Text).insert(0, "texto " * 2000)
                ws.send_bytes(protocol.sync_update(doc.get_update()))
                ws.send_bytes(protocol.sync_step1(b"\x00"))
                while ws.receive_bytes()[:2] != b"\x00\x01":  # committed: SyncStep2 arrives
                    pass
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
