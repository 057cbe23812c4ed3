"""Frame fuzzer: mutated y-websocket frames against a live `accord serve`.

    python -m benchmarks.faults.fuzz [--frames N] [--seed S] [--rooms R] [--connections C]

Seeds are valid frames (SyncStep1 with real state vectors, SyncStep2 and Update with real Yjs
updates, awareness, query-awareness) plus every frame of ``tests/corpus/hostile_frames.json``
(the pycrdt panic and poison updates among them). Each fuzzed frame is a seed with one to
three mutations (bit flips, byte insert/delete, interesting bytes, varint edits, splicing with
another seed, truncation, duplication, length-field lies), applied to the whole frame or to
the payload inside a consistent envelope.

Fuzzing connections (half of them in rooms where they may write, half read-only) send one
fuzzed frame and a probe (a SyncStep1 whose SyncStep2 answer proves the frame was handled),
so every frame counted was processed; a connection the server closes reconnects. Each fuzzed
room has a witness that edits normally throughout. Control rooms (one writer at 10 edits/s,
observers timing arrivals) run in a separate process, first alone (baseline), then during the
fuzzing. At the end, every fuzzed room must let a new client join, sync, see the text the
witness holds (in read-only rooms: exactly the witness's own edits), edit, and find the same
text again after the room is reloaded from storage.

Prints a report and writes JSON to benchmarks/results/; a frame that crashes the server,
gets an unexpected answer, or sits in a room left broken is saved there too. The seed is
printed so a run can be repeated.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import faulthandler
import json
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import websockets
from pycrdt import Array, Doc, Map, Text, merge_updates

from benchmarks.faults.common import ServerProcess
from server.errors import SyncError
from server.sync import protocol

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CORPUS = ROOT / "tests" / "corpus" / "hostile_frames.json"

PROBE_TIMEOUT = 30.0
HANG_SECONDS = 90.0  # no frame answered or closed on for this long: the server is frozen
EXPECTED_CLOSES = {1003, 1007, 1008, 4403}  # what a hostile frame may earn its sender


# -- seeds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    kind: str  # step1, step2, update, awareness, query, hostile
    frame: bytes
    payload: bytes | None  # the inner byte array, when the frame has one


def corpus_frames() -> list[dict[str, Any]]:
    return list(json.loads(CORPUS.read_text(encoding="utf-8"))["frames"])


def _seed_updates(rng: random.Random) -> tuple[list[bytes], list[bytes]]:
    """Real updates (incremental and whole) and state vectors of a few seed documents."""
    updates: list[bytes] = []
    vectors: list[bytes] = [b"\x00"]
    words = ["Artículo ", "ñandú ", "📊 ", "条约 ", "שלום ", "e\u0301 ", "x", "\n- "]
    for d in range(4):
        doc: Doc[Any] = Doc(client_id=7_000_000 + d)
        text = doc.get("content", type=Text)
        for i in range(12):
            before = doc.get_state()
            if i % 4 == 3 and len(text) > 2:
                del text[0 : min(len(text) - 1, 1 + rng.randrange(2))]
            else:
                text.insert(0, rng.choice(words))
            updates.append(doc.get_update(before))
            vectors.append(doc.get_state())
        if d == 1:  # other shared types than the editor's
            before = doc.get_state()
            doc["meta"] = Map({"a": 1, "b": "dos"})
            doc["items"] = Array([1, "x", True])
            updates.append(doc.get_update(before))
        updates.append(doc.get_update())
    return updates, vectors


def build_seeds(rng: random.Random) -> list[Seed]:
    updates, vectors = _seed_updates(rng)
    seeds = [Seed("step1", protocol.sync_step1(v), v) for v in vectors]
    seeds += [Seed("step2", protocol.sync_step2(u), u) for u in updates]
    seeds += [Seed("update", protocol.sync_update(u), u) for u in updates]
    seeds.append(Seed("query", bytes([protocol.MessageType.QUERY_AWARENESS]), None))
    for entry in corpus_frames():
        frame = base64.b64decode(entry["frame_b64"])
        payload = None
        with contextlib.suppress(SyncError):
            message = protocol.parse(frame, 1 << 30)
            if isinstance(message, protocol.SyncMessage):
                payload = message.payload
        seeds.append(Seed("hostile", frame, payload))
    return seeds


def awareness_seed(rng: random.Random, client_id: int, clock: int) -> Seed:
    """An awareness frame for the connection's own client id, as a browser would send."""
    states = [
        {
            "cursor": {
                "anchor": {
                    "type": None,
                    "tname": "content",
                    "item": {"client": 1, "clock": clock},
                    "assoc": 0,
                },
                "head": None,
            }
        },
        {"user": {"name": "Fuzz", "color": "#30bced"}},
        {},
        None,
        {"cursor": None, "n": [1, 2.5, "tres", False]},
    ]
    state = rng.choice(states)
    text = "null" if state is None else json.dumps(state, ensure_ascii=False)
    frame = protocol.awareness([(client_id, clock, text)])
    return Seed("awareness", frame, _payload(frame))


def _payload(frame: bytes) -> bytes:
    reader = protocol.Reader(frame)
    reader.var_uint()
    return reader.var_bytes()


# -- mutations ---------------------------------------------------------------------------------

INTERESTING = (0x00, 0x01, 0x02, 0x03, 0x7F, 0x80, 0x81, 0xFE, 0xFF)
VARINT_VALUES = (
    0,
    1,
    2,
    7,
    127,
    128,
    255,
    256,
    2**14,
    2**21,
    2**31 - 1,
    2**32,
    2**53 - 1,
    2**56 - 1,
)


def encode_varint(value: int, overlong: int = 0) -> bytes:
    out = bytearray(protocol.var_uint(value))
    for _ in range(overlong):  # the same value with redundant continuation bytes
        out[-1] |= 0x80
        out.append(0)
    return bytes(out)


def _varint_at(data: bytes, pos: int) -> int:
    """Length of the varint starting at pos (up to the end of data)."""
    end = pos
    while end < len(data) and data[end] & 0x80:
        end += 1
    return min(end + 1, len(data)) - pos


class Mutator:
    """Seeded mutations of seed frames; ``ops`` of the last frame names what was done."""

    def __init__(self, rng: random.Random, seeds: list[Seed]) -> None:
        self.rng = rng
        self.seeds = seeds
        self.payload_seeds = [s for s in seeds if s.payload]
        self.ops: list[str] = []
        self.operators: list[tuple[str, Callable[[bytes], bytes]]] = [
            ("flip", self.flip),
            ("interesting", self.interesting),
            ("insert", self.insert),
            ("delete", self.delete),
            ("varint", self.varint),
            ("varint", self.varint),
            ("splice", self.splice),
            ("truncate", self.truncate),
            ("duplicate", self.duplicate),
        ]

    def flip(self, b: bytes) -> bytes:
        if not b:
            return b
        out = bytearray(b)
        for _ in range(self.rng.choice((1, 1, 2, 4))):
            i = self.rng.randrange(len(out))
            out[i] ^= 1 << self.rng.randrange(8)
        return bytes(out)

    def interesting(self, b: bytes) -> bytes:
        if not b:
            return b
        out = bytearray(b)
        out[self.rng.randrange(len(out))] = self.rng.choice(INTERESTING)
        return bytes(out)

    def insert(self, b: bytes) -> bytes:
        i = self.rng.randrange(len(b) + 1)
        chunk = bytes(
            self.rng.choice((*INTERESTING, self.rng.randrange(256)))
            for _ in range(self.rng.randint(1, 4))
        )
        return b[:i] + chunk + b[i:]

    def delete(self, b: bytes) -> bytes:
        if not b:
            return b
        i = self.rng.randrange(len(b))
        return b[:i] + b[i + self.rng.randint(1, 4) :]

    def varint(self, b: bytes) -> bytes:
        """Replace one varint (found at a varint boundary) with another value or encoding."""
        if not b:
            return b
        starts = [0] + [i + 1 for i in range(len(b) - 1) if b[i] < 0x80]
        pos = self.rng.choice(starts)
        size = _varint_at(b, pos)
        old = 0
        for k, byte in enumerate(b[pos : pos + size]):
            old |= (byte & 0x7F) << (7 * k)
        choice = self.rng.randrange(5)
        if choice == 0:
            value = max(0, old + self.rng.choice((-1, 1, -2, 2)))
        elif choice == 1:
            value = self.rng.choice(VARINT_VALUES)
        elif choice == 2:
            value = self.rng.getrandbits(self.rng.choice((8, 16, 32, 53, 56, 64)))
        elif choice == 3:
            value = old * 2 + 1
        else:
            value = old
        overlong = self.rng.choice((0, 0, 0, 1, 3)) if choice == 4 or self.rng.random() < 0.2 else 0
        return b[:pos] + encode_varint(value, overlong) + b[pos + size :]

    def splice(self, b: bytes) -> bytes:
        other = self.rng.choice(self.payload_seeds)
        donor = other.payload if other.payload and self.rng.random() < 0.5 else other.frame
        assert donor is not None
        i = self.rng.randrange(len(b) + 1)
        j = self.rng.randrange(len(donor) + 1)
        return b[:i] + donor[j:]

    def truncate(self, b: bytes) -> bytes:
        return b[: self.rng.randrange(len(b) + 1)] if b else b

    def duplicate(self, b: bytes) -> bytes:
        if not b:
            return b
        i = self.rng.randrange(len(b))
        j = self.rng.randint(i + 1, min(len(b), i + 16))
        return b[:j] + b[i:j] * self.rng.randint(1, 3) + b[j:]

    def envelope(self, seed: Seed, payload: bytes) -> bytes:
        """Wrap a payload in the seed's message header, with a correct (or lying) length."""
        header = seed.frame[: 2 if seed.frame[0] == protocol.MessageType.SYNC else 1]
        if seed.frame[0] == protocol.MessageType.AWARENESS:
            header = bytes([protocol.MessageType.AWARENESS])
        length = len(payload)
        if self.rng.random() < 0.08:
            self.ops.append("length-lie")
            length = self.rng.choice(
                (length + 1, max(0, length - 1), length * 2 + 5, 2**32, 2**56 - 1, 0)
            )
        return header + encode_varint(length) + payload

    def next(self, seed: Seed) -> bytes:
        """One mutated frame from ``seed``."""
        self.ops = []
        inner = seed.payload is not None and seed.kind != "query" and self.rng.random() < 0.65
        data = seed.payload if inner and seed.payload is not None else seed.frame
        if seed.kind == "hostile" and self.rng.random() < 0.25:
            self.ops.append("as-is")
            return seed.frame
        for _ in range(self.rng.choice((1, 1, 1, 2, 2, 3))):
            name, operator = self.rng.choice(self.operators)
            self.ops.append(name)
            data = operator(data)
        if inner:
            self.ops.insert(0, "inner")
            return self.envelope(seed, data)
        if self.rng.random() < 0.05 and len(data) > 2:  # a lie in the outer length field
            self.ops.append("length-lie")
            data = self.envelope(Seed(seed.kind, data, None), _tail_after_header(data))
        return data


class Generator:
    """Structure-aware frames: well formed, with odd values. Updates come from a few
    documents with extreme client ids, sent out of order, repeated or partial (so the server
    holds pending structs); awareness carries random JSON; state vectors random clocks."""

    CLIENT_IDS = (0, 1, 2**31, 2**32 + 7, 2**53 - 1)
    WORDS = ("a", "ñ", "📊", "条", "שׁ", "e\u0301", "\n", "-- ", "\u200b", "x" * 40)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.docs: list[tuple[Doc[Any], list[bytes]]] = []
        for cid in (*self.CLIENT_IDS, rng.getrandbits(53)):
            self._new_doc(cid)

    def _new_doc(self, client_id: int) -> None:
        doc: Doc[Any] = Doc(client_id=client_id)
        doc.get("content", type=Text)
        self.docs.append((doc, []))

    def state_vector(self) -> bytes:
        entries = [
            (self.rng.choice((*self.CLIENT_IDS, self.rng.getrandbits(53))),
             self.rng.choice((0, 1, 2**20, 2**53, self.rng.getrandbits(32))))
            for _ in range(self.rng.randrange(5))
        ]  # fmt: skip
        return encode_varint(len(entries)) + b"".join(
            encode_varint(c) + encode_varint(k) for c, k in entries
        )

    def update(self) -> tuple[str, bytes]:
        index = self.rng.randrange(len(self.docs))
        doc, history = self.docs[index]
        choice = self.rng.random()
        if history and choice < 0.15:  # an old update again, or out of order
            return "replay", self.rng.choice(history)
        if history and choice < 0.25:  # everything after a point: its start is missing
            cut = self.rng.choice(history)
            with contextlib.suppress(Exception):
                return "partial", merge_updates(*history[history.index(cut) + 1 :] or [cut])
        text = doc.get("content", type=Text)
        before = doc.get_state()
        current = str(text)
        try:
            if current and self.rng.random() < 0.3:
                n = self.rng.randint(1, min(5, len(current)))
                del text[0 : len(current[:n].encode())]
            elif self.rng.random() < 0.1:
                doc.get("meta", type=Map)["k"] = self.rng.random()
            else:
                where = 0 if self.rng.random() < 0.5 else len(text)
                text.insert(where, self.rng.choice(self.WORDS))
        except BaseException as exc:  # pycrdt panics on some cuts (between emoji halves)
            if type(exc).__name__ != "PanicException":
                raise
            del self.docs[index]  # this fuzzer's own document is unusable: a new one
            self._new_doc(doc.client_id)
            return self.update()
        update = doc.get_update(before)
        history.append(update)
        if len(history) > 200:  # start over with a new document of the same client id
            del self.docs[index]
            self._new_doc(doc.client_id)
        return "edit", update

    def json_value(self, depth: int = 0) -> Any:
        pick = self.rng.randrange(9 if depth < 4 else 5)
        if pick == 0:
            return None
        if pick == 1:
            return self.rng.choice((True, False, 0, -1, 2**63, 1e308, -0.0, 3.25))
        if pick in (2, 3):
            return "".join(self.rng.choice(self.WORDS) for _ in range(self.rng.randrange(4)))
        if pick == 4:
            return self.rng.getrandbits(40)
        if pick in (5, 6):
            return {str(self.rng.choice(self.WORDS)): self.json_value(depth + 1)
                    for _ in range(self.rng.randrange(4))}  # fmt: skip
        return [self.json_value(depth + 1) for _ in range(self.rng.randrange(4))]

    def awareness(self, client_id: int, clock: int) -> bytes:
        entries = []
        for _ in range(self.rng.choice((1, 1, 1, 2, 0))):
            value = self.json_value() if self.rng.random() < 0.9 else None
            state = json.dumps(value, ensure_ascii=self.rng.random() < 0.5)
            entries.append((client_id, clock + self.rng.choice((0, 0, 1, -1, 1000)), state))
        if self.rng.random() < 0.05:  # a second id of our own
            entries.append((self.rng.getrandbits(32), 1, "{}"))
        return protocol.awareness(entries)

    def next(self, client_id: int, clock: int) -> tuple[str, bytes]:
        kind = self.rng.choices(("update", "step2", "step1", "awareness"), (40, 15, 15, 30))[0]
        if kind == "step1":
            return "gen-step1", protocol.sync_step1(self.state_vector())
        if kind == "awareness":
            return "gen-awareness", self.awareness(client_id, max(0, clock))
        how, update = self.update()
        wrap = protocol.sync_update if kind == "update" else protocol.sync_step2
        return f"gen-{kind}-{how}", wrap(update)


def _tail_after_header(frame: bytes) -> bytes:
    skip = 2 if frame[0] == 0 else 1
    reader = protocol.Reader(frame)
    reader.pos = skip
    with contextlib.suppress(SyncError):
        reader.var_uint()
    return frame[reader.pos :]


# -- accounts and the live server ---------------------------------------------------------------


def add_member(db: Path, document_ids: list[str], role: str) -> str:
    """A new person with ``role`` in ``document_ids``; return their token."""
    from server import members, people, sessions
    from server.connection import transaction

    with transaction(str(db)) as conn:
        user_id = people.add_user(
            conn,
            f"{role}{time.monotonic_ns()}@accord.local",
            f"Fuzz ({role})",
            None,
            f"{role}-password-1",
        )
        for document_id in document_ids:
            members.set_role(conn, document_id, user_id, role)
        return sessions.create_token(conn, user_id, f"fuzz {role}")[1]


class RssSampler:
    """Samples the server's RSS every ``interval`` seconds in a thread: (time, MB)."""

    def __init__(self, server: ServerProcess, interval: float = 0.25) -> None:
        self.server = server
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError, AssertionError):  # and one at the very end
            self.samples.append((time.time(), self.server.rss_mb()))

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, AssertionError):
                self.samples.append((time.time(), self.server.rss_mb()))
            self._stop.wait(self.interval)

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float:
        values = [mb for t, mb in self.samples if start <= t <= end]
        if not values:  # a case shorter than the interval: the first sample after it
            values = [mb for t, mb in self.samples if t >= start][:1]
        return round(max(values), 1) if values else float("nan")

    def last(self) -> float:
        return round(self.samples[-1][1], 1) if self.samples else float("nan")


# -- control rooms: normal traffic timed in a separate process -----------------------------------


def control_process(
    urls: list[str], observers: int, rate: float, out: str, ready: Any, stop: Any
) -> None:
    """Entry point of the control process: per room one writer at ``rate`` edits/s and
    ``observers`` observers; writes [(wall time sent, latency ms)] as JSON to ``out``."""
    samples = asyncio.run(_control(urls, observers, rate, ready, stop))
    Path(out).write_text(json.dumps(samples))


class ControlPeer:
    """A control-room client: speaks the protocol, applies nothing; observers record when
    each writer's edit (keyed by its first struct's client and clock) arrives."""

    def __init__(self, url: str, sent_at: dict[tuple[int, int], float],
                 samples: list[list[float]] | None) -> None:  # fmt: skip
        self.url = url
        self.sent_at = sent_at
        self.samples = samples
        self.synced = asyncio.Event()
        self.ws: websockets.ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, compression=None, max_size=None)
        self.task = asyncio.create_task(self._read(self.ws))
        await self.ws.send(protocol.sync_step1(b"\x00"))
        await asyncio.wait_for(self.synced.wait(), 120)

    async def _read(self, ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in ws:
                now = time.perf_counter()
                if not isinstance(frame, bytes) or frame[:1] != b"\x00":
                    continue
                if frame[1] == 0:  # the server's SyncStep1: we lack nothing it needs
                    await ws.send(protocol.sync_step2(b"\x00\x00"))
                    continue
                self.synced.set()
                key = first_struct(frame)
                if self.samples is not None and key is not None:
                    sent = self.sent_at.get(key)
                    if sent is not None:  # [wall time of the edit, latency ms]
                        self.samples.append([time.time() - (now - sent), (now - sent) * 1000])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await self.task


def first_struct(frame: bytes) -> tuple[int, int] | None:
    """(client, clock) of the first struct of an Update frame, without a Doc."""
    reader = protocol.Reader(frame)
    if reader.var_uint() != 0 or reader.var_uint() != 2:
        return None
    reader.var_uint()  # payload length
    if reader.var_uint() == 0:  # number of clients
        return None
    reader.var_uint()  # number of structs
    return reader.var_uint(), reader.var_uint()


async def _control(
    urls: list[str], observers: int, rate: float, ready: Any, stop: Any
) -> list[list[float]]:
    sent_at: dict[tuple[int, int], float] = {}
    samples: list[list[float]] = []
    peers: list[ControlPeer] = []
    writers: list[tuple[ControlPeer, int]] = []
    for r, url in enumerate(urls):
        writer = ControlPeer(url, sent_at, None)
        peers.append(writer)
        writers.append((writer, 3_000_000 + r))
        peers += [ControlPeer(url, sent_at, samples) for _ in range(observers)]
    for p in peers:
        await p.connect()
    ready.set()

    async def write(peer: ControlPeer, cid: int, phase: float) -> None:
        doc: Doc[Text] = Doc(client_id=cid)
        text = doc.get("content", type=Text)
        interval = 1 / rate
        loop = asyncio.get_running_loop()
        tick = loop.time() + phase * interval
        clock = 0
        assert peer.ws is not None
        while not stop.is_set():
            tick += interval
            await asyncio.sleep(max(0.0, tick - loop.time()))
            before = doc.get_state()
            text.insert(len(text), "abcdefghij"[clock % 10])
            sent_at[(cid, clock)] = time.perf_counter()
            try:
                await peer.ws.send(protocol.sync_update(doc.get_update(before)))
            except websockets.ConnectionClosed:
                return
            clock += 1

    tasks = [
        asyncio.create_task(write(w, cid, i / len(writers))) for i, (w, cid) in enumerate(writers)
    ]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # let the last edits arrive
    for t in tasks:
        t.cancel()
    for p in peers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(p.close(), 5)
    return samples


class Control:
    """The control rooms, run in their own process so the fuzzer's work never delays them."""

    def __init__(
        self,
        server: ServerProcess,
        token: str,
        rooms: list[str],
        observers: int,
        rate: float = 10.0,
    ) -> None:
        self.out = tempfile.mktemp(prefix="control-", suffix=".json")
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.ready = context.Event()
        urls = [server.url(room, token) for room in rooms]
        self.process = context.Process(
            target=control_process, args=(urls, observers, rate, self.out, self.ready, self.stop)
        )
        self.samples: list[list[float]] = []

    def __enter__(self) -> Control:
        self.process.start()
        if not self.ready.wait(180):
            raise RuntimeError("the control rooms did not connect")
        time.sleep(1)  # the writers' first edits
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.process.join(60)
        if self.process.is_alive():
            self.process.kill()
        with contextlib.suppress(OSError, ValueError):
            self.samples = json.loads(Path(self.out).read_text())
            os.unlink(self.out)

    def latency(self, start: float, end: float) -> dict[str, float | int]:
        """p50/p99/max of the deliveries of edits sent between ``start`` and ``end``."""
        return latency_summary([lat for t, lat in self.samples if start <= t < end])


def latency_summary(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    if not ordered:
        return {
            "deliveries": 0,
            "p50_ms": float("nan"),
            "p99_ms": float("nan"),
            "max_ms": float("nan"),
        }

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {
        "deliveries": len(ordered),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


# -- fuzzing connections -------------------------------------------------------------------------

GENERATED = 0.5  # share of well-formed generated frames; the rest are mutants of seeds
KIND_WEIGHTS = {"step1": 14, "step2": 16, "update": 34, "awareness": 20, "query": 2, "hostile": 14}


@dataclass
class Tally:
    target: int
    processed: int = 0  # frames the server demonstrably handled (answered, or closed on)
    sent: int = 0
    accepted: int = 0
    connects: int = 0
    no_answer: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    ops: Counter[str] = field(default_factory=Counter)
    findings: list[dict[str, Any]] = field(default_factory=list)
    stop: bool = False

    deadline: float = float("inf")

    def done(self) -> bool:
        return self.stop or self.processed >= self.target or time.monotonic() > self.deadline

    def finding(self, what: str, frame: bytes, **extra: Any) -> None:
        if len(self.findings) < 200:
            self.findings.append(
                {"what": what, "frame_b64": base64.b64encode(frame).decode(), **extra}
            )


WITNESS = 2  # the outcome recorded for a witness's edit in a FrameLog


class FrameLog:
    """Every frame sent to one room, length-prefixed with its outcome (0 answered, 1 no
    answer, 2 a witness's edit, else the close code), for replaying a broken room."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("ab")

    def write(self, frame: bytes, outcome: int) -> None:
        self.file.write(len(frame).to_bytes(4, "big") + outcome.to_bytes(2, "big") + frame)

    def close(self) -> None:
        self.file.close()


class FuzzConnection:
    """One fuzzing client: fuzzed frame, probe, wait for the answer or the close; repeat,
    reconnecting after each close."""

    def __init__(
        self,
        tally: Tally,
        url: str,
        room: int,
        rng: random.Random,
        seeds: list[Seed],
        log: FrameLog,
        pace: Callable[[], Any] | None = None,
    ) -> None:
        self.tally = tally
        self.url = url
        self.room = room
        self.rng = rng
        self.mutator = Mutator(rng, seeds)
        self.generator = Generator(rng)
        self.by_kind: dict[str, list[Seed]] = {}
        for seed in seeds:
            self.by_kind.setdefault(seed.kind, []).append(seed)
        self.kinds = [k for k in KIND_WEIGHTS if k in self.by_kind or k == "awareness"]
        self.weights = [KIND_WEIGHTS[k] for k in self.kinds]
        self.log = log
        self.pace = pace
        self.recent: deque[bytes] = deque(maxlen=8)
        self.answers = 0
        self.vector = b"\x00"
        self.answered = asyncio.Event()

    async def run(self) -> None:
        while not self.tally.done():
            try:
                await self.session()
            except (TimeoutError, OSError, websockets.InvalidHandshake) as exc:
                if self.tally.done():
                    return
                self.tally.closes[f"connect failed: {type(exc).__name__}"] += 1
                await asyncio.sleep(0.2)

    async def _read(self, ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in ws:
                if isinstance(frame, bytes) and frame[:1] == b"\x00" and len(frame) > 1:
                    if frame[1] == 0:
                        self.vector = _payload(frame[1:]) if len(frame) > 2 else self.vector
                    elif frame[1] == 1:
                        self.answers += 1
                        self.answered.set()
        self.answered.set()

    def _next(self, client_id: int, clock: int) -> tuple[bytes, str, list[str]]:
        """(frame, what it came from, the mutations) of the next frame to send."""
        if self.rng.random() < GENERATED:
            kind, frame = self.generator.next(client_id, clock)
            return frame, kind, []
        seed = self._pick(client_id, clock)
        return self.mutator.next(seed), seed.kind, list(self.mutator.ops)

    def _pick(self, client_id: int, clock: int) -> Seed:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        if kind == "awareness":
            return awareness_seed(self.rng, client_id, clock)
        return self.rng.choice(self.by_kind[kind])

    async def session(self) -> None:
        ws = await websockets.connect(self.url, compression=None, max_size=None, open_timeout=60)
        self.tally.connects += 1
        self.answers = 0
        self.vector = b"\x00"
        reader = asyncio.create_task(self._read(ws))
        client_id = self.rng.getrandbits(32)
        try:
            for clock in range(1, 1 << 30):
                if self.tally.done():
                    return
                if self.pace is not None:
                    await self.pace()
                frame, kind, ops = self._next(client_id, clock)
                expect = self.answers + 1 + _is_step1(frame)
                self.recent.append(frame)
                self.tally.sent += 1
                self.tally.kinds[kind] += 1
                self.tally.ops.update(ops)
                try:
                    await ws.send(frame)
                    await ws.send(protocol.sync_step1(self.vector))
                except websockets.ConnectionClosed:
                    pass
                deadline = time.monotonic() + PROBE_TIMEOUT
                while self.answers < expect and not reader.done():
                    self.answered.clear()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.answered.wait(), remaining)
                if self.answers >= expect:
                    self.tally.processed += 1
                    self.tally.accepted += 1
                    self.log.write(frame, 0)
                    continue
                if reader.done() or ws.close_code is not None:
                    await reader
                    code = ws.close_code if ws.close_code is not None else 1006
                    self.log.write(frame, code)
                    self.tally.processed += 1
                    self.tally.closes[str(code)] += 1
                    if code not in EXPECTED_CLOSES and not self.tally.done():
                        self.tally.finding(
                            f"closed with {code}",
                            frame,
                            room=self.room,
                            reason=ws.close_reason,
                            ops=ops,
                        )
                    return
                self.tally.no_answer += 1
                self.log.write(frame, 1)
                self.tally.finding("no answer", frame, room=self.room, ops=ops)
                return
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await ws.close()
                await reader


def _is_step1(frame: bytes) -> int:
    """1 if the server's own parser takes ``frame`` as a SyncStep1 (it then answers it)."""
    try:
        message = protocol.parse(frame, 64)
    except SyncError:
        return 0
    return int(
        isinstance(message, protocol.SyncMessage) and message.kind is protocol.SyncType.STEP1
    )


class Pacer:
    """At most ``rate`` frames a second over all connections (None: as fast as possible)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self.next_at = time.monotonic()

    async def __call__(self) -> None:
        now = time.monotonic()
        self.next_at = max(self.next_at + self.interval, now)
        if self.next_at - now > 0.001:
            await asyncio.sleep(self.next_at - now)


# -- witnesses and room checks -------------------------------------------------------------------


class Witness:
    """A well-behaved client with a full Doc: applies everything the server sends it, edits
    now and then (markers ``[n]`` at the end), answers SyncStep1 like y-websocket."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.doc: Doc[Text] = Doc()
        self.text = self.doc.get("content", type=Text)
        self.own: list[bytes] = []
        self.markers: list[str] = []
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.error = ""
        self.log: FrameLog | None = None  # the room's frame log, for replaying it
        # Every sync frame the server sent, written unbuffered before it is applied: if
        # applying one crashes this process (pycrdt once segfaulted here), the file holds it.
        self.received: BinaryIO | None = None
        self.ws: websockets.ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None

    async def connect(self, timeout: float = 30) -> Witness:
        self.ws = await websockets.connect(
            self.url, compression=None, max_size=None, open_timeout=60
        )
        self.reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send(protocol.sync_step1(self.doc.get_state()))
        waits = [asyncio.ensure_future(e.wait()) for e in (self.synced, self.closed)]
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        return self

    async def _read(self, ws: websockets.ClientConnection) -> None:
        try:
            async for frame in ws:
                if not isinstance(frame, bytes) or frame[:1] != b"\x00":
                    continue
                message = protocol.parse(frame, 1 << 20)
                assert isinstance(message, protocol.SyncMessage)
                if message.kind is protocol.SyncType.STEP1:
                    reply = protocol.sync_step2(self.doc.get_update(message.payload))
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await ws.send(reply)
                    continue
                if self.received is not None:
                    self.received.write(len(frame).to_bytes(4, "big") + frame)
                self.doc.apply_update(message.payload)
                if message.kind is protocol.SyncType.STEP2:
                    self.synced.set()
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        except BaseException as exc:  # what the server sent broke this client's Doc
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            with contextlib.suppress(Exception):
                await ws.close()
        finally:
            self.close_code = ws.close_code
            self.close_reason = ws.close_reason or ""
            self.closed.set()

    async def edit(self, content: str, at_end: bool = True) -> None:
        assert self.ws is not None
        before = self.doc.get_state()
        self.text.insert(len(self.text) if at_end else 0, content)
        update = self.doc.get_update(before)
        self.own.append(update)
        if self.log is not None:
            self.log.write(protocol.sync_update(update), WITNESS)
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(protocol.sync_update(update))

    async def keep_editing(self, every: float, stop: Callable[[], bool]) -> None:
        n = 0
        while not stop() and not self.closed.is_set():
            await asyncio.sleep(every)
            marker = f"[{n}·ñ]"
            self.markers.append(marker)
            await self.edit(marker)
            n += 1

    def legit_text(self) -> str:
        """The text of this witness's own edits alone."""
        doc: Doc[Text] = Doc()
        text = doc.get("content", type=Text)
        for update in self.own:
            doc.apply_update(update)
        return str(text)

    async def wait_text(self, expected: str, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while str(self.text) != expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))
        return True

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(BaseException):
                await self.reader
        if self.received is not None:
            self.received.close()


async def check_room(url: str, witness: Witness, read_only_fuzz: bool) -> tuple[list[str], str]:
    """The after-fuzzing checks of one room; return (problems, the final text)."""
    problems: list[str] = []
    if witness.closed.is_set():
        problems.append(
            f"the witness was closed with {witness.close_code} {witness.close_reason!r} "
            f"{witness.error}"
        )
        return problems, ""
    newcomer = await Witness(url).connect()
    newcomer.log = witness.log  # its edit below goes into the room's frame log too
    try:
        if not newcomer.synced.is_set():
            problems.append(f"a new client could not sync (closed with {newcomer.close_code})")
            return problems, ""
        if not await witness.wait_text(str(newcomer.text), 20):
            problems.append(
                "the new client's text differs from the witness's: "
                f"{_differ(str(newcomer.text), str(witness.text))}"
            )
        if read_only_fuzz and str(witness.text) != witness.legit_text():
            problems.append("read-only connections changed the text")
        text = str(witness.text)
        missing = [m for m in witness.markers if m not in text]
        if missing:
            problems.append(f"{len(missing)} of the witness's edits are missing")
        await newcomer.edit("✓ ", at_end=False)
        final = str(newcomer.text)
        if not await witness.wait_text(final, 20):
            problems.append("an edit after the fuzzing did not reach the witness")
        if problems:  # for the replay: what each side held
            states = {
                name: protocol.parse_state_vector(client.doc.get_state())
                for name, client in (("witness", witness), ("newcomer", newcomer))
            }
            problems.append(f"state vectors: {states}")
        return problems, final
    finally:
        await newcomer.close()


def _differ(a: str, b: str) -> str:
    """Where two texts part: lengths and a little context."""
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"{len(a)} vs {len(b)} chars, from {i}: {a[i : i + 30]!r} vs {b[i : i + 30]!r}"


async def check_cold(url: str, expected: str) -> list[str]:
    """The room reloaded from storage holds ``expected``."""
    client = await Witness(url).connect()
    try:
        if not client.synced.is_set():
            return [f"after reload a new client could not sync (closed with {client.close_code})"]
        if str(client.text) != expected:
            return ["after reload from storage the text differs"]
        return []
    finally:
        await client.close()


# -- the campaign ---------------------------------------------------------------------------------


@dataclass
class Plan:
    frames: int = 1_000_000
    seed: int = 0
    rooms: int = 16
    connections: int = 48
    control_rooms: int = 3
    observers: int = 5
    baseline_seconds: float = 15.0
    rate: float | None = None  # frames/s over all connections; None = as fast as possible
    max_seconds: float = float("inf")  # stop fuzzing earlier than ``frames`` (then reported)
    checkpoint: Path | None = None  # where to write progress every 10 s
    compact_after: int = 1000  # ACCORD_COMPACT_AFTER_UPDATES of the server
    progress: bool = True


async def _fuzz(
    server: ServerProcess,
    plan: Plan,
    rooms: list[str],
    read_only: set[str],
    tokens: tuple[str, str, str],  # the witnesses', the writing fuzzers', the read-only ones'
    tally: Tally,
    logs: dict[str, FrameLog],
    rng: random.Random,
) -> dict[str, Any]:
    admin, delegate, observer = tokens
    seeds = build_seeds(rng)
    witnesses = {room: await Witness(server.url(room, admin)).connect() for room in rooms}
    for room, witness in witnesses.items():
        witness.log = logs[room]
        witness.received = logs[room].path.with_suffix(".received").open("ab", buffering=0)
    pace = Pacer(plan.rate) if plan.rate else None
    fuzzers = []
    for i in range(plan.connections):
        room = rooms[i % len(rooms)]
        token = observer if room in read_only else delegate
        fuzzers.append(
            FuzzConnection(
                tally,
                server.url(room, token),
                rooms.index(room),
                random.Random(rng.getrandbits(64)),
                seeds,
                logs[room],
                pace,
            )
        )
    crashed = hung = False
    stack: list[str] = []
    started = time.time()

    async def monitor() -> None:
        nonlocal crashed, hung
        last = moved = (time.monotonic(), 0)
        while not tally.done():
            await asyncio.sleep(0.5)
            if server.proc is not None and server.proc.poll() is not None:
                crashed = True
                tally.stop = True
                for f in fuzzers:
                    for frame in f.recent:
                        tally.finding("in flight when the server died", frame, room=f.room)
                return
            now = time.monotonic()
            if tally.processed != moved[1]:
                moved = (now, tally.processed)
            elif now - moved[0] > HANG_SECONDS:  # nothing answered, nothing closed: frozen
                hung = True
                tally.stop = True
                for f in fuzzers:  # one of these froze it: kept, to replay on the saved rooms
                    for frame in f.recent:
                        tally.finding("in flight when the server froze", frame, room=f.room)
                stack.append(await asyncio.to_thread(dump_stack, server))
                return
            if plan.checkpoint is not None and now - last[0] >= 10:
                plan.checkpoint.write_text(json.dumps({
                    "seed": plan.seed, "frames_processed": tally.processed,
                    "accepted": tally.accepted, "close_codes": dict(tally.closes),
                    "connections_opened": tally.connects, "no_answer": tally.no_answer,
                    "seconds": round(time.time() - started, 1), "server_rss_mb": server.rss_mb(),
                    "findings": len(tally.findings),
                }))  # fmt: skip
            if plan.progress and now - last[0] >= 10:
                rate = (tally.processed - last[1]) / (now - last[0])
                print(
                    f"  {tally.processed:>9,} frames  {rate:7.0f}/s  reconnects {tally.connects:,}"
                    f"  rss {server.rss_mb():.0f} MB",
                    flush=True,
                )
                last = (now, tally.processed)

    editing = [asyncio.create_task(w.keep_editing(0.5, tally.done)) for w in witnesses.values()]
    await asyncio.gather(monitor(), *(f.run() for f in fuzzers))
    ended = time.time()
    for task in editing:
        task.cancel()
    result: dict[str, Any] = {
        "fuzz_started": started, "fuzz_ended": ended, "crashed": crashed, "hung": hung,
        "stack": stack[0] if stack else None,
    }  # fmt: skip
    if crashed or hung:
        return result
    broken: dict[str, list[str]] = {}
    finals: dict[str, str] = {}
    for room, witness in witnesses.items():
        problems, final = await check_room(server.url(room, admin), witness, room in read_only)
        if problems:
            broken[room] = problems
        finals[room] = final
    for witness in witnesses.values():
        await witness.close()
    await asyncio.sleep(float(server.env.get("ACCORD_ROOM_UNLOAD_SECONDS", "1")) + 2)
    for room in rooms:
        if room not in broken:
            problems = await check_cold(server.url(room, admin), finals[room])
            if problems:
                broken[room] = problems
    result["broken"] = broken
    result["legit_edits"] = sum(len(w.markers) for w in witnesses.values())
    return result


def dump_stack(server: ServerProcess) -> str:
    """Where a frozen server is stuck: py-spy's dump of every thread (Python and native
    frames), if py-spy is installed (the test extra)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if server.proc is None or not Path(spy).exists():
        return "py-spy is not installed"
    command = [spy, "dump", "--native", "--pid", str(server.proc.pid)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "py-spy dump timed out"
    return done.stdout + done.stderr


def campaign(plan: Plan, work: Path | None = None) -> dict[str, Any]:
    """Run one fuzzing campaign against a fresh server; return the report."""
    from benchmarks.faults.common import setup_database

    work = work or Path(tempfile.mkdtemp(prefix="fuzz-"))
    if plan.progress:  # the frame logs are there, and stay if this process dies
        print(f"work directory {work}", flush=True)
    rng = random.Random(plan.seed)
    admin, ids = setup_database(work / "accord.db", plan.rooms + plan.control_rooms)
    rooms, control = ids[: plan.rooms], ids[plan.rooms :]
    read_only = set(rooms[1::2])
    # The fuzzing connections are other people than the witnesses (who use the admin's
    # token): a delegate in the writable rooms, an observer in the read-only ones.
    observer = add_member(work / "accord.db", sorted(read_only), "observer")
    delegate = add_member(work / "accord.db", sorted(set(rooms) - read_only), "delegate")
    env = {"ACCORD_LOG_LEVEL": "warning", "ACCORD_ROOM_UNLOAD_SECONDS": "1", "RUST_BACKTRACE": "0",
           "ACCORD_COMPACT_AFTER_UPDATES": str(plan.compact_after)}  # fmt: skip
    server = ServerProcess(work / "accord.db", env=env)
    server.start()
    tally = Tally(plan.frames)
    logs = {room: FrameLog(work / f"room-{i}.frames") for i, room in enumerate(rooms)}
    try:
        with RssSampler(server) as rss, Control(server, admin, control, plan.observers) as ctl:
            base_start = time.time()
            time.sleep(plan.baseline_seconds)
            base_end = time.time()
            cpu0 = server.cpu_seconds()
            tally.deadline = time.monotonic() + plan.max_seconds
            outcome = asyncio.run(
                _fuzz(server, plan, rooms, read_only, (admin, delegate, observer), tally, logs, rng)
            )
            cpu = (
                server.cpu_seconds() - cpu0 if server.proc and server.proc.poll() is None else None
            )
        alive = server.proc is not None and server.proc.poll() is None
    finally:
        for log in logs.values():
            log.close()
        server.stop()
    fuzz_start, fuzz_end = outcome["fuzz_started"], outcome["fuzz_ended"]
    seconds = fuzz_end - fuzz_start
    log_text = server.log.read_text(errors="replace") if server.log.exists() else ""
    report: dict[str, Any] = {
        "seed": plan.seed,
        "plan": {k: v for k, v in plan.__dict__.items() if k not in ("progress", "checkpoint")},
        "frames_processed": tally.processed,
        "frames_sent": tally.sent,
        "frames_accepted": tally.accepted,
        "frames_closed_on": sum(tally.closes[c] for c in tally.closes if c.isdigit()),
        "frames_without_answer": tally.no_answer,
        "close_codes": dict(tally.closes.most_common()),
        "connections_opened": tally.connects,
        "seed_kinds": dict(tally.kinds.most_common()),
        "mutations": dict(tally.ops.most_common()),
        "seconds": round(seconds, 1),
        "frames_per_second": round(tally.processed / seconds, 1) if seconds else 0,
        "server_cpu_s": round(cpu, 1) if cpu is not None else None,
        "server_crashes": 0 if alive and not outcome["crashed"] else 1,
        "server_hangs": int(outcome["hung"]),
        "rooms_fuzzed": len(rooms),
        "rooms_read_only": len(read_only),
        # None when the rooms could not be checked (the server crashed or hung first)
        "rooms_broken": len(outcome["broken"]) if "broken" in outcome else None,
        "broken": {rooms.index(r): p for r, p in outcome.get("broken", {}).items()},
        "legit_edits": outcome.get("legit_edits", 0),
        "rebuilds_after_panic": log_text.count("an update crashed pycrdt"),
        # every update refused; those refused after the room's Doc had begun to take them
        # cost a rebuild of the Doc ("...; rebuilding the document")
        "refused_updates": log_text.count("refused an update ("),
        "rebuilds_after_refusal": sum(
            "refused an update (" in line and line.endswith("; rebuilding the document")
            for line in log_text.splitlines()
        ),
        "encode_failures": log_text.count("could not be encoded"),
        "tracebacks_logged": log_text.count("Traceback"),
        "control_baseline": ctl.latency(base_start, base_end),
        "control_during_fuzz": ctl.latency(fuzz_start, fuzz_end),
        "rss_mb_baseline": rss.peak(base_start, base_end),
        "rss_mb_peak_during_fuzz": rss.peak(fuzz_start, fuzz_end),
        "rss_mb_end": rss.last(),
        "findings": tally.findings,
        "hang_stack": outcome.get("stack"),
    }
    report["saved"] = save_findings(report, work, rooms, outcome.get("broken", {}), log_text)
    return report


def save_findings(
    report: dict[str, Any],
    work: Path,
    rooms: list[str],
    broken: dict[str, list[str]],
    log_text: str,
) -> list[str]:
    """Copy what a maintainer needs to reproduce a problem into benchmarks/results/."""
    if not (
        report["findings"]
        or broken
        or report["server_crashes"]
        or report["server_hangs"]
        or report["tracebacks_logged"]
    ):
        return []
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    saved = []
    # The frames of broken rooms, and of the rooms that had a frame in flight when the server
    # froze or died: replaying them on a fresh server reproduces the room's state.
    indexes = {rooms.index(room) for room in broken}
    if report["server_hangs"] or report["server_crashes"]:
        indexes |= {f["room"] for f in report["findings"] if isinstance(f.get("room"), int)}
    for index in sorted(indexes):
        target = RESULTS / f"fuzz-{stamp}-room{index}.frames"
        target.write_bytes((work / f"room-{index}.frames").read_bytes())
        saved.append(str(target.relative_to(ROOT)))
    if report.get("hang_stack"):
        target = RESULTS / f"fuzz-{stamp}-hang-stack.txt"
        target.write_text(report["hang_stack"])
        saved.append(str(target.relative_to(ROOT)))
    target = RESULTS / f"fuzz-{stamp}-findings.json"
    lines = [line for line in log_text.splitlines() if "ERROR" in line or "Traceback" in line]
    target.write_text(
        json.dumps({"findings": report["findings"], "log_errors": lines[:200]}, indent=2)
    )
    saved.append(str(target.relative_to(ROOT)))
    return saved


def print_report(report: dict[str, Any]) -> None:
    base, during = report["control_baseline"], report["control_during_fuzz"]
    rows = [
        ("seed", report["seed"]),
        ("frames processed (answered or closed on)", f"{report['frames_processed']:,}"),
        (
            "  accepted / closed / no answer",
            f"{report['frames_accepted']:,} / "
            f"{report['frames_closed_on']:,} / {report['frames_without_answer']}",
        ),
        ("close codes", report["close_codes"]),
        ("connections opened", f"{report['connections_opened']:,}"),
        ("duration, frames/s", f"{report['seconds']} s, {report['frames_per_second']}/s"),
        ("server crashes / hangs", f"{report['server_crashes']} / {report['server_hangs']}"),
        (
            "rooms fuzzed (read-only) / broken",
            f"{report['rooms_fuzzed']} ({report['rooms_read_only']}) / "
            f"{'not checked' if report['rooms_broken'] is None else report['rooms_broken']}",
        ),
        ("rebuilds after a pycrdt panic", report["rebuilds_after_panic"]),
        (
            "updates refused / refused after the Doc began",
            f"{report['refused_updates']:,} / {report['rebuilds_after_refusal']:,}",
        ),
        ("tracebacks logged", report["tracebacks_logged"]),
        (
            "control p50/p99/max ms, baseline",
            f"{base['p50_ms']} / {base['p99_ms']} / {base['max_ms']}",
        ),
        (
            "control p50/p99/max ms, fuzzing",
            f"{during['p50_ms']} / {during['p99_ms']} / {during['max_ms']}",
        ),
        (
            "server RSS MB baseline / peak / end",
            f"{report['rss_mb_baseline']} / "
            f"{report['rss_mb_peak_during_fuzz']} / {report['rss_mb_end']}",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    if report["broken"]:
        print("broken rooms:", json.dumps(report["broken"], ensure_ascii=False))
    for path in report["saved"]:
        print("saved", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="frames to process")
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: random)")
    parser.add_argument("--rooms", type=int, default=16, help="fuzzed rooms (half read-only)")
    parser.add_argument("--connections", type=int, default=48, help="fuzzing connections")
    parser.add_argument("--control-rooms", type=int, default=3)
    parser.add_argument("--observers", type=int, default=5, help="observers per control room")
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=None, help="cap on frames/s (default none)")
    parser.add_argument(
        "--max-seconds", type=float, default=float("inf"), help="stop fuzzing after this long"
    )
    parser.add_argument(
        "--compact-after", type=int, default=1000, help="the server's ACCORD_COMPACT_AFTER_UPDATES"
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    faulthandler.enable()  # a crash inside pycrdt prints the Python stack that called it
    print(f"fuzz seed {seed}", flush=True)
    plan = Plan(
        args.frames,
        seed,
        args.rooms,
        args.connections,
        args.control_rooms,
        args.observers,
        args.baseline_seconds,
        args.rate,
        max_seconds=args.max_seconds,
        compact_after=args.compact_after,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    plan.checkpoint = RESULTS / f"fuzz-{time.strftime('%Y%m%dT%H%M%S')}-progress.json"
    report = campaign(plan)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"fuzz-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_report(report)
    print(f"written to {out.relative_to(ROOT)}")
    clean = report["server_crashes"] == report["server_hangs"] == report["rooms_broken"] == 0
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
