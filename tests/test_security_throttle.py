"""Failed credentials are limited per client address (ACCORD_CREDENTIAL_FAILURES_PER_MINUTE).

A sync connection without a valid session or token, and an API request with a token that
identifies nobody, count against the client's address. Past the limit, that address's new
sync connections are answered 429 before the app runs (`SyncProtocol.refuse`), and so are
its token requests; open connections and cookie sessions are not touched, and other
addresses are not either. Behind a trusted proxy (loopback here) the address is the one in
X-Forwarded-For, found before the app as uvicorn's ProxyHeadersMiddleware finds it after.

Each test speaks for its own address through X-Forwarded-For, so that one test's failures
do not block the next one's.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from server.auth import RateLimit
from server.errors import TooManyRequests
from tests.helpers import Server
from tests.people_helpers import Browser, Person, RoleClient, add_document, add_person, run

LIMIT = 3
_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


@dataclass
class Setup:
    server: Server
    person: Person
    document_id: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    server = Server(
        tmp_path_factory.mktemp("throttle") / "accord.db",
        env={"ACCORD_CREDENTIAL_FAILURES_PER_MINUTE": str(LIMIT)},
    ).start()
    person = add_person(server.db, "delegado")
    document_id = add_document(server.db, person, seed="Texto")
    yield Setup(server, person, document_id)
    server.stop()


def sync_url(setup: Setup, token: str | None) -> str:
    query = "" if token is None else f"?token={token}"
    return f"ws://127.0.0.1:{setup.server.port}/sync/{setup.document_id}{query}"


async def attempt(setup: Setup, token: str | None, address: str) -> str:
    """What the server answered: a close code, 'open' (it let the client in) or 'HTTP n'."""
    headers = {"X-Forwarded-For": address}
    try:
        ws = await websockets.connect(sync_url(setup, token), additional_headers=headers)
    except InvalidStatus as exc:
        return f"HTTP {exc.response.status_code}"
    try:
        await asyncio.wait_for(ws.recv(), 5)
        return "open"
    except websockets.ConnectionClosed as exc:
        assert exc.rcvd is not None
        return str(exc.rcvd.code)
    finally:
        await ws.close()


async def refusal(setup: Setup, token: str | None, address: str) -> InvalidStatus:
    headers = {"X-Forwarded-For": address}
    with pytest.raises(InvalidStatus) as caught:
        await websockets.connect(sync_url(setup, token), additional_headers=headers)
    return caught.value


def test_bad_tokens_are_refused_then_the_address_gets_429(setup: Setup) -> None:
    address = next(_addresses)

    async def scenario() -> None:
        for n in range(LIMIT):
            assert await attempt(setup, f"acc_guess-{n}", address) == "4401"
        refused = await refusal(setup, "acc_guess-more", address)
        response = refused.response
        assert response.status_code == 429
        assert b"too many attempts; wait a minute and try again" in response.body
        assert 50 <= int(response.headers["Retry-After"]) <= 60
        # Even the right token: the address waits, as after failed sign-ins.
        assert (await refusal(setup, setup.person.token, address)).response.status_code == 429

    run(scenario())
    logs = setup.server.logs()
    assert f"refusing sync connections and API tokens from {address}" in logs
    assert "acc_guess" not in logs  # never a credential in the log


def test_the_429_waits_and_a_waiting_attempt_holds_nobody_up(setup: Setup) -> None:
    """Past the limit the 429 comes TARPIT_SECONDS after the attempt (a tarpit: an attacker
    with a few dozen attempts in flight makes a few dozen a second). Meanwhile the server
    serves everyone else: a signed-in connection from another address opens and edits
    while twenty refused attempts wait, and each of them gets its 429 in the end."""
    from server.ws_protocol import TARPIT_SECONDS

    blocked, other = next(_addresses), next(_addresses)
    own_document = add_document(setup.server.db, setup.person, seed="Texto")

    async def timed(coroutine: Awaitable[str]) -> tuple[str, float]:
        started = time.monotonic()
        answer = await coroutine
        return answer, time.monotonic() - started

    async def scenario() -> None:
        for n in range(LIMIT):
            assert await attempt(setup, f"acc_guess-{n}", blocked) == "4401"
        waiting = [asyncio.ensure_future(timed(attempt(setup, None, blocked))) for _ in range(20)]
        writer = await RoleClient(
            setup.server, own_document, setup.person.token, {"X-Forwarded-For": other}
        ).connect()
        await writer.edit(0, "Mientras: ")
        await writer.barrier()  # the edit is stored and the server has answered
        answers = await asyncio.gather(*waiting)
        assert [answer for answer, _ in answers] == ["HTTP 429"] * 20
        assert min(took for _, took in answers) >= TARPIT_SECONDS * 0.9  # a lower bound only
        await writer.close()

    run(scenario())


def test_missing_credentials_count_too(setup: Setup) -> None:
    address = next(_addresses)

    async def scenario() -> None:
        answers = [await attempt(setup, None, address) for _ in range(LIMIT + 2)]
        assert answers == ["4401"] * LIMIT + ["HTTP 429"] * 2

    run(scenario())


def test_valid_credentials_do_not_count(setup: Setup) -> None:
    address = next(_addresses)

    async def scenario() -> None:
        for _ in range(2 * LIMIT):
            assert await attempt(setup, setup.person.token, address) == "open"
        answers = [await attempt(setup, f"acc_guess-{n}", address) for n in range(LIMIT + 1)]
        assert answers == ["4401"] * LIMIT + ["HTTP 429"]

    run(scenario())


def test_other_addresses_and_open_connections_are_not_touched(setup: Setup) -> None:
    blocked, other = next(_addresses), next(_addresses)

    async def scenario() -> None:
        headers = {"X-Forwarded-For": blocked}
        writer = await RoleClient(
            setup.server, setup.document_id, setup.person.token, headers
        ).connect()
        reader = await RoleClient(
            setup.server, setup.document_id, setup.person.token, {"X-Forwarded-For": other}
        ).connect()
        for n in range(LIMIT):
            assert await attempt(setup, f"acc_guess-{n}", blocked) == "4401"
        assert await attempt(setup, None, blocked) == "HTTP 429"
        # The open connection from the blocked address still edits, and is heard.
        await writer.edit(0, "Sigue: ")
        await reader.wait_text("Sigue: Texto")
        # Another address is judged on its own.
        assert await attempt(setup, "acc_guess-other", other) == "4401"
        assert await attempt(setup, setup.person.token, other) == "open"

    run(scenario())


def test_api_tokens_that_identify_nobody_count(setup: Setup) -> None:
    address = next(_addresses)
    url = setup.server.url
    headers = {"X-Forwarded-For": address}
    with httpx.Client(base_url=url, headers=headers) as http:
        for n in range(LIMIT):
            response = http.get("/api/me", headers={"Authorization": f"Bearer acc_guess-{n}"})
            assert response.status_code == 401
        response = http.get("/api/me", headers={"Authorization": f"Bearer acc_guess-{LIMIT}"})
        assert response.status_code == 429
        assert response.json()["error"] == "too many attempts; wait a minute and try again"
        logs = setup.server.logs()
        assert logs.count(f"refusing sync connections and API tokens from {address}") == 1
        assert "acc_guess" not in logs
        assert response.headers["Retry-After"] == str(response.json()["retry_after"])
        assert 50 <= response.json()["retry_after"] <= 60
        valid = {"Authorization": f"Bearer {setup.person.token}"}
        assert http.get("/api/me", headers=valid).status_code == 429
        # No credential at all is not a failed one: pages still load.
        assert http.get("/login").status_code == 200
    # A browser's session from that address is not a token: it still works.
    with Browser(url) as browser:
        browser.http.headers.update(headers)
        browser.signed_in(setup.person)
        assert browser.request("GET", "/api/me").status_code == 200
    # The sync socket shares the count.
    assert run(attempt(setup, setup.person.token, address)) == "HTTP 429"


def test_a_limit_of_zero_turns_it_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = Server(
        tmp_path_factory.mktemp("nolimit") / "accord.db",
        env={"ACCORD_CREDENTIAL_FAILURES_PER_MINUTE": "0"},
    ).start()
    try:
        person = add_person(server.db, "delegado")
        setup = Setup(server, person, add_document(server.db, person))

        async def scenario() -> list[str]:
            return [await attempt(setup, f"acc_guess-{n}", "198.51.100.7") for n in range(10)]

        assert run(scenario()) == ["4401"] * 10
    finally:
        server.stop()


def test_the_limit_slides_with_its_window() -> None:
    limits = RateLimit(limit=2, window=1.0)
    limits.fail("a")
    assert limits.wait("a") == 0
    time.sleep(0.5)
    limits.fail("a")
    first = limits.wait("a")  # until the first failure is a window old
    assert 0 < first <= 0.5
    with pytest.raises(TooManyRequests) as caught:
        limits.check("a")
    assert caught.value.extra == {"retry_after": 1}
    assert limits.wait("b") == 0  # other keys are free
    time.sleep(first + 0.05)
    assert limits.wait("a") == 0  # the first failure left the window; the second has not
    limits.fail("a")
    # The second (~0.45 s of its window left) and a new one: at the limit again.
    assert limits.wait("a") > 0
