"""The JSON API of a document's members and invitations (chairs manage; members read)."""

from __future__ import annotations

import sqlite3

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import audit, members, people, sessions
from server.api import find, read_json
from server.auth import require
from server.db import Database
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.sync.rooms import Rooms


async def _chair(request: Request) -> tuple[str, int]:
    """(document id, chair's user id), or 404 / 403."""
    identity = await require(request)
    document, role = await find(
        request.app.state.db, request.path_params["document_id"], identity.user.id
    )
    if not members.can_manage(role):
        raise Forbidden("only the document's chairs manage members")
    return document.id, identity.user.id


async def list_members(request: Request) -> Response:
    identity = await require(request)
    db: Database = request.app.state.db
    document, role = await find(db, request.path_params["document_id"], identity.user.id)
    chair = members.can_manage(role)
    found = await db.read(lambda conn: members.members(conn, document.id))
    body: dict[str, object] = {
        "members": [m.to_json(show_email=chair) for m in found],
        "invitations": [],
        "can_manage": chair,
    }
    if chair:
        pending = await db.read(lambda conn: sessions.pending_invitations(conn, document.id))
        body["invitations"] = [
            {"id": link.id, "role": link.role, "email": link.email, "expires_at": link.expires_at}
            for link in pending
        ]
    return JSONResponse(body)


async def add_member(request: Request) -> Response:
    document_id, chair_id = await _chair(request)
    data = await read_json(request)
    role = members.clean_role(data.get("role"))
    email = people.clean_email(data.get("email"))
    db: Database = request.app.state.db

    def add(conn: sqlite3.Connection) -> int:
        user = people.user_by_email(conn, email)
        if user is None:
            raise NotFound("no account with that email; send an invitation link instead")
        if members.role_of(conn, document_id, user.id) is not None:
            raise Conflict("already a member")
        members.set_role(conn, document_id, user.id, role)
        details = {"member": audit.person(conn, user.id), "role": role}
        audit.append(conn, audit.actor_of(conn, chair_id), "member.add", document_id, details)
        return user.id

    user_id = await db.write(add)
    return JSONResponse({"user_id": user_id, "role": role}, status_code=201)


async def change_role(request: Request) -> Response:
    document_id, chair_id = await _chair(request)
    user_id = _user_id(request)
    data = await read_json(request)
    role = members.clean_role(data.get("role"))
    db: Database = request.app.state.db

    def change(conn: sqlite3.Connection) -> None:
        current = members.role_of(conn, document_id, user_id)
        if current is None:
            raise NotFound("not a member")
        if current == "chair" and role != "chair":
            if members.chairs_left(conn, document_id) < 2:
                raise Conflict("a document keeps at least one chair")
            sessions.revoke_links_by(conn, user_id, document_id)
        members.set_role(conn, document_id, user_id, role)
        details = {"member": audit.person(conn, user_id), "role": role, "previous_role": current}
        audit.append(conn, audit.actor_of(conn, chair_id), "member.role", document_id, details)

    await db.write(change)
    rooms: Rooms = request.app.state.rooms
    rooms.apply_role(document_id, user_id, role)
    request.app.state.events.apply_role(document_id, user_id, role)
    return JSONResponse({"user_id": user_id, "role": role})


async def remove_member(request: Request) -> Response:
    document_id, chair_id = await _chair(request)
    user_id = _user_id(request)
    db: Database = request.app.state.db

    def remove(conn: sqlite3.Connection) -> None:
        current = members.role_of(conn, document_id, user_id)
        if current is None:
            raise NotFound("not a member")
        if current == "chair":
            if members.chairs_left(conn, document_id) < 2:
                raise Conflict("a document keeps at least one chair")
            sessions.revoke_links_by(conn, user_id, document_id)
        members.remove(conn, document_id, user_id)
        details = {"member": audit.person(conn, user_id), "previous_role": current}
        audit.append(conn, audit.actor_of(conn, chair_id), "member.remove", document_id, details)

    await db.write(remove)
    rooms: Rooms = request.app.state.rooms
    rooms.apply_role(document_id, user_id, None)
    request.app.state.events.apply_role(document_id, user_id, None)
    return Response(status_code=204)


async def create_invitation(request: Request) -> Response:
    document_id, chair_id = await _chair(request)
    data = await read_json(request)
    role = members.clean_role(data.get("role"))
    email = people.clean_email(data["email"]) if data.get("email") else None
    db: Database = request.app.state.db

    def create(conn: sqlite3.Connection) -> tuple[str, sessions.Link]:
        secret, link = sessions.create_link(
            conn, "document", document_id=document_id, role=role, email=email, created_by=chair_id
        )
        actor = audit.actor_of(conn, chair_id)
        details = {"invitation": link.id, "role": role, "email": email}
        audit.append(conn, actor, "invitation.create", document_id, details)
        return secret, link

    secret, link = await db.write(create)
    url = str(request.base_url).rstrip("/") + f"/link/{secret}"
    return JSONResponse(
        {"id": link.id, "url": url, "role": role, "email": email, "expires_at": link.expires_at},
        status_code=201,
    )


async def revoke_invitation(request: Request) -> Response:
    document_id, chair_id = await _chair(request)
    try:
        link_id = int(request.path_params["invitation_id"])
    except ValueError as exc:
        raise NotFound("no such invitation") from exc
    db: Database = request.app.state.db

    def revoke(conn: sqlite3.Connection) -> bool:
        if not sessions.revoke_link(conn, link_id, document_id):
            return False
        actor = audit.actor_of(conn, chair_id)
        audit.append(conn, actor, "invitation.revoke", document_id, {"invitation": link_id})
        return True

    if not await db.write(revoke):
        raise NotFound("no such invitation")
    return Response(status_code=204)


def _user_id(request: Request) -> int:
    try:
        return int(request.path_params["user_id"])
    except ValueError as exc:
        raise BadRequest("user id must be a number") from exc
