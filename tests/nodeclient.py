"""Drive the real, unmodified y-websocket client in Node (web/tests/yclient.mjs) from Python.

    with NodeClient() as node:
        node.connect(server.ws_url, document_id)   # waits for "synced"
        node.insert(0, "¡Hola!")
        node.wait_text("¡Hola!")

One process per client. A reader thread parses the JSON lines the script writes and keeps
every event (``events``) plus a mirror of the latest text, awareness states and status; the
waits block on a condition variable, never on a timed sleep. Leaving the ``with`` block (or
`close()`) always ends the process and closes its pipes.

Indexes sent to yclient.mjs are Yjs indexes: UTF-16 code units. `utf16_index` converts from a
Python (code point) index.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from tests.helpers import ROOT

SCRIPT = ROOT / "web" / "tests" / "yclient.mjs"

Event = dict[str, Any]


class NodeClientError(AssertionError):
    """A command failed, an awaited event did not come, or the process died."""


def utf16_index(text: str, index: int) -> int:
    """The UTF-16 offset of code point ``index`` in ``text`` (what Yjs calls an index)."""
    return len(text[:index].encode("utf-16-le")) // 2


class NodeClient:
    def __init__(self, name: str = "node", timeout: float = 10) -> None:
        self.name = name
        self.timeout = timeout
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self.text = ""
        self.status = ""
        self.peer_states: dict[str, Any] = {}
        self.client_id: int | None = None
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._eof = False
        self._proc: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []

    # -- process lifecycle ------------------------------------------------------------------

    def start(self) -> NodeClient:
        self._proc = subprocess.Popen(
            ["node", str(SCRIPT)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        for target in (self._read_stdout, self._read_stderr):
            thread = threading.Thread(
                target=target, name=f"{self.name}-{target.__name__}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __enter__(self) -> NodeClient:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the node process (no close frame, no awareness goodbye) and reap it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait()

    def close(self) -> None:
        """End the process (politely first, then SIGKILL) and close every pipe."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None and proc.stdin is not None:
            # closing stdin makes the script destroy its provider and exit
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.close()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            for line in self._proc.stdout:
                line = line.strip()
                if not line:
                    continue
                try:
                    event: Event = json.loads(line)
                except ValueError:
                    event = {"event": "garbage", "line": line}
                with self._cond:
                    self._record(event)
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for line in self._proc.stderr:
                self.stderr.append(line.rstrip("\n"))

    def _record(self, event: Event) -> None:
        self.events.append(event)
        kind = event.get("event")
        if kind == "text":
            self.text = str(event["text"])
        elif kind == "awareness":
            self.peer_states = dict(event["states"])
        elif kind == "status":
            self.status = str(event["status"])

    # -- waiting ----------------------------------------------------------------------------

    def mark(self) -> int:
        """The position in `events` from which a later `wait_event` looks."""
        with self._cond:
            return len(self.events)

    def wait_until(
        self, predicate: Callable[[], bool], what: str, timeout: float | None = None
    ) -> None:
        """Wait until ``predicate()`` holds; it is evaluated with the event lock held."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._eof:
                    closes = [e for e in self.events if e.get("event") == "close"]
                    raise NodeClientError(
                        f"{self.name}: {'process ended' if self._eof else 'timed out'} "
                        f"waiting for {what}; text={self.text!r} status={self.status!r} "
                        f"peers={self.peer_states!r} closes={closes!r} "
                        f"last events={self.events[-5:]!r} stderr={self.stderr[-5:]!r}"
                    )
                self._cond.wait(remaining)

    def wait_event(
        self,
        match: Callable[[Event], bool],
        since: int = 0,
        what: str = "event",
        timeout: float | None = None,
    ) -> Event:
        """The first event at or after position ``since`` for which ``match`` is true."""
        found: list[Event] = []

        def seen() -> bool:
            for event in self.events[since:]:
                if match(event):
                    found.append(event)
                    return True
            return False

        self.wait_until(seen, what, timeout)
        return found[0]

    def wait_text(self, expected: str, timeout: float | None = None) -> None:
        self.wait_until(lambda: self.text == expected, f"text {expected!r}", timeout)

    def wait_peers(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float | None = None
    ) -> dict[str, Any]:
        self.wait_until(lambda: predicate(self.peer_states), what, timeout)
        with self._cond:
            return dict(self.peer_states)

    # -- commands ---------------------------------------------------------------------------

    def send(self, command: dict[str, Any]) -> None:
        """Write one command line without waiting for its reply."""
        assert self._proc is not None and self._proc.stdin is not None, "not started"
        try:
            self._proc.stdin.write(json.dumps(command) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise NodeClientError(f"{self.name}: process is gone ({exc})") from exc

    def request(self, command: dict[str, Any], timeout: float | None = None) -> Event:
        """Send a command and return its reply; raise if the script reports an error."""
        command = {**command, "id": next(self._ids)}
        since = self.mark()
        self.send(command)
        reply = self.wait_event(
            lambda e: e.get("id") == command["id"], since, f"reply to {command!r}", timeout
        )
        if not reply.get("ok"):
            raise NodeClientError(f"{self.name}: {command!r} failed: {reply.get('error')}")
        return reply

    def connect(
        self, url: str, room: str, params: dict[str, str] | None = None, wait_synced: bool = True
    ) -> int:
        """Open the provider; by default wait for its first "synced". Returns the client id."""
        since = self.mark()
        # A token in the URL's query goes into the provider's params (y-websocket appends
        # the room to the URL, then the params).
        base, _, query = url.partition("?")
        merged = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        merged.update(params or {})
        reply = self.request({"cmd": "connect", "url": base, "room": room, "params": merged})
        self.client_id = int(reply["clientId"])
        if wait_synced:
            self.wait_event(lambda e: e.get("event") == "synced", since, "synced")
        return self.client_id

    def reconnect(self, wait_synced: bool = True) -> None:
        since = self.mark()
        self.request({"cmd": "reconnect"})
        if wait_synced:
            self.wait_event(lambda e: e.get("event") == "synced", since, "synced")

    def disconnect(self) -> None:
        self.request({"cmd": "disconnect"})

    def insert(self, index: int, text: str) -> None:
        """Insert at a Yjs (UTF-16) index."""
        self.request({"cmd": "insert", "index": index, "text": text})

    def delete(self, index: int, length: int) -> None:
        self.request({"cmd": "delete", "index": index, "length": length})

    def get_text(self) -> str:
        """The text as the Node process holds it right now."""
        return str(self.request({"cmd": "text"})["text"])

    def set_awareness(self, state: dict[str, Any] | None) -> None:
        self.request({"cmd": "awareness", "state": state})

    def peers(self) -> dict[str, Any]:
        return dict(self.request({"cmd": "peers"})["states"])

    def state(self) -> str:
        """Y.encodeStateAsUpdate of the whole doc, base64."""
        return str(self.request({"cmd": "state"})["state"])
