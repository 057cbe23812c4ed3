"""The app in-process with Starlette's TestClient: the sync handshake, query-awareness,
unknown documents, HTTP API errors and the security headers."""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.settings import Settings
from server.sync import protocol
from server.sync.protocol import AwarenessMessage, SyncMessage, SyncType
from tests.helpers import make_admin, stamped

with warnings.catch_warnings():
    # starlette 1.10 warns on import when the test client runs on `httpx` instead of `httpx2`
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
    from starlette.testclient import TestClient, WebSocketTestSession

CORPUS = json.loads(
    (Path(__file__).parent / "corpus" / "hostile_frames.json").read_text(encoding="utf-8")
)["frames"]
MISSING_ID = "A" * 22  # a well-formed id nobody created


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = tmp_path / "a.db"
    token = make_admin(db)
    with TestClient(create_app(Settings(db=str(db)))) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def create(client: TestClient, title: str = "Acta de la reunión") -> str:
    response = client.post("/api/documents", json={"title": title})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def markdown(client: TestClient, document_id: str) -> str:
    response = client.get(f"/api/documents/{document_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["markdown"])


def receive(ws: WebSocketTestSession) -> protocol.Message:
    return protocol.parse(ws.receive_bytes(), max_awareness_entries=10_000)


def receive_sync(ws: WebSocketTestSession, kind: SyncType) -> bytes:
    message = receive(ws)
    assert isinstance(message, SyncMessage), message
    assert message.kind is kind, message
    return message.payload


def receive_awareness(ws: WebSocketTestSession) -> dict[int, tuple[int, Any]]:
    message = receive(ws)
    assert isinstance(message, AwarenessMessage), message
    return {e.client_id: (e.clock, json.loads(e.state)) for e in message.entries}


def edit(doc: Doc, text: str) -> bytes:
    before = doc.get_state()
    content = doc.get("content", type=Text)
    content.insert(len(content), text)
    return doc.get_update(before)


def text_of(doc: Doc) -> str:
    return str(doc.get("content", type=Text))


# -- the sync handshake -------------------------------------------------------------------


def test_handshake_order(client: TestClient) -> None:
    document_id = create(client)
    writer = Doc()
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        # the server speaks first: its SyncStep1, before the client sent anything
        assert receive_sync(ws, SyncType.STEP1) == Doc().get_state()
        ws.send_bytes(protocol.sync_step1(writer.get_state()))
        assert text_of(apply(Doc(), receive_sync(ws, SyncType.STEP2))) == ""
        ws.send_bytes(protocol.sync_update(edit(writer, "Hola, señorías 📊")))
        assert markdown(client, document_id) == "Hola, señorías 📊"

    reader = Doc()
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        vector = protocol.parse_state_vector(receive_sync(ws, SyncType.STEP1))
        assert vector == protocol.parse_state_vector(writer.get_state())
        ws.send_bytes(protocol.sync_step1(reader.get_state()))
        apply(reader, receive_sync(ws, SyncType.STEP2))
        assert text_of(reader) == "Hola, señorías 📊"


def apply(doc: Doc, update: bytes) -> Doc:
    doc.apply_update(update)
    return doc


def test_step2_reply_holds_only_what_the_client_lacks(client: TestClient) -> None:
    document_id = create(client)
    writer = Doc()
    first = edit(writer, "Uno. ")
    second = edit(writer, "Dos.")
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        receive_sync(ws, SyncType.STEP1)
        ws.send_bytes(protocol.sync_update(first))
        ws.send_bytes(protocol.sync_update(second))
        assert markdown(client, document_id) == "Uno. Dos."
    half = apply(Doc(), first)
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        receive_sync(ws, SyncType.STEP1)
        ws.send_bytes(protocol.sync_step1(half.get_state()))
        apply(half, receive_sync(ws, SyncType.STEP2))
        assert text_of(half) == "Uno. Dos."


def test_offline_edits_come_up_through_the_servers_step1(client: TestClient) -> None:
    document_id = create(client)
    offline = Doc()
    edit(offline, "Escrito sin conexión ✈️")
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        server_vector = receive_sync(ws, SyncType.STEP1)
        ws.send_bytes(protocol.sync_step2(offline.get_update(server_vector)))
        assert markdown(client, document_id) == "Escrito sin conexión ✈️"


def test_updates_reach_the_other_client(client: TestClient) -> None:
    document_id = create(client)
    a_doc, b_doc = Doc(), Doc()
    with (
        client.websocket_connect(f"/sync/{document_id}") as a,
        client.websocket_connect(f"/sync/{document_id}") as b,
    ):
        receive_sync(a, SyncType.STEP1)
        receive_sync(b, SyncType.STEP1)
        a.send_bytes(protocol.sync_update(edit(a_doc, "مرحبا שלום 你好")))
        apply(b_doc, receive_sync(b, SyncType.UPDATE))
        assert text_of(b_doc) == "مرحبا שלום 你好"


# -- awareness ----------------------------------------------------------------------------


def test_query_awareness_is_answered_with_everyone(client: TestClient) -> None:
    document_id = create(client)
    # The server stamps ``user`` from the account (all connections here are the test admin).
    ana = stamped({"user": {"name": "Ana", "color": "#ff0000"}, "cursor": 1})
    bo = stamped({"user": {"name": "Bø 📊", "color": "#00ff00"}, "cursor": 2})
    with client.websocket_connect(f"/sync/{document_id}") as a:
        receive_sync(a, SyncType.STEP1)
        a.send_bytes(protocol.awareness([(111, 1, json.dumps(ana))]))
        assert receive_awareness(a) == {111: (1, ana)}  # relayed to the sender too

        with client.websocket_connect(f"/sync/{document_id}") as b:
            receive_sync(b, SyncType.STEP1)
            assert receive_awareness(b) == {111: (1, ana)}  # sent on join
            b.send_bytes(protocol.awareness([(222, 5, json.dumps(bo, ensure_ascii=False))]))
            assert receive_awareness(b) == {222: (5, bo)}
            assert receive_awareness(a) == {222: (5, bo)}

            b.send_bytes(bytes([protocol.MessageType.QUERY_AWARENESS]))
            assert receive_awareness(b) == {111: (1, ana), 222: (5, bo)}

        # b left: its state is removed for everyone else
        assert receive_awareness(a) == {222: (6, None)}
        a.send_bytes(bytes([protocol.MessageType.QUERY_AWARENESS]))
        assert receive_awareness(a) == {111: (1, ana)}


def test_query_awareness_in_an_empty_room_gets_no_answer(client: TestClient) -> None:
    document_id = create(client)
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        receive_sync(ws, SyncType.STEP1)
        ws.send_bytes(bytes([protocol.MessageType.QUERY_AWARENESS]))
        ws.send_bytes(protocol.sync_step1(Doc().get_state()))
        # the next frame is the reply to the SyncStep1, not an awareness message
        receive_sync(ws, SyncType.STEP2)


# -- closes -------------------------------------------------------------------------------


@pytest.mark.parametrize("document_id", [MISSING_ID, "short", "has.dot" + "x" * 22, "é" * 22])
def test_unknown_document_closes_4404(client: TestClient, document_id: str) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as excinfo,
        client.websocket_connect(f"/sync/{document_id}") as ws,
    ):
        ws.receive_bytes()
    assert excinfo.value.code == 4404


def test_text_frame_closes_1003(client: TestClient) -> None:
    document_id = create(client)
    with client.websocket_connect(f"/sync/{document_id}") as ws:
        receive_sync(ws, SyncType.STEP1)
        ws.send_text("hola")
        with pytest.raises(WebSocketDisconnect) as excinfo:
            ws.receive_bytes()
    assert excinfo.value.code == 1003


def test_panic_update_closes_1007_and_the_room_recovers(client: TestClient) -> None:
    panic = next(e for e in CORPUS if e["category"] == "panic_update")
    document_id = create(client)
    doc = Doc()
    with client.websocket_connect(f"/sync/{document_id}") as good:
        receive_sync(good, SyncType.STEP1)
        good.send_bytes(protocol.sync_update(edit(doc, "Texto íntegro")))
        assert markdown(client, document_id) == "Texto íntegro"
        with client.websocket_connect(f"/sync/{document_id}") as bad:
            receive_sync(bad, SyncType.STEP1)
            bad.send_bytes(base64.b64decode(panic["frame_b64"]))
            with pytest.raises(WebSocketDisconnect) as excinfo:
                while True:  # skip anything sent before the close
                    bad.receive_bytes()
        assert excinfo.value.code == 1007
        room = client.app.state.rooms.open[document_id]  # type: ignore[attr-defined]
        assert room.text == "Texto íntegro"
        good.send_bytes(protocol.sync_update(edit(doc, " y más")))
        assert markdown(client, document_id) == "Texto íntegro y más"


# -- the HTTP API -------------------------------------------------------------------------


def test_create_and_get_a_document(client: TestClient) -> None:
    response = client.post("/api/documents", json={"title": "  Acta   de la\tsesión  "})
    assert response.status_code == 201
    created = response.json()
    assert created["title"] == "Acta de la sesión"
    response = client.get(f"/api/documents/{created['id']}")
    assert response.status_code == 200
    assert response.json()["markdown"] == ""
    assert response.json()["title"] == "Acta de la sesión"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"not json", {"content-type": "application/json"}),
        (b"{", {"content-type": "application/json"}),
        (b"\xff\xfe\x00", {"content-type": "application/json"}),
        (b"", {}),
    ],
    ids=["text", "cut", "not-utf8", "empty"],
)
def test_post_with_a_body_that_is_not_json(
    client: TestClient, body: bytes, headers: dict[str, str]
) -> None:
    response = client.post("/api/documents", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] in (
        "request body must be JSON",
        "the request body must be application/json",
    )


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "title must be a string"),
        ({"name": "x"}, "title must be a string"),
        ({"title": None}, "title must be a string"),
        ({"title": 42}, "title must be a string"),
        ({"title": ["Acta"]}, "title must be a string"),
        ({"title": "   "}, "title must not be empty"),
        ({"title": "x" * 201}, "title must be at most 200 characters"),
        (["Acta"], "request body must be a JSON object"),
        ("Acta", "request body must be a JSON object"),
    ],
)
def test_post_with_a_bad_title(client: TestClient, payload: Any, error: str) -> None:
    response = client.post("/api/documents", json=payload)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_post_with_a_huge_body(client: TestClient) -> None:
    response = client.post("/api/documents", json={"title": "x", "pad": "y" * 70_000})
    assert response.status_code == 400
    assert response.json() == {"error": "request body too large"}


@pytest.mark.parametrize(
    ("document_id", "error"),
    [
        (MISSING_ID, "document not found"),
        ("bad!id", "document not found"),
        ("short", "document not found"),
        ("a" * 65, "document not found"),
        ("%00" * 22, "document not found"),
        ("..%2f..%2fetc", "Not Found"),  # a decoded '/' leaves the route: the router's 404
    ],
)
def test_get_of_a_missing_or_malformed_id(client: TestClient, document_id: str, error: str) -> None:
    response = client.get(f"/api/documents/{document_id}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": error}


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert "error" in response.json()


# -- security headers ---------------------------------------------------------------------


def assert_security_headers(headers: Any) -> None:
    csp = headers["content-security-policy"]
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";")}
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert directives["default-src"] == "default-src 'self'"
    assert directives["object-src"] == "object-src 'none'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_security_headers_on_pages(client: TestClient) -> None:
    document_id = create(client)
    for path, status in [
        ("/", 200),
        (f"/documents/{document_id}", 200),
        (f"/documents/{MISSING_ID}", 404),
        ("/documents/bad!id", 404),
    ]:
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert_security_headers(response.headers)
        page = response.text
        # no inline script or style: every script has a src, no <style> or style=""
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, tag
        assert "<style" not in page
        assert not re.search(r"\sstyle\s*=", page)
        assert not re.search(r"\son[a-z]+\s*=", page)


def test_security_headers_on_the_api(client: TestClient) -> None:
    document_id = create(client)
    responses = [
        client.get("/api/documents"),
        client.get(f"/api/documents/{document_id}"),
        client.post("/api/documents", json={"title": "Otro"}),
        client.post("/api/documents", content=b"nope"),
        client.get(f"/api/documents/{MISSING_ID}"),
        client.get("/api/nothing-here"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 201, 400, 404, 404]
    for response in responses:
        assert response.headers["content-type"].startswith("application/json")
        assert_security_headers(response.headers)
