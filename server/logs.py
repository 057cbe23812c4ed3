"""Logging set-up. Nothing logged may carry a password, cookie, token or document text:
query strings (where a socket may carry a token) and the values of credential headers are cut
from every record."""

from __future__ import annotations

import logging
import re

QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")
# At debug, websockets (through uvicorn's logger) writes every handshake header ("< cookie:
# accord_session=..."): the values of headers that carry credentials are cut.
CREDENTIAL_HEADER = re.compile(
    r"\b([\w-]*(?:cookie|authorization|token|csrf)[\w-]*)(\s*:\s*)\S.*", re.IGNORECASE
)


class RedactQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        message = QUERY.sub(r"\1?[redacted]", str(record.msg))
        record.msg = CREDENTIAL_HEADER.sub(r"\1\2[redacted]", message)
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
