"""Who is asking: sessions (cookie), API tokens (Bearer header, or ``?token=`` on the sync
socket only), the Origin check for sockets, and the limits on failed attempts (sign-ins;
credentials that identify nobody)."""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection
from starlette.responses import Response

from server import people, sessions
from server.db import Database
from server.errors import TooManyRequests, Unauthorized
from server.people import User
from server.sessions import digest

COOKIE = "accord_session"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    user: User
    session: str | None  # digest of the session secret, for ending it and its sockets
    token: str | None  # digest of the API token


def _bearer(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@dataclass(frozen=True)
class Credential:
    """What a request presents: an API token or a session cookie's secret."""

    kind: Literal["token", "session"]
    secret: str

    def user(self, conn: sqlite3.Connection) -> User | None:
        """Whom it belongs to, if it is valid (not revoked, not expired, not removed)."""
        if self.kind == "token":
            user_id = sessions.token_user(conn, self.secret)
        else:
            user_id = sessions.session_user(conn, self.secret)
        return None if user_id is None else people.user_by_id(conn, user_id)

    def identity(self, user: User) -> Identity:
        if self.kind == "token":
            return Identity(user, None, digest(self.secret))
        return Identity(user, digest(self.secret), None)


def credential_of(connection: HTTPConnection, allow_query_token: bool = False) -> Credential | None:
    token = _bearer(connection)
    if token is None and allow_query_token:
        token = connection.query_params.get("token")
    if token:
        return Credential("token", token)
    secret = connection.cookies.get(COOKIE)
    return Credential("session", secret) if secret else None


async def identify(
    connection: HTTPConnection, db: Database, allow_query_token: bool = False
) -> Identity | None:
    """Who is asking, in one read of the database (or none without a credential).

    An API token that identifies nobody counts against the client's address
    (`credential_failures`); past the limit, any token from that address gets 429. A stale
    session cookie does not count: browsers keep sending one after a session ends.
    """
    credential = credential_of(connection, allow_query_token)
    if credential is None:
        return None
    limits: RateLimit | None = getattr(connection.app.state, "credential_failures", None)
    if limits is not None and credential.kind == "token":
        limits.check(client_address(connection))
    user = await db.lookup(credential.user)
    if user is None:
        if limits is not None and credential.kind == "token":
            failed_credential(limits, client_address(connection))
        return None
    return credential.identity(user)


async def require(connection: HTTPConnection) -> Identity:
    identity = await identify(connection, connection.app.state.db)
    if identity is None:
        raise Unauthorized("sign in first")
    return identity


def set_session_cookie(response: Response, connection: HTTPConnection, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=sessions.SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=connection.url.scheme in ("https", "wss"),
        path="/",
    )


def clear_session_cookie(response: Response, connection: HTTPConnection) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=connection.url.scheme in ("https", "wss")
    )


def origin_allowed(connection: HTTPConnection, allowed: tuple[str, ...]) -> bool:
    """A browser always sends Origin on a websocket: it must be this server or listed.

    No Origin at all means a non-browser client (a script with a token), which cannot be
    hijacked from a web page, and is allowed here; it still needs credentials.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    host = connection.headers.get("host", "")
    scheme = "https" if connection.url.scheme in ("https", "wss") else "http"
    own = f"{scheme}://{host}".lower()
    return origin.lower() in {own, *(o.lower() for o in allowed)}


class RateLimit:
    """At most ``limit`` failed attempts per key in a sliding ``window`` of seconds (a limit
    of 0 or less: no limit)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again: 0 if it may now."""
        failures = self._failures.get(key)
        if failures is None or self.limit <= 0:
            return 0.0
        moment = time.monotonic()
        while failures and failures[0] <= moment - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return 0.0
        # Free again once all but limit - 1 of the failures are a window old.
        return max(failures[-self.limit] + self.window - moment, 0.001)

    def check(self, *keys: str) -> None:
        for key in keys:
            wait = self.wait(key)
            if wait > 0:
                raise TooManyRequests(
                    "too many attempts; wait a minute and try again", retry_after=math.ceil(wait)
                )

    def attempt(self, *keys: str) -> None:
        """Check and count an attempt in one step, before any await: guesses sent at the
        same moment cannot all slip past the check. A success calls `forgive`."""
        self.check(*keys)
        self.fail(*keys)

    def forgive(self, *keys: str) -> None:
        for key in keys:
            failures = self._failures.get(key)
            if failures:
                failures.pop()

    def fail(self, *keys: str) -> None:
        if self.limit <= 0:
            return
        moment = time.monotonic()
        for key in keys:
            self._failures[key].append(moment)
        if len(self._failures) > 10_000:  # bounded memory under a spray of addresses
            for key in [
                k for k, v in self._failures.items() if not v or v[-1] < moment - self.window
            ]:
                del self._failures[key]
            while len(self._failures) > 10_000:  # still full: forget the oldest keys
                del self._failures[next(iter(self._failures))]


def failed_credential(limits: RateLimit, address: str) -> None:
    """Count a credential that identified nobody against ``address``; say so in the log
    when that puts the address past its limit (its address, never the credential)."""
    blocked = limits.wait(address) > 0
    limits.fail(address)
    if not blocked and limits.wait(address) > 0:
        log.warning(
            "refusing sync connections and API tokens from %s for up to a minute: "
            "%d failed credentials",
            address,
            limits.limit,
        )


def client_address(connection: HTTPConnection) -> str:
    """The client's address as the app sees it (behind a trusted proxy, the forwarded one)."""
    return connection.client.host if connection.client else "?"
