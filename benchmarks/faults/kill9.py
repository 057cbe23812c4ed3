"""kill -9 under load: does a crash cost anything?

    python -m benchmarks.faults.kill9 [--rounds 20] [--clients 50] [--rooms 5] [--rate 20]

Authors (see `common.Author`) type ``--rate`` edits a second each, spread over ``--rooms``
documents, against a real `accord serve`. At a random moment of each round the server is
killed with SIGKILL (or, with ``--fault term``, sent SIGTERM: see sigterm.py). Then, reading
the database file before anything can repair it:

(a) ``received_missing``: updates some client had received from the server that storage
    lacks. The server commits before it relays, so this must be 0.
(b) ``acked_lost``: edits the server had acknowledged to their author (a SyncStep1 greeting
    or 'saved' notice whose state vector covers them, sent only after commit) that storage
    lacks. Must be 0. ``sent_lost``: edits their author had sent that storage lacks (applied
    but not yet committed, or still in flight); ``unsent``: edits made as the connection died.

The server is restarted on the same port and database; every author reconnects (retrying
every 50 ms) and resyncs both ways as y-websocket does. Times from the restart:
``listening_s``, until the port accepts connections; ``connected_s``, until every author is
connected; ``synced_s``, until every author got its SyncStep2; ``resynced_s``, until every
author is synced and has been told that all its edits are durable (this includes the 'saved'
notice delay, 200 ms).
``recovered`` counts the lost edits, ``sent_lost`` plus ``unsent``, that storage holds after.

Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.faults.common import (
    Author,
    ServerProcess,
    lacks,
    machine,
    setup_database,
    stored_state_vectors,
    summary,
    table,
    workdir,
    write_results,
)
from server.sync import protocol


@dataclass
class Options:
    rounds: int = 20
    clients: int = 50
    rooms: int = 5
    rate: float = 20.0
    min_seconds: float = 1.0
    max_seconds: float = 5.0
    seed: int = 1
    fault: str = "kill"  # "kill" (SIGKILL) or "term" (SIGTERM)


COLUMNS = [
    ("round", "round"),
    ("connected_at_start", "conn"),
    ("ran_s", "ran s"),
    ("sent", "sent"),
    ("received", "recv'd"),
    ("received_missing", "(a) recv'd missing"),
    ("acked_lost", "acked lost"),
    ("sent_lost", "(b) sent lost"),
    ("unsent", "unsent"),
    ("recovered", "recovered"),
    ("missing_after_resync", "missing after"),
    ("listening_s", "listening s"),
    ("connected_s", "connected s"),
    ("synced_s", "synced s"),
    ("resynced_s", "(c) resynced s"),
]
TERM_COLUMNS = [
    ("lost_before_signal", "lost before signal"),
    ("exit_code", "exit"),
    ("shutdown_s", "shutdown s"),
    ("closed_1012", "1012s"),
]


async def campaign(
    options: Options, say: Callable[[str], None] = print, work: Path | None = None
) -> dict[str, Any]:
    """Run the campaign in ``work`` (a new temporary directory if None)."""
    work = work or workdir(f"accord-{options.fault}-")
    db = work / "accord.db"
    token, ids = setup_database(db, options.rooms)
    server = ServerProcess(db)
    server.start()
    authors = [
        Author(server.url(ids[i % options.rooms], token), ids[i % options.rooms], seed=i)
        for i in range(options.clients)
    ]
    rng = random.Random(options.seed)
    rows: list[dict[str, Any]] = []
    try:
        await asyncio.gather(*(a.connect() for a in authors))
        await asyncio.wait_for(asyncio.gather(*(a.resynced.wait() for a in authors)), 60)
        for number in range(1, options.rounds + 1):
            row = await one_round(number, options, server, authors, ids, rng)
            rows.append(row)
            say(" ".join(f"{k}={_fmt(v)}" for k, v in row.items()))
    finally:
        await asyncio.gather(*(a.close() for a in authors), return_exceptions=True)
        server.stop()
    return {
        "scenario": f"{options.fault} under load",
        "options": asdict(options),
        "machine": machine(),
        "database": str(db),
        "server_log": str(server.log),
        "load_generator_cpu_s": _own_cpu(),
        "rounds": rows,
        "totals": totals(rows),
    }


async def one_round(
    number: int,
    options: Options,
    server: ServerProcess,
    authors: list[Author],
    ids: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    for author in authors:
        author.new_round()
    stop = asyncio.Event()
    typing = [asyncio.create_task(a.type(options.rate, stop, rng.random())) for a in authors]
    ran = rng.uniform(options.min_seconds, options.max_seconds)
    await asyncio.sleep(ran)
    row: dict[str, Any] = {"round": number, "ran_s": ran}
    row["connected_at_start"] = sum(a.connected for a in authors)
    signalled = 0.0
    if options.fault == "kill":
        server.kill()
    else:
        code, seconds, signalled = await asyncio.to_thread(server.terminate)
        row.update(exit_code=code, shutdown_s=seconds)
    await asyncio.gather(*(a.wait_closed() for a in authors))
    stop.set()
    await asyncio.gather(*typing)
    if options.fault == "term":
        row["closed_1012"] = sum(a.close_codes.count(1012) for a in authors)
    codes = [code for a in authors for code in a.close_codes]
    row["close_codes"] = {str(code): codes.count(code) for code in sorted(set(codes), key=str)}

    # Clients start reconnecting at once, as browsers do; the server is still down.
    reconnecting = [asyncio.create_task(a.connect()) for a in authors]
    vectors = await asyncio.to_thread(stored_state_vectors, server.db, ids)
    row.update(count_losses(authors, vectors))
    if options.fault == "term":
        row["lost_before_signal"] = sum(
            1
            for a in authors
            for c, at in zip(a.sent, a.sent_at, strict=True)
            if at < signalled and c > _clock(vectors, a)
        )
    lost = {a: [c for c in a.sent + a.unsent if c > _clock(vectors, a)] for a in authors}

    restarted = time.monotonic()
    row["listening_s"] = await asyncio.to_thread(server.start)
    await asyncio.gather(*reconnecting)
    row["connected_s"] = time.monotonic() - restarted
    await asyncio.wait_for(asyncio.gather(*(a.synced.wait() for a in authors)), 120)
    row["synced_s"] = time.monotonic() - restarted
    await asyncio.wait_for(asyncio.gather(*(a.resynced.wait() for a in authors)), 120)
    row["resynced_s"] = time.monotonic() - restarted

    after = await asyncio.to_thread(stored_state_vectors, server.db, ids)
    row["recovered"] = sum(1 for a, clocks in lost.items() for c in clocks if c <= _clock(after, a))
    row["missing_after_resync"] = sum(1 for a in authors if a.clock > _clock(after, a))
    return row


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _clock(vectors: dict[str, bytes], author: Author) -> int:
    return protocol.parse_state_vector(vectors[author.document_id]).get(author.client_id, 0)


def count_losses(authors: list[Author], vectors: dict[str, bytes]) -> dict[str, int]:
    """What storage lacks, right after the fault (see the module docstring)."""
    received: dict[str, set[bytes]] = {}
    for author in authors:
        received.setdefault(author.document_id, set()).update(author.received)
    missing = sum(lacks(u, vectors[room]) for room, updates in received.items() for u in updates)
    sent_lost = acked_lost = 0
    for author in authors:
        stored = _clock(vectors, author)
        lost = [c for c in author.sent if c > stored]
        sent_lost += len(lost)
        acked_lost += sum(1 for c in lost if c <= author.server_clock)
    return {
        "sent": sum(len(a.sent) for a in authors),
        "received": sum(len(u) for u in received.values()),
        "received_missing": missing,
        "acked_lost": acked_lost,
        "sent_lost": sent_lost,
        "unsent": sum(len(a.unsent) for a in authors),
    }


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ["sent", "received", "received_missing", "acked_lost", "sent_lost", "unsent"]
    result: dict[str, Any] = {key: sum(r[key] for r in rows) for key in keys}
    result["recovered"] = sum(r["recovered"] for r in rows)
    result["missing_after_resync"] = sum(r["missing_after_resync"] for r in rows)
    if rows and "exit_code" in rows[0]:
        result["lost_before_signal"] = sum(r["lost_before_signal"] for r in rows)
        result["exit_codes"] = sorted({r["exit_code"] for r in rows})
        result["closed_1012"] = sum(r["closed_1012"] for r in rows)
    for key in ("listening_s", "connected_s", "synced_s", "resynced_s", "shutdown_s"):
        values = sorted(r[key] for r in rows if key in r)
        if values:
            result[key] = {"median": values[len(values) // 2], "max": values[-1]}
    return result


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(result: dict[str, Any]) -> str:
    columns = COLUMNS + (TERM_COLUMNS if result["options"]["fault"] == "term" else [])
    t = result["totals"]
    lines = [table(result["rounds"], columns), ""]
    lines.append(
        f"totals: {t['sent']} edits sent, {t['received']} distinct updates received; "
        f"(a) received but missing from storage: {t['received_missing']}; "
        f"acknowledged but lost: {t['acked_lost']}; (b) sent but lost: {t['sent_lost']} "
        f"(+{t['unsent']} unsent), recovered by resync: {t['recovered']}; "
        f"missing after resync: {t['missing_after_resync']}"
    )
    for key, label in (("listening_s", "listening"), ("resynced_s", "(c) all resynced")):
        lines.append(f"{label} after restart: {summary([r[key] for r in result['rounds']])} s")
    if "shutdown_s" in t:
        lines.append(
            f"SIGTERM: sent before the signal but lost: {t['lost_before_signal']}; exit codes "
            f"{t['exit_codes']}; closed with 1012: {t['closed_1012']}; shutdown "
            f"{summary([r['shutdown_s'] for r in result['rounds']])} s"
        )
    lines.append(f"load generator CPU: {result['load_generator_cpu_s']:.1f} s")
    return "\n".join(lines)


def parser(description: str, fault: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description.split("\n\n")[0])
    d = Options()
    p.add_argument("--rounds", type=int, default=d.rounds, help="faults to inject (default 20)")
    p.add_argument("--clients", type=int, default=d.clients, help="writing clients (default 50)")
    p.add_argument("--rooms", type=int, default=d.rooms, help="documents they share (default 5)")
    p.add_argument("--rate", type=float, default=d.rate, help="edits/s per client (default 20)")
    p.add_argument("--min-seconds", type=float, default=d.min_seconds, help="least run per round")
    p.add_argument("--max-seconds", type=float, default=d.max_seconds, help="most run per round")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (fault moments)")
    p.set_defaults(fault=fault)
    return p


def main(argv: list[str] | None = None, fault: str = "kill", doc: str = __doc__ or "") -> int:
    args = parser(doc, fault).parse_args(argv)
    options = Options(**vars(args))
    result = asyncio.run(campaign(options, say=lambda line: print(line, file=sys.stderr)))
    print(report(result))
    print(f"\nwrote {write_results(f'faults-{options.fault}', result)}")
    t = result["totals"]
    bad = t["received_missing"] + t["acked_lost"] + t["missing_after_resync"]
    if options.fault == "term":
        bad += t["lost_before_signal"] + sum(1 for r in result["rounds"] if r["exit_code"] != 0)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
