"""The JSON API of people: signing in and out, the current person, one-time links."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import audit, documents, members, people, sessions
from server.api import read_json
from server.auth import (
    COOKIE,
    Identity,
    RateLimit,
    clear_session_cookie,
    identify,
    require,
    set_session_cookie,
)
from server.db import Database
from server.errors import BadRequest, Conflict, NotFound, Unauthorized
from server.passwords import check_strength, hash_password, verify
from server.sessions import digest
from server.sync.rooms import Rooms
from server.sync_socket import identity_of

ROLE_RANK = {"observer": 0, "reviewer": 1, "delegate": 2, "chair": 3}


def me_json(conn: sqlite3.Connection, identity: Identity) -> dict[str, Any]:
    user = identity.user
    data = user.to_json()
    data["can_create"] = user.is_admin or members.is_chair_anywhere(conn, user.id)
    data["color"] = identity_of(user)["color"]
    return data


async def sign_in(request: Request) -> Response:
    data = await read_json(request)
    email = str(data.get("email") or "").strip().lower()
    password = data.get("password")
    if not email or not isinstance(password, str):
        raise BadRequest("email and password are required")
    limits: RateLimit = request.app.state.login_limits
    address = request.client.host if request.client else "?"
    keys = (f"email:{email}", f"address:{address}")
    limits.attempt(*keys)
    db: Database = request.app.state.db
    found = await db.read(lambda conn: people.password_hash_of(conn, email))
    # argon2 is slow on purpose: verify off the event loop so nobody else waits.
    valid = await asyncio.to_thread(verify, found[1] if found else None, password)
    if not valid or found is None:
        raise Unauthorized("wrong email or password")
    limits.forgive(*keys)
    user_id = found[0]
    secret = await db.write(lambda conn: sessions.start_session(conn, user_id))
    user = await db.read(lambda conn: people.user_by_id(conn, user_id))
    assert user is not None
    response = JSONResponse(user.to_json())
    set_session_cookie(response, request, secret)
    return response


async def sign_out(request: Request) -> Response:
    db: Database = request.app.state.db
    secret = request.cookies.get(COOKIE)
    if secret:
        await db.write(lambda conn: sessions.end_session(conn, secret))
        rooms: Rooms = request.app.state.rooms
        rooms.close_where(lambda peer: peer.session == digest(secret), 4401, "signed out")
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response


async def me(request: Request) -> Response:
    identity = await require(request)
    db: Database = request.app.state.db
    return JSONResponse(await db.lookup(lambda conn: me_json(conn, identity)))


async def update_me(request: Request) -> Response:
    identity = await require(request)
    data = await read_json(request)
    db: Database = request.app.state.db
    await db.write(lambda conn: people.set_language(conn, identity.user.id, data.get("language")))
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    identity = await require(request)
    data = await read_json(request)
    current, new = data.get("current_password"), data.get("new_password")
    if not isinstance(current, str):
        raise BadRequest("current_password is required")
    new = check_strength(new)
    db: Database = request.app.state.db
    found = await db.read(lambda conn: people.password_hash_of(conn, identity.user.email))
    if found is None or not await asyncio.to_thread(verify, found[1], current):
        raise BadRequest("the current password is wrong")
    hashed = await asyncio.to_thread(hash_password, new)

    def change(conn: sqlite3.Connection) -> str:
        people.set_password(conn, identity.user.id, None, password_hash=hashed)
        sessions.end_all_sessions(conn, identity.user.id)
        details = {"user": audit.person(conn, identity.user.id), "via": "account page"}
        audit.append(conn, audit.user_actor(identity.user), "user.password", None, details)
        return sessions.start_session(conn, identity.user.id)

    secret = await db.write(change)
    rooms: Rooms = request.app.state.rooms
    rooms.close_where(lambda peer: peer.user_id == identity.user.id, 4401, "password changed")
    response = Response(status_code=204)
    set_session_cookie(response, request, secret)
    return response


# -- one-time links -----------------------------------------------------------------------


async def _link(request: Request) -> sessions.Link:
    token = request.path_params["token"]
    db: Database = request.app.state.db
    link = await db.read(lambda conn: sessions.find_link(conn, token))
    if link is None:
        raise NotFound("this link is invalid, used or expired")
    return link


async def show_link(request: Request) -> Response:
    link = await _link(request)
    db: Database = request.app.state.db
    identity = await identify(request, db)
    body: dict[str, Any] = {
        "kind": link.kind,
        "email": link.email,
        "name": None,
        "document": None,
        "role": link.role,
        "signed_in": identity is not None,
    }
    if link.user_id is not None:
        user = await db.read(lambda conn: people.user_by_id(conn, link.user_id or 0))
        if user is None:
            raise NotFound("this link is invalid, used or expired")
        body["email"], body["name"] = user.email, user.name
    if link.document_id is not None:
        doc = await db.read(lambda conn: documents.get(conn, link.document_id or ""))
        body["document"] = {"title": doc.title} if doc else None
    return JSONResponse(body)


async def use_link(request: Request) -> Response:
    link = await _link(request)
    data = await read_json(request)
    db: Database = request.app.state.db
    identity = await identify(request, db)
    if "password" in data:  # hash off the writer thread
        data["password_hash"] = await asyncio.to_thread(
            hash_password, check_strength(data["password"])
        )

    def consume(conn: sqlite3.Connection) -> tuple[int, str]:
        if not sessions.use_link(conn, link.id):
            raise NotFound("this link is invalid, used or expired")
        user_id = _apply_link(conn, link, data, identity)
        return user_id, sessions.start_session(conn, user_id)

    user_id, secret = await db.write(consume)
    if link.kind == "password":
        rooms: Rooms = request.app.state.rooms
        rooms.close_where(lambda peer: peer.user_id == user_id, 4401, "password reset")
    redirect = f"/documents/{link.document_id}" if link.document_id else "/"
    response = JSONResponse({"redirect": redirect})
    set_session_cookie(response, request, secret)
    return response


def _apply_link(
    conn: sqlite3.Connection, link: sessions.Link, data: dict[str, Any], identity: Identity | None
) -> int:
    if link.kind == "setup":
        if people.count_users(conn) > 0:
            raise Conflict("Accord is already set up")
        admin_id = people.add_user(
            conn,
            data.get("email"),
            data.get("name"),
            None,
            data.get("password"),
            is_admin=True,
            language=_language(data),
            password_hash=data.get("password_hash"),
        )
        details = {"user": audit.person(conn, admin_id), "admin": True, "via": "setup link"}
        audit.append(conn, audit.actor_of(conn, admin_id), "user.add", None, details)
        return admin_id
    if link.kind in ("invite", "password"):
        assert link.user_id is not None
        people.set_password(
            conn, link.user_id, data.get("password"), password_hash=data.get("password_hash")
        )
        sessions.end_all_sessions(conn, link.user_id)
        if link.kind == "invite" and data.get("name"):
            name = people.clean_text(data.get("name"), "name")
            conn.execute("UPDATE users SET name = ? WHERE id = ?", (name, link.user_id))
        action = "user.activate" if link.kind == "invite" else "user.password"
        details = {"user": audit.person(conn, link.user_id), "via": f"{link.kind} link"}
        audit.append(conn, audit.actor_of(conn, link.user_id), action, None, details)
        return link.user_id
    # an invitation to a document
    assert link.document_id is not None and link.role is not None
    if identity is not None:
        user_id = identity.user.id
        if link.email and link.email != identity.user.email:
            raise BadRequest("this invitation is for another email address")
    else:
        email = people.clean_email(data.get("email"))
        if link.email and link.email != email:
            raise BadRequest("this invitation is for another email address")
        if people.user_by_email(conn, email) is not None:
            raise Unauthorized("you already have an account: sign in first")
        user_id = people.add_user(
            conn,
            email,
            data.get("name"),
            None,
            data.get("password"),
            language=_language(data),
            password_hash=data.get("password_hash"),
        )
        details = {"user": audit.person(conn, user_id), "via": "document invitation"}
        audit.append(conn, audit.actor_of(conn, user_id), "user.add", None, details)
    current = members.role_of(conn, link.document_id, user_id)
    if current is None or ROLE_RANK[link.role] > ROLE_RANK[current]:
        members.set_role(conn, link.document_id, user_id, link.role)
    _record_invitation(conn, link, user_id, current)
    return user_id


def _record_invitation(
    conn: sqlite3.Connection, link: sessions.Link, user_id: int, previous: str | None
) -> None:
    """A document invitation used: the membership it gave, raised, or (already higher) kept."""
    role = members.role_of(conn, link.document_id or "", user_id)
    action = "member.add" if previous is None else "member.role"
    if role == previous:
        action = "invitation.use"
    details = {
        "member": audit.person(conn, user_id),
        "role": role,
        "previous_role": previous,
        "invitation": link.id,
    }
    audit.append(conn, audit.actor_of(conn, user_id), action, link.document_id, details)


def _language(data: dict[str, Any]) -> str:
    language = data.get("language")
    return language if language in people.LANGUAGES else "es"
