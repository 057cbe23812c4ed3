"""Shared type aliases and protocols."""

from __future__ import annotations

from typing import Protocol


class Channel(Protocol):
    """One client connection as the sync core sees it: binary frames in and out."""

    async def send(self, frame: bytes) -> None:
        """Send one binary frame."""

    def send_now(self, frame: bytes) -> bool:
        """Send one binary frame at once if the connection can take it without waiting;
        False if it must be sent with `send` instead."""

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with a websocket close code and a reason."""
