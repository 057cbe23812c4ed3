"""Review over HTTP against a real server: comments and suggestions anchored with Yjs relative
positions, following their text through edits, the deleted-text and conflict cases, mentions and
unread notices, live events, bad input, and who may do what."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.anchors import Position, Resolver, encode
from server.positions import Offsets
from server.sync import protocol
from tests.helpers import Server
from tests.people_helpers import (
    Person,
    RoleClient,
    add_document,
    add_person,
    reading,
    run,
    set_role,
    stored_doc,
    stored_text,
    writing,
)

SEED = "# Protocolo\n\nArtículo 1. Toda persona 👩‍👩‍👧 tiene derecho a presentar una queja.\nFin ✅"


@dataclass
class Cast:
    server: Server
    chair: Person
    delegate: Person
    reviewer: Person
    reviewer2: Person
    observer: Person
    outsider: Person

    def url(self, document_id: str, path: str = "") -> str:
        return f"{self.server.url}/api/documents/{document_id}{path}"

    def document(self, seed: str = SEED) -> str:
        return add_document(
            self.server.db,
            self.chair,
            [
                (self.delegate, "delegate"),
                (self.reviewer, "reviewer"),
                (self.reviewer2, "reviewer"),
                (self.observer, "observer"),
            ],
            seed=seed,
        )


@pytest.fixture(scope="module")
def cast(shared_server: Server) -> Iterator[Cast]:
    db = shared_server.db
    yield Cast(
        shared_server,
        chair=add_person(db, "chair", name="Carmen Chair", org="FMX"),
        delegate=add_person(db, "delegate", name="Diego Delegado", org="FMX"),
        reviewer=add_person(db, "reviewer", name="Rosa Revisora", org="CAR"),
        reviewer2=add_person(db, "reviewer2", name="Rosa Revisora Segunda", org="UUS"),
        observer=add_person(db, "observer", name="Olga Observadora", org="UUS"),
        outsider=add_person(db, "outsider", name="Otto Outsider", org="UUS"),
    )


def anchor_of(db: Path, document_id: str, start: int, end: int) -> dict[str, str]:
    """The anchor a browser makes for [start, end) in UTF-16 units of the stored text."""
    resolver = Resolver(stored_doc(db, document_id))
    return {
        "start": encode(resolver.make(start, 0)),
        "end": encode(resolver.make(end, -1)),
    }


def span(text: str, fragment: str) -> tuple[int, int]:
    """[start, end) of a fragment in UTF-16 units."""
    offsets = Offsets(text)
    index = text.index(fragment)
    start = offsets.utf16_from_index(index)
    return start, offsets.utf16_from_index(index + len(fragment))


def post(who: Person, url: str, body: object) -> httpx.Response:
    return httpx.post(url, json=body, headers=who.bearer)


def comment_on(
    cast: Cast, who: Person, document_id: str, fragment: str, body: str = "¿Por qué?"
) -> httpx.Response:
    text = stored_text(cast.server.db, document_id)
    start, end = span(text, fragment)
    anchor = anchor_of(cast.server.db, document_id, start, end)
    return post(
        who, cast.url(document_id, "/comments"), {"body": body, "anchor": anchor, "quote": fragment}
    )


def suggest(
    cast: Cast, who: Person, document_id: str, fragment: str, replacement: str
) -> httpx.Response:
    text = stored_text(cast.server.db, document_id)
    start, end = span(text, fragment)
    anchor = anchor_of(cast.server.db, document_id, start, end)
    return post(
        who,
        cast.url(document_id, "/suggestions"),
        {"body": "más claro", "anchor": anchor, "quote": fragment, "replacement": replacement},
    )


def threads(cast: Cast, who: Person, document_id: str, query: str = "") -> dict[str, Any]:
    response = httpx.get(cast.url(document_id, "/comments" + query), headers=who.bearer)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def edit_text(cast: Cast, document_id: str, at_fragment: str, offset: int, content: str) -> None:
    """A delegate's client inserts ``content`` at a code point offset from a fragment."""

    async def scenario() -> None:
        client = await RoleClient(cast.server, document_id, cast.delegate.token).connect()
        text = str(client.text)
        await client.edit(text.index(at_fragment) + offset, content)
        expected = text[: text.index(at_fragment) + offset] + content
        expected += text[text.index(at_fragment) + offset :]
        await wait_stored(cast, document_id, expected)

    run(scenario())


def delete_text(cast: Cast, document_id: str, fragment: str) -> None:
    async def scenario() -> None:
        client = await RoleClient(cast.server, document_id, cast.delegate.token).connect()
        text = str(client.text)
        offsets = Offsets(text)
        index = text.index(fragment)
        before = client.doc.get_state()
        start = offsets.utf8_from_index(index)
        del client.text[start : offsets.utf8_from_index(index + len(fragment))]
        await client.send(protocol.sync_update(client.doc.get_update(before)))
        await wait_stored(cast, document_id, text.replace(fragment, "", 1))

    run(scenario())


async def wait_stored(cast: Cast, document_id: str, expected: str) -> None:
    for _ in range(200):
        if stored_text(cast.server.db, document_id) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"stored text is {stored_text(cast.server.db, document_id)!r}")


# -- comments ------------------------------------------------------------------------------


def test_a_reviewer_comments_and_every_member_sees_the_anchored_text(cast: Cast) -> None:
    document_id = cast.document()
    response = comment_on(cast, cast.reviewer, document_id, "Toda persona 👩‍👩‍👧")
    assert response.status_code == 201, response.text
    thread = response.json()
    start, end = span(SEED, "Toda persona 👩‍👩‍👧")
    assert thread["range"] == {"from": start, "to": end, "line": 3, "end_line": 3}
    assert thread["quote"] == thread["current"] == "Toda persona 👩‍👩‍👧"
    assert thread["author"]["name"] == "Rosa Revisora"
    assert thread["author"]["organization"]["short_name"] == "CAR"
    assert thread["status"] == "open" and not thread["deleted"] and thread["mine"]
    seen = threads(cast, cast.observer, document_id)
    assert [t["id"] for t in seen["threads"]] == [thread["id"]]
    assert seen["can_comment"] is False and seen["threads"][0]["can"]["reply"] is False
    assert threads(cast, cast.delegate, document_id)["can_comment"] is True


def test_the_anchor_follows_its_text_through_edits_before_inside_and_after(cast: Cast) -> None:
    document_id = cast.document()
    fragment = "derecho a presentar"
    thread = comment_on(cast, cast.reviewer, document_id, fragment).json()
    edit_text(cast, document_id, "# Protocolo", 0, "Preámbulo añadido 🇲🇽\n")  # before
    edit_text(cast, document_id, "a presentar", 2, "libremente ")  # inside
    edit_text(cast, document_id, "una queja", 0, "—después— ")  # right after the range
    text = stored_text(cast.server.db, document_id)
    now = next(t for t in threads(cast, cast.delegate, document_id)["threads"])
    assert now["id"] == thread["id"]
    assert now["current"] == "derecho a libremente presentar"
    assert now["range"] == dict(
        zip(("from", "to"), span(text, "derecho a libremente presentar"), strict=True),
        line=4,
        end_line=4,
    )
    assert now["quote"] == fragment and not now["deleted"]


def test_a_comment_on_deleted_text_is_kept_with_its_quote(cast: Cast) -> None:
    document_id = cast.document()
    kept = comment_on(cast, cast.reviewer, document_id, "Protocolo").json()
    gone = comment_on(cast, cast.reviewer, document_id, "una queja").json()
    delete_text(cast, document_id, "presentar una queja.")
    listed = threads(cast, cast.reviewer, document_id)["threads"]
    assert [t["id"] for t in listed] == [kept["id"], gone["id"]]  # deleted ones last
    assert listed[1]["deleted"] is True and listed[1]["quote"] == "una queja"
    assert listed[1]["current"] == "" and listed[0]["deleted"] is False


def test_a_comment_at_the_very_end_of_the_text(cast: Cast) -> None:
    document_id = cast.document()
    length = Offsets(SEED).utf16_length
    anchor = anchor_of(cast.server.db, document_id, length, length)
    response = post(
        cast.reviewer, cast.url(document_id, "/comments"), {"body": "Falta algo", "anchor": anchor}
    )
    assert response.status_code == 201, response.text
    assert response.json()["range"]["from"] == length == response.json()["range"]["to"]
    assert response.json()["deleted"] is False
    whole = anchor_of(cast.server.db, document_id, span(SEED, "Fin ✅")[0], length)
    response = post(
        cast.reviewer, cast.url(document_id, "/comments"), {"body": "Final", "anchor": whole}
    )
    assert response.json()["current"] == "Fin ✅"


def test_replies_resolve_reopen_edit_and_removal(cast: Cast) -> None:
    document_id = cast.document()
    thread = comment_on(cast, cast.reviewer, document_id, "Protocolo").json()
    base = cast.url(document_id, f"/comments/{thread['id']}")
    replied = post(cast.delegate, base + "/replies", {"body": "De acuerdo"})
    assert replied.status_code == 201
    reply = replied.json()["replies"][0]
    assert reply["body"] == "De acuerdo" and reply["author"]["name"] == "Diego Delegado"
    assert post(cast.reviewer, base + "/resolve", {}).json()["status"] == "resolved"
    assert threads(cast, cast.chair, document_id, "?status=resolved")["threads"][0]["resolved"][
        "by"
    ]["name"] == ("Rosa Revisora")
    assert post(cast.delegate, base + "/reopen", {}).json()["status"] == "open"
    edited = httpx.patch(base, json={"body": "¿Por qué «Protocolo»?"}, headers=cast.reviewer.bearer)
    assert edited.status_code == 200 and edited.json()["edited_at"] is not None
    not_theirs = httpx.patch(base, json={"body": "x"}, headers=cast.delegate.bearer)
    assert not_theirs.status_code == 403
    # the chair moderates: the removal shows, the text of the comment is gone
    reply_url = cast.url(document_id, f"/comments/{reply['id']}")
    removed = httpx.delete(reply_url, headers=cast.chair.bearer).json()["replies"][0]
    assert removed["body"] == "" and removed["removed"]["moderated"] is True
    assert removed["removed"]["by"]["name"] == "Carmen Chair"
    own = httpx.delete(base, headers=cast.reviewer.bearer).json()
    assert own["removed"]["moderated"] is False and own["body"] == ""
    assert httpx.delete(base, headers=cast.reviewer.bearer).status_code == 404
    with reading(cast.server.db) as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE document_id = ?", (document_id,)
            )
        ]
    assert "comment.moderate" in actions


def test_filters(cast: Cast) -> None:
    document_id = cast.document()
    first = comment_on(cast, cast.reviewer, document_id, "Protocolo").json()
    second = comment_on(cast, cast.reviewer2, document_id, "Fin").json()
    third = suggest(cast, cast.delegate, document_id, "una queja", "una denuncia").json()
    post(cast.reviewer, cast.url(document_id, f"/comments/{first['id']}/resolve"), {})

    def ids(query: str, who: Person = cast.reviewer) -> list[int]:
        return [t["id"] for t in threads(cast, who, document_id, query)["threads"]]

    assert ids("") == [first["id"], third["id"], second["id"]]  # text order
    assert ids("?status=open") == [third["id"], second["id"]]
    assert ids("?status=resolved") == [first["id"]]
    assert ids("?kind=suggestion") == [third["id"]]
    assert ids("?mine=1") == [first["id"]]
    orgs = {
        o["short_name"]: o["id"] for o in threads(cast, cast.reviewer, document_id)["organizations"]
    }
    assert ids(f"?organization={orgs['UUS']}") == [second["id"]]
    assert ids(f"?organization={orgs['FMX']}") == [third["id"]]
    for bad in ("?status=maybe", "?kind=note", "?organization=MX"):
        response = httpx.get(cast.url(document_id, "/comments" + bad), headers=cast.reviewer.bearer)
        assert response.status_code == 400 and "error" in response.json()


# -- suggestions ---------------------------------------------------------------------------


def test_an_accepted_suggestion_changes_the_text_for_everyone(cast: Cast) -> None:
    document_id = cast.document()

    async def scenario() -> None:
        watcher = await RoleClient(cast.server, document_id, cast.observer.token).connect()
        made = suggest(cast, cast.reviewer, document_id, "una queja", "una queja o denuncia")
        assert made.status_code == 201, made.text
        assert made.json()["replacement"] == "una queja o denuncia"
        accepted = await asyncio.to_thread(
            post, cast.chair, cast.url(document_id, f"/suggestions/{made.json()['id']}/accept"), {}
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted"
        assert accepted.json()["resolved"]["by"]["name"] == "Carmen Chair"
        assert accepted.json()["author"]["name"] == "Rosa Revisora"
        expected = SEED.replace("una queja", "una queja o denuncia")
        await watcher.wait_text(expected)  # broadcast to an open editor
        assert stored_text(cast.server.db, document_id) == expected  # and stored
        again = post(
            cast.chair, cast.url(document_id, f"/suggestions/{made.json()['id']}/accept"), {}
        )
        assert again.status_code == 409

    run(scenario())
    with reading(cast.server.db) as conn:
        row = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'suggestion.accept' AND document_id = ?",
            (document_id,),
        ).fetchone()
    assert json.loads(row[0])["suggested_by"]["name"] == "Rosa Revisora"


def test_two_people_deciding_one_suggestion_at_once_get_one_decision(cast: Cast) -> None:
    """An accept racing a reject (or another accept) of the same suggestion: exactly one wins,
    the other gets 409 "already ...", and the text agrees with the recorded decision."""
    document_id = cast.document()
    enabled = httpx.put(
        cast.url(document_id, "/settings"),
        json={"delegates_decide": True},
        headers=cast.chair.bearer,
    )
    assert enabled.status_code == 200
    words = ["Protocolo", "Artículo", "Toda", "persona", "derecho", "presentar", "queja", "Fin"]
    races = [(word, "accept" if n % 2 else "reject") for n, word in enumerate(words)]
    made = {
        word: suggest(cast, cast.reviewer, document_id, word, word.upper()).json() for word in words
    }

    async def race(client: httpx.AsyncClient, word: str, other: str) -> list[httpx.Response]:
        base = cast.url(document_id, f"/suggestions/{made[word]['id']}")
        return list(
            await asyncio.gather(
                client.post(f"{base}/accept", json={}, headers=cast.chair.bearer),
                client.post(f"{base}/{other}", json={}, headers=cast.delegate.bearer),
            )
        )

    async def scenario() -> list[list[httpx.Response]]:
        async with httpx.AsyncClient(timeout=30) as client:
            return list(await asyncio.gather(*(race(client, w, o) for w, o in races)))

    outcomes = run(scenario())
    text = stored_text(cast.server.db, document_id)
    listed = {t["id"]: t for t in threads(cast, cast.chair, document_id)["threads"]}
    for (word, _), (first, second) in zip(races, outcomes, strict=True):
        codes = sorted([first.status_code, second.status_code])
        assert codes == [200, 409], (word, first.text, second.text)
        loser = first if first.status_code == 409 else second
        status = listed[made[word]["id"]]["status"]
        assert "already" in loser.json()["error"] and loser.json()["decided"] == status
        winner = first if first.status_code == 200 else second
        assert winner.json()["status"] == status
        assert (word.upper() in text) == (status == "accepted"), (word, status, text)
        assert (word in text) == (status == "rejected"), (word, status, text)
    with reading(cast.server.db) as conn:
        decided = conn.execute(
            "SELECT count(*) FROM audit_log WHERE document_id = ? AND action LIKE 'suggestion.%'",
            (document_id,),
        ).fetchone()[0]
    assert decided == len(words)


def test_insertion_and_deletion_are_suggestions_too(cast: Cast) -> None:
    document_id = cast.document()
    text = SEED
    point = span(text, "Fin")[0]
    anchor = anchor_of(cast.server.db, document_id, point, point)
    insertion = post(
        cast.reviewer,
        cast.url(document_id, "/suggestions"),
        {"anchor": anchor, "quote": "", "replacement": "Artículo 2. Nuevo.\n"},
    ).json()
    deletion = suggest(cast, cast.reviewer, document_id, " 👩‍👩‍👧", "").json()
    for made in (insertion, deletion):
        url = cast.url(document_id, f"/suggestions/{made['id']}/accept")
        assert post(cast.chair, url, {}).status_code == 200
    expected = text.replace("Fin", "Artículo 2. Nuevo.\nFin").replace(" 👩‍👩‍👧", "")
    assert stored_text(cast.server.db, document_id) == expected


def test_a_suggestion_whose_text_changed_is_a_conflict_and_is_not_applied(cast: Cast) -> None:
    document_id = cast.document()
    made = suggest(cast, cast.reviewer, document_id, "presentar una queja", "quejarse").json()
    edit_text(cast, document_id, "una queja", 3, " formal")
    changed = stored_text(cast.server.db, document_id)
    listed = threads(cast, cast.chair, document_id)["threads"][0]
    assert listed["conflict"] is True and listed["current"] == "presentar una formal queja"
    response = post(cast.chair, cast.url(document_id, f"/suggestions/{made['id']}/accept"), {})
    assert response.status_code == 409
    assert response.json()["conflict"] == {
        "quote": "presentar una queja",
        "current": "presentar una formal queja",
    }
    assert stored_text(cast.server.db, document_id) == changed
    rejected = post(cast.chair, cast.url(document_id, f"/suggestions/{made['id']}/reject"), {})
    assert rejected.json()["status"] == "rejected" and rejected.json()["conflict"] is False


def test_a_suggestion_on_deleted_text_is_a_conflict(cast: Cast) -> None:
    document_id = cast.document()
    made = suggest(cast, cast.reviewer, document_id, "una queja", "un reclamo").json()
    delete_text(cast, document_id, "presentar una queja.")
    response = post(cast.chair, cast.url(document_id, f"/suggestions/{made['id']}/accept"), {})
    assert response.status_code == 409 and response.json()["conflict"]["current"] == ""


def test_chairs_let_delegates_decide(cast: Cast) -> None:
    document_id = cast.document()
    made = suggest(cast, cast.reviewer, document_id, "Fin", "Final").json()
    accept = cast.url(document_id, f"/suggestions/{made['id']}/accept")
    assert post(cast.delegate, accept, {}).status_code == 403
    settings = cast.url(document_id, "/settings")
    denied = httpx.put(settings, json={"delegates_decide": True}, headers=cast.delegate.bearer)
    assert denied.status_code == 403
    allowed = httpx.put(settings, json={"delegates_decide": True}, headers=cast.chair.bearer)
    assert allowed.json() == {"delegates_decide": True}
    assert threads(cast, cast.delegate, document_id)["can_decide"] is True
    assert post(cast.delegate, accept, {}).status_code == 200
    assert post(cast.reviewer, cast.url(document_id, "/settings"), {}).status_code == 405
    bad = httpx.put(settings, json={"delegates_decide": "yes"}, headers=cast.chair.bearer)
    assert bad.status_code == 400


# -- mentions, notices and live events -----------------------------------------------------


def test_mentions_and_replies_count_as_unread_until_read(cast: Cast) -> None:
    document_id = cast.document()

    def unread(who: Person) -> int:
        listing = httpx.get(cast.server.url + "/api/documents", headers=who.bearer).json()
        return next(d["unread"] for d in listing["documents"] if d["id"] == document_id)

    before = unread(cast.delegate)
    thread = comment_on(
        cast,
        cast.reviewer,
        document_id,
        "Protocolo",
        "@diego delegado y @Rosa Revisora Segunda, ¿lo ven?",
    ).json()
    assert sorted(m["name"] for m in thread["mentions"]) == [
        "Diego Delegado",
        "Rosa Revisora Segunda",
    ]
    assert unread(cast.delegate) == before + 1
    assert unread(cast.reviewer2) == 1
    assert unread(cast.reviewer) == 0  # not for your own words
    post(cast.delegate, cast.url(document_id, f"/comments/{thread['id']}/replies"), {"body": "Sí"})
    assert unread(cast.reviewer) == 1 and unread(cast.reviewer2) == 2
    assert post(cast.reviewer, cast.url(document_id, "/notices/read"), {}).json() == {"unread": 0}
    assert unread(cast.reviewer) == 0 and unread(cast.reviewer2) == 2
    # mentioning someone who is not a member notifies nobody
    comment_on(cast, cast.reviewer, document_id, "Fin", "@Otto Outsider mira")
    listing = httpx.get(cast.server.url + "/api/documents", headers=cast.outsider.bearer).json()
    assert document_id not in [d["id"] for d in listing["documents"]]


class Stream:
    """Reads a Server-Sent Events stream on a thread (the way a browser's EventSource does)."""

    def __init__(self, url: str, who: Person) -> None:
        self.events: list[tuple[str, str]] = []
        self.ended = threading.Event()
        self.ready = threading.Event()
        self.status = 0
        self._thread = threading.Thread(target=self._run, args=(url, who), daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "no answer from the stream"

    def _run(self, url: str, who: Person) -> None:
        try:
            with httpx.stream("GET", url, headers=who.bearer, timeout=30) as response:
                self.status = response.status_code
                if response.status_code != 200:
                    self.ready.set()
                    return
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        self.events.append((event, line.split(":", 1)[1].strip()))
                        if event == "ready":
                            self.ready.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ready.set()
            self.ended.set()

    def wait_for(self, event: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        for _ in range(int(timeout * 20)):
            found = [json.loads(data) for kind, data in self.events if kind == event]
            if len(found) >= count:
                return found
            self.ended.wait(0.05)
        raise AssertionError(f"no {event} event; got {self.events}")


def test_everyone_with_the_document_open_sees_changes_live(cast: Cast) -> None:
    document_id = cast.document()
    delegate = Stream(cast.url(document_id, "/events"), cast.delegate)
    observer = Stream(cast.url(document_id, "/events"), cast.observer)
    made = comment_on(cast, cast.reviewer, document_id, "Protocolo").json()
    seen = delegate.wait_for("thread")[0]
    assert seen["id"] == made["id"] and seen["can"]["reply"] is True and seen["mine"] is False
    assert observer.wait_for("thread")[0]["can"]["reply"] is False  # built for each viewer
    post(cast.delegate, cast.url(document_id, f"/comments/{made['id']}/replies"), {"body": "Visto"})
    assert delegate.wait_for("thread", 2)[1]["replies"][0]["body"] == "Visto"
    post(cast.reviewer, cast.url(document_id, f"/comments/{made['id']}/resolve"), {})
    assert observer.wait_for("thread", 3)[2]["status"] == "resolved"
    httpx.delete(cast.url(document_id, f"/comments/{made['id']}"), headers=cast.reviewer.bearer)
    assert observer.wait_for("thread", 4)[3]["removed"] is not None
    # someone removed from the document stops hearing (the stream re-checks access)
    with writing(cast.server.db) as conn:
        conn.execute(
            "DELETE FROM memberships WHERE document_id = ? AND user_id = ?",
            (document_id, cast.observer.id),
        )
    assert observer.ended.wait(20), "the stream of a removed member did not end"
    set_role(cast.server.db, document_id, cast.observer, "observer")
    outsider = Stream(cast.url(document_id, "/events"), cast.outsider)
    assert outsider.status == 404


# -- bad input and permissions ---------------------------------------------------------------


def test_bad_input_gets_a_clear_error(cast: Cast) -> None:
    document_id = cast.document()
    url = cast.url(document_id, "/comments")
    good = anchor_of(cast.server.db, document_id, 0, 3)
    cases: list[tuple[object, int]] = [
        ({"body": "x"}, 400),  # no anchor
        ({"body": "x", "anchor": "abc"}, 400),
        ({"body": "x", "anchor": {"start": "!!", "end": good["end"]}}, 400),
        ({"body": "x", "anchor": {"start": good["start"]}}, 400),
        ({"body": "", "anchor": good}, 400),
        ({"body": 5, "anchor": good}, 400),
        ({"body": "x" * 10_001, "anchor": good}, 400),
        ({"body": "x", "anchor": {"start": good["end"], "end": good["start"]}}, 400),
        ({"body": "x", "anchor": good, "quote": 7}, 400),
        ([1, 2], 400),
    ]
    for body, status in cases:
        response = httpx.post(url, json=body, headers=cast.reviewer.bearer)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]
    not_json = httpx.post(url, content=b"body=x", headers=cast.reviewer.bearer)
    assert not_json.status_code == 400
    # an anchor on text the server has not received yet: try again
    future = {"start": encode_position(987654321, 5, 0), "end": encode_position(987654321, 6, -1)}
    response = post(cast.reviewer, url, {"body": "x", "anchor": future})
    assert response.status_code == 409 and response.json()["retry"] is True
    # a suggestion needs a replacement, and one that changes something
    suggestions = cast.url(document_id, "/suggestions")
    assert post(cast.reviewer, suggestions, {"anchor": good}).status_code == 400
    same = {"anchor": good, "replacement": SEED[:3]}
    assert post(cast.reviewer, suggestions, same).status_code == 400
    stale = {"anchor": good, "replacement": "x", "quote": "otra cosa"}
    assert post(cast.reviewer, suggestions, stale).status_code == 409
    for path in ("/comments/999999/replies", "/comments/abc/resolve", "/suggestions/999/accept"):
        response = post(cast.chair, cast.url(document_id, path), {"body": "x"})
        assert response.status_code == 404, path
    # a thread of another document is not found through this one
    other = cast.document()
    thread = comment_on(cast, cast.reviewer, other, "Protocolo").json()
    response = post(
        cast.reviewer, cast.url(document_id, f"/comments/{thread['id']}/replies"), {"body": "x"}
    )
    assert response.status_code == 404


def encode_position(client: int, clock: int, assoc: int) -> str:
    return encode(Position(client, clock, assoc))


ROLES = ("chair", "delegate", "reviewer", "observer")


def test_permission_matrix(cast: Cast) -> None:
    """Every review action from every role, an outsider and nobody: the server decides."""
    document_id = cast.document()
    who = {
        "chair": cast.chair,
        "delegate": cast.delegate,
        "reviewer": cast.reviewer,
        "observer": cast.observer,
    }
    author = cast.reviewer2  # owns the threads acted upon
    expected: dict[str, dict[str, int]] = {
        "comment": {"chair": 201, "delegate": 201, "reviewer": 201, "observer": 403},
        "suggest": {"chair": 201, "delegate": 201, "reviewer": 201, "observer": 403},
        "reply": {"chair": 201, "delegate": 201, "reviewer": 201, "observer": 403},
        "resolve": {"chair": 200, "delegate": 200, "reviewer": 200, "observer": 403},
        "reopen": {"chair": 200, "delegate": 200, "reviewer": 200, "observer": 403},
        "edit others'": {"chair": 403, "delegate": 403, "reviewer": 403, "observer": 403},
        "delete others'": {"chair": 200, "delegate": 403, "reviewer": 403, "observer": 403},
        "accept": {"chair": 200, "delegate": 403, "reviewer": 403, "observer": 403},
        "reject": {"chair": 200, "delegate": 403, "reviewer": 403, "observer": 403},
        "settings": {"chair": 200, "delegate": 403, "reviewer": 403, "observer": 403},
        "read": {"chair": 200, "delegate": 200, "reviewer": 200, "observer": 200},
        "events": {"chair": 200, "delegate": 200, "reviewer": 200, "observer": 200},
    }

    def act(action: str, person: Person | None) -> int:
        headers = person.bearer if person else {}
        comment = comment_on(cast, author, document_id, "Protocolo").json()
        suggestion = suggest(cast, author, document_id, "Fin", f"Fin {action}").json()
        anchor = anchor_of(cast.server.db, document_id, 0, 3)
        requests: dict[str, tuple[str, str, object]] = {
            "comment": ("POST", "/comments", {"body": "x", "anchor": anchor}),
            "suggest": ("POST", "/suggestions", {"anchor": anchor, "replacement": "y"}),
            "reply": ("POST", f"/comments/{comment['id']}/replies", {"body": "x"}),
            "resolve": ("POST", f"/comments/{comment['id']}/resolve", {}),
            "reopen": ("POST", f"/comments/{comment['id']}/reopen", {}),
            "edit others'": ("PATCH", f"/comments/{comment['id']}", {"body": "x"}),
            "delete others'": ("DELETE", f"/comments/{comment['id']}", None),
            "accept": ("POST", f"/suggestions/{suggestion['id']}/accept", {}),
            "reject": ("POST", f"/suggestions/{suggestion['id']}/reject", {}),
            "settings": ("PUT", "/settings", {"delegates_decide": False}),
            "read": ("GET", "/comments", None),
        }
        if action == "events":
            stream = Stream(cast.url(document_id, "/events"), person) if person else None
            if stream is None:
                return httpx.get(cast.url(document_id, "/events")).status_code
            return stream.status
        method, path, body = requests[action]
        return httpx.request(
            method, cast.url(document_id, path), json=body, headers=headers
        ).status_code

    failures = []
    for action, by_role in expected.items():
        for role, status in by_role.items():
            got = act(action, who[role])
            if got != status:
                failures.append(f"{action} as {role}: {got}, expected {status}")
        if act(action, cast.outsider) != 404:
            failures.append(f"{action} as a non-member: not 404")
        if act(action, None) != 401:
            failures.append(f"{action} signed out: not 401")
    assert not failures, failures


def test_decision_locks_order_one_document_and_are_dropped_when_unused() -> None:
    from server.api_suggestions import Decisions

    decisions = Decisions()
    order: list[str] = []

    async def decide(document_id: str, name: str, pause: float) -> None:
        async with decisions.one_at_a_time(document_id):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    async def scenario() -> None:
        first = asyncio.create_task(decide("doc", "a", 0.05))
        await asyncio.sleep(0)  # a holds the document's lock
        await asyncio.gather(first, decide("doc", "b", 0), decide("other", "c", 0))
        assert len(decisions) == 0

    asyncio.run(scenario())
    assert order.index("a-") < order.index("b+")  # the same document waits
    assert order.index("c-") < order.index("a-")  # another document does not
