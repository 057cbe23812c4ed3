"""Logging set-up. Nothing logged may carry a password, cookie, token or document text:
query strings (where a socket may carry a token) are cut from every record."""

from __future__ import annotations

import logging
import re

QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = QUERY.sub(r"\1?[redacted]", str(record.msg))
        return True


# uvicorn (and websockets through it) logs every websocket connection three times at INFO:
# opened, accepted, closed. With a thousand people that is most of the log, and in a storm of
# refused connection attempts it was a sixth of the server's CPU. Kept at ACCORD_LOG_LEVEL=debug.
PER_CONNECTION = frozenset(
    {
        "connection open",
        "connection closed",
        '%s - "WebSocket %s" [accepted]',
        '%s - "WebSocket %s" 403',
        '%s - "WebSocket %s" %d',
    }
)


class QuietConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno != logging.INFO or record.msg not in PER_CONNECTION


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactQueryStrings())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    connections = logging.getLogger("uvicorn.error")
    connections.filters[:] = [] if root.level <= logging.DEBUG else [QuietConnections()]
