"""The JSON API of a document's audit trail (its chairs, and admins who are members)."""

from __future__ import annotations

import sqlite3

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import audit, members
from server.api import find
from server.auth import require
from server.db import Database
from server.errors import BadRequest, Forbidden

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def document_audit(request: Request) -> Response:
    """GET /api/documents/{id}/audit[?limit=N&before=SEQ]: the document's entries, newest
    first, and whether the whole chain verifies (``chain_ok``)."""
    identity = await require(request)
    db: Database = request.app.state.db
    document, role = await find(db, request.path_params["document_id"], identity.user.id)
    if not (members.can_manage(role) or identity.user.is_admin):
        raise Forbidden("only the document's chairs see its audit log")
    limit = _number(request, "limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    before = _number(request, "before")

    def read(conn: sqlite3.Connection) -> tuple[list[audit.Entry], audit.Verdict]:
        return audit.entries(conn, document.id, limit, before), audit.verify(conn)

    found, verdict = await db.read(read)
    return JSONResponse(
        {
            "document_id": document.id,
            "entries": [entry.to_json() for entry in found],
            "chain_ok": verdict.ok,
            "chain_entries": verdict.count,
            "chain_problem": None if verdict.ok else verdict.message(),
        }
    )


def _number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number") from exc
