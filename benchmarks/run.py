"""Side-by-side sync benchmarks: Accord, the reference Yjs server (@y/websocket-server) and
pycrdt-websocket, measured in the same run.

    python -m benchmarks.run                                  # everything, all three servers
    python -m benchmarks.run --scenario observers100 --server accord --seconds 8

Each scenario runs against each server in turn (alternating; a fresh server process each
time), on loopback, with this process as the load generator: it does no CRDT work (writers
send pre-encoded updates, clients only read the header of what arrives and time it). Prints
a table per kind of scenario, with ratios against the reference server, and writes JSON to
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks import fanout, memory, opening
from benchmarks.servers import KINDS, ROOT, ServerProcess, running

RESULTS = ROOT / "benchmarks" / "results"
Row = dict[str, Any]
Runner = Callable[[ServerProcess, str, float], Awaitable[Row]]


def fanout_runner(spec: fanout.Fanout) -> Runner:
    async def run(server: ServerProcess, name: str, seconds: float) -> Row:
        return (await fanout.run_fanout(server, name, spec, seconds)).summary()

    return run


SCENARIOS: dict[str, tuple[Runner, dict[str, str], tuple[str, ...]]] = {
    name: (fanout_runner(spec), {}, KINDS) for name, spec in fanout.SCENARIOS.items()
}
SCENARIOS["coldopen100k"] = (lambda s, n, _: opening.run_coldopen(s, n), {}, KINDS)
SCENARIOS["coldopen100k-raw"] = (
    lambda s, n, _: opening.run_coldopen(s, n, raw=True),
    {},
    ("accord",),
)
SCENARIOS["open1mb-x100"] = (lambda s, n, _: opening.run_crowd_open(s, n), {}, KINDS)
SCENARIOS["reconnect1000"] = (lambda s, n, _: opening.run_reconnect(s, n), {}, KINDS)
SCENARIOS["memory"] = (lambda s, n, _: memory.run_memory(s, n), memory.ENV, KINDS)

# The figure each table compares against the reference server, lower is better.
RATIO_OF = {
    "p99_ms": "p99",
    "open_median_ms": "open",
    "all_synced_ms": "all synced",
    "synced_p99_ms": "synced p99",
}


def main() -> None:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--server", action="append", choices=KINDS)
    parser.add_argument("--seconds", type=float, default=10.0, help="per paced scenario")
    parser.add_argument("--rounds", type=int, default=1, help="repeat each scenario")
    args = parser.parse_args()
    results: list[Row] = []
    for name in args.scenario or list(SCENARIOS):
        runner, env, kinds = SCENARIOS[name]
        for _ in range(args.rounds):
            for kind in args.server or KINDS:  # alternate servers within each scenario
                if kind not in kinds:
                    continue
                with running(kind, env) as server:
                    row = asyncio.run(runner(server, name, args.seconds))
                results.append(row)
                print(json.dumps(row), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"run-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"meta": meta(sys.argv), "results": results}, indent=2))
    print_tables(results)
    print(f"\nwritten to {out.relative_to(ROOT)}")


def meta(argv: list[str]) -> dict[str, object]:
    from importlib.metadata import version

    node = subprocess.run(["node", "--version"], capture_output=True, text=True)
    return {
        "command": " ".join(["python -m benchmarks.run", *argv[1:]]),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "node": node.stdout.strip(),
        "versions": {
            "pycrdt": version("pycrdt"),
            "pycrdt-websocket": version("pycrdt-websocket"),
            "uvicorn": version("uvicorn"),
            "websockets": version("websockets"),
            "reference": ServerProcess("reference").version(),
        },
    }


def print_tables(results: list[Row]) -> None:
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in results:
        groups.setdefault(tuple(row), []).append(row)
    for cols, rows in groups.items():
        key = next((c for c in RATIO_OF if c in cols), None)
        # Each row is compared with the reference row of the same scenario and round.
        rounds: dict[tuple[str, str], int] = {}
        tagged = []
        for row in rows:
            n = rounds[row["scenario"], row["server"]] = (
                rounds.get((row["scenario"], row["server"]), -1) + 1
            )
            tagged.append((n, row))
        reference = {
            (r["scenario"], n): r[key] for n, r in tagged if key and r["server"] == "reference"
        }
        header = [*cols, *([f"{RATIO_OF[key]} vs reference"] if key else [])]
        print("\n| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for n, row in tagged:
            cells = [str(row[c]) for c in cols]
            if key:
                ref = reference.get((row["scenario"], n))
                cells.append(f"{row[key] / ref:.2f}" if ref else "")
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
