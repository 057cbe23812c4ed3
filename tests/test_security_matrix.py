"""Who may do what on the sync socket: every role against every kind of message.

Roles: anonymous, observer, reviewer, delegate, chair, an admin who is not a member, and a
signed-in person who is not a member. Messages: SyncStep1, a SyncStep2 carrying content, an
Update carrying content, and awareness. Each case checks the close code *and* what matters
behind it: the rows in the ``updates`` table (read-only handle) and what another connected
writer (the witness) receives.

- anonymous: closed 4401, nothing read, stored or relayed;
- admin or person not a member: closed 4404 exactly like a missing document;
- observer, reviewer: SyncStep1 answered (they read); content closes them with 4403 and is
  neither stored nor relayed; their awareness is relayed but stamped with their account name;
- delegate, chair: content stored and relayed; awareness stamped too.

The same is checked with the real y-websocket client (Node) for observer, reviewer, delegate.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pycrdt import Text

from server.sync import protocol
from server.sync_socket import PALETTE
from tests.helpers import Server
from tests.nodeclient import NodeClient
from tests.people_helpers import (
    Person,
    RoleClient,
    add_document,
    add_person,
    awareness_claiming,
    content_update,
    missing_document_id,
    run,
    set_role,
    stored_rows,
    stored_text,
    sync_base,
    wait_until,
    writing,
)

SEED = "Artículo 1. Texto acordado."
ROLES = ["anonymous", "observer", "reviewer", "delegate", "chair", "admin", "non-member"]
MESSAGES = ["step1", "step2", "update", "awareness"]
READ_ONLY = {"observer", "reviewer"}
WRITERS = {"delegate", "chair"}
MEMBERS = READ_ONLY | WRITERS
NOT_FOUND = {"admin", "non-member"}


@dataclass
class Cast:
    server: Server
    people: dict[str, Person]
    witness: Person

    def document(self) -> str:
        """A fresh document with stored text, the cast in their roles, and the witness."""
        return add_document(
            self.server.db,
            self.people["chair"],
            [
                (self.people["observer"], "observer"),
                (self.people["reviewer"], "reviewer"),
                (self.people["delegate"], "delegate"),
                (self.witness, "delegate"),
            ],
            seed=SEED,
        )

    def token(self, role: str) -> str | None:
        return None if role == "anonymous" else self.people[role].token


@pytest.fixture(scope="module")
def cast(shared_server: Server) -> Iterator[Cast]:
    db = shared_server.db
    everyone = {
        role: add_person(db, role.replace("-", ""), admin=role == "admin")
        for role in ROLES
        if role != "anonymous"
    }
    yield Cast(shared_server, everyone, add_person(db, "witness"))


def frame_for(message: str, client_id: int, secret: str) -> bytes:
    if message == "step1":
        return protocol.sync_step1(b"\x00")  # an empty state vector: "send me everything"
    if message == "step2":
        return protocol.sync_step2(content_update(secret))
    if message == "update":
        return protocol.sync_update(content_update(secret))
    return awareness_claiming(client_id, "Presidencia (impostora)")


def stamped_user(person: Person) -> dict[str, str]:
    color = PALETTE[person.id % len(PALETTE)]
    return {"name": person.shown_name, "color": color, "colorLight": color + "33"}


async def case(cast: Cast, role: str, message: str) -> None:
    server = cast.server
    document_id = cast.document()
    secret = f"secreto-{role}-{message}-{secrets.token_hex(4)}"
    witness = await RoleClient(server, document_id, cast.witness.token).connect()
    await witness.wait_text(SEED)
    rows = stored_rows(server.db, document_id)

    actor = RoleClient(server, document_id, cast.token(role))
    await actor.connect(handshake=False)
    actor_id = actor.doc.client_id
    if role in MEMBERS:
        # the server tells read-only roles so on joining, and writers nothing
        if role in READ_ONLY:
            await wait_until(lambda: actor.denied == ["read-only"], "the read-only notice")
        sent = await actor.try_send(frame_for(message, actor_id, secret))
        assert sent
    else:
        await actor.try_send(frame_for(message, actor_id, secret))  # may already be closed

    if role == "anonymous":
        assert await actor.wait_closed() == 4401
    elif role in NOT_FOUND:
        code = await actor.wait_closed()
        missing = RoleClient(server, missing_document_id(), cast.token(role))
        await missing.connect(handshake=False)
        assert (code, actor.close_reason) == (await missing.wait_closed(), missing.close_reason)
        await missing.close()
        assert code == 4404
    elif message == "step1":
        await wait_until(lambda: actor.step2_replies >= 1, "the answer to SyncStep1")
        assert str(actor.text) == SEED  # every member reads
    elif message in ("step2", "update") and role in READ_ONLY:
        assert await actor.wait_closed() == 4403
    elif message in ("step2", "update"):
        await wait_until(lambda: secret in str(witness.text), "the relayed content")
    else:  # awareness from any member: relayed, stamped with who really sent it
        await wait_until(lambda: actor_id in witness.present(), "the actor's presence")
        state = witness.present()[actor_id]
        assert state["user"] == stamped_user(cast.people[role])

    # Everything the room relayed or committed before this point has reached the witness.
    await witness.barrier()
    relayed = b"".join(witness.frames)
    assert b"impostora" not in relayed, "a claimed name reached another client"
    if role in WRITERS and message in ("step2", "update"):
        assert stored_rows(server.db, document_id) == rows + 1
        assert secret in stored_text(server.db, document_id)
        assert not actor.closed.is_set()
    else:
        assert stored_rows(server.db, document_id) == rows, "something was stored"
        assert stored_text(server.db, document_id) == SEED
        assert secret.encode() not in relayed, "the content was relayed"
        assert str(witness.text) == SEED
    if role not in MEMBERS:
        assert actor.frames == [], "a refused client was sent something"
        assert actor_id not in witness.present()
    if role in MEMBERS and message != "awareness":
        assert actor_id not in witness.present()
    if role in MEMBERS and not (role in READ_ONLY and message in ("step2", "update")):
        assert not actor.closed.is_set(), (actor.close_code, actor.close_reason)
    assert not witness.closed.is_set()
    await actor.close()
    await witness.close()


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("role", ROLES)
def test_role_and_message(cast: Cast, role: str, message: str) -> None:
    run(case(cast, role, message))


@pytest.mark.parametrize("role", ["observer", "reviewer"])
def test_read_only_may_replay_what_the_server_has(cast: Cast, role: str) -> None:
    """A read-only client that sends back content the server already holds (as a browser
    does with its local copy) is not closed, and nothing is stored."""
    server = cast.server
    document_id = cast.document()

    async def scenario() -> None:
        actor = await RoleClient(server, document_id, cast.token(role)).connect()
        rows = stored_rows(server.db, document_id)
        await actor.send(protocol.sync_step2(actor.doc.get_update()))
        await actor.barrier()
        assert not actor.closed.is_set(), (actor.close_code, actor.close_reason)
        assert stored_rows(server.db, document_id) == rows
        await actor.close()

    run(scenario())


@pytest.mark.parametrize("token", ["", "acc_not-a-real-token", "revoked"])
def test_bad_credentials_are_not_signed_in(cast: Cast, token: str) -> None:
    """No token, an unknown one, or a revoked one: 4401 before anything is said, and the
    same 4401 for a document that does not exist (nothing to learn before signing in)."""
    server = cast.server
    document_id = cast.document()
    if token == "revoked":
        person = add_person(server.db, "revoked")
        set_role(server.db, document_id, person, "delegate")
        with writing(server.db) as conn:
            conn.execute(
                "UPDATE tokens SET revoked_at = '2000-01-01' WHERE id = ?", (person.token_id,)
            )
        token = person.token

    async def scenario() -> None:
        answers = []
        for target in (document_id, missing_document_id(), "not-even-an-id"):
            actor = RoleClient(server, target, token or None)
            await actor.connect(handshake=False)
            answers.append((await actor.wait_closed(), actor.close_reason))
            assert actor.frames == []
            await actor.close()
        assert answers[0][0] == 4401
        assert answers[0] == answers[1] == answers[2]

    run(scenario())


def test_read_only_update_built_on_unsent_content_is_refused(cast: Cast) -> None:
    """An observer's Update whose insert builds on text it never sent (its own offline edit)
    carries content all the same: it must close the socket with 4403, as any other.

    (Today the server drops it silently: the socket stays open, and the person typing gets no
    sign their edits go nowhere. Nothing is stored or relayed either way.)
    """
    server = cast.server
    document_id = cast.document()

    async def scenario() -> None:
        actor = await RoleClient(server, document_id, cast.token("observer")).connect()
        rows = stored_rows(server.db, document_id)
        text = actor.doc.get("content", type=Text)
        text.insert(0, "borrador sin conexión ")  # never sent: the server never asks
        before = actor.doc.get_state()
        text.insert(0, "edición en vivo ")
        await actor.send(protocol.sync_update(actor.doc.get_update(before)))
        with contextlib.suppress(TimeoutError):
            await actor.wait_closed(timeout=3)
        await actor.close()
        assert stored_rows(server.db, document_id) == rows
        assert stored_text(server.db, document_id) == SEED
        assert actor.close_code == 4403, (
            f"an observer's content-carrying Update left the socket open "
            f"(close code {actor.close_code}, expected 4403)"
        )

    run(scenario())


# -- the real y-websocket client ---------------------------------------------------------------


def closes(node: NodeClient) -> list[dict[str, object]]:
    return [e for e in node.events if e.get("event") == "close"]


@pytest.mark.node
@pytest.mark.parametrize("role", ["observer", "reviewer", "delegate"])
def test_real_client_by_role(cast: Cast, role: str) -> None:
    """The unmodified y-websocket client: it syncs (SyncStep1 answered), its presence is
    relayed under its account name, and a live edit (an Update) is stored and relayed for a
    delegate, refused with 4403 for read-only roles. A delegate's offline edit, sent as the
    SyncStep2 the server asks writers for, is stored and relayed too."""
    server = cast.server
    person = cast.people[role]
    document_id = cast.document()
    offline = f"sin-conexión-{secrets.token_hex(3)} "
    live = f"en-vivo-{secrets.token_hex(3)} "

    async def scenario() -> None:
        witness = await RoleClient(server, document_id, cast.witness.token).connect()
        rows = stored_rows(server.db, document_id)
        with NodeClient(role) as node:
            if role in WRITERS:
                await asyncio.to_thread(node.insert, 0, offline)
            await asyncio.to_thread(node.connect, sync_base(server, person.token), document_id)
            await asyncio.to_thread(node.wait_until, lambda: SEED in node.text, "the seed")
            await asyncio.to_thread(
                node.set_awareness, {"user": {"name": "Impostora", "color": "#000"}}
            )
            node_id = node.client_id
            assert node_id is not None
            await wait_until(lambda: node_id in witness.present(), "the Node client's presence")
            assert witness.present()[node_id]["user"] == stamped_user(person)

            if role in READ_ONLY:
                since = node.mark()
                await asyncio.to_thread(node.insert, 0, live)
                close = await asyncio.to_thread(
                    node.wait_event, lambda e: e.get("event") == "close", since, "a close"
                )
                assert close["code"] == 4403
                await witness.barrier()
                assert live.encode() not in b"".join(witness.frames)
                assert str(witness.text) == SEED
                assert stored_rows(server.db, document_id) == rows
                assert stored_text(server.db, document_id) == SEED
            else:
                # asked for what it has, the writer's SyncStep2 brings its offline edit
                await wait_until(lambda: offline in str(witness.text), "the offline edit")
                await asyncio.to_thread(node.insert, 0, live)
                await wait_until(lambda: live in str(witness.text), "the live edit")
                await asyncio.to_thread(
                    node.wait_until, lambda: node.text == str(witness.text), "convergence"
                )
                await witness.barrier()
                stored = stored_text(server.db, document_id)
                assert offline in stored and live in stored and SEED in stored
                assert stored_rows(server.db, document_id) >= rows + 2
                assert not closes(node)
        await witness.close()

    run(scenario())


@pytest.mark.node
@pytest.mark.parametrize("role", ["observer", "reviewer"])
def test_real_read_only_client_with_offline_edits(cast: Cast, role: str) -> None:
    """A read-only y-websocket client that comes with offline edits: the server never asks for
    them, so nothing is stored or relayed; its next live edit must be refused with 4403 like
    any other (today it is dropped silently: see the crafted-frame test above)."""
    server = cast.server
    person = cast.people[role]
    document_id = cast.document()
    offline = f"sin-conexión-{secrets.token_hex(3)} "
    live = f"en-vivo-{secrets.token_hex(3)} "

    async def scenario() -> None:
        witness = await RoleClient(server, document_id, cast.witness.token).connect()
        rows = stored_rows(server.db, document_id)
        with NodeClient(role) as node:
            await asyncio.to_thread(node.insert, 0, offline)
            await asyncio.to_thread(node.connect, sync_base(server, person.token), document_id)
            await asyncio.to_thread(node.wait_until, lambda: SEED in node.text, "the seed")
            await witness.barrier()
            assert offline.encode() not in b"".join(witness.frames)
            assert stored_rows(server.db, document_id) == rows
            assert not closes(node)
            since = node.mark()
            await asyncio.to_thread(node.insert, 0, live)
            await witness.barrier()
            everything = b"".join(witness.frames)
            assert offline.encode() not in everything
            assert live.encode() not in everything
            assert stored_rows(server.db, document_id) == rows
            assert stored_text(server.db, document_id) == SEED
            close = await asyncio.to_thread(
                node.wait_event, lambda e: e.get("event") == "close", since, "a close", 5
            )
            assert close["code"] == 4403
        await witness.close()

    run(scenario())


@pytest.mark.node
@pytest.mark.parametrize(("role", "code"), [("anonymous", 4401), ("non-member", 4404)])
def test_real_client_refused(cast: Cast, role: str, code: int) -> None:
    """The real client, refused, is told why (4401 / 4404), never syncs, never sees the text,
    and is not shown to the members."""
    server = cast.server
    document_id = cast.document()

    async def scenario() -> None:
        witness = await RoleClient(server, document_id, cast.witness.token).connect()
        with NodeClient(role) as node:
            await asyncio.to_thread(node.insert, 0, "intrusa ")
            await asyncio.to_thread(
                node.connect, sync_base(server, cast.token(role)), document_id, None, False
            )
            close = await asyncio.to_thread(
                node.wait_event, lambda e: e.get("event") == "close", 0, "a close"
            )
            assert close["code"] == code
            assert not [e for e in node.events if e.get("event") == "synced"]
            assert SEED not in node.text
        await witness.barrier()
        assert b"intrusa" not in b"".join(witness.frames)
        assert witness.present() == {}
        assert stored_text(server.db, document_id) == SEED

    run(scenario())


@pytest.mark.parametrize("role", ["observer", "reviewer"])
def test_read_only_deletions_replayed_or_new(cast: Cast, role: str) -> None:
    """A document with deletions in its history: a read-only client may send back the
    deletions the server already holds (its whole copy, or one deletion again), but a
    deletion of its own closes it with 4403; nothing is stored."""
    server = cast.server
    document_id = cast.document()

    async def scenario() -> None:
        editor = await RoleClient(server, document_id, cast.token("delegate")).connect()
        text = editor.doc.get("content", type=Text)
        before = editor.doc.get_state()
        del text[0:9]  # "Artículo" (pycrdt counts UTF-8 bytes here: í is two)
        deletion = editor.doc.get_update(before)
        await editor.send(protocol.sync_update(deletion))
        await editor.barrier()
        actor = await RoleClient(server, document_id, cast.token(role)).connect()
        assert str(actor.text) == str(text)
        rows = stored_rows(server.db, document_id)
        await actor.send(protocol.sync_step2(actor.doc.get_update()))  # its whole copy
        await actor.send(protocol.sync_update(deletion))  # a deletion the server has
        await actor.barrier()
        assert not actor.closed.is_set(), (actor.close_code, actor.close_reason)
        own = actor.doc.get("content", type=Text)
        state = actor.doc.get_state()
        del own[0:3]
        await actor.try_send(protocol.sync_update(actor.doc.get_update(state)))
        assert await actor.wait_closed(10) == 4403
        await editor.barrier()
        assert stored_rows(server.db, document_id) == rows
        assert stored_text(server.db, document_id) == str(text)
        await editor.close()
        await actor.close()

    run(scenario())
