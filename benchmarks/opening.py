"""Opening documents (issue 4, scenarios 4 and 5).

- ``coldopen100k``: a document whose log holds 100,000 small updates (typing by four people,
  with backspaces); the time until a new client is synced (its SyncStep2 arrives), from the
  start of its connection. For Accord the room is not loaded: the log is read from SQLite,
  merged and loaded for this client. The reference server and pycrdt-websocket keep
  documents in memory only and have no log to open: their room is filled through a client
  that stays connected, so their number is a warm open (a lower bound for them).
  ``coldopen100k-raw`` (Accord only) leaves the 100,000 rows uncompacted, as if
  compaction had never run: the worst case.
- ``open1mb-x100``: 100 clients open a 1 MB document at the same moment; the time until all
  are synced, and the server's peak RSS. For Accord this is a cold open too (one compacted
  1 MB state row).
- ``reconnect1000``: 1,000 connections to an open room with a small document, 50 at a time
  (as everyone comes back after a network cut), each closed once synced: the time from
  connecting until synced (p50, p99), and the server's CPU per connection. For Accord each
  connection is also authenticated (its token and its role looked up in SQLite).
"""

from __future__ import annotations

import asyncio
import functools
import random
import statistics
import time

from pycrdt import Doc, Text, merge_updates

from benchmarks.clients import BenchClient, close_all, cpu_now
from benchmarks.fanout import percentile
from benchmarks.servers import ServerProcess
from server.sync import protocol

WORDS = [
    "acuerdo",
    "texto",
    "párrafo",
    "delegación",
    "revisión",
    "consenso",
    "artículo",
    "enmienda",
]


@functools.cache
def typing_log(count: int = 100_000, people: int = 4, session: int = 500) -> list[bytes]:
    """``count`` small updates: people take turns typing runs of characters at a random
    place, one update per keystroke, every tenth keystroke a backspace."""
    rng = random.Random(4)
    docs = [Doc(client_id=100 + i) for i in range(people)]
    texts = [d.get("content", type=Text) for d in docs]
    updates: list[bytes] = []
    # What each keystroke's transaction produced: what a Yjs client sends (only that
    # transaction's deletions, not the whole delete set as ``get_update(state)`` would).
    subscriptions = [d.observe(lambda event: updates.append(event.update)) for d in docs]
    turn = 0
    while len(updates) < count:
        doc, text = docs[turn % people], texts[turn % people]
        previous = docs[(turn - 1) % people]
        mark = len(updates)
        doc.apply_update(previous.get_update(doc.get_state()))  # catch up, not logged
        del updates[mark:]
        pos = rng.randint(0, len(text))
        for i in range(min(session, count - len(updates))):
            if i % 10 == 9 and pos > 0:
                del text[pos - 1 : pos]
                pos -= 1
            else:
                text.insert(pos, "abcdefghij klmnopqrs"[i % 20])  # ASCII: 1 byte each
                pos += 1
        turn += 1
    for d, sub in zip(docs, subscriptions, strict=True):
        d.unobserve(sub)
    return updates[:count]


@functools.cache
def large_document(size: int = 1_000_000, people: int = 4) -> bytes:
    """One update holding a ~``size``-byte document written in paragraphs by a few people."""
    rng = random.Random(5)
    docs = [Doc(client_id=200 + i) for i in range(people)]
    parts: list[bytes] = []
    written = 0
    previous = docs[0]
    while written < size:
        doc = docs[len(parts) % people]
        doc.apply_update(previous.get_update(doc.get_state()))
        text = doc.get("content", type=Text)
        before = doc.get_state()
        paragraph = " ".join(rng.choice(WORDS) for _ in range(120)) + "\n\n"
        text.insert(len(text), paragraph)
        parts.append(doc.get_update(before))
        written += len(paragraph.encode())
        previous = doc
    return merge_updates(*parts)


async def fill_in_memory(server: ServerProcess, room: str, updates: list[bytes]) -> BenchClient:
    """For the in-memory servers: a client that sends the updates and stays connected."""
    holder = BenchClient(server.room_url(room))
    await holder.connect()
    for update in updates:
        holder.send(protocol.sync_update(update))
    await holder.roundtrip()
    return holder


async def time_open(url: str) -> tuple[float, int]:
    client = BenchClient(url)
    start = time.perf_counter()
    await client.connect()
    elapsed = (client.synced_at - start) * 1000
    await client.close()
    return elapsed, client.synced_bytes


def store_history(server: ServerProcess, room: str, updates: list[bytes], raw: bool) -> None:
    """Accord: the log as the server would hold it after these edits, compacted by its own
    verified compaction every ``compact_after_updates`` (1,000) rows; or, ``raw``, never
    compacted (the worst case: every row replayed at open)."""
    from server.connection import transaction
    from server.sync import store

    step = len(updates) if raw else 1000
    for start in range(0, len(updates), step):
        server.store_log(room, updates[start : start + step])
        if not raw and start + step < len(updates):  # the last 1,000 rows stay in the log
            with transaction(server.db) as conn:
                store.compact(conn, room)


async def run_coldopen(
    server: ServerProcess, name: str, repeats: int = 3, raw: bool = False
) -> dict[str, object]:
    updates = typing_log()
    rooms = server.new_rooms(repeats, name)
    holders = []
    for room in rooms:
        if server.kind == "accord":
            store_history(server, room, updates, raw)
        else:  # the same document, sent in 100 merged pieces (pycrdt-websocket takes
            # minutes over 100,000 frames; the in-memory result is the same)
            pieces = [merge_updates(*updates[i : i + 1000]) for i in range(0, len(updates), 1000)]
            holders.append(await fill_in_memory(server, room, pieces))
    cpu0, load0 = server.cpu_seconds(), cpu_now()
    times = []
    size = 0
    for room in rooms:
        elapsed, size = await time_open(server.room_url(room))
        times.append(elapsed)
    row = {
        "scenario": name,
        "server": server.kind,
        "log_updates": len(updates),
        "opens": len(times),
        "open_median_ms": round(statistics.median(times), 1),
        "open_max_ms": round(max(times), 1),
        "state_bytes": size,
        "server_cpu_s": round(server.cpu_seconds() - cpu0, 2),
        "server_peak_rss_mb": round(server.rss_mb(peak=True), 1),
        "loadgen_cpu_s": round(cpu_now() - load0, 2),
        "cold": server.kind == "accord",
    }
    await close_all(holders)
    return row


async def run_crowd_open(server: ServerProcess, name: str, clients: int = 100) -> dict[str, object]:
    state = large_document()
    (room,) = server.new_rooms(1, name)
    holders = []
    if server.kind == "accord":
        server.store_log(room, [state])
    else:
        holders.append(await fill_in_memory(server, room, [state]))
    rss0 = server.rss_mb()
    cpu0, load0 = server.cpu_seconds(), cpu_now()
    crowd = [BenchClient(server.room_url(room)) for _ in range(clients)]
    start = time.perf_counter()
    await asyncio.gather(*(c.connect(timeout=120) for c in crowd))
    times = sorted((c.synced_at - start) * 1000 for c in crowd)
    row = {
        "scenario": name,
        "server": server.kind,
        "document_bytes": len(state),
        "clients": clients,
        "all_synced_ms": round(times[-1], 1),
        "synced_p50_ms": percentile(times, 0.5),
        "rss_before_mb": round(rss0, 1),
        "server_peak_rss_mb": round(server.rss_mb(peak=True), 1),
        "server_cpu_s": round(server.cpu_seconds() - cpu0, 2),
        "loadgen_cpu_s": round(cpu_now() - load0, 2),
        "cold": server.kind == "accord",
    }
    await close_all(crowd + holders)
    return row


async def run_reconnect(
    server: ServerProcess, name: str, connections: int = 1000, together: int = 50
) -> dict[str, object]:
    (room,) = server.new_rooms(1, name)
    holder = BenchClient(server.room_url(room))  # the room stays open throughout
    await holder.connect()
    holder.send(protocol.sync_update(merge_updates(*typing_log(2_000))))
    await holder.roundtrip()
    times: list[float] = []

    async def one() -> None:
        client = BenchClient(server.room_url(room))
        start = time.perf_counter()
        await client.connect(timeout=60)
        times.append((client.synced_at - start) * 1000)
        await client.close()

    cpu0, load0 = server.cpu_seconds(), cpu_now()
    start = time.perf_counter()
    for first in range(0, connections, together):
        await asyncio.gather(*(one() for _ in range(min(together, connections - first))))
    seconds = time.perf_counter() - start
    cpu = server.cpu_seconds() - cpu0
    await holder.close()
    times.sort()
    return {
        "scenario": name,
        "server": server.kind,
        "connections": connections,
        "synced_p50_ms": percentile(times, 0.5),
        "synced_p99_ms": percentile(times, 0.99),
        "seconds": round(seconds, 2),
        "server_cpu_ms_per_connection": round(cpu * 1000 / connections, 3),
        "server_cpu_s": round(cpu, 2),
        "loadgen_cpu_s": round(cpu_now() - load0, 2),
    }
