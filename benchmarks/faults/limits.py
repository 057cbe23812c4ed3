"""Limits campaign: abusive clients against a live `accord serve`, one case at a time.

    python -m benchmarks.faults.limits [--case NAME ...] [--quick] [--rounds N] [--env NAME=VALUE]

Cases (each on a fresh server and database):

- ``frame-17mb``: a 17 MB frame (a valid update) must be refused with close code 1009;
- ``awareness-100k``: an awareness message with 100,000 client ids must be refused with 1008
  (``ACCORD_MAX_AWARENESS_ENTRIES``, 64 by default);
- ``flood``: one writer sends 10,000 messages a second (small valid updates and awareness)
  for 10 seconds;
- ``unauthenticated``: 1,000 connection attempts without a token or with a bad one must each
  be refused (4401, or HTTP 403 before the upgrade; HTTP 429 once the address is past its
  limit of failed credentials, ``ACCORD_CREDENTIAL_FAILURES_PER_MINUTE``);
- ``reconnect``: 1,000 signed-in connections to a document, 50 at a time (everyone coming
  back after a network cut), each closed once the server's first sync message arrives; every
  one must be served;
- ``slow-consumer``: a client that never reads while its room is busy must be closed with
  1013 once its send queue is full (``ACCORD_SEND_QUEUE_MESSAGES`` frames or
  ``ACCORD_SEND_QUEUE_BYTES`` bytes), with the server's memory bounded meanwhile.

During every case, control rooms (one writer at 10 edits/s and observers each, in a separate
process) measure fan-out latency, first alone (baseline) and then during the case; the server's
RSS is sampled. Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets
from pycrdt import Doc, Text

from benchmarks.faults.common import ServerProcess, setup_database, workdir
from benchmarks.faults.fuzz import RESULTS, ROOT, Control, RssSampler, Witness
from server.sync import protocol


@dataclass
class Case:
    """What a case is given: the server, an admin token and a room of its own."""

    server: ServerProcess
    token: str
    room: str
    quick: bool

    def url(self, token: str | None = None) -> str:
        return self.server.url(self.room, self.token if token is None else token)


async def connect(url: str, **kwargs: Any) -> websockets.ClientConnection:
    return await websockets.connect(url, compression=None, max_size=None, open_timeout=60, **kwargs)


async def close_code(ws: websockets.ClientConnection, timeout: float = 60) -> int | None:
    """Read until the server closes; return its close code (None if it never did)."""
    with contextlib.suppress(websockets.ConnectionClosed, asyncio.TimeoutError):
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    return ws.close_code


def big_update(size: int) -> bytes:
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text).insert(0, "A" * size)
    return doc.get_update()


# -- the cases ----------------------------------------------------------------------------------


async def frame_17mb(case: Case) -> dict[str, Any]:
    frame = protocol.sync_update(big_update(17 * 1024 * 1024))
    codes: Counter[str] = Counter()
    for _ in range(1 if case.quick else 3):
        ws = await connect(case.url())
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)
        codes[str(await close_code(ws))] += 1
    return {"frame_bytes": len(frame), "close_codes": dict(codes), "ok": set(codes) == {"1009"}}


async def awareness_100k(case: Case) -> dict[str, Any]:
    frame = protocol.awareness([(10_000 + i, 1, "{}") for i in range(100_000)])
    codes: Counter[str] = Counter()
    for _ in range(3 if case.quick else 20):
        ws = await connect(case.url())
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)
        codes[str(await close_code(ws))] += 1
    return {"frame_bytes": len(frame), "close_codes": dict(codes), "ok": set(codes) == {"1008"}}


def flood_frames(count: int, client_id: int) -> list[bytes]:
    """Alternating small valid updates (one character each) and awareness messages."""
    doc: Doc[Text] = Doc(client_id=client_id)
    text = doc.get("content", type=Text)
    frames = []
    for i in range(count):
        if i % 2:
            state = json.dumps({"cursor": {"anchor": i, "head": i}})
            frames.append(protocol.awareness([(client_id, i, state)]))
        else:
            before = doc.get_state()
            text.insert(len(text), "abcdefghij"[i % 10])
            frames.append(protocol.sync_update(doc.get_update(before)))
    return frames


async def flood(case: Case, rate: float = 10_000, seconds: float = 10) -> dict[str, Any]:
    seconds = 2 if case.quick else seconds
    frames = flood_frames(int(rate * seconds), 4_000_000)
    observer = await Witness(case.url()).connect()
    ws = await connect(case.url())
    reading = asyncio.create_task(drain(ws))
    started = time.perf_counter()
    sent = 0
    try:
        for start in range(0, len(frames), 100):  # 100 frames every 10 ms
            for frame in frames[start : start + 100]:
                await ws.send(frame)
                sent += 1
            delay = started + (start + 100) / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
    except websockets.ConnectionClosed:
        pass
    sending = time.perf_counter() - started
    expected = "".join("abcdefghij"[i % 10] for i in range(0, sent, 2))
    delivered = await observer.wait_text(expected, 120)
    drained = time.perf_counter() - started
    code = ws.close_code
    await ws.close()
    await reading
    await observer.close()
    return {
        "messages_sent": sent,
        "sent_per_second": round(sent / sending, 0),
        "seconds_until_all_delivered": round(drained, 1),
        "flooder_close_code": code,
        "observer_got_every_edit": delivered,
        # contained: everything it sent was handled, or the server cut it off
        "ok": delivered or code in (1008, 1011, 1013),
    }


async def in_flight(
    attempt: Callable[[int], Awaitable[None]], count: int, at_once: int = 50
) -> None:
    """``attempt(0)`` ... ``attempt(count - 1)``, ``at_once`` of them in flight: each one
    that ends starts the next, so the server sees a steady stream."""
    semaphore = asyncio.Semaphore(at_once)

    async def limited(i: int) -> None:
        async with semaphore:
            await attempt(i)

    await asyncio.gather(*(limited(i) for i in range(count)))


async def unauthenticated(case: Case, attempts: int = 1000) -> dict[str, Any]:
    attempts = 100 if case.quick else attempts
    codes: Counter[str] = Counter()

    async def attempt(i: int) -> None:
        token = None if i % 2 else f"acc_not-a-token-{i}"
        url = case.server.url(case.room, "").split("?")[0] + (f"?token={token}" if token else "")
        try:
            ws = await connect(url)
        except websockets.InvalidStatus as exc:
            codes[f"HTTP {exc.response.status_code}"] += 1
            return
        codes[str(await close_code(ws, 30))] += 1

    await in_flight(attempt, attempts)
    refused = sum(n for code, n in codes.items() if code in ("4401", "HTTP 403", "HTTP 429"))
    return {"attempts": attempts, "close_codes": dict(codes), "ok": refused == attempts}


async def reconnect(case: Case, connections: int = 1000) -> dict[str, Any]:
    connections = 100 if case.quick else connections
    served: Counter[str] = Counter()

    async def one(_: int) -> None:
        ws = await connect(case.url())
        try:
            first = await asyncio.wait_for(ws.recv(), 60)  # the server's SyncStep1
            served[
                "synced" if isinstance(first, bytes) and first[:2] == b"\x00\x00" else "other"
            ] += 1
        finally:
            await ws.close()

    await in_flight(one, connections)
    return {
        "connections": connections,
        "served": dict(served),
        "ok": served["synced"] == connections,
    }


async def slow_consumer(case: Case) -> dict[str, Any]:
    """A client that never reads while a writer replaces a 64 KB paste, 50 times a second:
    the server must close it (1013) once its queue is full, in frames or in bytes
    (ACCORD_SEND_QUEUE_BYTES, 8 MiB by default), and not hold on to every paste."""
    doc: Doc[Text] = Doc()
    text = doc.get("content", type=Text)
    writer = await connect(case.url())
    reader = asyncio.create_task(drain(writer))
    slow = await connect(case.url(), ping_interval=None)
    slow.transport.pause_reading()
    edits = 0
    for edits in range(1, (300 if case.quick else 600) + 1):  # 19 / 38 MB for the slow one
        before = doc.get_state()
        with doc.transaction():  # the document stays small: each paste replaces the last
            if len(text):
                del text[0 : len(text)]
            text.insert(0, chr(0x41 + edits % 26) * 65_536)
        await writer.send(protocol.sync_update(doc.get_update(before)))
        await asyncio.sleep(0.02)
    slow.transport.resume_reading()
    code = await close_code(slow, 60)
    await writer.close()
    await reader
    return {
        "writer_pastes_of_64kb": edits,
        "slow_close_code": code,
        "slow_close_reason": slow.close_reason,
        "ok": code == 1013,
    }


async def drain(ws: websockets.ClientConnection) -> None:
    """Read and drop whatever the server sends (so this client is never the slow one)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in ws:
            pass


CASES: dict[str, Callable[[Case], Coroutine[Any, Any, dict[str, Any]]]] = {
    "frame-17mb": frame_17mb,
    "awareness-100k": awareness_100k,
    "flood": flood,
    "unauthenticated": unauthenticated,
    "reconnect": reconnect,
    "slow-consumer": slow_consumer,
}


# Server settings for a case, on top of the defaults (none: every case runs as deployed).
CASE_ENV: dict[str, dict[str, str]] = {}


# -- running a case -----------------------------------------------------------------------------


def run_case(name: str, quick: bool, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One case on a fresh server, with control rooms and RSS sampling; return its row."""
    work = workdir(f"limits-{name}-")
    token, rooms = setup_database(work / "accord.db", 3)
    server = ServerProcess(
        work / "accord.db",
        env={"ACCORD_LOG_LEVEL": "warning", "RUST_BACKTRACE": "0", **(env or {})},
    )
    server.start()
    baseline = 3.0 if quick else 10.0
    try:
        with RssSampler(server) as rss, Control(server, token, rooms[1:], 5) as control:
            base_start = time.time()
            time.sleep(baseline)
            base_end = time.time()
            cpu_start = server.cpu_seconds()
            result = asyncio.run(CASES[name](Case(server, token, rooms[0], quick)))
            case_end = time.time()
            cpu_case = server.cpu_seconds() - cpu_start
            time.sleep(3.0 if quick else 10.0)  # after: does memory come back down?
            after_end = time.time()
        alive = server.proc is not None and server.proc.poll() is None
        log = server.log.read_text(errors="replace") if server.log.exists() else ""
    finally:
        server.stop()
    before = control.latency(base_start, base_end)
    during = control.latency(base_end, case_end)
    expected = (case_end - base_end) * 10 * 5 * 2  # 2 rooms x 10 edits/s x 5 observers
    ratio = during["p99_ms"] / before["p99_ms"] if before["deliveries"] else float("nan")
    return {
        "case": name,
        **result,
        "server_alive": alive,
        "tracebacks_logged": log.count("Traceback"),
        "control_p99_baseline_ms": before["p99_ms"],
        "control_p99_during_ms": during["p99_ms"],
        "control_p99_ratio": round(ratio, 2),
        "control_max_during_ms": during["max_ms"],
        "control_deliveries_during": during["deliveries"],
        "control_deliveries_expected": int(expected),
        "rss_mb_baseline": rss.peak(base_start, base_end),
        "rss_mb_peak_during": rss.peak(base_end, case_end),
        "rss_mb_after": rss.peak(after_end - 1, after_end),
        "seconds": round(case_end - base_end, 1),
        "server_cpu_s_during": round(cpu_case, 2),
    }


COLUMNS = [
    ("case", "case"),
    ("ok", "expected outcome"),
    ("server_alive", "alive"),
    ("control_p99_baseline_ms", "p99 before ms"),
    ("control_p99_during_ms", "p99 during ms"),
    ("control_p99_ratio", "ratio"),
    ("rss_mb_baseline", "RSS before MB"),
    ("rss_mb_peak_during", "RSS peak MB"),
    ("rss_mb_after", "RSS after MB"),
    ("seconds", "s"),
    ("server_cpu_s_during", "server CPU s"),
]


def print_table(rows: list[dict[str, Any]]) -> None:
    print("| " + " | ".join(h for _, h in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(str(row.get(k, "")) for k, _ in COLUMNS) + " |")
    for row in rows:
        details = {k: v for k, v in row.items() if k not in dict(COLUMNS)}
        print(f"{row['case']}: {json.dumps(details, ensure_ascii=False)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--quick", action="store_true", help="short versions (as in the tests)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each case")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="server setting"
    )
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.env)
    rows = []
    for name in args.case or list(CASES):
        for _ in range(args.rounds):
            rows.append(run_case(name, args.quick, {**CASE_ENV.get(name, {}), **settings}))
            rows[-1]["server_env"] = settings
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"limits-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    print_table(rows)
    print(f"written to {Path(out).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
