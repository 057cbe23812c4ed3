"""`accord serve` under systemd: READY=1 once it listens, WATCHDOG=1 from the event loop
while it runs (so a stuck loop stops them and systemd restarts the server), STOPPING=1 on
SIGTERM. A real server process and a real notify socket."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server import notify
from tests.helpers import ROOT, Server, free_port

STALL = Path(__file__).parent / "stall"


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[socket.socket]:
    """The service manager's end: a unix datagram socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(10)
    yield sock
    sock.close()


def received(sock: socket.socket, until: str) -> list[tuple[float, str]]:
    """Every message, with when it arrived, up to and including ``until``."""
    messages = []
    while True:
        message = sock.recv(4096).decode()
        messages.append((time.monotonic(), message))
        if message == until:
            return messages


def test_ready_then_pings_then_stopping(tmp_path: Path, manager: socket.socket) -> None:
    # Started by hand, not with `Server.start` (which polls until the server answers): the
    # first request goes out only when READY=1 arrives, once, so it fails if READY=1 came
    # before the socket listened.
    port = free_port()
    env = {
        **os.environ,
        "NOTIFY_SOCKET": manager.getsockname(),
        "WATCHDOG_USEC": "200000",
        "ACCORD_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    command += ["--db", str(tmp_path / "accord.db")]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        first = received(manager, "READY=1")
        assert [m for _, m in first] == ["READY=1"]  # nothing before it is ready
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # no retry: listening
        assert httpx.get(f"http://127.0.0.1:{port}/api/me").status_code == 401
        pings = [m for _, m in received(manager, "WATCHDOG=1") + received(manager, "WATCHDOG=1")]
        assert pings == ["WATCHDOG=1", "WATCHDOG=1"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = [m for _, m in received(manager, "STOPPING=1")]
    assert set(rest) <= {"WATCHDOG=1", "STOPPING=1"}


def test_the_pings_stop_while_the_event_loop_is_stuck(
    tmp_path: Path, manager: socket.socket
) -> None:
    pythonpath = os.pathsep.join(filter(None, [str(STALL), os.environ.get("PYTHONPATH")]))
    server = Server(
        tmp_path / "accord.db",
        env={
            "NOTIFY_SOCKET": manager.getsockname(),
            "WATCHDOG_USEC": "100000",  # a ping every 50 ms
            "PYTHONPATH": pythonpath,
        },
    ).start()
    try:
        received(manager, "READY=1")
        received(manager, "WATCHDOG=1")
        assert server.proc is not None
        # Pings already waiting in the socket would arrive at once after the signal, as if
        # the loop had never stopped (CI once read two such, 6 and 9 µs apart): drop them.
        manager.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                manager.recv(4096)
        manager.settimeout(10)
        server.proc.send_signal(signal.SIGUSR2)  # the loop's thread sleeps 1.5 s
        sent = time.monotonic()
        pings: list[float] = []
        # Read on until a ping comes after the stall (one more may already be on its way).
        while len(pings) < 20 and (not pings or pings[-1] - sent < 1.0):
            pings += [when for when, _ in received(manager, "WATCHDOG=1")]
        # Some ping waited for the loop: the longest gap from the signal on covers most of
        # the stall (a thread pinging on its own would have gone on every 50 ms). Noise
        # can only make the gaps longer.
        gaps = [later - earlier for earlier, later in zip([sent, *pings], pings, strict=False)]
        assert max(gaps) > 1.0
        assert server.alive()  # and then the loop went on: it was stuck, not dead
        assert httpx.get(server.url + "/api/me").status_code == 401
    finally:
        server.stop()


def test_no_manager_no_messages() -> None:
    assert notify.notify("READY=1", {}) is False
    assert notify.watchdog_interval({}) is None


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),  # half the timeout, as systemd advises
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
    ],
)
def test_watchdog_interval(environ: dict[str, str], interval: float | None) -> None:
    assert notify.watchdog_interval(environ) == interval


def test_an_abstract_socket_name_is_reached(tmp_path: Path) -> None:
    name = f"accord-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify.notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"


def test_an_unreachable_manager_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "nobody-listens")
    assert notify.notify("READY=1", {"NOTIFY_SOCKET": missing}) is False
    assert "could not notify the service manager (READY=1)" in caplog.text
