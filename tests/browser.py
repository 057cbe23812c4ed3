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
- ``open_editor``: opens a document for a named user (fills the first-visit name form) and
  waits until the sync connection is up; returns an ``Editor`` that types into CodeMirror.
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

from tests.helpers import Server

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

    def allow(self, context: BrowserContext, pattern: str) -> None:
        """Accept console errors matching `pattern` (regex on "text (url)") in `context`."""
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


@dataclass
class Editor:
    """One user's editor page."""

    name: str
    context: BrowserContext
    page: Page
    link: SyncLink | None = None

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
        return eventually(self.page, self.text, predicate, what)

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


@pytest.fixture
def open_editor(context: Contexts) -> Callable[..., Editor]:
    """``open_editor(server, document_id, "Ana", link=False)`` -> a connected Editor."""

    def open_(server: Server, document_id: str, name: str, link: bool = False) -> Editor:
        ctx = context()
        sync_link = SyncLink(ctx) if link else None
        page = ctx.new_page()
        page.goto(f"{server.url}/documents/{document_id}")
        expect(page.locator("#name-form")).to_be_visible()
        page.locator("#name-input").fill(name)
        page.locator("#name-submit").click()
        expect(page.locator("#name-form")).to_be_hidden()
        editor = Editor(name, ctx, page, sync_link)
        editor.wait_connected()
        return editor

    return open_
