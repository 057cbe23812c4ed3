"""Logging set-up: uvicorn's per-connection lines are left out unless debugging."""

from __future__ import annotations

import logging

import pytest

from server import logs


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield None
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.getLogger("uvicorn.error").filters[:] = []


def emitted(level: str, capsys: pytest.CaptureFixture[str]) -> str:
    logs.configure(level)
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.info("connection open")
    uvicorn.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/sync/abc?token=secret")
    uvicorn.info("connection closed")
    uvicorn.info("Application startup complete.")
    uvicorn.warning("connection closed")  # not at INFO: kept
    return capsys.readouterr().err


def test_per_connection_lines_are_left_out_at_info(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    out = emitted("info", capsys)
    assert "Application startup complete." in out
    assert "WebSocket" not in out
    assert "INFO uvicorn.error: connection open" not in out
    assert out.count("connection closed") == 1 and "WARNING uvicorn.error: connection closed" in out


def test_per_connection_lines_are_kept_when_debugging(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    out = emitted("debug", capsys)
    assert "connection open" in out
    assert '"WebSocket /sync/abc?[redacted]" [accepted]' in out
    assert "secret" not in out


def test_credential_headers_are_redacted(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """At debug the websockets library logs every handshake header through uvicorn."""
    logs.configure("debug")
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.debug("< %s: %s", "Cookie", "accord_session=s3cr3t-session; csrftoken=s3cr3t-csrf")
    uvicorn.debug("< authorization: Bearer acc_s3cr3t-token")
    uvicorn.debug("< x-csrftoken: s3cr3t-header")
    uvicorn.debug("< host: 127.0.0.1:8000")
    out = capsys.readouterr().err
    assert "s3cr3t" not in out
    assert "Cookie: [redacted]" in out and "authorization: [redacted]" in out
    assert "host: 127.0.0.1:8000" in out
