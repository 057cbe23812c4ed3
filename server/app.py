"""create_app(settings) -> Starlette: routes, middleware, lifespan. Nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server import api, pages
from server.db import Database
from server.errors import HTTPError
from server.security import SecurityHeaders
from server.settings import Settings
from server.sync.rooms import Rooms
from server.sync.store import UpdateLog
from server.sync_socket import sync_endpoint

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Database(settings.db, settings.commit_interval_ms) as db:
            rooms = Rooms(UpdateLog(db), settings)
            app.state.db = db
            app.state.rooms = rooms
            try:
                yield
            finally:
                await rooms.close()

    app = Starlette(
        routes=[
            Route("/", pages.documents_page),
            Route("/favicon.ico", pages.favicon),
            Route("/documents/{document_id}", pages.editor_page),
            Route("/api/documents", api.list_documents, methods=["GET"]),
            Route("/api/documents", api.create_document, methods=["POST"]),
            Route("/api/documents/{document_id}", api.get_document, methods=["GET"]),
            WebSocketRoute("/sync/{document_id}", sync_endpoint),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPError: accord_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


async def accord_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return JSONResponse({"error": exc.message}, status_code=exc.status_code)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
