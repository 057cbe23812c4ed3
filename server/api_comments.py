"""The JSON API of review: comment threads, suggestions, their live events and unread notices.
Deciding on suggestions is `server.api_suggestions`.

Who may do what (enforced here, whatever the browser shows):

- chairs, delegates and reviewers comment, suggest, reply, resolve and reopen; observers read;
- authors edit their own comments; authors or chairs remove them (a chair's removal shows).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import audit, comments, documents, members, notices
from server.anchors import Resolver, Unknown, decode
from server.api import find, read_json
from server.auth import identify, require
from server.comments import Comment, Placement, Viewer
from server.db import Database
from server.errors import BadRequest, Conflict, NotFound
from server.events import Hub, Listener
from server.sync.rooms import Rooms

RECHECK_SECONDS = 5.0  # an open event stream re-checks the session and role this often


class Context:
    """One request about one document: who asks, in which role, and the shared services."""

    def __init__(self, request: Request, user_id: int, document_id: str, role: str) -> None:
        self.request = request
        self.user_id = user_id
        self.document_id = document_id
        self.role = role
        self.db: Database = request.app.state.db
        self.rooms: Rooms = request.app.state.rooms
        self.hub: Hub = request.app.state.events

    @classmethod
    async def of(cls, request: Request) -> Context:
        identity = await require(request)
        document, role = await find(
            request.app.state.db, request.path_params["document_id"], identity.user.id
        )
        return cls(request, identity.user.id, document.id, role)

    async def viewer(self) -> Viewer:
        decide, writable = await self.db.lookup(self.review_settings)
        return Viewer(self.user_id, self.role, decide, writable)

    def review_settings(self, conn: sqlite3.Connection) -> tuple[bool, bool]:
        document = documents.get(conn, self.document_id)
        writable = document is not None and document.writable
        return comments.delegates_decide(conn, self.document_id), writable

    def id_param(self, name: str) -> int:
        raw = self.request.path_params[name]
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound("comment not found")
        return int(raw)


# -- placing threads in the current text ---------------------------------------------------


def place(resolver: Resolver, thread: Comment) -> Placement | None:
    if thread.anchor_start is None or thread.anchor_end is None:
        return None
    try:
        start = resolver.resolve(decode(thread.anchor_start))
        end = max(start, resolver.resolve(decode(thread.anchor_end)))
    except (Unknown, BadRequest):
        return None
    offsets = resolver.offsets
    start, end = offsets.char_start(start), offsets.char_start(end)
    return Placement(
        start,
        end,
        offsets.line_at_utf16(start),
        offsets.line_at_utf16(end),
        offsets.slice_utf16(start, end),
    )


async def placements(ctx: Context, threads: list[Comment]) -> dict[int, Placement | None]:
    async with ctx.rooms.borrow(ctx.document_id) as room:
        resolver = Resolver(room.doc)
        return {t.id: place(resolver, t) for t in threads}


async def publish(ctx: Context, thread_id: int) -> dict[str, Any]:
    """Tell everyone with the document open; answer the caller with the same thread."""
    thread = await ctx.db.read(lambda c: comments.thread(c, ctx.document_id, thread_id))
    placement = (await placements(ctx, [thread]))[thread.id]
    decide, writable = await ctx.db.lookup(ctx.review_settings)

    def build(listener: Listener) -> dict[str, Any]:
        viewer = Viewer(listener.user_id, listener.role, decide, writable)
        return comments.thread_json(thread, viewer, placement)

    ctx.hub.publish(ctx.document_id, "thread", build)
    viewer = Viewer(ctx.user_id, ctx.role, decide, writable)
    return comments.thread_json(thread, viewer, placement)


# -- reading -------------------------------------------------------------------------------


async def list_threads(request: Request) -> Response:
    ctx = await Context.of(request)
    viewer = await ctx.viewer()
    threads = await ctx.db.read(lambda c: comments.threads(c, ctx.document_id))
    placed = await placements(ctx, threads)
    query = request.query_params
    status, kind = query.get("status"), query.get("kind")
    if kind is not None and kind not in comments.KINDS:
        raise BadRequest("kind must be comment or suggestion")
    if status is not None and status not in ("open", "resolved", "accepted", "rejected"):
        raise BadRequest("status must be open, resolved, accepted or rejected")
    organization = query.get("organization")
    if organization is not None and not organization.isdigit():
        raise BadRequest("organization must be an organization id")
    found = [
        t
        for t in threads
        if (kind is None or t.kind == kind)
        and (status is None or t.status == status)
        and (query.get("mine") not in ("1", "true") or t.author.id == ctx.user_id)
        and (
            organization is None
            or (t.author.organization or {}).get("id") == int(organization or 0)
        )
    ]
    body = [comments.thread_json(t, viewer, placed[t.id]) for t in found]
    body.sort(key=lambda j: (j["deleted"] or j["range"] is None, _start(j), j["id"]))
    organizations = {o["id"]: o for t in threads if (o := t.author.organization) is not None}
    return JSONResponse(
        {
            "threads": body,
            "can_comment": comments.can_comment(ctx.role),
            "can_decide": comments.can_decide(ctx.role, viewer.delegates_decide)
            and viewer.writable,
            "delegates_decide": viewer.delegates_decide,
            "organizations": sorted(organizations.values(), key=lambda o: o["short_name"]),
        }
    )


def _start(thread: dict[str, Any]) -> int:
    placed = thread["range"]
    return int(placed["from"]) if placed else 0


# -- creating ------------------------------------------------------------------------------


async def create_comment(request: Request) -> Response:
    return await _create(request, "comment")


async def create_suggestion(request: Request) -> Response:
    return await _create(request, "suggestion")


async def _create(request: Request, kind: str) -> Response:
    ctx = await Context.of(request)
    comments.check_may(
        comments.can_comment(ctx.role), "observers read; they do not comment or suggest"
    )
    data = await read_json(request)
    anchor = data.get("anchor")
    if not isinstance(anchor, dict):
        raise BadRequest("anchor must be an object with start and end")
    start, end = decode(anchor.get("start")), decode(anchor.get("end"))
    replacement: str | None = None
    if kind == "suggestion":
        replacement = comments.clean_replacement(data.get("replacement"))
        body = comments.clean_body(data.get("body"), required=False)
    else:
        body = comments.clean_body(data.get("body"))
    claimed = data.get("quote")
    if claimed is not None and not isinstance(claimed, str):
        raise BadRequest("quote must be a string")

    async with ctx.rooms.borrow(ctx.document_id) as room:
        resolver = Resolver(room.doc)
        try:
            first = resolver.resolve(start)
            last = resolver.resolve(end)
        except Unknown:
            raise Conflict(
                "the text you selected has not reached the server yet; try again", retry=True
            ) from None
        if last < first:
            raise BadRequest("the anchor's end is before its start")
        offsets = resolver.offsets
        try:
            quote = offsets.slice_utf16(first, last)
        except ValueError:
            raise BadRequest("the anchor splits a character") from None
    if kind == "suggestion":
        if claimed is not None and claimed != quote:
            raise Conflict(
                "the text changed while you were writing; select it again", current=quote
            )
        if quote == replacement:
            raise BadRequest("a suggestion must change the text")
    anchor_pair = (str(anchor["start"]), str(anchor["end"]))

    def create(conn: sqlite3.Connection) -> int:
        return comments.create_thread(
            conn, ctx.document_id, ctx.user_id, kind, body, anchor_pair, quote, replacement
        )

    thread_id = await ctx.db.write(create)
    return JSONResponse(await publish(ctx, thread_id), status_code=201)


async def reply(request: Request) -> Response:
    ctx = await Context.of(request)
    comments.check_may(comments.can_comment(ctx.role), "observers read; they do not reply")
    thread_id = ctx.id_param("thread_id")
    body = comments.clean_body((await read_json(request)).get("body"))
    await ctx.db.write(
        lambda c: comments.add_reply(c, ctx.document_id, thread_id, ctx.user_id, body)
    )
    return JSONResponse(await publish(ctx, thread_id), status_code=201)


# -- changing ------------------------------------------------------------------------------


async def edit(request: Request) -> Response:
    ctx = await Context.of(request)
    comment_id = ctx.id_param("comment_id")
    body_value = (await read_json(request)).get("body")
    viewer = await ctx.viewer()

    def change(conn: sqlite3.Connection) -> int:
        target = comments.comment(conn, ctx.document_id, comment_id)
        comments.check_may(comments.may_edit(target, viewer), "only the author edits a comment")
        body = comments.clean_body(body_value, required=target.kind != "suggestion")
        comments.edit_body(conn, target, ctx.user_id, body)
        return target.thread_id or target.id

    thread_id = await ctx.db.write(change)
    return JSONResponse(await publish(ctx, thread_id))


async def delete(request: Request) -> Response:
    ctx = await Context.of(request)
    comment_id = ctx.id_param("comment_id")
    viewer = await ctx.viewer()

    def remove(conn: sqlite3.Connection) -> int:
        target = comments.comment(conn, ctx.document_id, comment_id)
        if target.removed:
            raise NotFound("comment not found")
        comments.check_may(
            comments.may_delete(target, viewer), "only the author or a chair removes a comment"
        )
        comments.remove(conn, target, ctx.user_id)
        if target.author.id != ctx.user_id:
            details = {"comment": target.id, "author": audit.person(conn, target.author.id)}
            actor = audit.actor_of(conn, ctx.user_id)
            audit.append(conn, actor, "comment.moderate", ctx.document_id, details)
        return target.thread_id or target.id

    thread_id = await ctx.db.write(remove)
    return JSONResponse(await publish(ctx, thread_id))


async def resolve(request: Request) -> Response:
    return await _set_comment_status(request, "resolved")


async def reopen(request: Request) -> Response:
    return await _set_comment_status(request, "open")


async def _set_comment_status(request: Request, status: str) -> Response:
    ctx = await Context.of(request)
    comments.check_may(
        comments.can_comment(ctx.role), "observers read; they do not resolve comments"
    )
    thread_id = ctx.id_param("thread_id")

    def change(conn: sqlite3.Connection) -> None:
        target = comments.thread(conn, ctx.document_id, thread_id)
        if target.kind != "comment":
            raise BadRequest("suggestions are accepted or rejected, not resolved")
        if target.removed:
            raise NotFound("comment not found")
        comments.set_status(conn, target, status, ctx.user_id if status != "open" else None)

    await ctx.db.write(change)
    return JSONResponse(await publish(ctx, thread_id))


# -- notices and the live stream -------------------------------------------------------------


async def mark_read(request: Request) -> Response:
    ctx = await Context.of(request)
    await ctx.db.write(lambda c: notices.mark_read(c, ctx.user_id, ctx.document_id))
    return JSONResponse({"unread": 0})


async def events(request: Request) -> Response:
    ctx = await Context.of(request)
    listener = ctx.hub.listen(ctx.document_id, ctx.user_id, ctx.role)

    async def still_allowed() -> bool:
        identity = await identify(request, ctx.db)
        if identity is None or identity.user.id != ctx.user_id:
            return False
        role = await ctx.db.lookup(lambda c: members.role_of(c, ctx.document_id, ctx.user_id))
        if role is None:
            return False
        listener.role = role
        return True

    async def stream() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": "{}"}
            while True:
                try:
                    item = await asyncio.wait_for(listener.queue.get(), RECHECK_SECONDS)
                except TimeoutError:
                    if not await still_allowed():
                        return
                    continue
                if item is None:
                    return
                yield {"event": item[0], "data": item[1]}
        finally:
            ctx.hub.drop(listener)

    return EventSourceResponse(
        stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def routes() -> list[Route]:
    doc = "/api/documents/{document_id}"
    return [
        Route(f"{doc}/comments", list_threads, methods=["GET"]),
        Route(f"{doc}/comments", create_comment, methods=["POST"]),
        Route(f"{doc}/suggestions", create_suggestion, methods=["POST"]),
        Route(f"{doc}/comments/{{thread_id}}/replies", reply, methods=["POST"]),
        Route(f"{doc}/comments/{{comment_id}}", edit, methods=["PATCH"]),
        Route(f"{doc}/comments/{{comment_id}}", delete, methods=["DELETE"]),
        Route(f"{doc}/comments/{{thread_id}}/resolve", resolve, methods=["POST"]),
        Route(f"{doc}/comments/{{thread_id}}/reopen", reopen, methods=["POST"]),
        Route(f"{doc}/events", events, methods=["GET"]),
        Route(f"{doc}/notices/read", mark_read, methods=["POST"]),
    ]
