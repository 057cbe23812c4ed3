"""The HTTP side of accounts and roles, against a real server.

- a document that is not yours answers byte for byte like one that does not exist;
- listings show only your documents; only admins and chairs create documents;
- CSRF: a cookie-authenticated unsafe request needs X-CSRFToken equal to the csrftoken
  cookie; a Bearer token needs none; the session cookie is HttpOnly, SameSite=lax;
- sign-in: a wrong email and a wrong password look the same; repeated failures are limited;
- one-time links work once and not after they expire; passwords are at least 10 characters;
- a document always keeps a chair.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest

from tests.helpers import Server
from tests.people_helpers import (
    Browser,
    add_document,
    add_person,
    missing_document_id,
    writing,
)


@pytest.fixture(scope="module")
def server(shared_server: Server) -> Iterator[Server]:
    yield shared_server


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    """A cookie-less client (Bearer tokens only)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


# -- nothing to enumerate ----------------------------------------------------------------------


def test_not_yours_answers_like_missing(server: Server, http: httpx.Client) -> None:
    chair = add_person(server.db, "chair")
    outsider = add_person(server.db, "outsider")
    admin = add_person(server.db, "admin", admin=True)
    existing = add_document(server.db, chair, title="Confidencial", seed="Texto sensible")
    missing = missing_document_id()

    def paths(document_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
        return [
            ("GET", f"/api/documents/{document_id}", None),
            ("GET", f"/api/documents/{document_id}/members", None),
            (
                "POST",
                f"/api/documents/{document_id}/members",
                {"email": outsider.email, "role": "chair"},
            ),
            ("PUT", f"/api/documents/{document_id}/members/{outsider.id}", {"role": "chair"}),
            ("DELETE", f"/api/documents/{document_id}/members/{chair.id}", None),
            ("POST", f"/api/documents/{document_id}/invitations", {"role": "chair"}),
            ("DELETE", f"/api/documents/{document_id}/invitations/1", None),
        ]

    for who in (outsider, admin):
        for (method, path, body), (_, missing_path, _) in zip(
            paths(existing), paths(missing), strict=True
        ):
            seen = http.request(method, path, json=body, headers=who.bearer)
            unseen = http.request(method, missing_path, json=body, headers=who.bearer)
            assert seen.status_code == unseen.status_code == 404, (method, path, seen.text)
            assert seen.content == unseen.content, (method, path)
            assert seen.json() == {"error": "document not found"}
        # the editor page, as a signed-in browser sees it
        with Browser(server) as browser:
            browser.signed_in(who)
            page = browser.get(f"/documents/{existing}")
            missing_page = browser.get(f"/documents/{missing}")
            assert page.status_code == missing_page.status_code == 404
            assert page.content == missing_page.content
            assert b"Confidencial" not in page.content
            # and the same through a cookie, for the API
            api = browser.get(f"/api/documents/{existing}")
            assert (
                api.status_code == 404
                and api.content == browser.get(f"/api/documents/{missing}").content
            )
    # nothing changed on the way
    members = http.get(f"/api/documents/{existing}/members", headers=chair.bearer)
    assert [(m["user_id"], m["role"]) for m in members.json()["members"]] == [(chair.id, "chair")]


def test_signed_out_cannot_tell_either(server: Server) -> None:
    chair = add_person(server.db, "chair")
    existing = add_document(server.db, chair)
    missing = missing_document_id()
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for path in ("/api/documents/{}", "/api/documents/{}/members"):
            seen = anonymous.get(path.format(existing))
            unseen = anonymous.get(path.format(missing))
            assert seen.status_code == unseen.status_code == 401
            assert seen.content == unseen.content
        page = anonymous.get(f"/documents/{existing}")
        missing_page = anonymous.get(f"/documents/{missing}")
        assert page.status_code == missing_page.status_code == 303
        assert page.headers["location"].startswith("/login")
        assert page.content == missing_page.content


def test_listing_shows_only_your_documents(server: Server, http: httpx.Client) -> None:
    chair = add_person(server.db, "chair")
    someone = add_person(server.db, "someone")
    admin = add_person(server.db, "admin", admin=True)
    drafting = add_document(server.db, chair, [(someone, "delegate")], title="Uno")
    watching = add_document(server.db, chair, [(someone, "observer")], title="Dos")
    add_document(server.db, chair, title="Tres")
    listing = http.get("/api/documents", headers=someone.bearer)
    assert listing.status_code == 200
    assert {(d["id"], d["role"]) for d in listing.json()["documents"]} == {
        (drafting, "delegate"),
        (watching, "observer"),
    }
    # an admin is not a member of everything
    assert http.get("/api/documents", headers=admin.bearer).json() == {"documents": []}
    assert len(http.get("/api/documents", headers=chair.bearer).json()["documents"]) == 3


def test_only_admins_and_chairs_create_documents(server: Server) -> None:
    chair = add_person(server.db, "chair")
    delegate = add_person(server.db, "delegate")
    admin = add_person(server.db, "admin", admin=True)
    add_document(server.db, chair, [(delegate, "delegate")])

    with Browser(server) as browser:
        browser.signed_in(delegate)
        refused = browser.post("/api/documents", json={"title": "No"})
        assert refused.status_code == 403, refused.text
        assert set(refused.json()) == {"error"}
        assert browser.get("/api/me").json()["can_create"] is False
        assert all(d["title"] != "No" for d in browser.get("/api/documents").json()["documents"])

    for creator in (admin, chair):
        with Browser(server) as browser:
            browser.signed_in(creator)
            assert browser.get("/api/me").json()["can_create"] is True
            created = browser.post("/api/documents", json={"title": "Nuevo"})
            assert created.status_code == 201, created.text
            assert created.json()["role"] == "chair"
            document_id = created.json()["id"]
            listing = browser.get("/api/documents").json()["documents"]
            assert (document_id, "chair") in {(d["id"], d["role"]) for d in listing}
            members = browser.get(f"/api/documents/{document_id}/members").json()["members"]
            assert [(m["user_id"], m["role"]) for m in members] == [(creator.id, "chair")]


# -- CSRF and the session cookie ---------------------------------------------------------------


def test_cookie_requests_need_the_csrf_header(server: Server) -> None:
    admin = add_person(server.db, "admin", admin=True)
    with Browser(server) as browser, Browser(server) as other:
        browser.signed_in(admin)
        other.signed_in(admin)
        assert browser.csrf and other.csrf and browser.csrf != other.csrf

        def titles() -> list[str]:
            return [d["title"] for d in browser.get("/api/documents").json()["documents"]]

        for headers in ({}, {"X-CSRFToken": "forged"}, {"X-CSRFToken": other.csrf}):
            for method, path, body in [
                ("POST", "/api/documents", {"title": "Forjado"}),
                ("PUT", "/api/me", {"language": "en"}),
                (
                    "POST",
                    "/api/me/password",
                    {"current_password": admin.password, "new_password": "x" * 20},
                ),
                ("DELETE", "/api/session", None),
            ]:
                response = browser.request(method, path, csrf=False, json=body, headers=headers)
                assert response.status_code == 403, (method, path, headers, response.text)
                assert response.json() == {"error": "missing or wrong CSRF token"}
        assert "Forjado" not in titles()
        assert browser.get("/api/me").json()["language"] == "es"
        assert browser.get("/api/me").status_code == 200  # still signed in

        # the header without the cookie it must match does not do either
        bare = httpx.post(
            server.url + "/api/documents",
            json={"title": "Forjado"},
            headers={**browser.cookie_header(), "X-CSRFToken": browser.csrf},
            timeout=30,
        )
        assert bare.status_code == 403

        # with the header, each works
        assert browser.post("/api/documents", json={"title": "Legítimo"}).status_code == 201
        assert browser.put("/api/me", json={"language": "en"}).status_code == 204
        assert browser.get("/api/me").json()["language"] == "en"
        assert "Legítimo" in titles()
        assert browser.sign_out().status_code == 204
        assert browser.get("/api/me").status_code == 401
        assert other.get("/api/me").status_code == 200  # only that session ended


def test_bearer_requests_need_no_csrf(server: Server, http: httpx.Client) -> None:
    admin = add_person(server.db, "admin", admin=True)
    delegate = add_person(server.db, "delegate")
    created = http.post("/api/documents", json={"title": "Bot"}, headers=admin.bearer)
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    added = http.post(
        f"/api/documents/{document_id}/members",
        json={"email": delegate.email, "role": "reviewer"},
        headers=admin.bearer,
    )
    assert added.status_code == 201, added.text
    changed = http.put(
        f"/api/documents/{document_id}/members/{delegate.id}",
        json={"role": "delegate"},
        headers=admin.bearer,
    )
    assert changed.status_code == 200, changed.text
    assert http.put("/api/me", json={"language": "en"}, headers=admin.bearer).status_code == 204


def test_session_cookie_attributes(server: Server) -> None:
    someone = add_person(server.db, "cookie")
    with Browser(server) as browser:
        response = browser.sign_in(someone)
        assert response.status_code == 200
        [header] = set_cookie_headers(response, "accord_session")
        cookie = SimpleCookie()
        cookie.load(header)
        morsel = cookie["accord_session"]
        assert morsel.value == browser.session and len(morsel.value) >= 32
        assert morsel["httponly"] is True
        assert morsel["samesite"].lower() == "lax"
        assert not morsel["secure"], "Secure on plain http would lose the cookie"
        assert morsel["path"] == "/"
        assert int(morsel["max-age"]) > 0
        # signing out clears it
        out = browser.sign_out()
        [cleared] = set_cookie_headers(out, "accord_session")
        assert "max-age=0" in cleared.lower() or "expires=thu, 01 jan 1970" in cleared.lower()


def test_session_cookie_is_secure_behind_an_https_proxy(server: Server) -> None:
    """Behind a TLS proxy on the same host (trusted for X-Forwarded-Proto), the cookie is
    Secure."""
    someone = add_person(server.db, "proxied")
    with Browser(server) as browser:
        response = browser.sign_in(someone, headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 200, response.text
        [header] = set_cookie_headers(response, "accord_session")
        cookie = SimpleCookie()
        cookie.load(header)
        assert cookie["accord_session"]["secure"] is True
        # the CSRF token's cookie too (JS must read it, so it cannot be HttpOnly)
        fresh = httpx.get(f"{server.url}/login", headers={"X-Forwarded-Proto": "https"})
        [token_header] = set_cookie_headers(fresh, "csrftoken")
        token_cookie = SimpleCookie()
        token_cookie.load(token_header)
        assert token_cookie["csrftoken"]["secure"] is True
    plain = httpx.get(f"{server.url}/login")
    [plain_header] = set_cookie_headers(plain, "csrftoken")
    assert "secure" not in plain_header.lower()


def test_api_tokens_are_not_taken_from_the_query_string(server: Server) -> None:
    """Only the sync socket reads ``?token=`` (a browser cannot set its headers); over HTTP a
    token in the URL, where logs and Referer headers keep it, is not accepted."""
    someone = add_person(server.db, "query")
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get("/api/me", params={"token": someone.token}).status_code == 401
        assert anonymous.get("/api/me", headers=someone.bearer).status_code == 200


# -- signing in --------------------------------------------------------------------------------


def test_wrong_email_and_wrong_password_look_the_same(server: Server) -> None:
    someone = add_person(server.db, "someone")
    with Browser(server) as browser:
        wrong_password = browser.sign_in(someone.email, "not-the-password-1")
        wrong_email = browser.sign_in("nobody.at.all@test.accord", "not-the-password-1")
        assert wrong_password.status_code == wrong_email.status_code == 401
        assert wrong_password.content == wrong_email.content
        assert wrong_password.json() == {"error": "wrong email or password"}
        assert browser.session is None


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: failures also count per address, and every test comes from
    127.0.0.1, so the module's server must not see them."""
    instance = Server(tmp_path_factory.mktemp("limits") / "accord.db").start()
    yield instance
    instance.stop()


def test_login_from_a_cross_site_form_is_refused(server: Server) -> None:
    """A cross-site form can POST text/plain that happens to be JSON without a preflight (and
    sign the visitor in as the attacker): only application/json bodies are read."""
    someone = add_person(server.db, "formed")
    body = json.dumps({"email": someone.email, "password": someone.password})
    with Browser(server) as browser:
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            response = browser.post(
                "/api/session", content=body, headers={"Content-Type": content_type}
            )
            assert response.status_code == 400, (content_type, response.text)
            assert browser.session is None
        assert browser.sign_in(someone).status_code == 200


def test_login_rate_limit(own_server: Server) -> None:
    target = add_person(own_server.db, "target")
    with Browser(own_server) as browser:
        statuses = [
            browser.sign_in(target.email, f"wrong-password-{i}").status_code for i in range(6)
        ]
        assert statuses == [401, 401, 401, 401, 401, 429]
        right = browser.sign_in(target)
        assert right.status_code == 429, "the right password must not get through the limit"
        assert set(right.json()) == {"error", "retry_after"}  # nothing about the password
        assert right.headers["Retry-After"] == str(right.json()["retry_after"])
        assert 1 <= right.json()["retry_after"] <= 60
        assert browser.session is None


# -- one-time links ----------------------------------------------------------------------------


def invite(browser: Browser, document_id: str, role: str = "reviewer") -> tuple[int, str]:
    response = browser.post(f"/api/documents/{document_id}/invitations", json={"role": role})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"].startswith(browser.url + "/link/")
    return int(body["id"]), body["url"].rsplit("/", 1)[1]


def test_invitation_link_works_once(server: Server) -> None:
    chair = add_person(server.db, "chair")
    document_id = add_document(server.db, chair, title="Invitación", seed="Hola")
    with Browser(server) as browser:
        browser.signed_in(chair)
        _, token = invite(browser, document_id)

    email = f"invitada.{token[:6].lower()}@test.accord"
    signup = {"email": email, "name": "Invitada", "password": "una-clave-larga"}
    with Browser(server) as newcomer:
        shown = newcomer.get(f"/api/links/{token}")
        assert shown.status_code == 200
        assert shown.json()["kind"] == "document" and shown.json()["role"] == "reviewer"
        short = newcomer.post(f"/api/links/{token}", json={**signup, "password": "corta"})
        assert short.status_code == 400, short.text
        assert newcomer.get(f"/api/links/{token}").status_code == 200  # still usable
        used = newcomer.post(f"/api/links/{token}", json=signup)
        assert used.status_code == 200, used.text
        assert used.json() == {"redirect": f"/documents/{document_id}"}
        assert newcomer.session is not None
        document = newcomer.get(f"/api/documents/{document_id}")
        assert document.status_code == 200 and document.json()["role"] == "reviewer"

    with Browser(server) as second:
        again = second.post(f"/api/links/{token}", json={**signup, "email": "otra." + email})
        assert again.status_code == 404, again.text
        assert second.get(f"/api/links/{token}").status_code == 404
        never = second.get("/api/links/" + "x" * 43)
        assert never.content == second.get(f"/api/links/{token}").content


def test_invitation_link_used_at_once_works_once(server: Server) -> None:
    """Five people use the same link at the same moment: exactly one gets in."""
    chair = add_person(server.db, "chair")
    document_id = add_document(server.db, chair)
    with Browser(server) as browser:
        browser.signed_in(chair)
        _, token = invite(browser, document_id, "delegate")

    async def all_at_once() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"/api/links/{token}",
                        json={
                            "email": f"carrera.{i}.{token[:6].lower()}@test.accord",
                            "name": f"Carrera {i}",
                            "password": "una-clave-larga",
                        },
                    )
                    for i in range(5)
                )
            )
        return [r.status_code for r in responses]

    assert sorted(asyncio.run(all_at_once())) == [200, 404, 404, 404, 404]
    members = httpx.get(
        f"{server.url}/api/documents/{document_id}/members", headers=chair.bearer, timeout=30
    ).json()["members"]
    assert sorted(m["role"] for m in members) == ["chair", "delegate"]


def test_expired_link_is_dead(server: Server) -> None:
    chair = add_person(server.db, "chair")
    document_id = add_document(server.db, chair)
    with Browser(server) as browser:
        browser.signed_in(chair)
        link_id, token = invite(browser, document_id, "delegate")
        pending = browser.get(f"/api/documents/{document_id}/members").json()["invitations"]
        assert [i["id"] for i in pending] == [link_id]
    with writing(server.db) as conn:
        conn.execute(
            "UPDATE links SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", (link_id,)
        )
    with Browser(server) as newcomer:
        assert newcomer.get(f"/api/links/{token}").status_code == 404
        used = newcomer.post(
            f"/api/links/{token}",
            json={"email": "tarde@test.accord", "name": "Tarde", "password": "una-clave-larga"},
        )
        assert used.status_code == 404, used.text
        assert newcomer.session is None


def test_passwords_shorter_than_ten_refused(server: Server) -> None:
    someone = add_person(server.db, "someone")
    with Browser(server) as browser:
        browser.signed_in(someone)
        short = browser.post(
            "/api/me/password",
            json={"current_password": someone.password, "new_password": "123456789"},
        )
        assert short.status_code == 400, short.text
        assert set(short.json()) == {"error"}
        assert browser.get("/api/me").status_code == 200
    with Browser(server) as again:
        assert again.sign_in(someone).status_code == 200  # the old password still works


# -- chairs ------------------------------------------------------------------------------------


def test_the_last_chair_stays(server: Server) -> None:
    chair = add_person(server.db, "chair")
    delegate = add_person(server.db, "delegate")
    reviewer = add_person(server.db, "reviewer")
    document_id = add_document(server.db, chair, [(delegate, "delegate"), (reviewer, "reviewer")])
    members_path = f"/api/documents/{document_id}/members"
    with Browser(server) as browser:
        browser.signed_in(chair)
        demote = browser.put(f"{members_path}/{chair.id}", json={"role": "delegate"})
        assert demote.status_code == 409, demote.text
        remove = browser.delete(f"{members_path}/{chair.id}")
        assert remove.status_code == 409, remove.text
        roles = {m["user_id"]: m["role"] for m in browser.get(members_path).json()["members"]}
        assert roles[chair.id] == "chair"

        # with a second chair, either may step down
        assert (
            browser.put(f"{members_path}/{delegate.id}", json={"role": "chair"}).status_code == 200
        )
        assert (
            browser.put(f"{members_path}/{chair.id}", json={"role": "reviewer"}).status_code == 200
        )
    with Browser(server) as other:
        other.signed_in(delegate)  # now the only chair
        assert other.delete(f"{members_path}/{delegate.id}").status_code == 409
        assert (
            other.put(f"{members_path}/{delegate.id}", json={"role": "observer"}).status_code == 409
        )


def test_only_chairs_manage_members(server: Server, http: httpx.Client) -> None:
    chair = add_person(server.db, "chair")
    delegate = add_person(server.db, "delegate")
    document_id = add_document(server.db, chair, [(delegate, "delegate")])
    members_path = f"/api/documents/{document_id}/members"
    for method, path, body in [
        ("PUT", f"{members_path}/{delegate.id}", {"role": "chair"}),
        ("DELETE", f"{members_path}/{chair.id}", None),
        ("POST", f"/api/documents/{document_id}/invitations", {"role": "chair"}),
    ]:
        response = http.request(method, path, json=body, headers=delegate.bearer)
        assert response.status_code == 403, (method, path, response.text)
    listing = http.get(members_path, headers=delegate.bearer).json()
    assert listing["can_manage"] is False
    assert all(m["email"] is None for m in listing["members"])  # emails are for chairs
    assert listing["invitations"] == []


def test_invitations_belong_to_their_document(server: Server) -> None:
    """A chair of one document cannot revoke another document's invitation by its number,
    nor tell whether it exists; its own chair can revoke it, and then the link is dead."""
    chair = add_person(server.db, "chair")
    intruder = add_person(server.db, "intruder")
    document_id = add_document(server.db, chair)
    own_document = add_document(server.db, intruder)
    with Browser(server) as browser, Browser(server) as other:
        browser.signed_in(chair)
        other.signed_in(intruder)
        link_id, token = invite(browser, document_id, "chair")
        attempt = other.delete(f"/api/documents/{own_document}/invitations/{link_id}")
        never = other.delete(f"/api/documents/{own_document}/invitations/{link_id + 10_000}")
        assert attempt.status_code == never.status_code == 404
        assert attempt.content == never.content
        assert other.get(f"/api/links/{token}").status_code == 200  # still valid
        assert (
            browser.delete(f"/api/documents/{document_id}/invitations/{link_id}").status_code == 204
        )
        assert other.get(f"/api/links/{token}").status_code == 404
        pending = browser.get(f"/api/documents/{document_id}/members").json()["invitations"]
        assert pending == []


def test_login_rate_limit_holds_under_concurrent_guesses(own_server: Server) -> None:
    """Guesses sent all at once must not slip past the limit: at most 5 are ever checked
    (answered 401); the others are refused (429) without trying the password."""
    target = add_person(own_server.db, "target")

    async def guess_all_at_once() -> list[int]:
        async with httpx.AsyncClient(base_url=own_server.url, timeout=60) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/api/session",
                        json={"email": target.email, "password": f"guess-number-{i}"},
                    )
                    for i in range(12)
                )
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(guess_all_at_once())
    assert set(statuses) <= {401, 429}
    checked = statuses.count(401)
    assert checked <= 5, f"{checked} of 12 concurrent guesses were checked (limit 5)"
