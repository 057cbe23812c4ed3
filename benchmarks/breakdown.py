"""Where the event loop's CPU goes: `accord serve` under a fan-out scenario, with the CPU time
of its event loop thread counted per entry point (the websocket read path, the room's steps,
the broadcasts, the saved notices, the keepalive pings).

    python -m benchmarks.breakdown --scenario rooms100x10 --seconds 8

Each entry point is wrapped in the server process (through `benchmarks/probe` on its
PYTHONPATH) to add up ``time.thread_time()`` spent inside it, on the event loop's thread
only: CPU time, so neither waiting for the interpreter lock (the writer thread) nor time the
machine gives to other processes counts. Rows nest (``ws data_received`` holds
``Room.receive``, which holds ``Room._apply``: see ``ENTRY_POINTS``); the share is of the
loop thread's CPU between the scenario's start and end. A sampling profiler (py-spy) could
not say this on this machine: it got a few hundred samples in ten seconds, and cProfile
charges the waits for the lock to whatever C call came before them. The wrappers cost ~1 µs
per call.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import fanout
from benchmarks.servers import ROOT, ServerProcess

# (module, attribute path, label, depth): the loop's entry points (depth 0), then what they
# call, each row inside the nearest row above it of a smaller depth.
ENTRY_POINTS = [
    ("server.ws_protocol", "SyncProtocol.data_received", "ws data_received", 0),
    ("websockets.protocol", "Protocol.receive_data", "websockets receive_data", 1),
    ("server.ws_protocol", "SyncProtocol.send_receive_event_to_app", "to the room", 1),
    ("server.sync.room", "Room.receive", "Room.receive", 2),
    ("server.sync.protocol", "parse", "protocol.parse", 3),
    ("server.sync.room", "Room._receive_update", "Room._receive_update", 3),
    ("server.sync.room", "Room._check_writer", "Room._check_writer", 4),
    ("server.sync.room", "Room._apply", "Room._apply", 4),
    ("server.sync.room", "Room._persist", "Room._persist", 4),
    ("server.sync.awareness", "Presence.relay", "Presence.relay", 3),
    ("server.writer", "_settle_all", "commit results", 0),
    ("server.sync.room", "Room.broadcast", "broadcasts", 0),
    ("server.ws_protocol", "SyncProtocol.flush", "corked writes", 0),
    ("server.sync.room", "Room._send_notices", "saved notices", 0),
    ("server.sync.rooms", "Rooms.maybe_compact", "after each commit", 0),
    (
        "uvicorn.protocols.websockets.websockets_sansio_impl",
        "WebSocketsSansIOProtocol.send_keepalive_ping",
        "keepalive pings",
        0,
    ),
]


def install(report: str) -> None:
    """In the server: wrap the entry points; SIGUSR1 starts counting, SIGUSR2 writes the
    report (JSON) to ``report``."""
    loop_thread = threading.get_ident()
    totals: dict[str, list[float]] = {}

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def counted(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != loop_thread:
                return original(*args, **kwargs)
            start = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                total = totals.setdefault(label, [0.0, 0])
                total[0] += time.thread_time() - start
                total[1] += 1

        setattr(owner, name, counted)

    for module_name, path, label, _ in ENTRY_POINTS:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        wrap(owner, name, label)
    started = [time.thread_time()]

    def start(*_: object) -> None:
        totals.clear()
        started[0] = time.thread_time()

    def write(*_: object) -> None:
        loop_cpu = time.thread_time() - started[0]
        rows = {label: {"cpu_s": cpu, "calls": int(n)} for label, (cpu, n) in totals.items()}
        Path(report).write_text(json.dumps({"loop_thread_cpu_s": loop_cpu, "rows": rows}))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, write)


class Probed(ServerProcess):
    """`accord serve` with the probe: counting starts at the scenario's first CPU reading and
    the report is written at its second (the scenario's start and end)."""

    def __init__(self, report: Path) -> None:
        super().__init__(
            "accord",
            {
                "ACCORD_BREAKDOWN": str(report),
                "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks" / "probe"), str(ROOT)]),
            },
        )
        self.report = report
        self.readings = 0

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        self.readings += 1
        if self.readings == 1:
            self.proc.send_signal(signal.SIGUSR1)
        elif self.readings == 2:
            self.proc.send_signal(signal.SIGUSR2)
        return super().cpu_seconds()


def run(scenario: str, spec: fanout.Fanout, seconds: float, report: Path) -> dict[str, Any]:
    report.unlink(missing_ok=True)
    server = Probed(report)
    server.start()
    try:
        outcome = asyncio.run(fanout.run_fanout(server, scenario, spec, seconds))
        deadline = time.monotonic() + 10
        while not report.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        found = json.loads(report.read_text())
    finally:
        server.stop()
    return {"summary": outcome.summary(), **found}


def print_report(result: dict[str, Any]) -> None:
    summary, loop = result["summary"], result["loop_thread_cpu_s"]
    sent = summary["updates_sent"]
    print(
        f"{summary['scenario']}: {sent} edits, server CPU {summary['server_cpu_s']} s, "
        f"event loop thread {loop:.2f} s ({loop / sent * 1e6:.0f} µs per edit)"
    )
    print("\n| entry point | CPU s | share of the loop | calls | µs per call |")
    print("|---|---|---|---|---|")
    for _, _, label, depth in ENTRY_POINTS:
        row = result["rows"].get(label)
        if row is None:
            continue
        cpu, calls = row["cpu_s"], row["calls"]
        name = "&nbsp;&nbsp;" * depth + f"`{label}`"
        print(f"| {name} | {cpu:.3f} | {cpu / loop:.0%} | {calls} | {cpu / calls * 1e6:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="rooms100x10", choices=list(fanout.SCENARIOS))
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report = results / f"breakdown-{stamp}.probe.json"
    result = run(args.scenario, fanout.SCENARIOS[args.scenario], args.seconds, report)
    report.unlink(missing_ok=True)
    out = results / f"breakdown-{stamp}.json"
    out.write_text(json.dumps(result, indent=2))
    print_report(result)
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
