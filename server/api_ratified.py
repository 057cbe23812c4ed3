"""The JSON API of ratified texts: reading them, their exports, adoption by each
organization and public permalinks; and the JSON forms of versions and ratifications that
`server.api_versions` answers with too (verification of copies: `server.api_verify`).

Every signed-in person reads ratified texts; their adoptions are recorded by the document's
chairs, admins, and the organization's own chairs and delegates of the document.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import (
    audit,
    comments,
    documents,
    exports,
    members,
    people,
    ratifications,
    versions,
)
from server.api import read_json
from server.auth import require
from server.db import Database
from server.errors import BadRequest, Forbidden, NotFound
from server.i18n import DEFAULT
from server.people import Organization
from server.ratifications import Ratification
from server.render import render
from server.versions import Version

FORMATS = {"md": "markdown", "markdown": "markdown", "html": "html", "pdf": "pdf"}
COMMITTEE = frozenset({"chair", "delegate"})


# -- JSON forms ------------------------------------------------------------------------------


def version_json(
    conn: sqlite3.Connection,
    version: Version,
    with_text: bool = False,
    found: dict[int, comments.Person] | None = None,
) -> dict[str, Any]:
    """``found``: the people already read (a list of versions reads them once)."""
    if found is None:
        found = comments.people_by_id(conn, people_in([version]))
    editors = [found[i].to_json() for i in version.editors if i in found]
    creator = found.get(version.created_by) if version.created_by else None
    body: dict[str, Any] = {
        "number": version.number,
        "name": version.name,
        "kind": version.kind,
        "status": version.status,
        "sha256": version.sha256,
        "created_at": version.created_at,
        "created_by": {"id": creator.id, "name": creator.name} if creator else None,
        "editors": editors,
        "organizations": sorted(
            {e["organization"]["short_name"] for e in editors if e["organization"]}
        ),
    }
    if with_text:
        body["markdown"] = version.markdown
        body["html"] = render(version.markdown)
    return body


def org_json(org: Organization) -> dict[str, Any]:
    return {"id": org.id, **org.to_json()}


def people_in(listed: list[Version]) -> set[int]:
    return {i for v in listed for i in (*v.editors, v.created_by) if i}


def ratification_json(
    conn: sqlite3.Connection,
    ratified: Ratification,
    viewer: int | None,
    *,
    public: bool = False,
) -> dict[str, Any]:
    version = versions.get_by_id(conn, ratified.version_id)
    records = ratifications.adoptions(conn, ratified.document_id)
    recorders = comments.people_by_id(
        conn, {a.recorded_by for history in records.values() for a in history}
    )
    ratifier = comments.people_by_id(conn, {ratified.ratified_by}).get(ratified.ratified_by)

    def adoption_json(org: Organization) -> dict[str, Any]:
        history = records.get(org.id, [])

        def one(a: ratifications.Adoption) -> dict[str, Any]:
            who = recorders.get(a.recorded_by)
            return {
                "decision": a.decision,
                "reservations": a.reservations,
                "body": a.body,
                "date": a.decided_on,
                "notes": a.notes,
                "recorded_by": None if public or who is None else {"id": who.id, "name": who.name},
                "recorded_at": a.recorded_at,
            }

        latest = (
            one(history[0])
            if history
            else {
                "decision": "pending",
                "reservations": "",
                "body": "",
                "date": None,
                "notes": "",
                "recorded_by": None,
                "recorded_at": None,
            }
        )
        return {"organization": org_json(org), **latest, "history": [one(a) for a in history[1:]]}

    slug = ratifications.publication(conn, ratified.document_id)
    body: dict[str, Any] = {
        "document_id": ratified.document_id,
        "title": ratified.title,
        "version": version_json(conn, version),
        "markdown": ratified.markdown,
        "html": ratified.html,
        "sha256": ratified.sha256,
        "body": ratified.body,
        "date": ratified.decided_on,
        "votes": {
            "for": ratified.votes_for,
            "against": ratified.votes_against,
            "abstentions": ratified.abstentions,
        },
        "notes": ratified.notes,
        "ratified_by": {"id": ratifier.id, "name": ratifier.name} if ratifier else None,
        "ratified_at": ratified.ratified_at,
        "public_url": f"/p/{slug}" if slug else None,
        "adoptions": [adoption_json(org) for org in people.organizations(conn)],
    }
    if public:
        body["version"]["editors"] = []
        body["version"]["created_by"] = None
        body["ratified_by"] = None
    elif viewer is not None:
        body["can_record"] = [o.short_name for o in recordable(conn, ratified.document_id, viewer)]
        role = members.role_of(conn, ratified.document_id, viewer)
        body["can_publish"] = members.can_manage(role)
        body["revised_by"] = documents.revised_by(conn, ratified.document_id)
    return body


def recordable(conn: sqlite3.Connection, document_id: str, user_id: int) -> list[Organization]:
    """The organizations whose adoption this person may record."""
    user = people.user_by_id(conn, user_id)
    if user is None:
        return []
    role = members.role_of(conn, document_id, user_id)
    if user.is_admin or role == "chair":
        return people.organizations(conn)
    if role in COMMITTEE and user.organization is not None:
        return [user.organization]
    return []


def export_format(request: Request) -> str:
    kind = FORMATS.get(request.query_params.get("format", ""))
    if kind is None:
        raise BadRequest("format must be md, html or pdf")
    return kind


def download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def language(request: Request, user: people.User | None) -> str:
    lang = request.query_params.get("lang") or (user.language if user else DEFAULT)
    return lang if lang in ("en", "es") else DEFAULT


async def audit_export(
    db: Database, user_id: int | None, document_id: str, kind: str, details: dict[str, Any]
) -> None:
    def record(conn: sqlite3.Connection) -> None:
        actor = audit.actor_of(conn, user_id) if user_id else audit.SYSTEM
        audit.append(conn, actor, "document.export", document_id, {"format": kind, **details})

    await db.write(record)


async def _ratified_text(request: Request) -> tuple[Database, int, Ratification]:
    identity = await require(request)
    db: Database = request.app.state.db
    document_id = request.path_params["document_id"]
    if not documents.valid_id(document_id):
        raise NotFound("ratified text not found")
    found = await db.read(lambda conn: ratifications.ratification(conn, document_id))
    if found is None:
        raise NotFound("ratified text not found")
    return db, identity.user.id, found


async def list_ratified(request: Request) -> Response:
    await require(request)
    db: Database = request.app.state.db

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        status = ratifications.adoption_status(conn)
        organizations = people.organizations(conn)
        short = {o.id: o.short_name for o in organizations}
        return {
            "texts": [
                {
                    "document_id": r.document_id,
                    "title": r.title,
                    "sha256": r.sha256,
                    "date": r.decided_on,
                    "body": r.body,
                    "ratified_at": r.ratified_at,
                    "adoptions": {
                        short[o.id]: status.get(r.document_id, {}).get(o.id, "pending")
                        for o in organizations
                    },
                }
                for r in ratifications.ratifications(conn)
            ],
            "organizations": [org_json(o) for o in organizations],
        }

    return JSONResponse(await db.read(read))


async def get_ratified(request: Request) -> Response:
    db, user_id, ratified = await _ratified_text(request)
    return JSONResponse(await db.read(lambda c: ratification_json(c, ratified, user_id)))


async def export_ratified(request: Request) -> Response:
    db, user_id, ratified = await _ratified_text(request)
    kind = export_format(request)
    user = await db.read(lambda conn: people.user_by_id(conn, user_id))
    content, media_type, filename = ratified_export(ratified, kind, language(request, user))
    await audit_export(db, user_id, ratified.document_id, kind, {"sha256": ratified.sha256})
    return download(content, media_type, filename)


def ratified_export(ratified: Ratification, kind: str, lang: str) -> tuple[bytes, str, str]:
    """The one export of a ratified text per kind and language: `verify` rebuilds it."""
    return exports.export(
        kind,
        title=ratified.title,
        version=ratified.decided_on,
        status="ratified",
        date=ratified.decided_on,
        markdown=ratified.markdown,
        lang=lang,
    )


async def record_adoption(request: Request) -> Response:
    db, user_id, ratified = await _ratified_text(request)
    data = await read_json(request)
    short = data.get("organization")
    if not isinstance(short, str):
        raise BadRequest("organization must be an organization's short name")

    def write(conn: sqlite3.Connection) -> dict[str, Any]:
        organization = people.organization_by_short(conn, short)
        allowed = {o.id for o in recordable(conn, ratified.document_id, user_id)}
        if organization.id not in allowed:
            raise Forbidden(
                "only the document's chairs, admins, and that organization's chairs and "
                "delegates of the document record its adoption"
            )
        adoption = ratifications.record_adoption(
            conn, ratified.document_id, organization.id, data, user_id
        )
        details = {
            "organization": organization.short_name,
            "decision": adoption.decision,
            "date": adoption.decided_on,
            "sha256": ratified.sha256,
        }
        actor = audit.actor_of(conn, user_id)
        audit.append(conn, actor, "document.adoption", ratified.document_id, details)
        found = ratification_json(conn, ratified, user_id)
        return next(a for a in found["adoptions"] if a["organization"]["id"] == organization.id)

    return JSONResponse(await db.write(write), status_code=201)


async def set_public(request: Request) -> Response:
    db, user_id, ratified = await _ratified_text(request)
    value = (await read_json(request)).get("public")
    if not isinstance(value, bool):
        raise BadRequest("public must be true or false")

    def write(conn: sqlite3.Connection) -> str | None:
        role = members.role_of(conn, ratified.document_id, user_id)
        if not members.can_manage(role):
            raise Forbidden("only the document's chairs publish it")
        slug = ratifications.publish(conn, ratified.document_id, value, user_id)
        actor = audit.actor_of(conn, user_id)
        audit.append(conn, actor, "document.publish", ratified.document_id, {"public": value})
        return slug

    slug = await db.write(write)
    return JSONResponse({"public_url": f"/p/{slug}" if slug else None})


async def public_text(request: Request) -> Response:
    db: Database = request.app.state.db
    slug = request.path_params["slug"]

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        document_id = ratifications.published(conn, slug) if len(slug) <= 64 else None
        ratified = ratifications.ratification(conn, document_id) if document_id else None
        if ratified is None:
            raise NotFound("ratified text not found")
        return ratification_json(conn, ratified, None, public=True)

    return JSONResponse(await db.read(read))


def routes() -> list[Route]:
    return [
        Route("/api/ratified", list_ratified, methods=["GET"]),
        Route("/api/ratified/{document_id}", get_ratified, methods=["GET"]),
        Route("/api/ratified/{document_id}/export", export_ratified, methods=["GET"]),
        Route("/api/ratified/{document_id}/adoptions", record_adoption, methods=["POST"]),
        Route("/api/ratified/{document_id}/public", set_public, methods=["PUT"]),
        Route("/api/public/{slug}", public_text, methods=["GET"]),
    ]
