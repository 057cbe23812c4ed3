"""The web app end to end: real `accord serve`, headless Chromium, one browser context per
person, each signed in to an account of their own. Text goes through the real keyboard,
CodeMirror, y-codemirror.next, y-websocket and the server, and comes back in the other
person's editor."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.helpers import Server

if TYPE_CHECKING:  # imported for real by pytest, as a plugin (see tests/browser.py)
    from tests.browser import Accounts, Contexts, Editor

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

OpenEditor = Callable[..., "Editor"]
DOC_URL = re.compile(r"/documents/([A-Za-z0-9_-]{22,64})$")


def server_html(server: Server, document_id: str) -> str:
    response = httpx.get(f"{server.url}/api/documents/{document_id}", headers=server.headers)
    response.raise_for_status()
    return str(response.json()["html"])


def wait_markdown(server: Server, document_id: str, expected: str, editor: Editor) -> None:
    editor.eventually(
        lambda: server.markdown(document_id),
        lambda markdown: markdown == expected,
        f"the server to store {expected!r}",
    )


# -- the harness ----------------------------------------------------------------------------


def test_the_watch_sees_csp_violations_console_errors_and_dialogs(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    """Every other test relies on this watch staying quiet: prove it can speak, and that an
    expected failed load (allow_status) excuses that one response and nothing else."""
    from tests.browser import eventually  # loaded by now, as the plugin (see the imports)

    ctx = context()
    page = ctx.new_page()
    accounts.sign_in(server, page, accounts.admin(server), via="api")
    expect(page.locator("#create-doc")).to_be_visible()
    expected = f"{server.url}/api/documents/{'e' * 22}"
    unexpected = f"{server.url}/api/documents/{'u' * 22}"
    context.allow_status(ctx, 404, expected)
    statuses = page.evaluate(
        """async (urls) => {
            document.body.setAttribute('style', 'color: red') // refused: style-src 'self'
            console.error('a deliberate console error')
            setTimeout(() => alert('a deliberate alert'))
            const statuses = []
            for (const url of urls) statuses.push((await fetch(url)).status)
            return statuses
        }""",
        [expected, unexpected],
    )
    assert statuses == [404, 404]
    expect(page.locator("body")).not_to_have_css("color", "rgb(255, 0, 0)")
    page.wait_for_function("window.__accordCsp.length > 0")
    problems: list[str] = []

    def collected() -> list[str]:
        problems.extend(context.take_problems(ctx))
        return problems

    eventually(
        page,
        collected,
        lambda found: len(found) >= 4 and any("CSP violation" in p for p in found),
        "the watch to report the CSP violation, the console error, the alert and the 404",
    )
    assert any("CSP violation" in p and "style-src" in p for p in problems), problems
    assert any("a deliberate console error" in p for p in problems), problems
    assert any("a deliberate alert" in p for p in problems), problems
    failed = [p for p in problems if "status of 404" in p]
    assert len(failed) == 1 and unexpected in failed[0], problems


# -- the documents page ---------------------------------------------------------------------


def test_create_a_document_and_find_it_in_the_list(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    """Admins and chairs create documents; the admin signs in through the login page."""
    page = context().new_page()
    accounts.sign_in(server, page, accounts.admin(server), via="ui", go_to="/")
    expect(page.locator("#doc-empty")).to_be_visible()

    page.locator("#new-title").fill("Acta de la asamblea")
    page.locator("#create-doc").click()

    expect(page).to_have_url(DOC_URL)
    match = DOC_URL.search(page.url)
    assert match is not None
    document_id = match.group(1)
    expect(page.locator("#doc-title")).to_have_text("Acta de la asamblea")
    # the creator chairs it, and edits it at once
    expect(page.locator("#status")).to_have_attribute("data-status", "connected")
    expect(page.locator("#readonly")).to_be_hidden()
    page.locator("#members").click()
    expect(page.locator("#member-list li[data-user-id]")).to_have_count(1)
    expect(page.locator("#member-list li[data-user-id]")).to_have_attribute("data-role", "chair")

    page.go_back()
    item = page.locator(f'#doc-list li[data-document-id="{document_id}"]')
    expect(item.locator("a")).to_have_text("Acta de la asamblea")
    expect(item.locator("a")).to_have_attribute("href", f"/documents/{document_id}")
    expect(item.locator(".role")).to_have_attribute("data-role", "chair")

    item.locator("a").click()
    expect(page.locator("#doc-title")).to_have_text("Acta de la asamblea")


def test_language_switch_changes_the_strings_and_persists(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    # a chair (who may create documents) whose account is in English
    document_id = server.create_document("Idiomas")
    lena = accounts.add(server, "Lena", language="en", documents={document_id: "chair"})
    ctx = context(locale="en-US")
    page = ctx.new_page()
    accounts.sign_in(server, page, lena, via="api")
    heading = page.locator("h1")
    create = page.locator("#create-doc")
    switch = page.locator("#lang-switch")

    expect(switch).to_have_value("en")
    expect(heading).to_have_text("Documents")
    expect(create).to_have_text("Create document")

    switch.select_option("es")
    expect(heading).to_have_text("Documentos")
    expect(create).to_have_text("Crear documento")
    expect(page.locator("#new-title")).to_have_attribute(
        "placeholder", "p. ej., Declaración fundacional"
    )
    expect(page.locator("html")).to_have_attribute("lang", "es")

    page.reload()
    expect(switch).to_have_value("es")
    expect(heading).to_have_text("Documentos")
    expect(create).to_have_text("Crear documento")
    # the account keeps the choice too (for its other browsers)
    accounts.eventually(
        page,
        lambda: ctx.request.get(server.url + "/api/me").json()["language"],
        lambda language: language == "es",
        "the account's language to be Spanish",
    )

    # the choice holds on the editor too, and switching back works there
    page.goto(f"{server.url}/documents/{document_id}")
    members = page.locator("#members")
    expect(members).to_have_text("Integrantes")
    switch.select_option("en")
    expect(members).to_have_text("Members")

    page.goto(server.url + "/")
    expect(switch).to_have_value("en")
    expect(heading).to_have_text("Documents")
    expect(create).to_have_text("Create document")


# -- editing together -----------------------------------------------------------------------


def test_two_people_edit_the_same_document(server: Server, open_editor: OpenEditor) -> None:
    document_id = server.create_document("Declaración")
    ana = open_editor(server, document_id, "Ana", via="ui")  # through the login page
    beto = open_editor(server, document_id, "Beto")

    ana.type("Hola desde Ana.")
    beto.expect_text("Hola desde Ana.")

    beto.type(" Y saludos de Beto, ¿qué tal?")
    expected = "Hola desde Ana. Y saludos de Beto, ¿qué tal?"
    ana.expect_text(expected)
    beto.expect_text(expected)

    ana.wait_saved()
    beto.wait_saved()
    assert ana.text() == beto.text() == expected
    assert server.markdown(document_id) == expected


def test_remote_cursor_label_and_who_is_here(server: Server, open_editor: OpenEditor) -> None:
    """Names come from the accounts: Ana's is "Ana (FNM)" to the others (her organization's
    short name), Beto has no organization."""
    document_id = server.create_document("Cursores")
    ana = open_editor(server, document_id, "Ana")
    beto = open_editor(server, document_id, "Beto")
    assert ana.person is not None and ana.person.label == "Ana (FNM)"

    for page, me, other in ((ana.page, ana, beto), (beto.page, beto, ana)):
        who = page.locator("#who li[data-client-id]")
        expect(who).to_have_count(2)
        # self first; the others as the server names them
        expect(who.locator(".name").first).to_have_text(re.compile(rf"^{me.name}\b"))
        expect(who.locator(".name").nth(1)).to_have_text(other.person.label)  # type: ignore[union-attr]
        expect(page.locator("#who li[data-self=true] .name")).to_have_count(1)
        expect(page.locator("#account-link")).to_have_text(me.name)

    ana.type("Primera línea\nsegunda")
    beto.expect_text("Primera línea\nsegunda")
    label = beto.page.locator(".cm-editor .cm-ySelectionInfo")
    caret = beto.page.locator(".cm-editor .cm-ySelectionCaret")
    expect(label).to_have_count(1)
    expect(label).to_have_text("Ana (FNM)")
    expect(label).to_be_visible()
    # the label is drawn beside the text, not in it (nor read out as part of it)
    expect(beto.content).not_to_contain_text("Ana")
    assert beto.text() == "Primera línea\nsegunda"

    # Ana moves her cursor from the end of line 2 to the start of line 1: the caret follows
    second_line = beto.page.locator(".cm-content > .cm-line").nth(1)
    first_line = beto.page.locator(".cm-content > .cm-line").first
    beto.eventually(lambda: on_line(caret, second_line), bool, "Ana's caret on line 2")
    ana.page.keyboard.press("Control+Home")
    beto.eventually(lambda: on_line(caret, first_line), bool, "Ana's caret on line 1")

    # y-codemirror.next's theme shows the name on hover; the colour is Ana's, set through the
    # CSSOM (a style attribute would be refused by the CSP and fail this test at teardown)
    caret.hover()
    expect(label).to_have_css("opacity", "1")
    ana_dot = beto.page.locator("#who li:not([data-self]) .dot")
    color = ana_dot.evaluate("el => getComputedStyle(el).backgroundColor")
    assert color not in ("", "rgba(0, 0, 0, 0)")
    expect(caret).to_have_css("background-color", color)
    expect(label).to_have_css("background-color", color)

    # Ana's page shows no label of her own; Beto's appears once he puts his cursor somewhere
    expect(ana.page.locator(".cm-ySelectionInfo")).to_have_count(0)
    beto.content.click()
    expect(ana.page.locator(".cm-ySelectionInfo")).to_have_text("Beto")


def on_line(caret: Locator, line: Locator) -> bool:
    """Is the caret's vertical middle inside the line's box?"""
    caret_box, line_box = caret.bounding_box(), line.bounding_box()
    if caret_box is None or line_box is None:
        return False
    middle = caret_box["y"] + caret_box["height"] / 2
    return line_box["y"] <= middle <= line_box["y"] + line_box["height"]


# -- preview and saving ---------------------------------------------------------------------


def normalized_preview(page: Page, html: str) -> list[str]:
    """[preview, server] as the same HTML serializer writes them.

    The preview adds target="_blank" rel="noopener noreferrer" to links on purpose
    (preview.js); those two attributes are removed before comparing, nothing else.
    """
    return list(
        page.evaluate(
            """(html) => {
                const preview = document.querySelector('#preview').cloneNode(true)
                for (const a of preview.querySelectorAll('a')) {
                    a.removeAttribute('target')
                    a.removeAttribute('rel')
                }
                const server = document.createElement('template')
                server.innerHTML = html
                return [preview.innerHTML, server.innerHTML]
            }""",
            html,
        )
    )


def test_preview_renders_safely_and_like_the_server(
    server: Server, open_editor: OpenEditor
) -> None:
    document_id = server.create_document("Vista previa")
    ana = open_editor(server, document_id, "Ana")
    preview = ana.page.locator("#preview")

    ana.type("# Título\n\n**negrita** y [enlace](https://example.org)")
    expect(preview.locator("h1")).to_have_text("Título")
    expect(preview.locator("strong")).to_have_text("negrita")
    link = preview.locator("a")
    expect(link).to_have_text("enlace")
    expect(link).to_have_attribute("href", "https://example.org")
    expect(link).to_have_attribute("rel", "noopener noreferrer")

    ana.type("\n\n[x](javascript:alert(1))\n\n<script>alert(1)</script>\n")
    expected = (
        "# Título\n\n**negrita** y [enlace](https://example.org)\n\n"
        "[x](javascript:alert(1))\n\n<script>alert(1)</script>\n"
    )
    assert ana.wait_text(lambda text: text == expected, "the typed text") == expected
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text
    expect(preview).to_contain_text("[x](javascript:alert(1))")
    expect(preview.locator("script")).to_have_count(0)
    expect(preview.locator("a")).to_have_count(1)
    hrefs = preview.locator("a, [href], [src]").evaluate_all(
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))"
    )
    assert not [h for h in hrefs if h and h.strip().lower().startswith("javascript:")]

    ana.wait_saved()
    assert server.markdown(document_id) == expected
    html = server_html(server, document_id)
    assert "<script" not in html
    mine, theirs = ana.eventually(
        lambda: normalized_preview(ana.page, html),
        lambda pair: pair[0] == pair[1],
        "the preview to match the server's HTML",
    )
    assert mine == theirs

    # exact input through Yjs (a table and a hard break: markup the typing above lacks)
    exact = "| a | b |\n|---|---|\n| 1 | ~~2~~ |\n\nlínea  \nsalto & <b>fin</b>\n"
    ana.set_text(exact)
    expect(preview.locator("table td s")).to_have_text("2")
    ana.wait_saved()
    wait_markdown(server, document_id, exact, ana)
    html = server_html(server, document_id)
    ana.eventually(
        lambda: normalized_preview(ana.page, html),
        lambda pair: pair[0] == pair[1],
        "the preview to match the server's HTML (exact text)",
    )


def test_saved_badge_follows_the_server(server: Server, open_editor: OpenEditor) -> None:
    document_id = server.create_document("Guardado")
    ana = open_editor(server, document_id, "Ana")
    ana.wait_saved()
    # record every value the badge takes from now on
    ana.page.evaluate(
        """() => {
            const badge = document.querySelector('#saved')
            window.__savedLog = []
            new MutationObserver(() => window.__savedLog.push(badge.dataset.saved))
                .observe(badge, { attributes: true, attributeFilter: ['data-saved'] })
        }"""
    )

    ana.type("Texto que queda guardado.")
    expect(ana.saved).to_have_attribute("data-saved", "true")
    expect(ana.saved).to_have_text("Saved")
    log = ana.page.evaluate("window.__savedLog")
    assert "false" in log, f"the badge never said unsaved while typing: {log}"
    assert log[-1] == "true"
    assert server.markdown(document_id) == "Texto que queda guardado."


# -- losing the connection ------------------------------------------------------------------


def test_offline_edits_reach_the_others_when_back_online(
    server: Server, open_editor: OpenEditor
) -> None:
    document_id = server.create_document("Sin red")
    ana = open_editor(server, document_id, "Ana")
    beto = open_editor(server, document_id, "Beto", link=True)
    assert beto.link is not None

    ana.type("Ana escribe.")
    beto.expect_text("Ana escribe.")

    # Beto loses the network: navigator.onLine goes false (set_offline) and his sync
    # connection really drops (SyncLink.cut: closed with 1006, reconnects refused)
    beto.context.set_offline(True)
    beto.link.cut()
    expect(beto.status).not_to_have_attribute("data-status", "connected")
    expect(beto.status).to_have_text("Offline")

    beto.type(" Beto, sin red.")
    expect(beto.saved).to_have_attribute("data-saved", "false")
    expect(beto.saved).to_have_text("Unsaved changes")
    ana.type(" Ana sigue.")  # a concurrent edit on the other side
    ana.wait_saved()
    assert "sin red" not in ana.text()
    assert "sin red" not in server.markdown(document_id)

    beto.context.set_offline(False)
    beto.link.restore()
    beto.wait_connected()
    ana.expect_contains("Beto, sin red.")
    beto.expect_contains("Ana sigue.")
    beto.wait_saved()
    ana.wait_saved()
    final = ana.wait_text(lambda text: text == beto.text(), "both browsers to converge")
    assert sorted(final.split(" ")) == sorted(
        ["Ana", "escribe.", "Beto,", "sin", "red.", "Ana", "sigue."]
    )
    wait_markdown(server, document_id, final, ana)


def test_offline_edits_survive_a_reload(server: Server, open_editor: OpenEditor) -> None:
    document_id = server.create_document("Recarga")
    ana = open_editor(server, document_id, "Ana")
    beto = open_editor(server, document_id, "Beto", link=True)
    assert beto.link is not None
    ana.type("Base.")
    beto.expect_text("Base.")

    # only the sync websocket is down: HTTP still serves the page, so it can reload
    beto.link.cut()
    expect(beto.status).not_to_have_attribute("data-status", "connected")
    beto.type(" Escrito sin conexión.")
    expect(beto.saved).to_have_attribute("data-saved", "false")
    beto.wait_text(lambda text: text == "Base. Escrito sin conexión.", "Beto's own edit")
    beto.flush_indexeddb(document_id)

    beto.page.reload()
    beto.expect_text("Base. Escrito sin conexión.")  # from IndexedDB
    expect(beto.page.locator("#account-link")).to_have_text("Beto")  # still signed in
    expect(beto.status).not_to_have_attribute("data-status", "connected")
    expect(beto.saved).to_have_attribute("data-saved", "false")
    assert ana.text() == "Base."
    assert server.markdown(document_id) == "Base."

    beto.link.restore()
    beto.wait_connected()
    ana.expect_text("Base. Escrito sin conexión.")
    beto.wait_saved()
    wait_markdown(server, document_id, "Base. Escrito sin conexión.", ana)


# -- documents that do not exist ------------------------------------------------------------


def test_a_missing_document_page_is_a_404_with_a_message(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    """A document that does not exist, and one that exists but is not this person's, answer
    the same: a 404 page with a message."""
    mine = server.create_document("Mío")
    others = server.create_document("Ajeno")
    ana = accounts.add(server, "Ana", documents={mine: "delegate"})
    ctx = context()
    page = ctx.new_page()
    accounts.sign_in(server, page, ana, via="api")
    missing = "x" * 22  # a well-formed id that names no document
    for document_id in (missing, others):
        url = f"{server.url}/documents/{document_id}"
        # the browser logs the page's own 404 status; that one is expected here
        context.allow_status(ctx, 404, url)
        response = page.goto(url)
        assert response is not None
        assert response.status == 404
        expect(page.locator("#error")).to_be_visible()
        expect(page.locator("#error")).to_contain_text("This document does not exist.")
        expect(page.locator(".cm-content")).to_have_count(0)
        expect(page.locator("body")).not_to_contain_text("Ajeno")


def test_an_unknown_document_at_the_socket_shows_the_error(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    """The page and the API say the document exists; only the sync socket says it does not
    (as when a document disappears between loading the page and connecting). The server
    closes the socket with 4404 and the page must show #error and stop retrying.

    The real editor page of a real document is loaded; an init script renames the document
    in <body data-document-id> before the app's module script runs, and the API answer for
    the new name is mocked. (Fulfilling the HTML itself with page.route would make Chromium
    treat the page as non-local and block its websocket to 127.0.0.1:
    ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS.)"""
    real = server.create_document("Real")
    ghost = "g" * 22
    ana = accounts.add(server, "Ana", documents={real: "delegate"})
    ctx = context()
    ctx.add_init_script(
        "new MutationObserver((records, observer) => {"
        "  if (!document.body) return;"
        f"  document.body.dataset.documentId = {json.dumps(ghost)};"
        "  observer.disconnect()"
        "}).observe(document, { childList: true, subtree: true })"
    )
    ctx.route(
        f"{server.url}/api/documents/{ghost}",
        lambda route: route.fulfill(
            json={
                "id": ghost,
                "title": "Fantasma",
                "markdown": "",
                "html": "",
                "updated_at": "2026-01-01T00:00:00.000Z",
                "role": "delegate",
            }
        ),
    )
    page = ctx.new_page()
    accounts.sign_in(server, page, ana, via="api", go_to=f"/documents/{real}")
    expect(page.locator("body")).to_have_attribute("data-document-id", ghost)
    expect(page.locator("#doc-title")).to_have_text("Fantasma")  # the API part was believed
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This document does not exist.")
    expect(page.locator("#preview")).to_be_hidden()
    expect(page.locator("#status")).to_have_attribute("data-status", "disconnected")
    assert page.evaluate("window.accord.provider.shouldConnect") is False
