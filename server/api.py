"""The JSON API: documents."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pycrdt import Doc, Text
from starlette.requests import Request
from starlette.responses import JSONResponse

from server import audit, documents, members, notices
from server.auth import require
from server.db import Database
from server.errors import BadRequest, Forbidden, NotFound
from server.render import render
from server.sync.rooms import Rooms
from server.sync.store import EMPTY_UPDATE

MAX_BODY = 64 * 1024


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object. Only ``application/json`` is read: a cross-site form can
    send text/plain without a CORS preflight, never JSON (this also stops login CSRF)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest("the request body must be application/json")
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


async def find(db: Database, document_id: str, user_id: int) -> tuple[documents.Document, str]:
    """The document and the person's role in it. A document that is not theirs answers
    exactly like one that does not exist."""
    if not documents.valid_id(document_id):
        raise NotFound("document not found")

    def lookup(conn: sqlite3.Connection) -> tuple[documents.Document, str] | None:
        role = members.role_of(conn, document_id, user_id)
        document = documents.get(conn, document_id)
        return (document, role) if document is not None and role is not None else None

    found = await db.lookup(lookup)
    if found is None:
        raise NotFound("document not found")
    return found


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
    identity = await require(request)
    db: Database = request.app.state.db
    user_id = identity.user.id
    found, unread = await db.read(  # one trip to a reader thread for both
        lambda conn: (documents.list_for(conn, user_id), notices.unread_counts(conn, user_id))
    )
    return JSONResponse(
        {
            "documents": [
                {**d.to_json(), "role": role, "unread": unread.get(d.id, 0)} for d, role in found
            ]
        }
    )


async def create_document(request: Request) -> JSONResponse:
    identity = await require(request)
    data = await read_json(request)
    title = documents.clean_title(data.get("title"))
    db: Database = request.app.state.db
    user = identity.user

    def create(conn: sqlite3.Connection) -> documents.Document:
        if not (user.is_admin or members.is_chair_anywhere(conn, user.id)):
            raise Forbidden("only admins and chairs create documents")
        document = documents.create(conn, title, chair=user.id)
        audit.append(conn, audit.user_actor(user), "document.create", document.id, {"title": title})
        return document

    document = await db.write(create)
    return JSONResponse({**document.to_json(), "role": "chair"}, status_code=201)


async def get_document(request: Request) -> JSONResponse:
    identity = await require(request)
    db: Database = request.app.state.db
    document, role = await find(db, request.path_params["document_id"], identity.user.id)
    markdown = await current_text(request.app.state.rooms, document.id)
    fresh, revised = await db.lookup(
        lambda conn: (documents.get(conn, document.id), documents.revised_by(conn, document.id))
    )
    return JSONResponse(
        {
            "id": document.id,
            "title": document.title,
            "markdown": markdown,
            "html": render(markdown),
            "role": role,
            "status": fresh.status if fresh else document.status,
            "revision_of": document.revision_of,
            "revised_by": revised,
            "created_at": document.created_at,
            "updated_at": fresh.updated_at if fresh else document.updated_at,
        }
    )
