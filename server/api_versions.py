"""The JSON API of a document's versions: list, save, view, diff, restore, export. The
status workflow (draft <-> review, ratification, revision) is in `server.api_status`;
ratified texts and adoption in `server.api_ratified`.

Every member reads a document's versions (reviewers and observers without the automatic,
keystroke-level snapshots); chairs and delegates save named versions and restore.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import (
    audit,
    comments,
    documents,
    exports,
    people,
    verify,
    versions,
)
from server.api import find, read_json
from server.api_ratified import (
    COMMITTEE,
    audit_export,
    download,
    export_format,
    language,
    people_in,
    version_json,
)
from server.auth import require
from server.db import Database
from server.diff import collapse, diff, to_html, to_json
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.positions import Offsets
from server.sync.room import Room
from server.sync.rooms import Rooms
from server.versions import Version

# -- taking versions -----------------------------------------------------------------------


async def snapshot(
    db: Database,
    room: Room,
    kind: str,
    *,
    name: str | None = None,
    by: int | None = None,
) -> Version | None:
    """Record the room's current (durable) text as a version, with who edited since the last
    one. An automatic version of an unchanged text is not taken."""
    await room.settle()
    markdown, state, editors = room.text, room.doc.get_state(), set(room.editors)

    def write(conn: sqlite3.Connection) -> Version | None:
        last = versions.latest(conn, room.document_id)
        if kind == "auto" and last is not None and last.sha256 == verify.fingerprint(markdown):
            return None
        return versions.take(
            conn,
            room.document_id,
            kind=kind,
            markdown=markdown,
            state_vector=state,
            editors=editors,
            name=name,
            by=by,
        )

    version = await db.write(write)
    room.editors -= editors  # recorded now, or the text is the last version's already
    return version


def quiet_snapshots(db: Database) -> Any:
    """The callback `Rooms` calls when editing goes quiet: an automatic version."""

    async def on_quiet(room: Room) -> object:
        return await snapshot(db, room, "auto")

    return on_quiet


# -- JSON ----------------------------------------------------------------------------------


# -- helpers ---------------------------------------------------------------------------------


async def member(request: Request) -> tuple[Database, Rooms, int, documents.Document, str]:
    """The database, the rooms, who is asking, the document (as stored now) and their role."""
    identity = await require(request)
    db: Database = request.app.state.db
    # `find` read the document's row just now (a lookup, no await since): it is current.
    document, role = await find(db, request.path_params["document_id"], identity.user.id)
    return db, request.app.state.rooms, identity.user.id, document, role


def _number(request: Request, raw: str | None = None) -> int:
    value = raw if raw is not None else request.path_params["number"]
    if not value.isdigit() or len(value) > 9:
        raise NotFound("version not found")
    return int(value)


def allow(allowed: bool, message: str) -> None:
    """Forbidden (403) with ``message`` unless ``allowed``."""
    if not allowed:
        raise Forbidden(message)


# -- versions --------------------------------------------------------------------------------


async def list_versions(request: Request) -> Response:
    db, _, _, document, role = await member(request)
    committee = role in COMMITTEE

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        listed = versions.history(conn, document.id, committee)
        found = comments.people_by_id(conn, people_in(listed))
        return [version_json(conn, v, found=found) for v in listed]

    return JSONResponse(
        {"versions": await db.read(read), "can_snapshot": committee and document.writable}
    )


async def create_version(request: Request) -> Response:
    db, rooms, user_id, document, role = await member(request)
    allow(role in COMMITTEE, "only chairs and delegates save versions")
    name = versions.clean_name((await read_json(request)).get("name"))
    async with rooms.borrow(document.id) as room:
        version = await snapshot(db, room, "named", name=name, by=user_id)
    assert version is not None
    return JSONResponse(await db.read(lambda c: version_json(c, version)), status_code=201)


async def get_version(request: Request) -> Response:
    db, _, _, document, role = await member(request)
    number = _number(request)

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        version = versions.get(conn, document.id, number)
        if version.kind in versions.COMMITTEE_ONLY and role not in COMMITTEE:
            raise NotFound("version not found")
        return version_json(conn, version, with_text=True)

    return JSONResponse(await db.read(read))


async def _text_of(
    db: Database, rooms: Rooms, document_id: str, which: str | None, role: str
) -> tuple[str, str]:
    """(label, text) of a version number or of the current text."""
    if which in (None, "", "current"):
        async with rooms.borrow(document_id) as room:
            await room.settle()
            return "current", room.text
    assert which is not None
    if not which.isdigit() or len(which) > 9:
        raise BadRequest("from and to must be version numbers or current")
    number = int(which)
    version = await db.read(lambda conn: versions.get(conn, document_id, number))
    if version.kind in versions.COMMITTEE_ONLY and role not in COMMITTEE:
        raise NotFound("version not found")
    return str(number), version.markdown


async def diff_versions(request: Request) -> Response:
    db, rooms, _, document, role = await member(request)
    query = request.query_params
    if "from" not in query:
        raise BadRequest("from is required (a version number or current)")
    old_label, old = await _text_of(db, rooms, document.id, query.get("from"), role)
    new_label, new = await _text_of(db, rooms, document.id, query.get("to"), role)
    operations = diff(old, new)
    inserted = sum(len(text.split()) for op, text in operations if op == "insert")
    deleted = sum(len(text.split()) for op, text in operations if op == "delete")
    folded = collapse(operations)
    return JSONResponse(
        {
            "from": old_label,
            "to": new_label,
            "ops": to_json(folded),
            "html": to_html(folded),
            "stats": {"inserted_words": inserted, "deleted_words": deleted},
        }
    )


async def restore_version(request: Request) -> Response:
    db, rooms, user_id, document, role = await member(request)
    allow(role in COMMITTEE, "only chairs and delegates restore versions")
    if not document.writable:
        raise Conflict("only a draft can change; this text is " + document.status)
    number = _number(request)
    target = await db.read(lambda conn: versions.get(conn, document.id, number))
    async with rooms.borrow(document.id) as room:
        await room.settle()
        operations = diff(room.text, target.markdown, semantic=False)
        room.edit(lambda text: apply_operations(text, room.text, operations), author=user_id)
        version = await snapshot(db, room, "restore", name=f"← {target.number}", by=user_id)

    def record(conn: sqlite3.Connection) -> dict[str, Any]:
        details = {"restored": target.number, "version": version.number if version else None}
        audit.append(conn, audit.actor_of(conn, user_id), "version.restore", document.id, details)
        return {"version": version_json(conn, version) if version else None}

    return JSONResponse(await db.write(record))


def apply_operations(text: Any, current: str, operations: Sequence[tuple[str, str]]) -> None:
    """Apply diff operations (old = ``current``) to a pycrdt Text, from the end backwards so
    that earlier offsets stay valid. Offsets go through `server.positions`."""
    offsets = Offsets(current)
    edits: list[tuple[int, int, str]] = []  # (code-point start, code-point end, insert)
    index = 0
    for op, chunk in operations:
        if op == "equal":
            index += len(chunk)
        elif op == "delete":
            edits.append((index, index + len(chunk), ""))
            index += len(chunk)
        else:
            edits.append((index, index, chunk))
    for start, end, insert in reversed(edits):
        first, last = offsets.utf8_from_index(start), offsets.utf8_from_index(end)
        if last > first:
            del text[first:last]
        if insert:
            text.insert(first, insert)


async def export_version(request: Request) -> Response:
    db, _, user_id, document, role = await member(request)
    kind = export_format(request)
    number = _number(request)
    user = await db.read(lambda conn: people.user_by_id(conn, user_id))

    def read(conn: sqlite3.Connection) -> Version:
        version = versions.get(conn, document.id, number)
        if version.kind in versions.COMMITTEE_ONLY and role not in COMMITTEE:
            raise NotFound("version not found")
        return version

    version = await db.read(read)
    content, media_type, filename = exports.export(
        kind,
        title=document.title,
        version=version.name or str(version.number),
        status=version.status,
        date=version.created_at[:10],
        markdown=version.markdown,
        lang=language(request, user),
    )
    await audit_export(db, user_id, document.id, kind, {"version": version.number})
    return download(content, media_type, filename)


def routes() -> list[Route]:
    doc = "/api/documents/{document_id}"
    return [
        Route(f"{doc}/versions", list_versions, methods=["GET"]),
        Route(f"{doc}/versions", create_version, methods=["POST"]),
        Route(f"{doc}/versions/{{number}}", get_version, methods=["GET"]),
        Route(f"{doc}/versions/{{number}}/restore", restore_version, methods=["POST"]),
        Route(f"{doc}/versions/{{number}}/export", export_version, methods=["GET"]),
        Route(f"{doc}/diff", diff_versions, methods=["GET"]),
    ]
