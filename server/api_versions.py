"""The JSON API of versions, the status workflow, ratification, adoption, exports and
verification.

Who may do what:

- every member reads a document's versions (reviewers and observers without the automatic,
  keystroke-level snapshots); chairs and delegates save named versions and restore;
- chairs move the status (draft <-> review), ratify, start a revision and publish;
- every signed-in person reads ratified texts; their adoptions are recorded by the document's
  chairs, admins, and the organization's own chairs and delegates of the document.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import audit, comments, documents, exports, members, people, verify, versions
from server.api import find, read_json
from server.auth import identify, require
from server.db import Database
from server.diff import collapse, diff, to_html, to_json
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.i18n import DEFAULT
from server.people import Organization
from server.positions import Offsets
from server.render import render
from server.sync.room import Room
from server.sync.rooms import Rooms
from server.versions import Ratification, Version

MAX_VERIFY = 20 * 1024 * 1024
FORMATS = {"md": "markdown", "markdown": "markdown", "html": "html", "pdf": "pdf"}
COMMITTEE = frozenset({"chair", "delegate"})


# -- taking versions -----------------------------------------------------------------------


async def snapshot(
    db: Database,
    room: Room,
    kind: str,
    *,
    name: str | None = None,
    by: int | None = None,
) -> Version | None:
    """Record the room's current (durable) text as a version, with who edited since the last
    one. An automatic version of an unchanged text is not taken."""
    await room.settle()
    markdown, state, editors = room.text, room.doc.get_state(), set(room.editors)

    def write(conn: sqlite3.Connection) -> Version | None:
        last = versions.latest(conn, room.document_id)
        if kind == "auto" and last is not None and last.sha256 == verify.fingerprint(markdown):
            return None
        return versions.take(
            conn,
            room.document_id,
            kind=kind,
            markdown=markdown,
            state_vector=state,
            editors=editors,
            name=name,
            by=by,
        )

    version = await db.write(write)
    room.editors -= editors  # recorded now, or the text is the last version's already
    return version


def quiet_snapshots(db: Database) -> Any:
    """The callback `Rooms` calls when editing goes quiet: an automatic version."""

    async def on_quiet(room: Room) -> object:
        return await snapshot(db, room, "auto")

    return on_quiet


# -- JSON ----------------------------------------------------------------------------------


def version_json(
    conn: sqlite3.Connection, version: Version, with_text: bool = False
) -> dict[str, Any]:
    ids = set(version.editors) | ({version.created_by} if version.created_by else set())
    found = comments.people_by_id(conn, ids)
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


def _organizations(conn: sqlite3.Connection) -> list[Organization]:
    return people.organizations(conn)


def _org_json(org: Organization) -> dict[str, Any]:
    return {"id": org.id, **org.to_json()}


def ratification_json(
    conn: sqlite3.Connection,
    ratified: Ratification,
    viewer: int | None,
    *,
    public: bool = False,
) -> dict[str, Any]:
    version = versions.get_by_id(conn, ratified.version_id)
    records = versions.adoptions(conn, ratified.document_id)
    recorders = comments.people_by_id(
        conn, {a.recorded_by for history in records.values() for a in history}
    )
    ratifier = comments.people_by_id(conn, {ratified.ratified_by}).get(ratified.ratified_by)

    def adoption_json(org: Organization) -> dict[str, Any]:
        history = records.get(org.id, [])

        def one(a: versions.Adoption) -> dict[str, Any]:
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
        return {"organization": _org_json(org), **latest, "history": [one(a) for a in history[1:]]}

    slug = versions.publication(conn, ratified.document_id)
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
        "adoptions": [adoption_json(org) for org in _organizations(conn)],
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
        return _organizations(conn)
    if role in COMMITTEE and user.organization is not None:
        return [user.organization]
    return []


# -- helpers ---------------------------------------------------------------------------------


async def _member(request: Request) -> tuple[Database, Rooms, int, documents.Document, str]:
    identity = await require(request)
    db: Database = request.app.state.db
    document, role = await find(db, request.path_params["document_id"], identity.user.id)
    fresh = await db.read(lambda conn: documents.get(conn, document.id))
    return db, request.app.state.rooms, identity.user.id, fresh or document, role


def _number(request: Request, raw: str | None = None) -> int:
    value = raw if raw is not None else request.path_params["number"]
    if not value.isdigit() or len(value) > 9:
        raise NotFound("version not found")
    return int(value)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


def _format(request: Request) -> str:
    kind = FORMATS.get(request.query_params.get("format", ""))
    if kind is None:
        raise BadRequest("format must be md, html or pdf")
    return kind


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _language(request: Request, user: people.User | None) -> str:
    lang = request.query_params.get("lang") or (user.language if user else DEFAULT)
    return lang if lang in ("en", "es") else DEFAULT


# -- versions --------------------------------------------------------------------------------


async def list_versions(request: Request) -> Response:
    db, _, _, document, role = await _member(request)
    committee = role in COMMITTEE

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        return [version_json(conn, v) for v in versions.history(conn, document.id, committee)]

    return JSONResponse(
        {"versions": await db.read(read), "can_snapshot": committee and document.writable}
    )


async def create_version(request: Request) -> Response:
    db, rooms, user_id, document, role = await _member(request)
    _require(role in COMMITTEE, "only chairs and delegates save versions")
    name = versions.clean_name((await read_json(request)).get("name"))
    async with rooms.borrow(document.id) as room:
        version = await snapshot(db, room, "named", name=name, by=user_id)
    assert version is not None
    return JSONResponse(await db.read(lambda c: version_json(c, version)), status_code=201)


async def get_version(request: Request) -> Response:
    db, _, _, document, role = await _member(request)
    number = _number(request)

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        version = versions.get(conn, document.id, number)
        if version.kind in versions.COMMITTEE_ONLY and role not in COMMITTEE:
            raise NotFound("version not found")
        return version_json(conn, version, with_text=True)

    return JSONResponse(await db.read(read))


async def _text_of(
    db: Database, rooms: Rooms, document_id: str, which: str | None, role: str
) -> tuple[str, str]:
    """(label, text) of a version number or of the current text."""
    if which in (None, "", "current"):
        async with rooms.borrow(document_id) as room:
            await room.settle()
            return "current", room.text
    assert which is not None
    if not which.isdigit() or len(which) > 9:
        raise BadRequest("from and to must be version numbers or current")
    number = int(which)
    version = await db.read(lambda conn: versions.get(conn, document_id, number))
    if version.kind in versions.COMMITTEE_ONLY and role not in COMMITTEE:
        raise NotFound("version not found")
    return str(number), version.markdown


async def diff_versions(request: Request) -> Response:
    db, rooms, _, document, role = await _member(request)
    query = request.query_params
    if "from" not in query:
        raise BadRequest("from is required (a version number or current)")
    old_label, old = await _text_of(db, rooms, document.id, query.get("from"), role)
    new_label, new = await _text_of(db, rooms, document.id, query.get("to"), role)
    operations = diff(old, new)
    inserted = sum(len(text.split()) for op, text in operations if op == "insert")
    deleted = sum(len(text.split()) for op, text in operations if op == "delete")
    folded = collapse(operations)
    return JSONResponse(
        {
            "from": old_label,
            "to": new_label,
            "ops": to_json(folded),
            "html": to_html(folded),
            "stats": {"inserted_words": inserted, "deleted_words": deleted},
        }
    )


async def restore_version(request: Request) -> Response:
    db, rooms, user_id, document, role = await _member(request)
    _require(role in COMMITTEE, "only chairs and delegates restore versions")
    if not document.writable:
        raise Conflict("only a draft can change; this text is " + document.status)
    number = _number(request)
    target = await db.read(lambda conn: versions.get(conn, document.id, number))
    async with rooms.borrow(document.id) as room:
        await room.settle()
        operations = diff(room.text, target.markdown, semantic=False)
        room.edit(lambda text: apply_operations(text, room.text, operations), author=user_id)
        version = await snapshot(db, room, "restore", name=f"← {target.number}", by=user_id)

    def record(conn: sqlite3.Connection) -> dict[str, Any]:
        details = {"restored": target.number, "version": version.number if version else None}
        audit.append(conn, audit.actor_of(conn, user_id), "version.restore", document.id, details)
        return {"version": version_json(conn, version) if version else None}

    return JSONResponse(await db.write(record))


def apply_operations(text: Any, current: str, operations: Sequence[tuple[str, str]]) -> None:
    """Apply diff operations (old = ``current``) to a pycrdt Text, from the end backwards so
    that earlier offsets stay valid. Offsets go through `server.positions`."""
    offsets = Offsets(current)
    edits: list[tuple[int, int, str]] = []  # (code-point start, code-point end, insert)
    index = 0
    for op, chunk in operations:
        if op == "equal":
            index += len(chunk)
        elif op == "delete":
            edits.append((index, index + len(chunk), ""))
            index += len(chunk)
        else:
            edits.append((index, index, chunk))
    for start, end, insert in reversed(edits):
        first, last = offsets.utf8_from_index(start), offsets.utf8_from_index(end)
        if last > first:
            del text[first:last]
        if insert:
            text.insert(first, insert)


async def export_version(request: Request) -> Response:
    db, _, user_id, document, role = await _member(request)
    kind = _format(request)
    number = _number(request)
    user = await db.read(lambda conn: people.user_by_id(conn, user_id))

    def read(conn: sqlite3.Connection) -> Version:
        version = versions.get(conn, document.id, number)
        if version.kind in versions.COMMITTEE_ONLY and role not in COMMITTEE:
            raise NotFound("version not found")
        return version

    version = await db.read(read)
    content, media_type, filename = exports.export(
        kind,
        title=document.title,
        version=version.name or str(version.number),
        status=version.status,
        date=version.created_at[:10],
        markdown=version.markdown,
        lang=_language(request, user),
    )
    await _audit_export(db, user_id, document.id, kind, {"version": version.number})
    return _download(content, media_type, filename)


async def _audit_export(
    db: Database, user_id: int | None, document_id: str, kind: str, details: dict[str, Any]
) -> None:
    def record(conn: sqlite3.Connection) -> None:
        actor = audit.actor_of(conn, user_id) if user_id else audit.SYSTEM
        audit.append(conn, actor, "document.export", document_id, {"format": kind, **details})

    await db.write(record)


# -- status, ratification, revision ----------------------------------------------------------


async def change_status(request: Request) -> Response:
    db, rooms, user_id, document, role = await _member(request)
    _require(members.can_manage(role), "only the document's chairs change its status")
    wanted = (await read_json(request)).get("status")
    if wanted not in ("draft", "review"):
        raise BadRequest("status must be draft or review (ratify to ratify)")
    if document.status == "ratified":
        raise Conflict("a ratified text never changes; start a revision instead")
    if document.status == wanted:
        raise Conflict(f"the document is already {wanted}")
    async with rooms.borrow(document.id) as room:

        def write(conn: sqlite3.Connection) -> None:
            current = documents.get(conn, document.id)
            if current is None or current.status != document.status:
                raise Conflict("the status changed meanwhile; reload")
            documents.set_status(conn, document.id, wanted)
            details = {"from": document.status, "to": wanted}
            audit.append(
                conn, audit.actor_of(conn, user_id), "document.status", document.id, details
            )

        await db.write(write)
        # The status is stored: everyone told now reads the new one. Edits that arrived
        # during the write are in the text the version below records.
        room.freeze(wanted != "draft")
        await snapshot(db, room, "status", by=user_id)
    await announce_status(request, document.id)
    return JSONResponse(await db.read(lambda conn: document_json(conn, document.id, role)))


async def announce_status(request: Request, document_id: str) -> None:
    """Tell every open editor of the document (by its review event stream)."""

    def build(conn: sqlite3.Connection) -> dict[str, Any]:
        document = documents.get(conn, document_id)
        assert document is not None
        return {"status": document.status, "revised_by": documents.revised_by(conn, document_id)}

    body = await request.app.state.db.read(build)
    request.app.state.events.publish(document_id, "status", lambda _: body)


def document_json(conn: sqlite3.Connection, document_id: str, role: str) -> dict[str, Any]:
    document = documents.get(conn, document_id)
    if document is None:
        raise NotFound("document not found")
    return {
        **document.to_json(),
        "role": role,
        "revised_by": documents.revised_by(conn, document_id),
    }


async def ratify(request: Request) -> Response:
    db, rooms, user_id, document, role = await _member(request)
    _require(members.can_manage(role), "only the document's chairs ratify")
    decision = versions.Decision.from_json(await read_json(request))
    if document.status != "review":
        if document.status == "ratified":
            raise Conflict("this text is already ratified")
        raise Conflict("only a text in review can be ratified; send it to review first")
    async with rooms.borrow(document.id) as room:
        room.freeze(True)
        await room.settle()
        markdown, state = room.text, room.doc.get_state()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            ratified = versions.ratify(
                conn, document.id, decision, markdown=markdown, state_vector=state, by=user_id
            )
            details = {
                "sha256": ratified.sha256,
                "body": decision.body,
                "date": decision.decided_on,
                "votes": [decision.votes_for, decision.votes_against, decision.abstentions],
            }
            actor = audit.actor_of(conn, user_id)
            audit.append(conn, actor, "document.ratify", document.id, details)
            return ratification_json(conn, ratified, user_id)

        body = await db.write(write)
    await announce_status(request, document.id)
    return JSONResponse(body, status_code=201)


async def start_revision(request: Request) -> Response:
    db, rooms, user_id, document, role = await _member(request)
    _require(members.can_manage(role), "only the document's chairs start a revision")

    def write(conn: sqlite3.Connection) -> documents.Document:
        ratified = versions.ratification(conn, document.id)
        if ratified is None:
            raise Conflict("only a ratified text can be revised")
        if documents.revised_by(conn, document.id) is not None:
            raise Conflict("a revision of this text was already started")
        draft = documents.create(conn, ratified.title, revision_of=document.id)
        for member in members.members(conn, document.id):
            members.set_role(conn, draft.id, member.user_id, member.role)
        details = {"revision": draft.id, "sha256": ratified.sha256}
        audit.append(conn, audit.actor_of(conn, user_id), "revision.start", document.id, details)
        return draft

    draft = await db.write(write)
    ratified_text = await db.read(lambda conn: versions.ratification(conn, document.id))
    assert ratified_text is not None
    async with rooms.borrow(draft.id) as room:
        room.edit(lambda text: text.insert(0, ratified_text.markdown), author=user_id)
        await snapshot(db, room, "named", name=f"ratified {ratified_text.decided_on}", by=user_id)
    await announce_status(request, document.id)
    return JSONResponse(
        await db.read(lambda conn: document_json(conn, draft.id, role)), status_code=201
    )


# -- ratified texts and adoption -------------------------------------------------------------


async def _ratified(request: Request) -> tuple[Database, int, Ratification]:
    identity = await require(request)
    db: Database = request.app.state.db
    document_id = request.path_params["document_id"]
    if not documents.valid_id(document_id):
        raise NotFound("ratified text not found")
    found = await db.read(lambda conn: versions.ratification(conn, document_id))
    if found is None:
        raise NotFound("ratified text not found")
    return db, identity.user.id, found


async def list_ratified(request: Request) -> Response:
    await require(request)
    db: Database = request.app.state.db

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        status = versions.adoption_status(conn)
        organizations = _organizations(conn)
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
                for r in versions.ratifications(conn)
            ],
            "organizations": [_org_json(o) for o in organizations],
        }

    return JSONResponse(await db.read(read))


async def get_ratified(request: Request) -> Response:
    db, user_id, ratified = await _ratified(request)
    return JSONResponse(await db.read(lambda c: ratification_json(c, ratified, user_id)))


async def export_ratified(request: Request) -> Response:
    db, user_id, ratified = await _ratified(request)
    kind = _format(request)
    user = await db.read(lambda conn: people.user_by_id(conn, user_id))
    content, media_type, filename = ratified_export(ratified, kind, _language(request, user))
    await _audit_export(db, user_id, ratified.document_id, kind, {"sha256": ratified.sha256})
    return _download(content, media_type, filename)


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
    db, user_id, ratified = await _ratified(request)
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
        adoption = versions.record_adoption(
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
    db, user_id, ratified = await _ratified(request)
    value = (await read_json(request)).get("public")
    if not isinstance(value, bool):
        raise BadRequest("public must be true or false")

    def write(conn: sqlite3.Connection) -> str | None:
        role = members.role_of(conn, ratified.document_id, user_id)
        if not members.can_manage(role):
            raise Forbidden("only the document's chairs publish it")
        slug = versions.publish(conn, ratified.document_id, value, user_id)
        actor = audit.actor_of(conn, user_id)
        audit.append(conn, actor, "document.publish", ratified.document_id, {"public": value})
        return slug

    slug = await db.write(write)
    return JSONResponse({"public_url": f"/p/{slug}" if slug else None})


async def public_text(request: Request) -> Response:
    db: Database = request.app.state.db
    slug = request.path_params["slug"]

    def read(conn: sqlite3.Connection) -> dict[str, Any]:
        document_id = versions.published(conn, slug) if len(slug) <= 64 else None
        ratified = versions.ratification(conn, document_id) if document_id else None
        if ratified is None:
            raise NotFound("ratified text not found")
        return ratification_json(conn, ratified, None, public=True)

    return JSONResponse(await db.read(read))


# -- verification ----------------------------------------------------------------------------


async def verify_file(request: Request) -> Response:
    """Anyone may check a copy: signed in, against every ratified text; without an account,
    against the texts chairs published (the others' titles are not for strangers)."""
    identity = await identify(request, request.app.state.db)
    db: Database = request.app.state.db
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_VERIFY):
        raise BadRequest("the file must be at most 20 MB")
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_VERIFY:
            raise BadRequest("the file must be at most 20 MB")
    if not data:
        raise BadRequest("send the file's bytes as the request body")

    def known(conn: sqlite3.Connection) -> dict[str, Ratification]:
        found = versions.by_hash(conn)
        if identity is None:
            found = {h: r for h, r in found.items() if versions.publication(conn, r.document_id)}
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
    doc = "/api/documents/{document_id}"
    return [
        Route(f"{doc}/versions", list_versions, methods=["GET"]),
        Route(f"{doc}/versions", create_version, methods=["POST"]),
        Route(f"{doc}/versions/{{number}}", get_version, methods=["GET"]),
        Route(f"{doc}/versions/{{number}}/restore", restore_version, methods=["POST"]),
        Route(f"{doc}/versions/{{number}}/export", export_version, methods=["GET"]),
        Route(f"{doc}/diff", diff_versions, methods=["GET"]),
        Route(f"{doc}/status", change_status, methods=["PUT"]),
        Route(f"{doc}/ratify", ratify, methods=["POST"]),
        Route(f"{doc}/revision", start_revision, methods=["POST"]),
        Route("/api/ratified", list_ratified, methods=["GET"]),
        Route("/api/ratified/{document_id}", get_ratified, methods=["GET"]),
        Route("/api/ratified/{document_id}/export", export_ratified, methods=["GET"]),
        Route("/api/ratified/{document_id}/adoptions", record_adoption, methods=["POST"]),
        Route("/api/ratified/{document_id}/public", set_public, methods=["PUT"]),
        Route("/api/public/{slug}", public_text, methods=["GET"]),
        Route("/api/verify", verify_file, methods=["POST"]),
    ]
