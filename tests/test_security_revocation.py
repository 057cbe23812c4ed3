"""Access ends while sockets are open, and the open sockets follow.

Signing out closes that session's sockets with 4401; a downgrade to a read-only role makes the
socket read-only (the next edit is refused with 4403, not stored); removal from a document
closes with 4403; removing the person or revoking a token from the command line (another
process, straight on the database file) closes with 4401. Each must happen within a 2 s wait;
nothing else here is timed. Last, the server's log holds none of the secrets or the text used.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.sync import protocol
from tests.helpers import Server
from tests.people_helpers import (
    Browser,
    Person,
    RoleClient,
    accord,
    add_document,
    add_person,
    awareness_claiming,
    content_update,
    new_token,
    run,
    set_role,
    stored_rows,
    stored_text,
    wait_until,
)

SEED = "Acuerdo vigente."
WITHIN = 2.0  # seconds a revocation may take to reach an open socket
QUIET = 1.5  # longer than the server's access check interval (1 s)

# Every secret and every typed text of this module, for the log check at the end.
SECRETS: list[str] = []


def remember(*values: str | None) -> None:
    SECRETS.extend(v for v in values if v)


@pytest.fixture(scope="module")
def server(shared_server: Server) -> Iterator[Server]:
    yield shared_server


def person(server: Server, label: str) -> Person:
    someone = add_person(server.db, label)
    remember(someone.password, someone.token)
    return someone


def typed(label: str) -> str:
    text = f"{label} confidencial {secrets.token_hex(6)}"
    remember(text)
    return text


async def closed_within(client: RoleClient, seconds: float = WITHIN) -> int | None:
    try:
        return await client.wait_closed(timeout=seconds)
    except TimeoutError:
        raise AssertionError(f"the socket was still open {seconds} s later") from None


async def refused_edit(client: RoleClient, server: Server, document_id: str, text: str) -> None:
    """Send an Update with ``text``; whatever the socket says, it must not be stored."""
    await client.try_send(protocol.sync_update(content_update(text)))


def assert_not_stored(server: Server, document_id: str, rows: int, *texts: str) -> None:
    assert stored_rows(server.db, document_id) == rows
    stored = stored_text(server.db, document_id)
    for text in texts:
        assert text not in stored


def test_sign_out_closes_that_sessions_sockets(server: Server) -> None:
    chair = person(server, "chair")
    delegate = person(server, "delegate")
    document_id = add_document(server.db, chair, [(delegate, "delegate")], seed=SEED)
    after = typed("después de salir")

    async def scenario() -> None:
        with Browser(server) as leaving, Browser(server) as staying:
            leaving.signed_in(delegate)
            staying.signed_in(delegate)
            remember(leaving.session, staying.session, leaving.csrf)
            old_cookie = leaving.cookie_header()
            witness = await RoleClient(server, document_id, chair.token).connect()
            socket = await RoleClient(server, document_id, headers=old_cookie).connect()
            other_session = await RoleClient(
                server, document_id, headers=staying.cookie_header()
            ).connect()
            by_token = await RoleClient(server, document_id, delegate.token).connect()
            rows = stored_rows(server.db, document_id)
            gone = socket.doc.client_id
            await socket.send(awareness_claiming(gone, "Delegada"))
            await wait_until(lambda: gone in witness.present(), "the leaver's presence")

            response = await asyncio.to_thread(leaving.sign_out)
            assert response.status_code == 204, response.text
            await refused_edit(socket, server, document_id, after)
            assert await closed_within(socket) == 4401
            # and they are no longer shown as present
            await wait_until(lambda: gone not in witness.present(), "the presence to go")

            await witness.barrier()
            assert after.encode() not in b"".join(witness.frames)
            assert_not_stored(server, document_id, rows, after)

            # only that session ended: its other sockets stay, and still write
            await asyncio.sleep(QUIET)
            assert not other_session.closed.is_set()
            assert not by_token.closed.is_set()
            still = typed("sigue")
            await other_session.edit(0, still)
            await wait_until(lambda: still in str(witness.text), "the other session's edit")

            # the old cookie is dead everywhere
            me = await asyncio.to_thread(
                httpx.get, server.url + "/api/me", headers=old_cookie, timeout=30
            )
            assert me.status_code == 401
            again = RoleClient(server, document_id, headers=old_cookie)
            await again.connect(handshake=False)
            assert await again.wait_closed() == 4401
            for client in (again, by_token, other_session, witness, socket):
                await client.close()

    run(scenario())


@pytest.mark.parametrize("path", ["api", "database"])
def test_downgrade_makes_the_socket_read_only(server: Server, path: str) -> None:
    """delegate -> reviewer, through the API (a chair, with cookie and CSRF) or straight in the
    database (another process): the socket turns read-only; its next edit gets 4403."""
    chair = person(server, "chair")
    delegate = person(server, "delegate")
    document_id = add_document(server.db, chair, [(delegate, "delegate")], seed=SEED)
    before = typed("antes")
    after = typed("después")

    async def scenario() -> None:
        with Browser(server) as browser:
            browser.signed_in(chair)
            remember(browser.session)
            witness = await RoleClient(server, document_id, chair.token).connect()
            socket = await RoleClient(server, document_id, delegate.token).connect()
            await socket.edit(0, before)
            await wait_until(lambda: before in str(witness.text), "the delegate's edit")
            assert socket.denied == []

            if path == "api":
                response = await asyncio.to_thread(
                    browser.put,
                    f"/api/documents/{document_id}/members/{delegate.id}",
                    json={"role": "reviewer"},
                )
                assert response.status_code == 200, response.text
                assert response.json() == {"user_id": delegate.id, "role": "reviewer"}
            else:
                await asyncio.to_thread(set_role, server.db, document_id, delegate, "reviewer")
            await wait_until(lambda: socket.denied == ["read-only"], "read-only", WITHIN)
            assert not socket.closed.is_set()
            await witness.barrier()
            rows = stored_rows(server.db, document_id)

            await refused_edit(socket, server, document_id, after)
            assert await socket.wait_closed(timeout=10) == 4403
            await witness.barrier()
            assert after.encode() not in b"".join(witness.frames)
            assert_not_stored(server, document_id, rows, after)
            assert before in stored_text(server.db, document_id)

            # reconnecting, the reviewer reads but is read-only from the start
            back = await RoleClient(server, document_id, delegate.token).connect()
            assert before in str(back.text)
            await wait_until(lambda: back.denied == ["read-only"], "read-only on join")
            for client in (back, socket, witness):
                await client.close()

    run(scenario())


def test_removal_from_the_document_closes_with_4403(server: Server) -> None:
    chair = person(server, "chair")
    delegate = person(server, "delegate")
    document_id = add_document(server.db, chair, [(delegate, "delegate")], seed=SEED)
    after = typed("ya no miembro")

    async def scenario() -> None:
        with Browser(server) as browser:
            browser.signed_in(chair)
            witness = await RoleClient(server, document_id, chair.token).connect()
            socket = await RoleClient(server, document_id, delegate.token).connect()
            rows = stored_rows(server.db, document_id)
            response = await asyncio.to_thread(
                browser.delete, f"/api/documents/{document_id}/members/{delegate.id}"
            )
            assert response.status_code == 204, response.text
            await refused_edit(socket, server, document_id, after)
            assert await closed_within(socket) == 4403
            await witness.barrier()
            assert after.encode() not in b"".join(witness.frames)
            assert_not_stored(server, document_id, rows, after)
            # and back in: as if the document did not exist
            again = RoleClient(server, document_id, delegate.token)
            await again.connect(handshake=False)
            assert await again.wait_closed() == 4404
            for client in (again, socket, witness):
                await client.close()

    run(scenario())


def test_cli_users_remove_closes_their_sockets(server: Server) -> None:
    chair = person(server, "chair")
    leaver = person(server, "leaver")
    document_id = add_document(server.db, chair, [(leaver, "delegate")], seed=SEED)
    after = typed("tras la baja")

    async def scenario() -> None:
        with Browser(server) as browser:
            browser.signed_in(leaver)
            remember(browser.session)
            witness = await RoleClient(server, document_id, chair.token).connect()
            by_token = await RoleClient(server, document_id, leaver.token).connect()
            by_cookie = await RoleClient(
                server, document_id, headers=browser.cookie_header()
            ).connect()
            rows = stored_rows(server.db, document_id)

            result = await asyncio.to_thread(
                accord, "users", "remove", leaver.email, "--db", str(server.db)
            )
            assert result.returncode == 0, result.stderr
            assert await closed_within(by_token) == 4401
            assert await closed_within(by_cookie) == 4401
            await refused_edit(by_token, server, document_id, after)
            await witness.barrier()
            assert_not_stored(server, document_id, rows, after)

            login = await asyncio.to_thread(browser.sign_in, leaver)
            assert login.status_code == 401
            again = RoleClient(server, document_id, leaver.token)
            await again.connect(handshake=False)
            assert await again.wait_closed() == 4401
            for client in (again, by_cookie, by_token, witness):
                await client.close()

    run(scenario())


def test_cli_tokens_revoke_closes_that_tokens_socket(server: Server) -> None:
    chair = person(server, "chair")
    bot = person(server, "bot")
    document_id = add_document(server.db, chair, [(bot, "delegate")], seed=SEED)
    other_id, other_token = new_token(server.db, bot)
    remember(other_token)
    after = typed("token revocado")

    async def scenario() -> None:
        witness = await RoleClient(server, document_id, chair.token).connect()
        revoked = await RoleClient(server, document_id, bot.token).connect()
        kept = await RoleClient(server, document_id, other_token).connect()
        rows = stored_rows(server.db, document_id)

        result = await asyncio.to_thread(
            accord, "tokens", "revoke", str(bot.token_id), "--db", str(server.db)
        )
        assert result.returncode == 0, result.stderr
        assert await closed_within(revoked) == 4401
        await refused_edit(revoked, server, document_id, after)
        await witness.barrier()
        assert_not_stored(server, document_id, rows, after)

        await asyncio.sleep(QUIET)
        assert not kept.closed.is_set(), "another token of the same person was closed"
        still = typed("otro token")
        await kept.edit(0, still)
        await wait_until(lambda: still in str(witness.text), "the other token's edit")

        again = RoleClient(server, document_id, bot.token)
        await again.connect(handshake=False)
        assert await again.wait_closed() == 4401
        for client in (again, kept, revoked, witness):
            await client.close()

    run(scenario())
    # revoking twice is an error, not a silent success
    twice = accord("tokens", "revoke", str(bot.token_id), "--db", str(server.db))
    assert twice.returncode == 1 and "no active token" in twice.stderr
    assert other_id != bot.token_id


def test_log_holds_no_secret_or_text(tmp_path: Path) -> None:
    """After a sign-in, a failed sign-in, sockets by cookie and by token (one refused for its
    origin, one with a bogus token), typed text and a sign-out: the server's log holds no
    password, session cookie, CSRF token, API token or typed text. Run last in this module,
    it also checks the secrets of every test above. The server logs at debug, its most
    verbose level (every websocket connection's URL among it)."""
    server = Server(
        tmp_path / "accord.db",
        env={"ACCORD_LOG_LEVEL": "debug", "ACCORD_ROOM_UNLOAD_SECONDS": "0.5"},
    ).start()
    try:
        check_log_for_secrets(server)
    finally:
        server.stop()


def check_log_for_secrets(server: Server) -> None:
    chair = person(server, "chair")
    document_id = add_document(server.db, chair, seed=SEED)
    text = typed("texto del log")
    wrong = "wrong-" + secrets.token_urlsafe(12)
    remember(wrong)

    async def scenario() -> None:
        with Browser(server) as browser:
            assert browser.sign_in(chair.email, wrong).status_code == 401
            browser.signed_in(chair)
            remember(browser.session, browser.csrf)
            socket = await RoleClient(
                server, document_id, headers=browser.cookie_header()
            ).connect()
            by_token = await RoleClient(server, document_id, chair.token).connect()
            await socket.edit(0, text)
            await wait_until(lambda: text in str(by_token.text), "the typed text")
            foreign = RoleClient(
                server, document_id, chair.token, {"Origin": "https://evil.example"}
            )
            with contextlib.suppress(Exception):
                await foreign.connect()
            bogus = "acc_" + secrets.token_urlsafe(32)
            remember(bogus)
            stranger = RoleClient(server, document_id, bogus)
            await stranger.connect(handshake=False)
            assert await stranger.wait_closed() == 4401
            response = await asyncio.to_thread(browser.sign_out)
            assert response.status_code == 204
            assert await closed_within(socket) == 4401
            for client in (stranger, by_token, socket):
                await client.close()

    run(scenario())
    log = server.logs()
    assert "WebSocket" in log, "the log is not being written"  # the check is not vacuous
    assert len(SECRETS) > 5
    leaked = [s for s in SECRETS if s in log]
    assert not leaked, f"the log holds {len(leaked)} secret(s) or typed text: {leaked}"
    # and no fragment of a token either (a truncated one is still a lead)
    fragments = [s[4:24] for s in SECRETS if s.startswith("acc_")]
    assert not [f for f in fragments if f in log]
