"""Fan-out scenarios (issue 4, scenarios 1-3): writers type into rooms, everyone else times
the arrival of each update. Latency is from the writer's send to each other client's
receipt (p50, p99, max over all deliveries).

The paced scenarios also report the p99 of the edits sent after their first second
(``p99_after_1s_ms``). In a run of 8 s the slowest 1 % of deliveries is a few hundred, and
in one pair of `rooms100x10` runs the first quarter second supplied 369 (Accord) and 528
(the reference) of the ~720 (2026-11-29, `docs/performance.md`); in other runs Accord's
slowest were spread over the whole run. The overall p99 stays the figure compared."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from benchmarks.clients import (
    BenchClient,
    Timing,
    close_all,
    connect_all,
    cpu_now,
    cursor_frame,
    typing_updates,
)
from benchmarks.servers import ServerProcess


@dataclass(frozen=True)
class Fanout:
    rooms: int = 1
    writers: int = 1  # per room
    observers: int = 0  # per room
    rate: float = 10.0  # edits a second per writer
    burst: int = 0  # edits per writer, sent as fast as possible (rate is ignored)
    cursors: bool = False  # a cursor awareness update with every edit


def percentile(values: list[float], p: float) -> float:
    return round(values[min(len(values) - 1, int(p * len(values)))], 2) if values else 0.0


@dataclass
class Outcome:
    scenario: str
    server: str
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    sent: int = 0
    expected: int = 0
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    loadgen_cpu_s: float = 0.0
    steady_ms: list[float] | None = field(default=None, repr=False)  # sent after 1 s

    def summary(self) -> dict[str, object]:
        lat = sorted(self.latencies_ms)
        return {
            "scenario": self.scenario,
            "server": self.server,
            "updates_sent": self.sent,
            "deliveries": len(lat),
            "deliveries_expected": self.expected,
            "p50_ms": percentile(lat, 0.50),
            "p99_ms": percentile(lat, 0.99),
            "max_ms": round(lat[-1], 2) if lat else 0.0,
            **(
                {"p99_after_1s_ms": percentile(sorted(self.steady_ms), 0.99)}
                if self.steady_ms is not None
                else {}
            ),
            "mean_ms": round(statistics.fmean(lat), 2) if lat else 0.0,
            "throughput_updates_s": round(self.sent / self.seconds, 1) if self.seconds else 0,
            "server_cpu_s": round(self.server_cpu_s, 2),
            "server_peak_rss_mb": round(self.peak_rss_mb, 1),
            "loadgen_cpu_s": round(self.loadgen_cpu_s, 2),
        }


async def run_fanout(server: ServerProcess, name: str, spec: Fanout, seconds: float) -> Outcome:
    timing = Timing()
    count = spec.burst or max(1, int(spec.rate * seconds))
    writer_ids: list[tuple[int, BenchClient]] = []
    clients: list[BenchClient] = []
    next_id = 1000
    for room in server.new_rooms(spec.rooms, name):
        url = server.room_url(room)
        for _ in range(spec.writers):
            client = BenchClient(url, timing, own=next_id)
            writer_ids.append((next_id, client))
            clients.append(client)
            next_id += 1
        clients += [BenchClient(url, timing) for _ in range(spec.observers)]
    frames = {cid: typing_updates(count, cid) for cid, _ in writer_ids}
    await connect_all(clients)
    await asyncio.sleep(0.5)  # let greetings and saved notices settle
    cpu0, load0 = server.cpu_seconds(), cpu_now()
    start = time.perf_counter()
    interval = 1 / spec.rate
    sent_at = timing.sent_at

    async def write(index: int, cid: int, client: BenchClient) -> None:
        # Writers are spread evenly over one interval so that they do not all fire at once.
        next_at = time.perf_counter() + (index / len(writer_ids)) * interval
        for clock, frame in enumerate(frames[cid]):
            if not spec.burst:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += interval
            elif clock % 20 == 0:
                await asyncio.sleep(0)
            sent_at[(cid, clock)] = time.perf_counter()
            client.send(frame)
            if spec.cursors:
                client.send(cursor_frame(cid, clock, server.identity))

    await asyncio.gather(*(write(i, cid, c) for i, (cid, c) in enumerate(writer_ids)))
    per_room = spec.writers + spec.observers - 1
    expected = len(writer_ids) * count * per_room
    deadline = time.perf_counter() + 30
    while len(timing.latencies_ms) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    outcome = Outcome(
        name,
        server.kind,
        timing.latencies_ms,
        len(writer_ids) * count,
        expected,
        elapsed,
        server.cpu_seconds() - cpu0,
        server.rss_mb(peak=True),
        cpu_now() - load0,
    )
    if not spec.burst:
        outcome.steady_ms = [
            latency
            for latency, sent in zip(timing.latencies_ms, timing.sent_times, strict=True)
            if sent >= start + 1.0
        ]
    await close_all(clients)
    return outcome


SCENARIOS = {
    "writers20-paced": Fanout(writers=20, rate=10),
    "writers20-paced-cursors": Fanout(writers=20, rate=10, cursors=True),
    "writers20-burst": Fanout(writers=20, burst=400),
    "writers20-burst-cursors": Fanout(writers=20, burst=400, cursors=True),
    "observers100": Fanout(writers=1, observers=100, rate=25),
    "observers500": Fanout(writers=1, observers=500, rate=25),
    "rooms100x10": Fanout(rooms=100, writers=10, rate=1, cursors=True),
}
