"""The HTML pages: small shells that load the browser app. No inline script or style."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server import documents, i18n, members
from server.auth import identify

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
    request: Request,
    page: str,
    title_key: str,
    document_id: str = "",
    status: int = 200,
    token: str = "",
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
        f'</head><body data-page="{page}" data-document-id="{escape(document_id)}"'
        f' data-token="{escape(token)}">'
        '<main id="app"></main></body></html>\n'
    )
    return HTMLResponse(body, status_code=status)


def to_login(request: Request) -> Response:
    target = request.url.path
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


async def documents_page(request: Request) -> Response:
    if await identify(request, request.app.state.db) is None:
        return to_login(request)
    return shell(request, "documents", "page.documents")


async def editor_page(request: Request) -> Response:
    document_id = request.path_params["document_id"]
    db = request.app.state.db
    identity = await identify(request, db)
    if identity is None:
        return to_login(request)
    role = documents.valid_id(document_id) and await db.lookup(
        lambda conn: members.role_of(conn, document_id, identity.user.id)
    )
    if not role:  # missing, or not yours: the same page
        return shell(request, "not-found", "page.not_found", status=404)
    return shell(request, "editor", "page.editor", document_id)


async def login_page(request: Request) -> Response:
    return shell(request, "login", "page.login")


async def account_page(request: Request) -> Response:
    if await identify(request, request.app.state.db) is None:
        return to_login(request)
    return shell(request, "account", "page.account")


async def link_page(request: Request) -> Response:
    # The token is checked by the API call the page makes; the page itself reveals nothing.
    return shell(request, "link", "page.link", token=request.path_params["token"])


async def ratified_page(request: Request) -> Response:
    """/ratified: the adoption dashboard; /ratified/{id}: one ratified text (any member)."""
    if await identify(request, request.app.state.db) is None:
        return to_login(request)
    document_id = request.path_params.get("document_id", "")
    if document_id:
        return shell(request, "ratified", "page.ratified", document_id)
    return shell(request, "dashboard", "page.dashboard")


async def verify_page(request: Request) -> Response:
    """Anyone may check a copy (without an account, against published texts only)."""
    return shell(request, "verify", "page.verify")


async def public_page(request: Request) -> Response:
    """A ratified text a chair published: no sign-in. The slug is checked by the API."""
    return shell(request, "public", "page.public", token=request.path_params["slug"])


async def favicon(request: Request) -> Response:
    return Response(status_code=204)
