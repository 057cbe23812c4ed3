"""Review in the browser, end to end: comments, replies and suggestions through the real web
app (headless Chromium, one context per person) and the real server, live between people.

A reviewer in Buenos Aires selects a sentence and comments; a delegate in Mexico City sees it
without a reload and answers; the chair accepts a suggestion and the text changes in every
editor. Observers read only, and the server says so too. Line numbers show in the editor and
in the rendered view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.helpers import Server

if TYPE_CHECKING:  # imported for real by pytest, as a plugin (see tests/browser.py)
    from tests.browser import Accounts, Contexts, Editor, Person

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

OpenEditor = Callable[..., "Editor"]

# Select `phrase` in the editor the way a mouse does: a DOM selection inside .cm-content,
# which CodeMirror reads (also when the editor is read-only, as for reviewers).
SELECT = """(phrase) => {
    for (const line of document.querySelectorAll('.cm-content .cm-line')) {
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT)
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(phrase)
            if (at < 0) continue
            const range = document.createRange()
            range.setStart(node, at)
            range.setEnd(node, at + phrase.length)
            const selection = document.getSelection()
            selection.removeAllRanges()
            selection.addRange(range)
            return true
        }
    }
    return false
}"""

# Delete `phrase` from the shared text through Yjs: an edit like any other person's.
DELETE = """(phrase) => {
    const ytext = window.accord.ydoc.getText('content')
    const at = ytext.toString().indexOf(phrase)
    if (at < 0) return false
    ytext.delete(at, phrase.length)
    return true
}"""


def select(editor: Editor, phrase: str) -> None:
    assert editor.page.evaluate(SELECT, phrase), f"{phrase!r} is not in {editor.name}'s editor"


def seed(editor: Editor, text: str, *others: Editor) -> None:
    """`editor` (a delegate or chair) writes `text`; everyone in `others` sees it."""
    editor.set_text(text)
    editor.wait_saved()
    for other in others:
        other.wait_text(lambda t: t == text, f"{other.name} to receive the text")


def comment_on(editor: Editor, phrase: str, body: str, shortcut: bool = False) -> None:
    select(editor, phrase)
    if shortcut:
        editor.page.keyboard.press("Control+Alt+M")
    else:
        editor.page.locator("#review-comment").click()
    expect(editor.page.locator("#review-form")).to_be_visible()
    expect(editor.page.locator("#review-quote")).to_have_text(phrase)
    editor.page.locator("#review-body").fill(body)
    editor.page.locator("#review-submit").click()
    expect(editor.page.locator("#review-form")).to_be_hidden()


def thread_with(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#review-list li.thread", has_text=text)


def person(
    accounts: Accounts, server: Server, name: str, document_id: str, role: str, **kw: str
) -> Person:
    return accounts.add(server, name, documents={document_id: role}, **kw)


# -- comments, replies, resolving, live ------------------------------------------------------


def test_reviewer_comments_delegate_replies_live_and_reviewer_resolves(
    server: Server, open_editor: OpenEditor, accounts: Accounts, context: Contexts
) -> None:
    document_id = server.create_document("Estatuto")
    chair = accounts.admin(server, language="en")
    rosa = person(accounts, server, "Rosa", document_id, "reviewer", organization="FAR")
    diego = person(accounts, server, "Diego", document_id, "delegate", organization="FMX")
    delegate = open_editor(server, document_id, diego, role=None)
    reviewer = open_editor(server, document_id, rosa, role=None)
    text = "# Estatuto\n\nPrimera frase del estatuto. Segunda frase para revisar.\n"
    seed(delegate, text, reviewer)

    # the reviewer (read-only editor) selects a sentence and comments, mentioning the chair
    # through the @ autocomplete
    select(reviewer, "Segunda frase")
    reviewer.page.locator("#review-comment").click()
    body = reviewer.page.locator("#review-body")
    body.fill("¿Podemos precisar esto? ")
    body.press_sequentially("@" + chair.name[:3])
    option = reviewer.page.locator(".mention-list li", has_text=chair.name)
    expect(option).to_be_visible()
    body.press("Enter")
    expect(body).to_have_value(f"¿Podemos precisar esto? @{chair.name} ")
    reviewer.page.locator("#review-submit").click()
    mine = thread_with(reviewer.page, "¿Podemos precisar esto?")
    expect(mine).to_have_count(1)
    expect(mine.locator(".thread-author")).to_contain_text("Rosa")
    expect(mine.locator(".thread-org")).to_have_text("FAR")
    expect(mine.locator(".thread-quote")).to_have_text("Segunda frase")

    # the delegate sees it live: in the sidebar, marked in the editor and in the preview
    theirs = thread_with(delegate.page, "¿Podemos precisar esto?")
    expect(theirs).to_have_count(1)
    expect(delegate.page.locator(".cm-content .cm-review-comment")).to_have_text("Segunda frase")
    expect(delegate.page.locator("#preview mark.review-mark")).to_have_text("Segunda frase")
    # clicking the highlighted text selects its thread, and the reverse
    delegate.page.locator(".cm-content .cm-review-comment").click()
    expect(theirs).to_have_class(re.compile(r"\bselected\b"))

    # the delegate replies; the reviewer sees the reply without a reload
    theirs.locator(".reply-body").fill("Sí: «en un plazo de treinta días».")
    theirs.locator(".reply-send").click()
    expect(mine.locator(".reply")).to_contain_text("Sí: «en un plazo de treinta días».")
    expect(mine.locator(".reply .thread-author")).to_contain_text("Diego")

    # the reviewer resolves it; the delegate's highlight goes and the filter finds it resolved
    mine.locator(".thread-resolve").click()
    expect(theirs).to_have_attribute("data-status", "resolved")
    expect(theirs.locator(".thread-resolved-by")).to_have_text("Resolved by Rosa")
    expect(delegate.page.locator(".cm-content .cm-review-comment")).to_have_count(0)
    delegate.page.locator("#review-status").select_option("open")
    expect(delegate.page.locator("#review-list li.thread")).to_have_count(0)
    expect(delegate.page.locator("#review-empty")).to_have_text("No comments match these filters.")
    delegate.page.locator("#review-status").select_option("resolved")
    expect(delegate.page.locator("#review-list li.thread")).to_have_count(1)
    # by organization (those of the threads' authors: FAR) and "only mine" (not Diego's)
    delegate.page.locator("#review-status").select_option("")
    expect(delegate.page.locator("#review-org option")).to_have_text(["All organizations", "FAR"])
    delegate.page.locator("#review-org").select_option(label="FAR")
    expect(delegate.page.locator("#review-list li.thread")).to_have_count(1)
    delegate.page.locator("#review-mine").check()
    expect(delegate.page.locator("#review-list li.thread")).to_have_count(0)
    delegate.page.locator("#review-mine").uncheck()
    expect(delegate.page.locator("#review-list li.thread")).to_have_count(1)

    # the chair was mentioned, and so hears of the reply too: two unread notices on the
    # documents page, read once the document is opened
    ctx = context()
    page = ctx.new_page()
    accounts.sign_in(server, page, chair, via="api")
    item = page.locator(f'#doc-list li[data-document-id="{document_id}"]')
    expect(item.locator(".unread")).to_have_text("2 unread")
    page.goto(f"{server.url}/documents/{document_id}")
    expect(thread_with(page, "¿Podemos precisar esto?")).to_have_count(1)
    accounts.eventually(
        page,
        lambda: [
            d.get("unread")
            for d in ctx.request.get(server.url + "/api/documents").json()["documents"]
            if d["id"] == document_id
        ],
        lambda unread: unread == [0],
        "the chair's notices to be read",
    )
    page.goto(server.url + "/")
    expect(item.locator("a")).to_be_visible()
    expect(item.locator(".unread")).to_have_count(0)


# -- suggestions -----------------------------------------------------------------------------


def test_suggestion_accepted_by_the_chair_changes_the_text_everywhere(
    server: Server, open_editor: OpenEditor, accounts: Accounts
) -> None:
    document_id = server.create_document("Plazos")
    rosa = person(accounts, server, "Rosa", document_id, "reviewer", organization="FAR")
    diego = person(accounts, server, "Diego", document_id, "delegate", organization="FMX")
    chair = open_editor(server, document_id, accounts.admin(server, language="en"), role=None)
    delegate = open_editor(server, document_id, diego, role=None)
    reviewer = open_editor(server, document_id, rosa, role=None)
    seed(chair, "El plazo es de diez días hábiles.\n", delegate, reviewer)

    select(reviewer, "diez")
    reviewer.page.locator("#review-suggest").click()
    expect(reviewer.page.locator("#review-replacement")).to_have_value("diez")
    reviewer.page.locator("#review-replacement").fill("quince")
    reviewer.page.locator("#review-body").fill("Diez días no alcanzan.")
    reviewer.page.locator("#review-submit").click()

    # everyone sees it inline, as a deletion and an insertion, and in the sidebar
    for editor in (chair, delegate, reviewer):
        expect(editor.page.locator(".cm-content .cm-review-deletion")).to_have_text("diez")
        expect(editor.page.locator(".cm-content .cm-review-insertion")).to_have_text("quince")
        card = thread_with(editor.page, "Diez días no alcanzan.")
        expect(card).to_have_attribute("data-kind", "suggestion")
        expect(card.locator(".thread-change del")).to_have_text("diez")
        expect(card.locator(".thread-change ins")).to_have_text("quince")
    # the widget is a mark, not text: the shared text has not changed
    assert reviewer.text() == "El plazo es de diez días hábiles.\n"
    # only the chair decides (delegates may not, by default)
    expect(thread_with(delegate.page, "Diez días").locator(".thread-accept")).to_have_count(0)
    expect(thread_with(reviewer.page, "Diez días").locator(".thread-accept")).to_have_count(0)

    thread_with(chair.page, "Diez días").locator(".thread-accept").click()
    expected = "El plazo es de quince días hábiles.\n"
    for editor in (chair, delegate, reviewer):
        editor.wait_text(lambda t: t == expected, f"{editor.name} to get the accepted change")
        editor.expect_text(expected.rstrip("\n") + "\n")
        card = thread_with(editor.page, "Diez días")
        expect(card).to_have_attribute("data-status", "accepted")
        expect(editor.page.locator(".cm-content .cm-review-insertion")).to_have_count(0)
    chair.wait_saved()
    assert server.markdown(document_id) == expected

    # the chair lets delegates decide: the delegate rejects the next suggestion
    chair.page.locator("#review-delegates-decide").check()
    select(reviewer, "hábiles")
    reviewer.page.locator("#review-suggest").click()
    reviewer.page.locator("#review-replacement").fill("corridos")
    reviewer.page.locator("#review-submit").click()
    card = thread_with(delegate.page, "corridos")
    expect(card.locator(".thread-reject")).to_be_visible()
    card.locator(".thread-reject").click()
    expect(thread_with(reviewer.page, "corridos")).to_have_attribute("data-status", "rejected")
    assert delegate.text() == expected


def test_a_suggestion_whose_text_changed_shows_the_conflict_and_is_not_applied(
    server: Server, open_editor: OpenEditor, accounts: Accounts, context: Contexts
) -> None:
    document_id = server.create_document("Cuotas")
    rosa = person(accounts, server, "Rosa", document_id, "reviewer", organization="FAR")
    chair = open_editor(server, document_id, accounts.admin(server, language="en"), role=None)
    reviewer = open_editor(server, document_id, rosa, role=None)
    seed(chair, "Las cuotas se pagan cada mes.\n", reviewer)

    select(reviewer, "cada mes")
    reviewer.page.locator("#review-suggest").click()
    reviewer.page.locator("#review-replacement").fill("cada año")
    reviewer.page.locator("#review-submit").click()
    card = thread_with(chair.page, "cada año")
    expect(card.locator(".thread-conflict")).to_have_count(0)

    # the chair edits inside the passage: the suggestion now conflicts, for everyone
    chair.page.evaluate(
        """() => {
            const ytext = window.accord.ydoc.getText('content')
            ytext.insert(ytext.toString().indexOf('mes'), 'primer ')
        }"""
    )
    expected = "Las cuotas se pagan cada primer mes.\n"
    reviewer.wait_text(lambda t: t == expected, "the reviewer to get the edit")
    for editor in (chair, reviewer):
        conflict = thread_with(editor.page, "cada año").locator(".thread-conflict")
        expect(conflict.locator("del")).to_have_text("cada mes")
        expect(conflict.locator("ins")).to_have_text("cada primer mes")

    # accepting is refused (409) and the text stays as it is
    thread_id = card.get_attribute("data-thread-id")
    url = f"{server.url}/api/documents/{document_id}/suggestions/{thread_id}/accept"
    context.allow_status(chair.context, 409, url)
    card.locator(".thread-accept").click()
    expect(chair.page.locator("#error")).to_contain_text("The text changed since this suggestion")
    expect(card).to_have_attribute("data-status", "open")
    chair.wait_saved()
    assert chair.text() == expected
    assert server.markdown(document_id) == expected


def test_a_chair_deciding_a_suggestion_someone_just_decided_is_told_in_spanish(
    server: Server, open_editor: OpenEditor, accounts: Accounts, context: Contexts
) -> None:
    """Two chairs decide one suggestion at the same moment: the other chair's reject reaches
    the server while this chair's accept is on its way. The accept is refused (409, `decided`)
    and the chair reads why in her language; the text is untouched."""
    document_id = server.create_document("Cuotas")
    rosa = person(accounts, server, "Rosa", document_id, "reviewer", organization="FAR")
    marta = person(accounts, server, "Marta", document_id, "chair", language="es")
    chair = open_editor(server, document_id, marta, role=None)
    reviewer = open_editor(server, document_id, rosa, role=None)
    text = "Las cuotas se pagan cada mes.\n"
    seed(chair, text, reviewer)

    select(reviewer, "cada mes")
    reviewer.page.locator("#review-suggest").click()
    reviewer.page.locator("#review-replacement").fill("cada año")
    reviewer.page.locator("#review-submit").click()
    card = thread_with(chair.page, "cada año")
    expect(card.locator(".thread-accept")).to_be_visible()
    thread_id = card.get_attribute("data-thread-id")
    base = f"{server.url}/api/documents/{document_id}/suggestions/{thread_id}"

    def the_other_chair_rejects_first(route: Route) -> None:
        # the admin chairs the document too, and rejects through the API
        rejected = httpx.post(f"{base}/reject", json={}, headers=server.headers)
        assert rejected.status_code == 200, rejected.text
        route.continue_()

    chair.page.route(f"{base}/accept", the_other_chair_rejects_first)
    context.allow_status(chair.context, 409, f"{base}/accept")
    card.locator(".thread-accept").click()
    expect(chair.page.locator("#error")).to_contain_text(
        "Otra persona rechazó esta sugerencia hace un momento"
    )
    expect(card).to_have_attribute("data-status", "rejected")
    assert chair.text() == text
    assert server.markdown(document_id) == text


# -- observers, deleted text, Spanish --------------------------------------------------------


def test_observer_reads_but_cannot_comment(
    server: Server, open_editor: OpenEditor, accounts: Accounts
) -> None:
    document_id = server.create_document("Observación")
    olga = person(accounts, server, "Olga", document_id, "observer")
    diego = person(accounts, server, "Diego", document_id, "delegate", organization="FMX")
    delegate = open_editor(server, document_id, diego, role=None)
    observer = open_editor(server, document_id, olga, role=None)
    seed(delegate, "Texto para observar.\n", observer)
    comment_on(delegate, "observar", "Una nota del delegado.")

    expect(thread_with(observer.page, "Una nota del delegado.")).to_have_count(1)
    expect(observer.page.locator("#review-comment")).to_be_disabled()
    expect(observer.page.locator("#review-suggest")).to_be_disabled()
    expect(observer.page.locator("#review-reason")).to_have_text(
        "Observers read the comments but cannot add any."
    )
    card = thread_with(observer.page, "Una nota del delegado.")
    expect(card.locator(".reply-body")).to_have_count(0)
    expect(card.locator(".thread-resolve")).to_have_count(0)
    # the shortcut does nothing either
    select(observer, "observar")
    observer.page.keyboard.press("Control+Alt+M")
    expect(observer.page.locator("#review-form")).to_be_hidden()

    # and the server refuses, whatever the page does
    csrf = next(c["value"] for c in observer.context.cookies() if c["name"] == "csrftoken")
    anchor = thread_with(delegate.page, "Una nota").get_attribute("data-thread-id")
    for path, payload in (
        ("comments", {"body": "x", "anchor": {"start": "AA==", "end": "AA=="}, "quote": "x"}),
        (
            "suggestions",
            {
                "body": "",
                "anchor": {"start": "AA==", "end": "AA=="},
                "quote": "x",
                "replacement": "y",
            },
        ),
        (f"comments/{anchor}/replies", {"body": "x"}),
    ):
        response = observer.context.request.post(
            f"{server.url}/api/documents/{document_id}/{path}",
            data=payload,
            headers={"X-CSRFToken": csrf},
        )
        assert response.status == 403, (path, response.status, response.text())


def test_comment_on_deleted_text_keeps_its_quote_in_spanish(
    server: Server, open_editor: OpenEditor, accounts: Accounts
) -> None:
    document_id = server.create_document("Borrado")
    rosa = person(
        accounts, server, "Rosa", document_id, "reviewer", organization="FAR", language="es"
    )
    diego = person(accounts, server, "Diego", document_id, "delegate", organization="FMX")
    delegate = open_editor(server, document_id, diego, role=None)
    reviewer = open_editor(server, document_id, rosa, role=None)
    # the account's language is Spanish: so is the interface
    expect(reviewer.page.locator("#review-comment")).to_have_text("Comentar")
    expect(reviewer.page.locator("#review-suggest")).to_have_text("Sugerir un cambio")
    expect(reviewer.page.locator("#review-heading")).to_have_text("Comentarios y sugerencias")

    seed(delegate, "Uno. Dos tres cuatro. Cinco seis.\n", reviewer)
    comment_on(reviewer, "Dos tres cuatro", "Esto sobra.")
    comment_on(reviewer, "Cinco seis", "Esto queda.", shortcut=True)
    cards = reviewer.page.locator("#review-list li.thread")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Esto sobra.")  # text order

    assert delegate.page.evaluate(DELETE, "Dos tres cuatro. ")
    for editor, label in ((reviewer, "Sobre texto eliminado"), (delegate, "On deleted text")):
        gone = thread_with(editor.page, "Esto sobra.")
        expect(gone.locator(".thread-deleted")).to_have_text(label)
        expect(gone.locator(".thread-quote")).to_have_text("Dos tres cuatro")
        # deleted ones go last; the other keeps its mark
        expect(editor.page.locator("#review-list li.thread").nth(1)).to_contain_text("Esto sobra.")
        expect(editor.page.locator(".cm-content .cm-review-comment")).to_have_text("Cinco seis")
    # after a reload the server says the same
    reviewer.page.reload()
    gone = thread_with(reviewer.page, "Esto sobra.")
    expect(gone.locator(".thread-deleted")).to_have_text("Sobre texto eliminado")
    expect(reviewer.page.locator("#review-list li.thread").nth(1)).to_contain_text("Esto sobra.")


# -- line numbers ----------------------------------------------------------------------------


def test_line_numbers_in_the_editor_and_the_rendered_view(
    server: Server, open_editor: OpenEditor
) -> None:
    document_id = server.create_document("Líneas")
    ana = open_editor(server, document_id, "Ana")
    ana.set_text("# Título\n\nPárrafo uno,\nsigue.\n\n- a\n- b\n\nOtro párrafo.\n")
    preview = ana.page.locator("#preview")
    expect(preview.locator("p[data-line='9']")).to_have_text("Otro párrafo.")
    expect(preview.locator("h1")).to_have_attribute("data-line", "1")
    expect(preview.locator("li").nth(1)).to_have_attribute("data-line", "7")
    # The gutter's number comes from the stylesheet: wait for it to apply (a loaded machine
    # can run the app's script first), rather than read the style at one instant.
    ana.page.wait_for_function(
        """() => getComputedStyle(
            document.querySelector("#preview p[data-line='3']"), "::before"
        ).content === '"3"'"""
    )
    numbers = ana.page.locator(".cm-lineNumbers .cm-gutterElement", has_text=re.compile(r"^9$"))
    expect(numbers).to_have_count(1)
