"""The errors Accord raises on purpose, each carrying how it reaches the client.

AccordError
├── HTTPError                 an HTTP status and a message
│   ├── BadRequest            400
│   └── NotFound              404
└── SyncError                 a websocket close code and a reason
    ├── UnsupportedData       1003  text frame, unknown message type
    ├── InvalidPayload        1007  malformed frame, invalid or crashing update
    ├── PolicyViolation       1008  e.g. awareness that claims another client's id
    ├── TooBig                1009  a message larger than the limit
    ├── TryAgainLater         1013  a client too slow to keep up with its room
    └── DocumentNotFound      4404  no such document
"""

from __future__ import annotations


class AccordError(Exception):
    """Base class of every error Accord raises on purpose."""

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # more JSON fields for the client, e.g. what a conflict is about


class HTTPError(AccordError):
    status_code = 500


class BadRequest(HTTPError):
    status_code = 400


class Unauthorized(HTTPError):
    status_code = 401


class Forbidden(HTTPError):
    status_code = 403


class NotFound(HTTPError):
    status_code = 404


class Conflict(HTTPError):
    status_code = 409


class TooManyRequests(HTTPError):
    status_code = 429


class SyncError(AccordError):
    close_code = 1011


class UnsupportedData(SyncError):
    close_code = 1003


class InvalidPayload(SyncError):
    close_code = 1007


class PolicyViolation(SyncError):
    close_code = 1008


class TooBig(SyncError):
    close_code = 1009


class TryAgainLater(SyncError):
    close_code = 1013


class NotSignedIn(SyncError):
    close_code = 4401


class ReadOnly(SyncError):
    close_code = 4403


class DocumentNotFound(SyncError):
    close_code = 4404
