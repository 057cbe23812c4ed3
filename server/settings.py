"""Every setting Accord reads: one table of name, default and help.

The environment is read once, at the edge (`Settings.from_env`); everything else receives a
`Settings` object. Each setting `name` is read from the variable ``ACCORD_<NAME>``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    db: str = setting("accord.db", "Path of the SQLite database file; created if missing.")
    host: str = setting("127.0.0.1", "Address `accord serve` listens on.")
    port: int = setting(8000, "Port `accord serve` listens on.")
    max_message_bytes: int = setting(
        8 * 1024 * 1024,
        "Largest websocket message accepted, in bytes; larger ones close the socket with 1009.",
    )
    send_queue_messages: int = setting(
        16384,
        "Messages queued for one slow client before it is disconnected with 1013.",
    )
    send_queue_bytes: int = setting(
        8 * 1024 * 1024,
        "Bytes of messages queued for one slow client before it is disconnected with 1013 "
        "(its first message is always queued, however large).",
    )
    room_unload_seconds: float = setting(
        30.0, "How long a document stays in memory after its last client leaves."
    )
    commit_interval_ms: float = setting(
        0.0,
        "Extra time the writer waits to group more updates into one SQLite commit; "
        "0 groups only what queued up during the previous commit.",
    )
    compact_after_updates: int = setting(
        1000, "Log rows of one document that trigger a verified compaction."
    )
    version_quiet_seconds: float = setting(
        60.0,
        "After this long without edits, a burst of editing is saved as an automatic version.",
    )
    max_awareness_entries: int = setting(64, "Most client entries one awareness message may carry.")
    ping_interval_seconds: float = setting(
        5.0, "Websocket ping interval; a peer that does not answer in time is dropped."
    )
    saved_notice_ms: float = setting(
        200.0, "Least time between two 'saved' notices (state vectors) sent to one client."
    )
    allowed_origins: str = setting(
        "",
        "Extra browser origins allowed to open the sync socket, comma-separated "
        "(e.g. https://accord.example.org); the server's own origin is always allowed.",
    )
    credential_failures_per_minute: int = setting(
        30,
        "Credentials that identify nobody (a sync connection without a valid session or "
        "token, an API request with an unknown or revoked token) one client address may "
        "present in a minute; past that, its new sync connections and token requests get "
        "429 until the oldest failure is a minute old. 0: no limit.",
    )
    log_level: str = setting("info", "Logging level: debug, info, warning or error.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``ACCORD_*`` variables, then explicit overrides (not None)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"ACCORD_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _convert(f.name, type(f.default), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())

    @classmethod
    def table(cls) -> list[tuple[str, Any, str]]:
        """(environment variable, default, help) for every setting, for docs and --help."""
        return [
            (f"ACCORD_{f.name.upper()}", f.default, f.metadata["help"])
            for f in dataclasses.fields(cls)
        ]


def _convert(name: str, kind: type, raw: str) -> Any:
    try:
        return kind(raw)
    except ValueError as exc:
        raise SystemExit(f"ACCORD_{name.upper()}: {raw!r} is not a valid {kind.__name__}") from exc
