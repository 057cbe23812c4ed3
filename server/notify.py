"""Telling the service manager how the server is: ready, alive, stopping.

systemd's notify protocol: a datagram of ``KEY=VALUE`` lines to the unix socket named by
``$NOTIFY_SOCKET`` (a name starting with ``@`` is in the abstract namespace). With
``WatchdogSec=`` in the unit, systemd also sets ``$WATCHDOG_USEC``, and when no ``WATCHDOG=1``
arrives within it, it kills the process (SIGABRT, which prints every thread's stack to the
journal, see `accord serve`) and restarts it.

The pings come from the event loop itself, not from a thread, so they stop when the loop
is stuck: a loop inside Rust that holds the GIL (the freeze of ``docs/operations.md``), or
anything else that keeps the loop from turning. That is the one failure the process cannot
notice from inside, and every connection waits on it. Without ``$NOTIFY_SOCKET`` nothing
is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(state: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``state`` (``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``) to the service manager;
    False if there is none or it cannot be reached (the server goes on either way)."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("could not notify the service manager (%s): %s", state, exc.strerror)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between two pings (half the watchdog's timeout, as systemd advises), or None
    when no watchdog watches this process."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):  # meant for another process (a parent, say)
        return None
    return int(usec) / 1_000_000 / 2


async def keep_alive(interval: float, environ: Mapping[str, str] = os.environ) -> None:
    """Ping the watchdog every ``interval`` seconds, from the event loop, until cancelled."""
    while True:
        notify("WATCHDOG=1", environ)
        await asyncio.sleep(interval)


__all__ = ["keep_alive", "notify", "watchdog_interval"]
