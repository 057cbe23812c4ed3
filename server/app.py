"""create_app(settings) -> Starlette: routes, middleware, lifespan. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from starlette_csrf.middleware import CSRFMiddleware

from server import (
    access_watch,
    api,
    api_audit,
    api_comments,
    api_members,
    api_people,
    api_ratified,
    api_status,
    api_suggestions,
    api_verify,
    api_versions,
    pages,
    people,
    sessions,
)
from server.auth import COOKIE, RateLimit
from server.connection import server_secret
from server.db import Database
from server.errors import HTTPError
from server.events import Hub
from server.security import SecurityHeaders
from server.settings import Settings
from server.sync.rooms import Rooms
from server.sync.store import UpdateLog
from server.sync_socket import sync_endpoint
from server.ws_protocol import CREDENTIAL_FAILURES, cork

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with Database(settings.db, settings.commit_interval_ms) as db:
            rooms = Rooms(UpdateLog(db), settings)
            # The broadcasts a commit releases go out as one write per connection.
            db.writer.around_callbacks = (cork.begin, cork.end)
            await announce_setup(db, settings)
            app.state.db = db
            app.state.rooms = rooms
            app.state.events = Hub()
            rooms.on_quiet = api_versions.quiet_snapshots(db)
            watcher = asyncio.create_task(access_watch.watch(rooms, db))
            try:
                # The lifespan state reaches the websocket protocol before the app does: an
                # address past its limit of failed credentials is refused there, cheaply.
                yield {CREDENTIAL_FAILURES: app.state.credential_failures}
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                await rooms.close()

    app = Starlette(
        routes=[
            Route("/", pages.documents_page),
            Route("/favicon.ico", pages.favicon),
            Route("/login", pages.login_page),
            Route("/account", pages.account_page),
            Route("/link/{token}", pages.link_page),
            Route("/api/session", api_people.sign_in, methods=["POST"]),
            Route("/api/session", api_people.sign_out, methods=["DELETE"]),
            Route("/api/me", api_people.me, methods=["GET"]),
            Route("/api/me", api_people.update_me, methods=["PUT"]),
            Route("/api/me/password", api_people.change_password, methods=["POST"]),
            Route("/api/links/{token}", api_people.show_link, methods=["GET"]),
            Route("/api/links/{token}", api_people.use_link, methods=["POST"]),
            *api_comments.routes(),
            *api_suggestions.routes(),
            *api_versions.routes(),
            *api_status.routes(),
            *api_ratified.routes(),
            *api_verify.routes(),
            Route("/ratified", pages.ratified_page),
            Route("/ratified/{document_id}", pages.ratified_page),
            Route("/verify", pages.verify_page),
            Route("/p/{slug}", pages.public_page),
            Route("/api/documents/{document_id}/members", api_members.list_members),
            Route(
                "/api/documents/{document_id}/members",
                api_members.add_member,
                methods=["POST"],
            ),
            Route(
                "/api/documents/{document_id}/members/{user_id}",
                api_members.change_role,
                methods=["PUT"],
            ),
            Route(
                "/api/documents/{document_id}/members/{user_id}",
                api_members.remove_member,
                methods=["DELETE"],
            ),
            Route(
                "/api/documents/{document_id}/invitations",
                api_members.create_invitation,
                methods=["POST"],
            ),
            Route(
                "/api/documents/{document_id}/invitations/{invitation_id}",
                api_members.revoke_invitation,
                methods=["DELETE"],
            ),
            Route("/api/documents/{document_id}/audit", api_audit.document_audit),
            Route("/documents/{document_id}", pages.editor_page),
            Route("/api/documents", api.list_documents, methods=["GET"]),
            Route("/api/documents", api.create_document, methods=["POST"]),
            Route("/api/documents/{document_id}", api.get_document, methods=["GET"]),
            WebSocketRoute("/sync/{document_id}", sync_endpoint),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                JSONCSRFMiddleware,
                secret=server_secret(settings.db, "csrf"),
                sensitive_cookies={COOKIE},
                header_name="x-csrftoken",
            ),
        ],
        exception_handlers={HTTPError: accord_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_limits = RateLimit(limit=5, window=60)
    app.state.credential_failures = RateLimit(settings.credential_failures_per_minute, 60)
    app.state.decisions = api_suggestions.Decisions()
    return app


class JSONCSRFMiddleware(CSRFMiddleware):
    """starlette-csrf's double-submit check, answering in JSON like the rest of the API.
    Websockets are not its business (the sync socket checks Origin and credentials)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def send(self, message: Message, send: Send, scope: Scope) -> None:
        # The token cookie is Secure whenever the site is served over HTTPS, like the session.
        fresh = self.cookie_name not in Request(scope).cookies
        if message["type"] == "http.response.start" and fresh:
            secure = scope.get("scheme") == "https"
            cookie = SimpleCookie()
            cookie[self.cookie_name] = self._generate_csrf_token()
            cookie[self.cookie_name]["path"] = "/"
            cookie[self.cookie_name]["samesite"] = "lax"
            if secure:
                cookie[self.cookie_name]["secure"] = True
            headers = MutableHeaders(scope=message)
            headers.append("set-cookie", cookie.output(header="").strip())
        await send(message)

    def _get_error_response(self, request: Request) -> Response:
        return JSONResponse({"error": "missing or wrong CSRF token"}, status_code=403)


async def announce_setup(db: Database, settings: Settings) -> None:
    """On an empty database, print a one-time link that creates the first admin."""

    def link(conn: sqlite3.Connection) -> str | None:
        if people.count_users(conn) > 0:
            return None
        sessions.retire_setup_links(conn)  # only the newest printed link works
        secret, _ = sessions.create_link(conn, "setup", days=1)
        return secret

    secret = await db.write(link)
    if secret is not None:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        print(
            "\nNo accounts yet. Open this one-time link to create the first admin:\n"
            f"    http://{host}:{settings.port}/link/{secret}\n",
            flush=True,
        )


async def accord_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    retry_after = exc.extra.get("retry_after")
    headers = None if retry_after is None else {"Retry-After": str(retry_after)}
    return JSONResponse(
        {"error": exc.message, **exc.extra}, status_code=exc.status_code, headers=headers
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
