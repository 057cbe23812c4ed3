"""Helpers for tests with accounts.

People, API tokens, documents and memberships are written straight into the database file
(a running server sees them at once); people sign in over HTTP like a browser does
(`Browser`); sync clients understand the server's "read-only" auth message (`RoleClient`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import websockets
from pycrdt import Doc, Text

from server import documents, members, people, sessions
from server.connection import transaction
from server.sync import protocol
from server.sync.store import EMPTY_UPDATE
from tests.helpers import ROOT, Server, SyncClient

ORG = "TST"
T = TypeVar("T")


# -- people, documents and memberships, straight into SQLite -----------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str
    password: str
    token: str
    token_id: int
    org: str | None
    is_admin: bool = False

    @property
    def shown_name(self) -> str:
        """The name the server stamps on this person's presence: "Name (ORG)"."""
        return f"{self.name} ({self.org})" if self.org else self.name

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.contextmanager
def writing(db: Path | str) -> Iterator[sqlite3.Connection]:
    """One write transaction on the database file, committed on success."""
    with transaction(str(db)) as conn:
        yield conn


def reading(db: Path | str) -> contextlib.closing[sqlite3.Connection]:
    """A read-only handle on the database file (it cannot change what it checks)."""
    uri = Path(db).resolve().as_uri() + "?mode=ro"
    return contextlib.closing(sqlite3.connect(uri, uri=True))


def _organization(conn: sqlite3.Connection, short: str) -> int:
    row = conn.execute("SELECT id FROM organizations WHERE short_name = ?", (short,)).fetchone()
    if row is not None:
        return int(row[0])
    return people.add_organization(conn, short, f"Organización {short}", "MX")


def add_person(
    db: Path | str,
    label: str = "person",
    *,
    name: str | None = None,
    org: str | None = ORG,
    admin: bool = False,
    password: str | None = None,
) -> Person:
    """A new person (unique email) with a password and an API token."""
    email = f"{label}.{secrets.token_hex(4)}@test.accord"
    name = name or f"{label.capitalize()} {secrets.token_hex(2)}"
    password = password or "pw-" + secrets.token_urlsafe(12)
    with writing(db) as conn:
        org_id = _organization(conn, org) if org else None
        user_id = people.add_user(conn, email, name, org_id, password, is_admin=admin)
        token_id, token = sessions.create_token(conn, user_id, "tests")
    return Person(user_id, email, name, password, token, token_id, org, admin)


def new_token(db: Path | str, person: Person, name: str = "another") -> tuple[int, str]:
    with writing(db) as conn:
        return sessions.create_token(conn, person.id, name)


def add_document(
    db: Path | str,
    chair: Person | None,
    roles: Iterable[tuple[Person, str]] = (),
    *,
    title: str = "Borrador",
    seed: str = "",
) -> str:
    """A document with ``chair`` as its chair, the given members and, if ``seed``, a first
    stored update holding that text."""
    with writing(db) as conn:
        document = documents.create(conn, title, chair=chair.id if chair else None)
        for person, role in roles:
            members.set_role(conn, document.id, person.id, role)
        if seed:
            doc: Doc[Text] = Doc()
            doc.get("content", type=Text).insert(0, seed)
            conn.execute(
                "INSERT INTO updates (document_id, data) VALUES (?, ?)",
                (document.id, doc.get_update()),
            )
    return document.id


def set_role(db: Path | str, document_id: str, person: Person, role: str) -> None:
    with writing(db) as conn:
        members.set_role(conn, document_id, person.id, role)


def missing_document_id() -> str:
    """A well-formed id that no document has."""
    return documents.new_id()


def stored_rows(db: Path | str, document_id: str) -> int:
    """How many update rows the document has in storage."""
    with reading(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM updates WHERE document_id = ?", (document_id,)
        ).fetchone()
    return int(row[0])


def stored_text(db: Path | str, document_id: str) -> str:
    """The document's text as storage holds it (compacted state plus the update log)."""
    return str(stored_doc(db, document_id).get("content", type=Text))


def stored_doc(db: Path | str, document_id: str) -> Doc[Text]:
    """The document as storage holds it (compacted state plus the update log)."""
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text)
    with reading(db) as conn:
        state = conn.execute(
            "SELECT state FROM document_states WHERE document_id = ?", (document_id,)
        ).fetchone()
        if state is not None:
            doc.apply_update(state[0])
        for (data,) in conn.execute(
            "SELECT data FROM updates WHERE document_id = ? ORDER BY id", (document_id,)
        ):
            doc.apply_update(data)
    return doc


def content_update(content: str) -> bytes:
    """A Yjs update from a brand-new client that inserts ``content`` at the start."""
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text).insert(0, content)
    update = doc.get_update()
    assert update != EMPTY_UPDATE
    return update


def awareness_claiming(client_id: int, claimed_name: str, clock: int = 1) -> bytes:
    """An awareness frame in which the client claims to be ``claimed_name``."""
    state = {"user": {"name": claimed_name, "color": "#000000"}, "cursor": None}
    return protocol.awareness([(client_id, clock, json.dumps(state))])


# -- sync clients ---------------------------------------------------------------------------


def sync_base(server: Server, token: str | None) -> str:
    """The sync URL `SyncClient` expects (it inserts the document id before the query)."""
    base = f"ws://127.0.0.1:{server.port}/sync"
    return f"{base}?token={token}" if token else base


_live: list[SyncClient] = []


def run(scenario: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(scenario)``, then close every `RoleClient` it opened, even on failure
    (a socket left open would surface as a ResourceWarning in some later test)."""

    async def main() -> T:
        try:
            return await scenario
        finally:
            while _live:
                with contextlib.suppress(Exception):
                    await _live.pop().close()

    return asyncio.run(main())


class RoleClient(SyncClient):
    """A `SyncClient` that records the server's auth (permission denied) messages, counts
    SyncStep2 replies, and can send extra headers (Cookie, Origin) on the upgrade."""

    def __init__(
        self,
        server: Server,
        document_id: str,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(sync_base(server, token), document_id)
        self.headers = headers or {}
        self.denied: list[str] = []
        self.step2_replies = 0
        _live.append(self)

    async def connect(self, handshake: bool = True) -> RoleClient:
        self.ws = await websockets.connect(
            self.url, max_size=None, compression=None, additional_headers=self.headers
        )
        self._task = asyncio.create_task(self._read())
        if handshake:
            await self.ws.send(protocol.sync_step1(self.doc.get_state()))
            await asyncio.wait_for(self.synced.wait(), 10)
        return self

    async def _handle(self, frame: bytes) -> None:
        if frame[:1] == bytes([protocol.MessageType.AUTH]):
            reader = protocol.Reader(frame)
            reader.var_uint()
            reader.var_uint()
            self.denied.append(reader.var_string())
            return
        if frame[:2] == bytes([protocol.MessageType.SYNC, protocol.SyncType.STEP2]):
            self.step2_replies += 1
        await super()._handle(frame)

    async def try_send(self, frame: bytes) -> bool:
        """Send if the socket is still open; False if the server already closed it."""
        try:
            await self.send(frame)
        except websockets.ConnectionClosed:
            return False
        return True

    async def barrier(self, timeout: float = 10) -> None:
        """Ask the server for what it has (SyncStep1) and wait for the answer. The answer is
        sent only once everything applied before it is committed, after every frame queued
        for this client earlier: whatever the room relayed or stored before, has arrived."""
        target = self.step2_replies + 1
        await self.send(protocol.sync_step1(self.doc.get_state()))
        await wait_until(lambda: self.step2_replies >= target, "a SyncStep2 reply", timeout)

    def present(self) -> dict[int, dict[str, Any]]:
        """The awareness states this client was told about (latest clock wins)."""
        states: dict[int, tuple[int, dict[str, Any] | None]] = {}
        for payload in self.awareness:
            for entry in protocol.parse_awareness(payload, 10_000):
                if entry.clock >= states.get(entry.client_id, (-1, None))[0]:
                    states[entry.client_id] = (entry.clock, json.loads(entry.state))
        return {cid: state for cid, (_, state) in states.items() if state is not None}


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def wait_sync(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- HTTP like a browser --------------------------------------------------------------------

SESSION_COOKIE = "accord_session"
CSRF_COOKIE = "csrftoken"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class Browser:
    """An HTTP client with a cookie jar: signs in with a password and sends the CSRF header
    (the ``csrftoken`` cookie's value) on unsafe requests, as the web app does."""

    def __init__(self, server: Server | str) -> None:
        self.url = server if isinstance(server, str) else server.url
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def sign_in(
        self, person: Person | str, password: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        email = person.email if isinstance(person, Person) else person
        if password is None:
            assert isinstance(person, Person)
            password = person.password
        return self.request(
            "POST", "/api/session", json={"email": email, "password": password}, **kwargs
        )

    def signed_in(self, person: Person) -> Browser:
        response = self.sign_in(person)
        assert response.status_code == 200, response.text
        return self

    def sign_out(self) -> httpx.Response:
        return self.request("DELETE", "/api/session")

    @property
    def session(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)

    @property
    def csrf(self) -> str | None:
        return self.http.cookies.get(CSRF_COOKIE)

    def request(
        self, method: str, path: str, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if csrf and method.upper() in UNSAFE:
            if self.csrf is None:  # any response sets it; a GET is the cheapest
                self.http.get("/favicon.ico")
            assert self.csrf is not None, "the server set no csrftoken cookie"
            headers["X-CSRFToken"] = self.csrf
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def cookie_header(self) -> dict[str, str]:
        """The Cookie header a browser would send on the sync socket's upgrade."""
        assert self.session is not None, "not signed in"
        return {"Cookie": f"{SESSION_COOKIE}={self.session}"}


# -- the command line -------------------------------------------------------------------------


def accord_command() -> list[str]:
    """The installed ``accord`` script next to this Python, else ``python -m server.cli``."""
    script = Path(sys.executable).parent / "accord"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


def accord(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``accord ARGS`` to completion (stdin piped, never a terminal)."""
    return subprocess.run(
        [*accord_command(), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
