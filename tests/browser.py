"""Browser test kit: headless Chromium through Playwright, one isolated context per user.

A browser test module loads it as a plugin, ``pytest_plugins = ["tests.browser"]``, and
imports from it only under ``TYPE_CHECKING`` (importing it first would stop pytest from
rewriting its asserts, a warning this project turns into an error). It provides:

- ``browser``: one Chromium per test module (Debian's /usr/bin/chromium; never
  ``playwright install``), closed at the end of the module. Not per session: while
  Playwright's sync API is started, its event loop counts as the running loop of the main
  thread, so every later ``asyncio.run()`` in the suite (the protocol and server tests) fails
  with "cannot be called from a running event loop".
- ``context``: a factory of isolated browser contexts (own cookies, localStorage, IndexedDB),
  each closed after the test. Every page of every context is watched: console errors,
  uncaught exceptions, dialogs (``alert``) and Content-Security-Policy violations fail the
  test at teardown.
- ``add_person`` / ``set_role`` / ``admin_of``: accounts and memberships written straight into
  the server's SQLite file (as ``tests.helpers.make_admin`` does); ``sign_in`` signs a
  context in, through the real login page or through ``POST /api/session``.
- ``open_editor``: signs a person in (the first time, a new account that becomes a member of
  the document) and opens the document, waits until the sync connection is up; returns an
  ``Editor`` that types into CodeMirror.
- ``SyncLink``: a switchable network for a context's sync websocket, to lose the connection
  for real (see its docstring).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Playwright,
    WebSocketRoute,
    expect,
    sync_playwright,
)

from tests.helpers import ADMIN_EMAIL, Server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 15_000  # generous: a slow CI machine, never a performance claim
expect.set_options(timeout=TIMEOUT_MS)

# Runs in every document before the page's own scripts. Playwright injects it through the
# DevTools protocol, so the page's CSP (script-src 'self') does not apply to it.
CSP_WATCH = """
(() => {
  const seen = (window.__accordCsp = window.__accordCsp || [])
  document.addEventListener('securitypolicyviolation', (event) => {
    const violation = {
      directive: event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample
    }
    seen.push(violation)
    if (typeof window.__accordReportCsp === 'function') window.__accordReportCsp(violation)
  })
})()
"""

# The editor's lines as shown, without remote carets: an earlier remote-cursors.js drew them
# as widgets inside the lines, and their labels ("Ana") then were part of .cm-content's text.
# Carets now live in a layer beside the text; this reading works either way.
VISIBLE_TEXT = """() => [...document.querySelectorAll('.cm-content > .cm-line')].map((line) => {
    const copy = line.cloneNode(true)
    for (const widget of copy.querySelectorAll('.cm-ySelectionCaret')) widget.remove()
    return copy.textContent
}).join('\\n')"""


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    manager = sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    instance = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()


@dataclass
class Watch:
    """What went wrong in the pages of one context."""

    context: BrowserContext
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        self.pages.append(page)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        text = f"{message.text} ({where})"
        if any(p.search(text) for p in self.allowed):
            return
        self.problems.append(f"console error: {text}")

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def csp(self, source: dict[str, Any], violation: dict[str, Any]) -> None:
        self.problems.append(f"CSP violation: {violation}")


class Contexts:
    """The ``context`` fixture: ``context()`` makes a new isolated, watched context."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.watches: dict[int, Watch] = {}

    def __call__(self, **options: Any) -> BrowserContext:
        options.setdefault("locale", "en-US")
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        watch = Watch(context)
        self.watches[id(context)] = watch
        context.expose_binding("__accordReportCsp", watch.csp)
        context.add_init_script(CSP_WATCH)
        context.on("page", watch.attach)
        return context

    def allow_status(self, context: BrowserContext, status: int, url: str) -> None:
        """Accept, in `context`, the console error Chromium logs for a response with this
        HTTP `status` to exactly this `url` ("Failed to load resource: the server responded
        with a status of 404 (Not Found)", located at the resource's URL): a 401 or 404
        the test expects. Nothing else is accepted."""
        pattern = (
            r"^Failed to load resource: the server responded with a status of "
            + str(status)
            + r" \([^()]*\) \("
            + re.escape(url)
            + r"\)$"
        )
        self.watches[id(context)].allowed.append(re.compile(pattern))

    def take_problems(self, context: BrowserContext) -> list[str]:
        """The problems `context` reported so far, which then no longer fail the test."""
        watch = self.watches[id(context)]
        taken, watch.problems = watch.problems, []
        return taken

    def problems(self) -> list[str]:
        found: list[str] = []
        for watch in self.watches.values():
            for page in watch.pages:
                if page.is_closed():
                    continue
                # a round trip, so that reports already on their way arrive; a page that is
                # navigating or crashed has nothing to flush
                with contextlib.suppress(Exception):
                    page.evaluate("0")
            found.extend(watch.problems)
        return found

    def close(self) -> None:
        for watch in self.watches.values():
            watch.context.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[Contexts]:
    contexts = Contexts(browser)
    try:
        yield contexts
        problems = contexts.problems()
    finally:
        contexts.close()
    if problems:
        pytest.fail("the pages reported problems:\n  " + "\n  ".join(problems), pytrace=False)


class SyncLink:
    """The network between one context and the server's sync websocket, with a switch.

    Why not `context.set_offline(True)` alone: in this Chromium it does not close an open
    websocket. The socket stays "open" with its frames held back: measured by hand, #status
    kept saying Connected for ~32 s, until y-websocket's 30 s no-message watchdog closed it.
    Why not `provider.disconnect()`: that is the app choosing to stop, which skips the
    reconnect path a lost network takes.

    So every sync websocket of the context goes through `context.route_web_socket`:
    - online: `connect_to_server()`, frames pass through unchanged;
    - `cut()`: the page side is closed with 1006 (abnormal closure, what a dropped TCP
      connection reports) and the server side is closed too (the server sees the peer go);
    - while cut, each reconnect attempt is closed before it opens: the provider sees failed
      attempts and keeps retrying with its own backoff, as with a dead network;
    - `restore()`: the provider's next attempt goes through.
    HTTP is untouched, so the page can still be reloaded while the sync link is down.
    Frames are relayed by this Python process: they flow while the test waits in a
    Playwright call (expect, wait_for_*), which is where the tests wait anyway.
    """

    def __init__(self, context: BrowserContext) -> None:
        self.up = True
        self.live: list[WebSocketRoute] = []
        context.route_web_socket(re.compile(r"/sync/"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if not self.up:
            ws.close(code=1006, reason="network down")
            return
        server = ws.connect_to_server()

        def page_closed(code: int | None, reason: str | None) -> None:
            # the page closed (reload, 30 s watchdog, 44xx handling): tell the server. A close
            # code the page may not send itself (1006) would make the browser throw.
            valid = code is not None and (code == 1000 or 3000 <= code <= 4999)
            server.close(code=code if valid else None, reason=reason if valid else None)
            if ws in self.live:
                self.live.remove(ws)

        ws.on_close(page_closed)
        self.live.append(ws)

    def cut(self) -> None:
        self.up = False
        live, self.live = self.live, []
        for ws in live:
            ws.close(code=1006, reason="network down")

    def restore(self) -> None:
        self.up = True


# -- accounts -------------------------------------------------------------------------------

PASSWORD = "browser-test-password"  # at least 10 characters (server.passwords.MIN_LENGTH)
ADMIN_PASSWORD = "test-password-123"  # tests.helpers.make_admin's


@dataclass(frozen=True)
class Person:
    """An account of the server under test."""

    id: int
    email: str
    name: str
    password: str = PASSWORD
    organization: str | None = None  # the organization's short name

    @property
    def label(self) -> str:
        """How the others see this person in "who is here" and on the cursor: the account's
        name, and the organization's short name in brackets (server.sync_socket.identity_of)."""
        return self.name + (f" ({self.organization})" if self.organization else "")


@contextlib.contextmanager
def _database(server: Server) -> Iterator[Any]:
    """A write transaction on the server's SQLite file, beside the running server (WAL; the
    server reads memberships on every request and re-checks open sockets every second)."""
    from server.connection import transaction

    with transaction(str(server.db)) as conn:
        yield conn


def add_person(
    server: Server,
    name: str,
    *,
    email: str | None = None,
    organization: str | None = None,
    language: str = "en",
    documents: dict[str, str] | None = None,
    password: str = PASSWORD,
) -> Person:
    """A new account in the server's database, a member of `documents` ({id: role}).

    `organization` is a short name; the organization is created if it is new. The language
    is English by default: the account's language becomes the page's (the tests read
    English strings). The email defaults to the name in lower case @test.accord (ASCII
    names only; pass `email` otherwise)."""
    from server import people
    from server.errors import NotFound
    from server.members import set_role as set_member_role

    address = email or f"{name.lower()}@test.accord"
    with _database(server) as conn:
        org_id = None
        if organization is not None:
            try:
                org_id = people.organization_by_short(conn, organization).id
            except NotFound:
                org_id = people.add_organization(
                    conn, organization, f"Organización {organization}", "MX"
                )
        user_id = people.add_user(conn, address, name, org_id, password, language=language)
        for document_id, role in (documents or {}).items():
            set_member_role(conn, document_id, user_id, role)
    return Person(user_id, address, name, password, organization)


def set_role(server: Server, person: Person, document_id: str, role: str) -> None:
    """Make `person` a member of the document in `role` (or change their role), straight in
    the database."""
    from server.members import set_role as set_member_role

    with _database(server) as conn:
        set_member_role(conn, document_id, person.id, role)


def admin_of(server: Server, language: str | None = None) -> Person:
    """The test admin (tests.helpers.make_admin), who chairs `server.create_document`'s
    documents. Its account language is Spanish unless `language` changes it."""
    from server import people

    with _database(server) as conn:
        user = people.user_by_email(conn, ADMIN_EMAIL)
        assert user is not None
        if language is not None:
            people.set_language(conn, user.id, language)
    return Person(user.id, ADMIN_EMAIL, user.name, ADMIN_PASSWORD)


def sign_in(server: Server, page: Page, person: Person, via: str = "ui", go_to: str = "/") -> None:
    """Sign `page`'s context in as `person` and end on `go_to` (a path).

    via="ui": opens `go_to`, which sends a stranger to /login?next=..., fills #login-form
    and waits for the page to come back to `go_to`. via="api": POST /api/session through
    the context's request API, which shares the context's cookies, then opens `go_to`."""
    target = server.url + go_to
    if via == "ui":
        page.goto(target)
        expect(page).to_have_url(re.compile(r"/login(\?|$)"))
        expect(page.locator("#login-form")).to_be_visible()
        page.locator("#login-email").fill(person.email)
        page.locator("#login-password").fill(person.password)
        page.locator("#login-submit").click()
        page.wait_for_url(target)
    elif via == "api":
        response = page.context.request.post(
            server.url + "/api/session",
            data={"email": person.email, "password": person.password},
        )
        assert response.status == 200, f"signing in {person.email}: {response.status}"
        page.goto(target)
        expect(page).to_have_url(target)
    else:
        raise ValueError(f"via must be 'ui' or 'api', not {via!r}")


@dataclass
class Editor:
    """One user's editor page."""

    name: str
    context: BrowserContext
    page: Page
    link: SyncLink | None = None
    person: Person | None = None

    @property
    def content(self) -> Locator:
        return self.page.locator(".cm-content")

    @property
    def status(self) -> Locator:
        return self.page.locator("#status")

    @property
    def saved(self) -> Locator:
        return self.page.locator("#saved")

    def type(self, text: str, at_end: bool = True) -> None:
        """Type into CodeMirror like a person: click, go to the end, press keys."""
        self.content.click()
        if at_end:
            self.page.keyboard.press("Control+End")
        self.page.keyboard.type(text)

    def visible_text(self) -> str:
        """The text the editor shows: its lines, without other people's caret labels."""
        return str(self.page.evaluate(VISIBLE_TEXT))

    def expect_text(self, expected: str) -> None:
        """Wait until the editor shows exactly `expected`."""
        self.eventually(
            self.visible_text, lambda text: text == expected, f"{self.name} to see {expected!r}"
        )

    def expect_contains(self, part: str) -> None:
        """Wait until the editor shows `part` somewhere."""
        self.eventually(
            self.visible_text, lambda text: part in text, f"{self.name} to see {part!r}"
        )

    def text(self) -> str:
        """The shared Y.Text as this browser holds it."""
        return str(self.page.evaluate("window.accord.ydoc.getText('content').toString()"))

    def set_text(self, text: str) -> None:
        """Replace the whole text through Yjs, for exact input (no editor key handling)."""
        self.page.evaluate(
            """(text) => {
                const ytext = window.accord.ydoc.getText('content')
                window.accord.ydoc.transact(() => {
                    ytext.delete(0, ytext.length)
                    ytext.insert(0, text)
                })
            }""",
            text,
        )

    def wait_text(self, predicate: Callable[[str], bool], what: str) -> str:
        """Wait (generously) until this browser's Y.Text satisfies `predicate`."""
        return str(eventually(self.page, self.text, predicate, what))

    def eventually(
        self, read: Callable[[], Any], predicate: Callable[[Any], bool], what: str
    ) -> Any:
        return eventually(self.page, read, predicate, what)

    def flush_indexeddb(self, document_id: str) -> None:
        flush_indexeddb(self.page, document_id)

    def wait_connected(self) -> None:
        expect(self.status).to_have_attribute("data-status", "connected")

    def wait_saved(self) -> None:
        expect(self.saved).to_have_attribute("data-saved", "true")


def eventually(
    page: Page,
    read: Callable[[], Any],
    predicate: Callable[[Any], bool],
    what: str,
    timeout_ms: int = TIMEOUT_MS,
) -> Any:
    """Poll `read()` until `predicate` holds. Waits inside Playwright (wait_for_timeout) so
    that the driver keeps delivering events, websocket routes included, while we poll."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = read()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}; last value: {value!r}")
        page.wait_for_timeout(100)


def flush_indexeddb(page: Page, document_id: str) -> None:
    """Wait until every IndexedDB write the page has started has committed.

    y-indexeddb opens a readwrite transaction on 'updates' synchronously for each update. A
    readonly transaction on the same store, created later, cannot start before those finish
    (IndexedDB orders overlapping transactions across connections), so when ours completes,
    everything typed so far is on disk.
    """
    page.evaluate(
        """(name) => new Promise((resolve, reject) => {
            const request = indexedDB.open(name)
            request.onerror = () => reject(request.error)
            request.onsuccess = () => {
                const db = request.result
                const tx = db.transaction('updates', 'readonly')
                tx.objectStore('updates').count()
                tx.oncomplete = () => { db.close(); resolve(null) }
                tx.onerror = () => { db.close(); reject(tx.error) }
            }
        })""",
        "accord-" + document_id,
    )


class Accounts:
    """The ``accounts`` fixture: the helpers above, for test modules that may not import this
    one (see the module's docstring)."""

    add = staticmethod(add_person)
    set_role = staticmethod(set_role)
    admin = staticmethod(admin_of)
    sign_in = staticmethod(sign_in)
    eventually = staticmethod(eventually)


@pytest.fixture
def accounts() -> type[Accounts]:
    return Accounts


# The people open_editor makes on first use: Ana belongs to an organization, Beto to none.
ORGANIZATIONS = {"Ana": "FNM"}


@pytest.fixture
def open_editor(context: Contexts) -> Callable[..., Editor]:
    """``open_editor(server, document_id, "Ana", link=False, role="delegate", via="api")``
    -> a connected Editor.

    A name seen for the first time on `server` becomes a new account (see ORGANIZATIONS);
    a Person is used as it is. The person is made a member of the document in `role` (None:
    left as it is), signed in in a new context (`via`, see ``sign_in``) and the document
    opened."""
    known: dict[tuple[str, str], Person] = {}

    def open_(
        server: Server,
        document_id: str,
        who: str | Person,
        link: bool = False,
        role: str | None = "delegate",
        via: str = "api",
    ) -> Editor:
        if isinstance(who, Person):
            person = who
        else:
            key = (server.url, who)
            if key not in known:
                known[key] = add_person(server, who, organization=ORGANIZATIONS.get(who))
            person = known[key]
        if role is not None:
            set_role(server, person, document_id, role)
        ctx = context()
        sync_link = SyncLink(ctx) if link else None
        page = ctx.new_page()
        sign_in(server, page, person, via=via, go_to=f"/documents/{document_id}")
        editor = Editor(person.name, ctx, page, sync_link, person)
        editor.wait_connected()
        return editor

    return open_
