"""Giving freed memory back to the operating system after rooms unload.

A room's document lives in pycrdt (Rust) allocations made through the C allocator. When a
room unloads they are freed, but glibc keeps freed chunks in its arenas for reuse: the
process's resident size stays at its peak although the memory is free. ``malloc_trim``
returns the free pages of every arena. It runs once, a few seconds after the last of a
series of unloads (`Rooms`), not after each one. Elsewhere than glibc it does nothing.

A full collection of the garbage collector goes first. The objects of rooms and connections
do not depend on it (they hold no reference cycles once closed, see
`server.ws_protocol.SyncProtocol.connection_lost`), and it is short: what lives since
start-up is frozen out of it (`accord serve`).

Python's own allocator for small objects (pymalloc) gives a 1 MiB arena back only once
nothing in it is alive, and a few hundred objects left from a peak keep dozens of otherwise
empty arenas: the objects the event loop keeps for reuse (`renew_free_lists`) and the names
held by the interpreter's type cache (cleared in `release_free_memory`). A census of the
arenas after the memory benchmark's unload (docs/performance.md, scenario 6) found them.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import sys
import time

log = logging.getLogger(__name__)


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


_libc = _glibc()

# The event loop keeps the objects of its last callbacks, timers and future iterators for
# reuse (uvloop's `Handle` and `TimerHandle` keep 250 each, asyncio's future iterator 255).
# Those freed at the end of a peak sit in arenas the peak opened, one or two per arena.
# Renewing a free list: take every kept object out of it, fill it again with new ones (which
# the allocator places in the pools it is filling, among live objects), and only then free
# the old ones. Where a free list works otherwise, this only makes and frees a few objects.
FREE_LIST_RENEWAL = 300  # more than any of those free lists holds


def _nothing() -> None:
    pass


def _make(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]
) -> tuple[list[asyncio.Handle], list[asyncio.TimerHandle], list[object]]:
    return (
        [loop.call_soon(_nothing) for _ in range(FREE_LIST_RENEWAL)],
        [loop.call_later(3600, _nothing) for _ in range(FREE_LIST_RENEWAL)],
        [future.__await__() for _ in range(FREE_LIST_RENEWAL)],
    )


async def renew_free_lists() -> None:
    """Replace the objects the event loop keeps for reuse with new ones (see above)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    # Made first, these take the kept objects; the second batch is made new.
    kept = _make(loop, future)
    new = _make(loop, future)
    for timer in kept[1] + new[1]:
        timer.cancel()
    await asyncio.sleep(0)  # the loop runs the callbacks and lets go of them
    del new  # back into the free lists
    del kept  # the lists are full: back to the allocator
    future.cancel()


def release_free_memory() -> None:
    """Return the allocator's free pages to the operating system, where that is possible."""
    # A full collection first: it also empties the interpreter's free lists of tuples,
    # lists, dicts and floats, which otherwise keep objects from the peak in memory.
    started = time.perf_counter()
    gc.collect()
    # The interpreter's cache of attribute lookups keeps the name of every lookup it holds,
    # and C code that calls a method by a C string makes a new name each time: in Python
    # 3.11 `datetime.isoformat` with a time zone (each timestamp Accord writes) leaves a new
    # "utcoffset" there. Hundreds of them, scattered over the peak's arenas.
    sys._clear_type_cache()
    collected = time.perf_counter() - started
    if _libc is not None:
        _libc.malloc_trim(0)
        log.debug("returned free memory to the system (full collection: %.1f ms)", collected * 1e3)
