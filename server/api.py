"""The JSON API: documents."""

from __future__ import annotations

import json
from typing import Any

from pycrdt import Doc, Text
from starlette.requests import Request
from starlette.responses import JSONResponse

from server import documents
from server.db import Database
from server.errors import BadRequest, NotFound
from server.render import render
from server.sync.rooms import Rooms
from server.sync.store import EMPTY_UPDATE

MAX_BODY = 64 * 1024


async def read_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest("request body too large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("request body must be JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


async def find(db: Database, document_id: str) -> documents.Document:
    if not documents.valid_id(document_id):
        raise NotFound("document not found")
    document = await db.read(lambda conn: documents.get(conn, document_id))
    if document is None:
        raise NotFound("document not found")
    return document


async def current_text(rooms: Rooms, document_id: str) -> str:
    """The durable text: from the open room once it has settled, else from storage."""
    room = rooms.open.get(document_id)
    if room is not None:
        await room.settle()
        return room.text
    stored = await rooms.updates.load(document_id)
    doc: Doc[Text] = Doc()
    text = doc.get("content", type=Text)
    if stored.state != EMPTY_UPDATE:
        doc.apply_update(stored.state)
    return str(text)


async def list_documents(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    found = await db.read(documents.list_all)
    return JSONResponse({"documents": [d.to_json() for d in found]})


async def create_document(request: Request) -> JSONResponse:
    data = await read_json(request)
    title = documents.clean_title(data.get("title"))
    db: Database = request.app.state.db
    document = await db.write(lambda conn: documents.create(conn, title))
    return JSONResponse(document.to_json(), status_code=201)


async def get_document(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    document = await find(db, request.path_params["document_id"])
    markdown = await current_text(request.app.state.rooms, document.id)
    fresh = await find(db, document.id)
    return JSONResponse(
        {
            "id": document.id,
            "title": document.title,
            "markdown": markdown,
            "html": render(markdown),
            "created_at": document.created_at,
            "updated_at": fresh.updated_at,
        }
    )
