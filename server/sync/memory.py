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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
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


def release_free_memory() -> None:
    """Return the allocator's free pages to the operating system, where that is possible."""
    # A full collection first: it also empties the interpreter's free lists of tuples,
    # lists, dicts and floats, which otherwise keep objects from the peak in memory.
    started = time.perf_counter()
    gc.collect()
    collected = time.perf_counter() - started
    if _libc is not None:
        _libc.malloc_trim(0)
        log.debug("returned free memory to the system (full collection: %.1f ms)", collected * 1e3)
