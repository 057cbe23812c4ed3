"""Accounts in the web app, end to end: signing in and out, who sees which documents, what a
role allows in the editor (also when a chair changes it live), and names and titles that
carry markup. Real `accord serve`, headless Chromium, one browser context per person."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import Server

if TYPE_CHECKING:  # imported for real by pytest, as a plugin (see tests/browser.py)
    from tests.browser import Accounts, Contexts, Editor

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

OpenEditor = Callable[..., "Editor"]
SESSION_COOKIE = "accord_session"  # server.auth.COOKIE


def settle(editor: Editor, ms: int = 700) -> None:
    """Give whatever the page might send time to reach the server (a read-only check cannot
    wait for something to happen; it waits for a while and then looks)."""
    editor.page.wait_for_timeout(ms)


# -- signing in -----------------------------------------------------------------------------


def test_sign_in_through_the_login_page_lists_only_ones_documents(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    mine = server.create_document("Acta de Ana")
    others = server.create_document("Documento ajeno")
    ana = accounts.add(server, "Ana", documents={mine: "delegate"})
    ctx = context()
    page = ctx.new_page()

    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/login?next=/")  # a stranger is sent to sign in
    page.locator("#login-email").fill(ana.email)

    # a wrong password: the API answers 401 (which Chromium logs; expected here), the page
    # says so and stays
    context.allow_status(ctx, 401, server.url + "/api/session")
    page.locator("#login-password").fill("not-the-password")
    page.locator("#login-submit").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(f"{server.url}/login?next=/")
    expect(page.locator("#login-form")).to_be_visible()
    assert not [c for c in ctx.cookies() if c["name"] == SESSION_COOKIE]

    page.locator("#login-password").fill(ana.password)
    page.locator("#login-submit").click()
    page.wait_for_url(server.url + "/")
    expect(page.locator("#account-link")).to_have_text("Ana")
    items = page.locator("#doc-list li[data-document-id]")
    expect(items).to_have_count(1)
    expect(items).to_have_attribute("data-document-id", mine)
    expect(items.locator("a")).to_have_text("Acta de Ana")
    expect(items.locator(".role")).to_have_attribute("data-role", "delegate")
    expect(page.locator("body")).not_to_contain_text("Documento ajeno")
    expect(page.locator("#new-doc-form")).to_be_hidden()  # a delegate creates no documents

    # nor does the API show the other document to her (a 404, like one that does not exist)
    assert ctx.request.get(f"{server.url}/api/documents/{others}").status == 404
    assert ctx.request.get(f"{server.url}/api/documents/{mine}").status == 200


# -- roles in the editor --------------------------------------------------------------------


def test_a_reviewer_reads_and_cannot_change_the_text(
    server: Server, open_editor: OpenEditor, accounts: Accounts
) -> None:
    document_id = server.create_document("Para revisar")
    ana = open_editor(server, document_id, "Ana")
    ana.type("Texto base.")
    ana.wait_saved()

    rita = accounts.add(server, "Rita", documents={document_id: "reviewer"})
    reviewer = open_editor(server, document_id, rita, role=None, via="ui")
    reviewer.expect_text("Texto base.")
    readonly = reviewer.page.locator("#readonly")
    expect(readonly).to_be_visible()
    expect(readonly).to_have_text("Read only — you are a reviewer")
    expect(reviewer.content).to_have_attribute("contenteditable", "false")
    expect(ana.page.locator("#readonly")).to_be_hidden()

    reviewer.type(" Cambio de Rita.")
    reviewer.page.keyboard.press("Backspace")
    reviewer.page.keyboard.press("Enter")
    settle(reviewer)
    assert reviewer.visible_text() == "Texto base."
    assert reviewer.text() == "Texto base."
    assert ana.text() == "Texto base."
    assert server.markdown(document_id) == "Texto base."
    expect(reviewer.status).to_have_attribute("data-status", "connected")  # reads along

    # and she still sees the others' edits as they happen
    ana.type(" Más.")
    reviewer.expect_text("Texto base. Más.")


def test_a_chair_makes_a_delegate_a_reviewer_while_they_edit(
    server: Server, open_editor: OpenEditor, accounts: Accounts
) -> None:
    document_id = server.create_document("Cambio de rol")
    carla = accounts.add(server, "Carla", documents={document_id: "chair"})
    beto = open_editor(server, document_id, "Beto")  # a delegate
    chair = open_editor(server, document_id, carla, role=None)
    assert beto.person is not None

    beto.type("Antes.")
    chair.expect_text("Antes.")
    beto.wait_saved()
    expect(beto.page.locator("#readonly")).to_be_hidden()
    beto.page.evaluate("window.__samePage = true")  # gone if the page reloads

    chair.page.locator("#members").click()
    row = chair.page.locator(f'#member-list li[data-user-id="{beto.person.id}"]')
    expect(row).to_have_attribute("data-role", "delegate")
    row.locator(".member-role").select_option("reviewer")
    expect(row).to_have_attribute("data-role", "reviewer")  # the list, refreshed

    # Beto's open editor turns read-only at once, without a reload
    expect(beto.page.locator("#readonly")).to_be_visible()
    expect(beto.content).to_have_attribute("contenteditable", "false")
    assert beto.page.evaluate("window.__samePage") is True

    beto.type(" Después.")
    settle(beto)
    assert beto.visible_text() == "Antes."
    assert beto.text() == "Antes."
    assert chair.text() == "Antes."
    assert server.markdown(document_id) == "Antes."

    # the chair's own editor is untouched and still writes
    chair.type(" Sigue la presidencia.")
    beto.expect_text("Antes. Sigue la presidencia.")
    chair.wait_saved()
    assert server.markdown(document_id) == "Antes. Sigue la presidencia."


# -- signing out ----------------------------------------------------------------------------


def test_logout_ends_the_session(server: Server, context: Contexts, accounts: Accounts) -> None:
    document_id = server.create_document("Sesión")
    ana = accounts.add(server, "Ana", documents={document_id: "delegate"})
    ctx = context()
    page = ctx.new_page()
    accounts.sign_in(server, page, ana, via="ui", go_to="/")
    expect(page.locator("#doc-list li")).to_have_count(1)
    # the same session has the document open in a second tab
    editor = ctx.new_page()
    editor.goto(f"{server.url}/documents/{document_id}")
    expect(editor.locator("#status")).to_have_attribute("data-status", "connected")
    session = [c for c in ctx.cookies() if c["name"] == SESSION_COOKIE]
    assert len(session) == 1
    assert ctx.request.get(server.url + "/api/me").status == 200

    # the editor tab learns of it through its socket (4401), asks /api/me, gets a 401
    # (expected here) and goes to sign in
    context.allow_status(ctx, 401, server.url + "/api/me")
    page.locator("#logout").click()
    page.wait_for_url(server.url + "/login")
    expect(page.locator("#login-form")).to_be_visible()
    assert ctx.request.get(server.url + "/api/me").status == 401
    editor.wait_for_url(f"{server.url}/login?next=%2Fdocuments%2F{document_id}")

    # the old session cookie, put back, opens nothing: the session ended on the server
    ctx.add_cookies(session)  # type: ignore[arg-type]
    assert ctx.request.get(server.url + "/api/me").status == 401
    assert ctx.request.get(f"{server.url}/api/documents/{document_id}").status == 401
    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/login?next=/")


# -- markup in names and titles -------------------------------------------------------------

XSS_NAME = "<img src=x onerror=window.__xss=1>"
XSS_TITLE = "<script>window.__xss=1</script>"


def no_injection(page: Page) -> None:
    """Nothing ran, nothing was parsed as markup, and the CSP had nothing to refuse."""
    found = page.evaluate(
        """() => ({
            xss: typeof window.__xss,
            images: document.querySelectorAll('img').length,
            scripts: document.querySelectorAll('body script').length,
            csp: (window.__accordCsp || []).length,
        })"""
    )
    assert found == {"xss": "undefined", "images": 0, "scripts": 0, "csp": 0}, found


def test_markup_in_names_and_titles_is_shown_as_text(
    server: Server, context: Contexts, open_editor: OpenEditor, accounts: Accounts
) -> None:
    document_id = server.create_document(XSS_TITLE)
    mallory = accounts.add(
        server, XSS_NAME, email="mallory@test.accord", documents={document_id: "chair"}
    )

    # the documents list
    ctx = context()
    page = ctx.new_page()
    accounts.sign_in(server, page, mallory, via="api")
    link = page.locator(f'#doc-list li[data-document-id="{document_id}"] a')
    expect(link).to_have_text(XSS_TITLE)
    expect(page.locator("#account-link")).to_have_text(XSS_NAME)
    no_injection(page)

    # the editor's title, the top bar, "who is here" and the cursor label, both ways
    her = open_editor(server, document_id, mallory, role=None)
    ana = open_editor(server, document_id, "Ana")
    expect(her.page.locator("#doc-title")).to_have_text(XSS_TITLE)
    assert her.page.title().startswith(XSS_TITLE)
    expect(her.page.locator("#who li[data-self=true] .name")).to_have_text(XSS_NAME)
    expect(ana.page.locator("#who li:not([data-self]) .name")).to_have_text(XSS_NAME)
    her.type("Hola.")
    ana.expect_text("Hola.")
    expect(ana.page.locator(".cm-ySelectionInfo")).to_have_text(XSS_NAME)

    # the members panel: a chair's (with the role select's label and the removal question)
    # and a delegate's
    her.page.locator("#members").click()
    row = her.page.locator(f'#member-list li[data-user-id="{mallory.id}"]')
    expect(row.locator(".member-name")).to_have_text(XSS_NAME)
    expect(row.locator(".member-role-box")).to_contain_text(f"Role of {XSS_NAME}")
    row.locator(".member-remove").click()
    expect(row.locator(".confirm-question")).to_have_text(f"Remove {XSS_NAME} from this document?")
    row.locator(".member-remove-cancel").click()
    ana.page.locator("#members").click()
    expect(
        ana.page.locator(f'#member-list li[data-user-id="{mallory.id}"] .member-name')
    ).to_have_text(XSS_NAME)

    for each in (page, her.page, ana.page):
        no_injection(each)


def test_markup_in_organization_names_and_invitations_is_shown_as_text(
    server: Server, context: Contexts, accounts: Accounts
) -> None:
    import sqlite3

    import httpx

    document_id = server.create_document(XSS_TITLE)
    mallory = accounts.add(
        server,
        "Mallory",
        email="mallory2@test.accord",
        organization="XSS",
        documents={document_id: "delegate"},
    )
    with sqlite3.connect(server.db) as conn:  # an organization named with markup
        conn.execute("UPDATE organizations SET name = ? WHERE short_name = 'XSS'", (XSS_NAME,))
    conn.close()

    # the account page shows the organization's name
    ctx = context()
    page = ctx.new_page()
    accounts.sign_in(server, page, mallory, via="api")
    page.goto(server.url + "/account")
    expect(page.locator("#account-organization")).to_contain_text(XSS_NAME)
    no_injection(page)

    # an invitation page, opened by someone not signed in, shows the document's title
    created = httpx.post(
        f"{server.url}/api/documents/{document_id}/invitations",
        json={"role": "reviewer"},
        headers=server.headers,
    )
    assert created.status_code == 201, created.text
    guest = context().new_page()
    guest.goto(created.json()["url"])
    expect(guest.locator("#app")).to_contain_text(XSS_TITLE)
    no_injection(guest)
