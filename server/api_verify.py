"""Verification of copies: is this file a ratified text, or one of its exports, and which?

Anyone may verify a copy; signed in, against every ratified text; without an account, only
against the texts chairs published (the others' titles are not for strangers). The file's
bytes are the request body, at most 20 MB. The same check answers `accord verify`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import ratifications, verify
from server.api_ratified import ratified_export
from server.auth import identify
from server.db import Database
from server.errors import BadRequest
from server.i18n import DEFAULT
from server.ratifications import Ratification

MAX_VERIFY = 20 * 1024 * 1024


async def verify_file(request: Request) -> Response:
    """Anyone may check a copy: signed in, against every ratified text; without an account,
    against the texts chairs published (the others' titles are not for strangers)."""
    identity = await identify(request, request.app.state.db)
    db: Database = request.app.state.db
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_VERIFY):
        raise BadRequest("the file must be at most 20 MB")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_VERIFY:
            raise BadRequest("the file must be at most 20 MB")
    data = bytes(received)
    if not data:
        raise BadRequest("send the file's bytes as the request body")

    def known(conn: sqlite3.Connection) -> dict[str, Ratification]:
        found = ratifications.by_hash(conn)
        if identity is None:
            found = {
                h: r for h, r in found.items() if ratifications.publication(conn, r.document_id)
            }
        return found

    return JSONResponse(check(data, await db.read(known)))


def check(data: bytes, known: dict[str, Ratification]) -> dict[str, Any]:
    """Whether ``data`` is a ratified text (or one of its exports), and which one."""

    def regenerate(claim: verify.Claim) -> bytes | None:
        ratified = known.get(claim.sha256 or "")
        if ratified is None:
            return None
        return ratified_export(ratified, claim.kind, claim.lang or DEFAULT)[0]

    claim = verify.identify(data)
    match = verify.lookup(data, known, regenerate=regenerate)
    found = known.get(match.sha256) if match else None
    return {
        "kind": claim.kind,
        "sha256": hashlib.sha256(data).hexdigest(),  # of the bytes sent
        "claimed": claim.sha256 if claim.kind != "markdown" else None,
        "match": None
        if match is None or found is None
        else {
            "document_id": found.document_id,
            "title": found.title,
            "sha256": found.sha256,
            "how": match.how,
            "ratified_at": found.ratified_at,
            "date": found.decided_on,
            "body": found.body,
        },
    }


def routes() -> list[Route]:
    return [Route("/api/verify", verify_file, methods=["POST"])]
