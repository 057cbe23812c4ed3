"""The JSON API of decisions on suggestions: accepting or rejecting one, and whether
delegates may decide (a document setting only its chairs change).

Chairs accept or reject suggestions, and delegates too where a chair allows it (enforced
here, whatever the browser shows). Accepting a suggestion edits the live text through the
room (`Room.edit`): one CRDT edit, stored before it is broadcast, like any delegate's
keystroke; it is refused (409) if the suggested passage changed since.

Decisions on one document's suggestions are taken one at a time (`Decisions`): a decision
reads the suggestion's status, may edit the text, and stores the new status, with awaits in
between; two chairs deciding the same suggestion at the same moment must not both see it
open (an accept and a reject racing could leave the text edited and the suggestion marked
rejected). The second one waits, then finds it decided: 409.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import audit, comments, documents, members
from server.anchors import Resolver
from server.api import read_json
from server.api_comments import Context, place, publish
from server.comments import Comment
from server.errors import BadRequest, Conflict, NotFound


class Decisions:
    """A lock per document for decisions on its suggestions, kept only while in use.

    One process serves a database (rooms live in its memory), so an in-process lock orders
    every decision on a document."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def one_at_a_time(self, document_id: str) -> AsyncIterator[None]:
        lock, users = self._held.setdefault(document_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._held[document_id]

    def __len__(self) -> int:
        return len(self._held)


async def accept(request: Request) -> Response:
    ctx, thread_id = await _decider(request)
    async with decisions(request).one_at_a_time(ctx.document_id):
        target = await _open_suggestion(ctx, thread_id)
        await _apply(ctx, target)
        return await _record(ctx, target, "accepted", "suggestion.accept")


async def _apply(ctx: Context, target: Comment) -> None:
    """Make the suggested change in the live text, if its passage is still what was quoted."""
    document = await ctx.db.read(lambda c: documents.get(c, ctx.document_id))
    if document is None or not document.writable:
        raise Conflict("the text is not a draft now; it cannot change")
    replacement = target.replacement or ""
    async with ctx.rooms.borrow(ctx.document_id) as room:
        # Checked and applied with no await in between: no other edit can come between.
        resolver = Resolver(room.doc)
        placement = place(resolver, target)
        quote = target.quote or ""
        if (
            placement is None
            or placement.current != quote
            or (quote and placement.start >= placement.end)
        ):
            current = placement.current if placement is not None else ""
            raise Conflict(
                "the text changed since this suggestion was made",
                conflict={"quote": quote, "current": current},
            )
        offsets = resolver.offsets
        first = offsets.utf8_from_utf16(placement.start)
        last = offsets.utf8_from_utf16(placement.end)

        def apply(text: Any) -> None:
            if last > first:
                del text[first:last]
            if replacement:
                text.insert(first, replacement)

        room.edit(apply, author=ctx.user_id)


async def reject(request: Request) -> Response:
    ctx, thread_id = await _decider(request)
    async with decisions(request).one_at_a_time(ctx.document_id):
        target = await _open_suggestion(ctx, thread_id)
        return await _record(ctx, target, "rejected", "suggestion.reject")


async def _record(ctx: Context, target: Comment, status: str, action: str) -> Response:
    """Store the decision with its audit entry, and tell everyone with the document open."""

    def record(conn: sqlite3.Connection) -> None:
        comments.set_status(conn, target, status, ctx.user_id)
        details = {"suggestion": target.id, "suggested_by": audit.person(conn, target.author.id)}
        audit.append(conn, audit.actor_of(conn, ctx.user_id), action, ctx.document_id, details)

    await ctx.db.write(record)
    return JSONResponse(await publish(ctx, target.id))


def decisions(request: Request) -> Decisions:
    held: Decisions = request.app.state.decisions
    return held


async def _decider(request: Request) -> tuple[Context, int]:
    """Who decides, if they may, and on which thread."""
    ctx = await Context.of(request)
    viewer = await ctx.viewer()
    comments.check_may(
        comments.can_decide(ctx.role, viewer.delegates_decide),
        "only chairs (and delegates, where a chair allows it) accept or reject suggestions",
    )
    return ctx, ctx.id_param("thread_id")


async def _open_suggestion(ctx: Context, thread_id: int) -> Comment:
    """The suggestion as it is now (read under the document's decision lock): still open."""
    target = await ctx.db.read(lambda c: comments.thread(c, ctx.document_id, thread_id))
    if target.kind != "suggestion" or target.removed:
        raise NotFound("suggestion not found")
    if target.status != "open":
        raise Conflict(f"this suggestion was already {target.status}", decided=target.status)
    return target


async def settings(request: Request) -> Response:
    ctx = await Context.of(request)
    comments.check_may(members.can_manage(ctx.role), "only the document's chairs change this")
    value = (await read_json(request)).get("delegates_decide")
    if not isinstance(value, bool):
        raise BadRequest("delegates_decide must be true or false")

    def change(conn: sqlite3.Connection) -> None:
        comments.set_delegates_decide(conn, ctx.document_id, value)
        actor = audit.actor_of(conn, ctx.user_id)
        audit.append(conn, actor, "document.settings", ctx.document_id, {"delegates_decide": value})

    await ctx.db.write(change)
    ctx.hub.publish(ctx.document_id, "settings", lambda _: {"delegates_decide": value})
    return JSONResponse({"delegates_decide": value})


def routes() -> list[Route]:
    doc = "/api/documents/{document_id}"
    return [
        Route(f"{doc}/suggestions/{{thread_id}}/accept", accept, methods=["POST"]),
        Route(f"{doc}/suggestions/{{thread_id}}/reject", reject, methods=["POST"]),
        Route(f"{doc}/settings", settings, methods=["PUT"]),
    ]
