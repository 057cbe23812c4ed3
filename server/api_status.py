"""The JSON API of a document's status workflow: draft <-> review, ratification, and
starting a revision of a ratified text. Only the document's chairs move it; every open
editor hears of each step (the review event stream) and the room freezes or thaws with it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import audit, documents, members, ratifications
from server.api import read_json
from server.api_ratified import ratification_json
from server.api_versions import allow, member, snapshot
from server.errors import BadRequest, Conflict, NotFound


async def change_status(request: Request) -> Response:
    db, rooms, user_id, document, role = await member(request)
    allow(members.can_manage(role), "only the document's chairs change its status")
    wanted = (await read_json(request)).get("status")
    if wanted not in ("draft", "review"):
        raise BadRequest("status must be draft or review (ratify to ratify)")
    if document.status == "ratified":
        raise Conflict("a ratified text never changes; start a revision instead")
    if document.status == wanted:
        raise Conflict(f"the document is already {wanted}")
    async with rooms.borrow(document.id) as room:

        def write(conn: sqlite3.Connection) -> None:
            current = documents.get(conn, document.id)
            if current is None or current.status != document.status:
                raise Conflict("the status changed meanwhile; reload")
            documents.set_status(conn, document.id, wanted)
            details = {"from": document.status, "to": wanted}
            audit.append(
                conn, audit.actor_of(conn, user_id), "document.status", document.id, details
            )

        await db.write(write)
        # The status is stored: everyone told now reads the new one. Edits that arrived
        # during the write are in the text the version below records.
        room.freeze(wanted != "draft")
        await snapshot(db, room, "status", by=user_id)
    await announce_status(request, document.id)
    return JSONResponse(await db.read(lambda conn: document_json(conn, document.id, role)))


async def announce_status(request: Request, document_id: str) -> None:
    """Tell every open editor of the document (by its review event stream)."""

    def build(conn: sqlite3.Connection) -> dict[str, Any]:
        document = documents.get(conn, document_id)
        assert document is not None
        return {"status": document.status, "revised_by": documents.revised_by(conn, document_id)}

    body = await request.app.state.db.read(build)
    request.app.state.events.publish(document_id, "status", lambda _: body)


def document_json(conn: sqlite3.Connection, document_id: str, role: str) -> dict[str, Any]:
    document = documents.get(conn, document_id)
    if document is None:
        raise NotFound("document not found")
    return {
        **document.to_json(),
        "role": role,
        "revised_by": documents.revised_by(conn, document_id),
    }


async def ratify(request: Request) -> Response:
    db, rooms, user_id, document, role = await member(request)
    allow(members.can_manage(role), "only the document's chairs ratify")
    decision = ratifications.Decision.from_json(await read_json(request))
    if document.status != "review":
        if document.status == "ratified":
            raise Conflict("this text is already ratified")
        raise Conflict("only a text in review can be ratified; send it to review first")
    async with rooms.borrow(document.id) as room:
        room.freeze(True)
        await room.settle()
        markdown, state = room.text, room.doc.get_state()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            ratified = ratifications.ratify(
                conn, document.id, decision, markdown=markdown, state_vector=state, by=user_id
            )
            details = {
                "sha256": ratified.sha256,
                "body": decision.body,
                "date": decision.decided_on,
                "votes": [decision.votes_for, decision.votes_against, decision.abstentions],
            }
            actor = audit.actor_of(conn, user_id)
            audit.append(conn, actor, "document.ratify", document.id, details)
            return ratification_json(conn, ratified, user_id)

        body = await db.write(write)
    await announce_status(request, document.id)
    return JSONResponse(body, status_code=201)


async def start_revision(request: Request) -> Response:
    db, rooms, user_id, document, role = await member(request)
    allow(members.can_manage(role), "only the document's chairs start a revision")

    def write(conn: sqlite3.Connection) -> documents.Document:
        ratified = ratifications.ratification(conn, document.id)
        if ratified is None:
            raise Conflict("only a ratified text can be revised")
        if documents.revised_by(conn, document.id) is not None:
            raise Conflict("a revision of this text was already started")
        draft = documents.create(conn, ratified.title, revision_of=document.id)
        for existing in members.members(conn, document.id):
            members.set_role(conn, draft.id, existing.user_id, existing.role)
        details = {"revision": draft.id, "sha256": ratified.sha256}
        audit.append(conn, audit.actor_of(conn, user_id), "revision.start", document.id, details)
        return draft

    draft = await db.write(write)
    ratified_text = await db.read(lambda conn: ratifications.ratification(conn, document.id))
    assert ratified_text is not None
    async with rooms.borrow(draft.id) as room:
        room.edit(lambda text: text.insert(0, ratified_text.markdown), author=user_id)
        await snapshot(db, room, "named", name=f"ratified {ratified_text.decided_on}", by=user_id)
    await announce_status(request, document.id)
    return JSONResponse(
        await db.read(lambda conn: document_json(conn, draft.id, role)), status_code=201
    )


def routes() -> list[Route]:
    doc = "/api/documents/{document_id}"
    return [
        Route(f"{doc}/status", change_status, methods=["PUT"]),
        Route(f"{doc}/ratify", ratify, methods=["POST"]),
        Route(f"{doc}/revision", start_revision, methods=["POST"]),
    ]
