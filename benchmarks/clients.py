"""Load-generator clients: they speak the y-websocket protocol but apply nothing.

A client sends pre-encoded frames, answers the server's SyncStep1 with an empty SyncStep2,
counts itself synced at the first SyncStep2, and times each arriving update by the
(client, clock) of its first struct, read from the header alone (no Doc, no CRDT work).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from pycrdt import Doc, Text

from benchmarks import wsclient
from server.sync import protocol

EMPTY_STEP2 = protocol.sync_step2(b"\x00\x00")


def first_struct(frame: bytes) -> tuple[int, int] | None:
    """(client, clock) of the first struct of an Update or SyncStep2 frame, without a Doc."""
    reader = protocol.Reader(frame)
    if reader.var_uint() != 0 or reader.var_uint() not in (1, 2):
        return None
    reader.var_uint()  # payload length
    if reader.var_uint() == 0:  # number of clients
        return None
    reader.var_uint()  # number of structs
    return reader.var_uint(), reader.var_uint()


def typing_updates(count: int, client_id: int) -> list[bytes]:
    """Pre-encoded Update frames: one character each, clocks 0..count-1 of one client."""
    doc = Doc(client_id=client_id)
    text = doc.get("content", type=Text)
    frames = []
    for i in range(count):
        before = doc.get_state()
        text.insert(len(text), "abcdefghij"[i % 10])
        frames.append(protocol.sync_update(doc.get_update(before)))
    return frames


def cursor_frame(client_id: int, clock: int, user: dict[str, str]) -> bytes:
    """The awareness state Accord's web app sends as its cursor moves: who (``user``, as the
    server names the account) and where (two Yjs relative positions), as ``JSON.stringify``
    writes it."""
    position = {"type": None, "tname": "content", "item": {"client": client_id, "clock": clock}}
    cursor = {"anchor": {**position, "assoc": 0}, "head": {**position, "assoc": 0}}
    state = json.dumps({"user": user, "cursor": cursor}, ensure_ascii=False, separators=(",", ":"))
    return protocol.awareness([(client_id, clock + 1, state)])


@dataclass
class Timing:
    """What the clients of one measurement share: send times, and the latencies seen."""

    sent_at: dict[tuple[int, int], float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    sent_times: list[float] = field(default_factory=list)  # each latency's send time


class BenchClient:
    def __init__(self, url: str, timing: Timing | None = None, own: int | None = None) -> None:
        self.url = url
        self.timing = timing
        self.own = own
        self.ws: wsclient.Client | None = None
        self.synced = asyncio.Event()
        self.synced_at = 0.0
        self.synced_bytes = 0
        self.step2_seen = 0
        self._step2 = asyncio.Event()

    async def connect(self, wait_synced: bool = True, timeout: float = 120) -> None:
        self.ws = await wsclient.connect(self.url, self.on_message, timeout, self._opened)
        self.ws.send(protocol.sync_step1(b"\x00"))
        if wait_synced:
            await asyncio.wait_for(self.synced.wait(), timeout)

    def _opened(self, ws: wsclient.Client) -> None:
        self.ws = ws

    def send(self, frame: bytes) -> None:
        assert self.ws is not None
        self.ws.send(frame)

    def on_message(self, frame: bytes, now: float) -> None:
        head = frame[:2]
        if head == b"\x00\x01":
            self.step2_seen += 1
            self._step2.set()
            if not self.synced.is_set():
                self.synced_at = now
                self.synced_bytes = len(frame)
                self.synced.set()
            return
        if head == b"\x00\x00":
            self.send(EMPTY_STEP2)
            return
        if self.timing is None or head != b"\x00\x02":
            return
        key = first_struct(frame)
        if key is not None and key[0] != self.own:
            sent = self.timing.sent_at.get(key)
            if sent is not None:
                self.timing.latencies_ms.append((now - sent) * 1000)
                self.timing.sent_times.append(sent)

    async def roundtrip(self, timeout: float = 300) -> None:
        """Wait until the server has handled everything this client sent before."""
        seen = self.step2_seen
        self.send(protocol.sync_step1(b"\x00"))
        while self.step2_seen == seen:
            self._step2.clear()
            await asyncio.wait_for(self._step2.wait(), timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def connect_all(clients: list[BenchClient], chunk: int = 50) -> None:
    """Connect in chunks; the first client of each room alone first (pycrdt-websocket hangs
    joiners that arrive together at a room that is still starting)."""
    firsts = list({c.url: c for c in reversed(clients)}.values())
    await asyncio.gather(*(c.connect() for c in firsts))
    clients = [c for c in clients if c.ws is None]
    for start in range(0, len(clients), chunk):
        await asyncio.gather(*(c.connect() for c in clients[start : start + chunk]))


async def close_all(clients: list[BenchClient], chunk: int = 200) -> None:
    for start in range(0, len(clients), chunk):
        await asyncio.gather(*(c.close() for c in clients[start : start + chunk]))


def cpu_now() -> float:
    return time.process_time()
