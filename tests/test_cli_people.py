"""The ``accord`` commands for people, run as subprocesses on a database file that a running
server uses at the same time: organizations, people (password piped on stdin, or an
invitation link), API tokens, the first admin's setup link, and the demo."""

from __future__ import annotations

import contextlib
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, Server, free_port
from tests.people_helpers import Browser, accord

PASSWORD = "clave-de-prueba-123"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("cli") / "accord.db").start()
    yield instance
    instance.stop()


def run(server: Server, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return accord(*args, "--db", str(server.db), stdin=stdin)


def test_orgs_add_and_list(server: Server) -> None:
    added = run(server, "orgs", "add", "CMX", "--name", "Colectiva de México", "--country", "MX")
    assert added.returncode == 0, added.stderr
    assert "CMX" in added.stdout
    listing = run(server, "orgs", "list")
    assert "CMX\tMX\tColectiva de México" in listing.stdout.splitlines()

    again = run(server, "orgs", "add", "CMX", "--name", "Otra", "--country", "MX")
    assert again.returncode == 1 and "exists" in again.stderr
    bad = run(server, "orgs", "add", "XYZ", "--name", "Mal país", "--country", "Mexico")
    assert bad.returncode == 1 and "country" in bad.stderr


def ensure_org(server: Server, short: str = "CLI") -> str:
    run(server, "orgs", "add", short, "--name", "Organización CLI", "--country", "MX")
    return short


def test_users_add_with_piped_password(server: Server) -> None:
    org = ensure_org(server)
    email = "ana.cli@test.accord"
    added = run(
        server,
        "users",
        "add",
        email,
        "--name",
        "Ana",
        "--org",
        org,
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert added.returncode == 0, added.stderr
    assert email in added.stdout
    assert PASSWORD not in added.stdout + added.stderr
    listing = run(server, "users", "list")
    assert any(line.startswith(f"{email}\t{org}\tAna") for line in listing.stdout.splitlines())

    with Browser(server) as browser:
        signed_in = browser.sign_in(email, PASSWORD)
        assert signed_in.status_code == 200, signed_in.text
        me = browser.get("/api/me").json()
        assert me["name"] == "Ana" and me["organization"]["short_name"] == org
        assert me["is_admin"] is False


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (f"{PASSWORD}\n{PASSWORD}x\n", "the two passwords differ"),
        ("corta\ncorta\n", "at least 10 characters"),
    ],
)
def test_users_add_refuses_bad_passwords(server: Server, stdin: str, message: str) -> None:
    email = f"refused.{len(stdin)}@test.accord"
    result = run(server, "users", "add", email, "--name", "Nadie", stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr
    assert email not in run(server, "users", "list").stdout


def test_users_add_with_unknown_org_fails(server: Server) -> None:
    result = run(
        server,
        "users",
        "add",
        "sin.org@test.accord",
        "--name",
        "X",
        "--org",
        "NOPE",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.returncode == 1 and "NOPE" in result.stderr


def test_users_add_invite_prints_a_working_link(server: Server) -> None:
    email = "invitada.cli@test.accord"
    added = run(server, "users", "add", email, "--name", "Invitada", "--invite")
    assert added.returncode == 0, added.stderr
    links = re.findall(r"https?://\S+/link/(\S+)", added.stdout)
    assert len(links) == 1, added.stdout
    token = links[0]
    with Browser(server) as browser:
        assert browser.sign_in(email, PASSWORD).status_code == 401  # no password yet
        shown = browser.get(f"/api/links/{token}")
        assert shown.status_code == 200 and shown.json()["email"] == email
        used = browser.post(f"/api/links/{token}", json={"password": PASSWORD})
        assert used.status_code == 200, used.text
        assert browser.get("/api/me").json()["email"] == email
    with Browser(server) as again:
        assert again.sign_in(email, PASSWORD).status_code == 200
        assert again.post(f"/api/links/{token}", json={"password": PASSWORD}).status_code == 404


def test_tokens_create_prints_the_token_last(server: Server) -> None:
    email = "bot.cli@test.accord"
    run(server, "users", "add", email, "--name", "Bot", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    created = run(server, "tokens", "create", email, "--name", "ci")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    token = lines[-1]
    assert re.fullmatch(r"\S{20,}", token), lines
    me = httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200 and me.json()["email"] == email
    listing = run(server, "tokens", "list", email)
    assert "ci" in listing.stdout and "active" in listing.stdout
    assert token not in listing.stdout  # shown only once
    missing = run(server, "tokens", "create", "nadie@test.accord")
    assert missing.returncode == 1 and "nadie@test.accord" in missing.stderr


# -- the first admin -------------------------------------------------------------------------


@contextlib.contextmanager
def serving(db: Path, port: int) -> Iterator[queue.Queue[str]]:
    """``python -m server.cli serve`` with its output as a queue of lines; killed at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def wait_for_line(lines: queue.Queue[str], pattern: str, timeout: float = 20) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"no line matching {pattern!r} in: {''.join(seen)}")


def test_serve_on_an_empty_database_prints_a_setup_link(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(db, port) as lines:
        found = wait_for_line(lines, rf"{re.escape(url)}/link/(\S+)")
        token = found.group(1)
        wait_for_line(lines, r"Application startup complete|Uvicorn running")
        with Browser(url) as browser:
            shown = browser.get(f"/api/links/{token}")
            assert shown.status_code == 200 and shown.json()["kind"] == "setup"
            short = browser.post(
                f"/api/links/{token}",
                json={"email": "jefa@test.accord", "name": "Jefa", "password": "corta"},
            )
            assert short.status_code == 400
            created = browser.post(
                f"/api/links/{token}",
                json={"email": "jefa@test.accord", "name": "Jefa", "password": PASSWORD},
            )
            assert created.status_code == 200, created.text
            me = browser.get("/api/me").json()
            assert me["email"] == "jefa@test.accord" and me["is_admin"] is True
            again = browser.post(
                f"/api/links/{token}",
                json={"email": "otra@test.accord", "name": "Otra", "password": PASSWORD},
            )
            assert again.status_code == 404
    # a database with people in it prints no link
    with serving(db, free_port()) as lines:
        wait_for_line(lines, r"Application startup complete|Uvicorn running")
        printed = []
        with contextlib.suppress(queue.Empty):
            while True:
                printed.append(lines.get(timeout=0.5))
        assert not [line for line in printed if "/link/" in line]


# -- the demo ------------------------------------------------------------------------------------


DEMO_LINE = re.compile(r"^\s+(\w+)\s+.*?\s(\S+@\S+)\s+password: (\S+)\s*$")


def test_demo_prints_working_logins(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = accord("demo", "--db", str(db))
    assert result.returncode == 0, result.stderr
    logins = [m.groups() for m in map(DEMO_LINE.match, result.stdout.splitlines()) if m]
    roles = {role for role, _, _ in logins}
    assert {"admin", "chair", "delegate", "reviewer", "observer"} <= roles, result.stdout
    demo = Server(db).start()
    try:
        for role, email, password in logins:
            with Browser(demo) as browser:
                response = browser.sign_in(email, password)
                assert response.status_code == 200, (role, email, response.text)
                documents = browser.get("/api/documents").json()["documents"]
                if role == "admin":
                    assert response.json()["is_admin"] is True
                else:
                    assert [d["role"] for d in documents] == [role], (email, documents)
    finally:
        demo.stop()
