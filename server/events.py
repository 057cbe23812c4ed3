"""Live review events: everyone with a document open hears of new comments, replies,
resolutions, decisions and removals without reloading (Server-Sent Events).

Each listener gets its own copy of an event, built for it (what a thread lets a person do
depends on who they are). A listener that does not keep up is dropped; its browser reconnects
and reloads the threads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUEUE = 256


@dataclass(eq=False)
class Listener:
    document_id: str
    user_id: int
    role: str
    queue: asyncio.Queue[tuple[str, str] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE)
    )

    def put(self, event: str, data: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait((event, json.dumps(data, ensure_ascii=False)))
        except asyncio.QueueFull:
            self.close()

    def close(self) -> None:
        """End the stream (the browser reconnects, and reloads what it missed)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Hub:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}

    def listen(self, document_id: str, user_id: int, role: str) -> Listener:
        listener = Listener(document_id, user_id, role)
        self._listeners.setdefault(document_id, set()).add(listener)
        return listener

    def drop(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.document_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.document_id]

    def listeners(self, document_id: str) -> list[Listener]:
        return list(self._listeners.get(document_id, ()))

    def publish(
        self, document_id: str, event: str, build: Callable[[Listener], dict[str, Any]]
    ) -> None:
        for listener in self.listeners(document_id):
            listener.put(event, build(listener))

    def apply_role(self, document_id: str, user_id: int, role: str | None) -> None:
        """A role changed (or was taken away): open streams follow at once."""
        for listener in self.listeners(document_id):
            if listener.user_id == user_id:
                if role is None:
                    listener.close()
                else:
                    listener.role = role

    def close_where(self, match: Callable[[Listener], bool]) -> None:
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                if match(listener):
                    listener.close()


__all__ = ["Hub", "Listener"]
