"""A chair takes a draft through the whole process in the browser, end to end: real
`accord serve`, headless Chromium, one browser context per person.

Carla (FMX) chairs «Declaración fundacional» and Beto (CAR) is a delegate; their accounts
are in Spanish, so the pages speak Spanish. Carla writes, saves a named version and compares
it with the text, sends the draft to review (both editors become read-only: typing changes
nothing, the server keeps the text), ratifies it with a vote, and records FMX's adoption;
Beto records CAR's, with reservations. She publishes it at a permalink a stranger opens. The
dashboard shows both decisions, and USA still pending. The PDF export carries the title and
the fingerprint (read back with pypdf), the Markdown export is the ratified text byte for
byte, and the verify page says so of both. A revision then starts from the ratified text.

The history on its own: who edited between versions (an automatic version names them), what
a reviewer sees of it, and a restore that comes back as new edits.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests import people_helpers as people
from tests.helpers import Server

if TYPE_CHECKING:  # imported for real by pytest, as a plugin (see tests/browser.py)
    from tests.browser import Accounts, Contexts

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.browser

TITLE = "Declaración fundacional"
SEED = "# Declaración fundacional\n\nLas organizaciones afiliadas acuerdan:\n\n1. Unidad.\n"
VERSION_NAME = "Borrador para el congreso"
SHA = re.compile(r"^[0-9a-f]{64}$")
# What the editor shows, without other people's caret labels (as tests.browser reads it).
VISIBLE = """() => [...document.querySelectorAll('.cm-content > .cm-line')].map((line) => {
    const copy = line.cloneNode(true)
    for (const widget of copy.querySelectorAll('.cm-ySelectionCaret')) widget.remove()
    return copy.textContent
}).join('\\n')"""


def api(server: Server, person: people.Person, path: str) -> Any:
    response = httpx.get(server.url + path, headers=person.bearer, timeout=30)
    response.raise_for_status()
    return response.json()


def stored_markdown(server: Server, person: people.Person, document_id: str) -> str:
    return str(api(server, person, f"/api/documents/{document_id}")["markdown"])


def open_page(
    context: Contexts, accounts: Accounts, server: Server, person: people.Person, path: str
) -> Page:
    page = context().new_page()
    accounts.sign_in(server, page, person, via="api", go_to=path)  # type: ignore[arg-type]
    return page


def open_editor(
    context: Contexts, accounts: Accounts, server: Server, person: people.Person, doc: str
) -> Page:
    page = open_page(context, accounts, server, person, f"/documents/{doc}")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected")
    expect(page.locator("#doc-status")).to_have_attribute("data-status", "draft")
    return page


def visible_text(page: Page) -> str:
    return str(page.evaluate(VISIBLE))


def wait_stored(
    accounts: Accounts, page: Page, server: Server, chair: people.Person, doc: str, text: str
) -> None:
    accounts.eventually(
        page,
        lambda: stored_markdown(server, chair, doc),
        lambda markdown: markdown == text,
        f"the server to store {text!r}",
    )


def download(page: Page, selector: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.locator(selector).click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def test_draft_to_ratified_text_adopted_exported_and_verified(
    server: Server, context: Contexts, accounts: Accounts, tmp_path: Path
) -> None:
    chair = people.add_person(server.db, "carla", name="Carla", org="FMX")
    beto = people.add_person(server.db, "beto", name="Beto", org="CAR")
    people.add_person(server.db, "uma", name="Uma", org="USA")  # a third organization
    doc = people.add_document(server.db, chair, [(beto, "delegate")], title=TITLE, seed=SEED)

    # 1. a draft with text: the chair writes in it
    carla = open_editor(context, accounts, server, chair, doc)
    beto_editor = open_editor(context, accounts, server, beto, doc)
    carla.locator(".cm-content").click()
    carla.keyboard.press("Control+End")
    carla.keyboard.type("Solidaridad.")
    draft = SEED + "Solidaridad."
    wait_stored(accounts, carla, server, chair, doc, draft)

    # 2. a named version, then the difference from it as the text goes on
    carla.locator("#history").click()
    carla.locator("#version-name").fill(VERSION_NAME)
    carla.locator("#save-version").click()
    named = carla.locator("#version-list li[data-kind='named']")
    expect(named).to_have_count(1)
    expect(named).to_contain_text(VERSION_NAME)
    expect(named).to_contain_text("Carla (FMX)")  # who edited before it
    number = named.get_attribute("data-number")
    assert number is not None
    carla.locator(".cm-content").click()
    carla.keyboard.press("Control+End")
    carla.keyboard.type(" Autonomía.")
    text = draft + " Autonomía."
    wait_stored(accounts, carla, server, chair, doc, text)
    named.locator(".version-compare").click()
    expect(carla.locator("#version-view .diff ins")).to_have_text(" Autonomía.")
    expect(carla.locator("#version-view .diff del")).to_have_count(0)
    named.locator(".version-view").click()
    expect(carla.locator("#version-view .version-text h1")).to_have_text(TITLE)
    expect(carla.locator("#version-view .version-text")).not_to_contain_text("Autonomía")

    # 3. review: read-only for everyone, the chair included, live in every open editor
    carla.locator("#to-review").click()
    for page in (carla, beto_editor):
        expect(page.locator("#doc-status")).to_have_attribute("data-status", "review")
        expect(page.locator("#readonly")).to_have_text(re.compile("en revisión"))
        expect(page.locator(".cm-content")).to_have_attribute("contenteditable", "false")
    for page in (carla, beto_editor):
        page.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.type(" Cambio prohibido.")
        assert visible_text(page) == text
        assert page.evaluate("window.accord.ydoc.getText('content').toString()") == text
    assert stored_markdown(server, chair, doc) == text
    expect(beto_editor.locator("#ratify-open")).to_be_hidden()  # delegates do not ratify

    # 4. ratify, with the vote
    carla.locator("#ratify-open").click()
    carla.locator("#ratify-body").fill("Congreso de la Federación")
    carla.locator("#ratify-date").fill("2026-11-20")
    carla.locator("#ratify-for").fill("40")
    carla.locator("#ratify-against").fill("3")
    carla.locator("#ratify-abstentions").fill("2")
    carla.locator("#ratify-notes").fill("Votación a mano alzada.")
    carla.locator("#ratify-submit").click()
    carla.wait_for_url(f"{server.url}/ratified/{doc}")
    expect(carla.locator("#ratified-title")).to_have_text(TITLE)
    expect(carla.locator("#ratified-votes")).to_have_text("40 a favor, 3 en contra, 2 abstenciones")
    expect(carla.locator("#ratified-body")).to_have_text("Congreso de la Federación")
    sha = carla.locator("#ratified-sha").inner_text().strip()
    assert SHA.match(sha), sha
    assert sha == hashlib.sha256(text.encode("utf-8")).hexdigest()
    expect(carla.locator("#ratified-text h1")).to_have_text(TITLE)
    beto_editor.reload()
    expect(beto_editor.locator("#doc-status")).to_have_attribute("data-status", "ratified")
    expect(beto_editor.locator("#readonly")).to_have_text(re.compile("ratificado"))
    expect(beto_editor.locator("#ratified-link")).to_be_visible()

    # 5. adoption: the chair records FMX's; Beto, a delegate from CAR, may record only CAR's
    carla.locator("#adoption-org").select_option("FMX")
    carla.locator("#adoption-decision").select_option("adopted")
    carla.locator("#adoption-body").fill("Congreso Nacional de FMX")
    carla.locator("#adoption-date").fill("2026-12-01")
    carla.locator("#adoption-submit").click()
    fmx = carla.locator("#adoption-table tr[data-org='FMX']")
    expect(fmx).to_have_attribute("data-decision", "adopted")
    expect(fmx).to_contain_text("Congreso Nacional de FMX")
    beto_page = beto_editor.context.new_page()
    beto_page.goto(f"{server.url}/ratified/{doc}")
    expect(beto_page.locator("#adoption-org option")).to_have_count(1)
    expect(beto_page.locator("#adoption-org option")).to_have_attribute("value", "CAR")
    expect(beto_page.locator("#adoption-reservations")).to_be_hidden()
    beto_page.locator("#adoption-decision").select_option("adopted_with_reservations")
    beto_page.locator("#adoption-reservations").fill("Sobre el punto 2, en espera del congreso.")
    beto_page.locator("#adoption-body").fill("Comité Central de CAR")
    beto_page.locator("#adoption-submit").click()
    car = beto_page.locator("#adoption-table tr[data-org='CAR']")
    expect(car).to_have_attribute("data-decision", "adopted_with_reservations")
    expect(car).to_contain_text("Sobre el punto 2")

    # a chair publishes it at a permalink that anyone opens without an account
    carla.locator("#public-toggle").check()
    expect(carla.locator("#public-url")).to_be_visible()
    permalink = carla.locator("#public-url").get_attribute("href")
    assert permalink is not None and permalink.startswith("/p/"), permalink
    expect(beto_page.locator("#public-toggle")).to_have_count(0)  # delegates do not publish
    stranger = context().new_page()
    stranger.goto(server.url + permalink)
    expect(stranger.locator("#ratified-title")).to_have_text(TITLE)
    expect(stranger.locator("#ratified-sha")).to_have_text(sha)
    expect(stranger.locator("#adoption-table tr[data-org='FMX']")).to_have_attribute(
        "data-decision", "adopted"
    )
    expect(stranger.locator("#adoption-form")).to_be_hidden()
    expect(stranger.locator("#account-link")).to_have_count(0)

    # 6. the dashboard: texts x organizations
    carla.locator("#nav-ratified").click()
    carla.wait_for_url(f"{server.url}/ratified")
    row = carla.locator(f"#ratified-table tr[data-document-id='{doc}']")
    expect(row.locator("td[data-org='FMX']")).to_have_attribute("data-decision", "adopted")
    expect(row.locator("td[data-org='CAR']")).to_have_attribute(
        "data-decision", "adopted_with_reservations"
    )
    expect(row.locator("td[data-org='USA']")).to_have_attribute("data-decision", "pending")
    expect(row).to_contain_text("adoptado por 2 de 3")

    # 7. the exports carry the fingerprint; the Markdown one verifies as the ratified text
    row.locator("a").first.click()
    carla.wait_for_url(f"{server.url}/ratified/{doc}")
    pdf = download(carla, "#ratified-exports a[data-format='pdf']", tmp_path)
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    printed = "".join(page.extract_text() or "" for page in reader.pages)
    assert TITLE in printed
    assert sha in printed.replace("\n", "").replace(" ", "")
    assert reader.metadata is not None
    assert f"accord-sha256:{sha}" in str(reader.metadata.get("/Keywords"))
    markdown = download(carla, "#ratified-exports a[data-format='md']", tmp_path)
    assert hashlib.sha256(markdown.read_bytes()).hexdigest() == sha

    carla.locator("#nav-verify").click()
    carla.wait_for_url(f"{server.url}/verify")
    carla.locator("#verify-file").set_input_files(str(markdown))
    carla.locator("#verify-submit").click()
    result = carla.locator("#verify-result")
    expect(result).to_have_attribute("data-result", "exact")
    expect(result.locator("#verify-link")).to_have_text(TITLE)
    expect(result.locator("#verify-sha")).to_have_text(sha)
    carla.locator("#verify-file").set_input_files(str(pdf))
    carla.locator("#verify-submit").click()
    expect(result).to_have_attribute("data-result", "export")  # rebuilt, byte for byte
    expect(result.locator("#verify-link")).to_have_text(TITLE)
    expect(result.locator("#verify-sha")).to_have_text(hashlib.sha256(pdf.read_bytes()).hexdigest())
    altered = tmp_path / "altered.md"
    altered.write_bytes(markdown.read_bytes().replace(b"Unidad", "Unión".encode()))
    carla.locator("#verify-file").set_input_files(str(altered))
    carla.locator("#verify-submit").click()
    expect(result).to_have_attribute("data-result", "none")

    # the chair's audit trail holds the ratification, and its chain verifies
    carla.goto(f"{server.url}/documents/{doc}")
    carla.locator("#audit").click()
    expect(carla.locator("#audit-chain")).to_have_attribute("data-ok", "true")
    expect(carla.locator("#audit-list li[data-action='document.ratify']")).to_have_count(1)
    expect(beto_editor.locator("#audit")).to_be_hidden()

    # a revision starts from the ratified text, linked to it
    carla.locator("#start-revision").click()
    carla.wait_for_url(re.compile(r"/documents/(?!" + re.escape(doc) + r")[A-Za-z0-9_-]+$"))
    expect(carla.locator("#doc-status")).to_have_attribute("data-status", "draft")
    expect(carla.locator("#revision-of-link")).to_have_attribute("href", f"/ratified/{doc}")
    accounts.eventually(
        carla,
        lambda: visible_text(carla),
        lambda shown: shown == text,
        "the revision to start from the ratified text",
    )


@pytest.fixture
def quick_server(tmp_path: Path) -> Iterator[Server]:
    """A server that takes an automatic version half a second after editing goes quiet."""
    env = {"ACCORD_ROOM_UNLOAD_SECONDS": "0.5", "ACCORD_VERSION_QUIET_SECONDS": "0.5"}
    instance = Server(tmp_path / "accord.db", env=env).start()
    yield instance
    instance.stop()


def test_history_shows_who_edited_and_restores_as_new_edits(
    quick_server: Server, context: Contexts, accounts: Accounts
) -> None:
    server = quick_server
    chair = people.add_person(server.db, "carla", name="Carla", org="FMX")
    beto = people.add_person(server.db, "beto", name="Beto", org="CAR")
    rita = people.add_person(server.db, "rita", name="Rita", org="USA")
    seed = "Primera línea.\n"
    doc = people.add_document(
        server.db, chair, [(beto, "delegate"), (rita, "reviewer")], title=TITLE, seed=seed
    )
    carla = open_editor(context, accounts, server, chair, doc)
    carla.locator("#history").click()
    carla.locator("#version-name").fill("Versión base")
    carla.locator("#save-version").click()
    base = carla.locator("#version-list li[data-kind='named']")
    expect(base).to_have_count(1)

    # Beto writes; once editing goes quiet the server takes an automatic version, naming him
    beto_editor = open_editor(context, accounts, server, beto, doc)
    beto_editor.locator(".cm-content").click()
    beto_editor.keyboard.press("Control+End")
    beto_editor.keyboard.type("Segunda línea de Beto.")
    wait_stored(accounts, carla, server, chair, doc, seed + "Segunda línea de Beto.")
    accounts.eventually(
        carla,
        lambda: [
            v["kind"] for v in api(server, chair, f"/api/documents/{doc}/versions")["versions"]
        ],
        lambda kinds: "auto" in kinds,
        "an automatic version",
    )
    carla.locator("#history").click()  # closed, and opened again: the list is asked for anew
    carla.locator("#history").click()
    auto = carla.locator("#version-list li[data-kind='auto']")
    expect(auto).to_have_count(1)
    expect(auto.locator(".version-editors")).to_contain_text("Beto (CAR)")

    # a reviewer sees the named versions, not the keystroke-level ones, and cannot restore
    reviewer = open_page(context, accounts, server, rita, f"/documents/{doc}")
    reviewer.locator("#history").click()
    expect(reviewer.locator("#version-list li[data-kind='named']")).to_have_count(1)
    expect(reviewer.locator("#version-list li[data-kind='auto']")).to_have_count(0)
    expect(reviewer.locator("#snapshot-form")).to_be_hidden()
    expect(reviewer.locator(".version-restore")).to_have_count(0)

    # restoring the base version: new edits on top, live in Beto's editor; history grows
    base.locator(".version-restore").click()
    base.locator(".version-restore-confirm").click()
    accounts.eventually(
        beto_editor, lambda: visible_text(beto_editor), lambda t: t == seed, "the restored text"
    )
    wait_stored(accounts, carla, server, chair, doc, seed)
    expect(carla.locator("#version-list li[data-kind='restore']")).to_have_count(1)
    expect(carla.locator("#version-list li").first).to_have_attribute("data-kind", "restore")
    expect(carla.locator("#version-list li[data-kind='auto']")).to_have_count(1)  # kept
