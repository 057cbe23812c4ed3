"""The sync socket checks Origin before the upgrade: a page on another site cannot open it,
even for a visitor who is signed in (cross-site websocket hijacking) or with a stolen token.

A foreign site, a sibling subdomain, another port or scheme, and the opaque ``null`` origin
are refused with HTTP 403 (websockets raises InvalidStatus; nothing is upgraded). The server's
own origin and a client that sends no Origin (a script, not a browser) are let in; so is an
origin listed in ACCORD_ALLOWED_ORIGINS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.helpers import Server
from tests.people_helpers import Browser, Person, RoleClient, add_document, add_person, run

LISTED = "https://accord.example.org"


@dataclass
class Setup:
    server: Server
    person: Person
    document_id: str


def setup_for(server: Server) -> Setup:
    person = add_person(server.db, "origin")
    document_id = add_document(server.db, person, seed="Texto")
    return Setup(server, person, document_id)


@pytest.fixture(scope="module")
def plain(shared_server: Server) -> Setup:
    return setup_for(shared_server)


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A server that also allows one listed origin (written with a trailing slash)."""
    server = Server(
        tmp_path_factory.mktemp("origins") / "accord.db",
        env={"ACCORD_ALLOWED_ORIGINS": f" {LISTED}/ , https://other.example.org"},
    ).start()
    yield setup_for(server)
    server.stop()


def foreign_origins(port: int) -> list[str]:
    return [
        "https://evil.example",
        f"http://evil.127.0.0.1:{port}",  # a sibling subdomain
        f"http://127.0.0.1:{port}.evil.example",
        f"http://127.0.0.1:{port + 1}",  # another port is another origin
        f"https://127.0.0.1:{port}",  # and another scheme
        "null",  # sandboxed iframes, file: pages, some redirects
    ]


async def open_socket(
    setup: Setup, origin: str | None, token: bool = True, cookie: str | None = None
) -> RoleClient:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = cookie
    client = RoleClient(
        setup.server, setup.document_id, setup.person.token if token else None, headers
    )
    return await client.connect()


def refused(setup: Setup, origin: str, token: bool = True, cookie: str | None = None) -> int:
    async def attempt() -> int:
        with pytest.raises(InvalidStatus) as raised:
            client = await open_socket(setup, origin, token, cookie)
            await client.close()
        return raised.value.response.status_code

    return run(attempt())


def accepted(
    setup: Setup, origin: str | None, token: bool = True, cookie: str | None = None
) -> str:
    """Open the socket, sync, and return the text it received."""

    async def attempt() -> str:
        client = await open_socket(setup, origin, token, cookie)
        text = str(client.text)
        await client.close()
        return text

    return run(attempt())


@pytest.mark.parametrize("which", range(6))
def test_foreign_origin_refused_before_upgrade(plain: Setup, which: int) -> None:
    origin = foreign_origins(plain.server.port)[which]
    assert refused(plain, origin) == 403


def test_own_origin_accepted(plain: Setup) -> None:
    assert accepted(plain, f"http://127.0.0.1:{plain.server.port}") == "Texto"


def test_no_origin_accepted(plain: Setup) -> None:
    """A script (no Origin header) still needs credentials, and with them gets in."""
    assert accepted(plain, None) == "Texto"


def test_signed_in_browser_from_a_foreign_page_refused(plain: Setup) -> None:
    """The hijacking case: the browser adds the session cookie, the page is elsewhere."""
    with Browser(plain.server) as browser:
        browser.signed_in(plain.person)
        cookie = browser.cookie_header()["Cookie"]
        for origin in foreign_origins(plain.server.port):
            assert refused(plain, origin, token=False, cookie=cookie) == 403, origin
        own = f"http://127.0.0.1:{plain.server.port}"
        assert accepted(plain, own, token=False, cookie=cookie) == "Texto"


def test_refusal_does_not_depend_on_credentials(plain: Setup) -> None:
    """Refused before the credentials are even looked at: no token gets 403 too (not 4401)."""
    assert refused(plain, "https://evil.example", token=False) == 403


def test_listed_origin_accepted(listed: Setup) -> None:
    assert accepted(listed, LISTED) == "Texto"
    assert accepted(listed, "https://other.example.org") == "Texto"
    assert accepted(listed, f"http://127.0.0.1:{listed.server.port}") == "Texto"


def test_unlisted_origin_still_refused_when_a_list_is_set(listed: Setup) -> None:
    for origin in [
        "https://evil.example",
        "https://evil.accord.example.org",
        "http://accord.example.org",
        "null",
    ]:
        assert refused(listed, origin) == 403, origin


def test_refused_upgrade_is_plain_http(plain: Setup) -> None:
    """The refusal is an HTTP response: no websocket ever exists to receive frames."""

    async def attempt() -> None:
        url = f"ws://127.0.0.1:{plain.server.port}/sync/{plain.document_id}?token={plain.person.token}"
        with pytest.raises(InvalidStatus) as raised:
            async with websockets.connect(url, origin=websockets.Origin("https://evil.example")):
                pass
        assert raised.value.response.status_code == 403

    run(attempt())
