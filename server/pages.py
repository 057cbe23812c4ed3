"""The HTML pages: small shells that load the browser app. No inline script or style."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from server import documents, i18n

STATIC = Path(__file__).parent / "static"


@lru_cache(maxsize=1)
def asset_version() -> str:
    digest = hashlib.sha256()
    for name in ("app.js", "app.css"):
        path = STATIC / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def shell(
    request: Request, page: str, title_key: str, document_id: str = "", status: int = 200
) -> HTMLResponse:
    language = i18n.negotiate(request.headers.get("accept-language"))
    title = f"{i18n.text(title_key, language)} · {i18n.text('app.name', language)}"
    version = asset_version()
    body = (
        "<!doctype html>\n"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="/static/app.css?v={version}">'
        f'<script type="module" src="/static/app.js?v={version}"></script>'
        f'</head><body data-page="{page}" data-document-id="{escape(document_id)}">'
        '<main id="app"></main></body></html>\n'
    )
    return HTMLResponse(body, status_code=status)


async def documents_page(request: Request) -> HTMLResponse:
    return shell(request, "documents", "page.documents")


async def editor_page(request: Request) -> HTMLResponse:
    document_id = request.path_params["document_id"]
    db = request.app.state.db
    found = documents.valid_id(document_id) and (
        await db.read(lambda conn: documents.get(conn, document_id)) is not None
    )
    if not found:
        return shell(request, "not-found", "page.not_found", status=404)
    return shell(request, "editor", "page.editor", document_id)


async def favicon(request: Request) -> Response:
    return Response(status_code=204)
