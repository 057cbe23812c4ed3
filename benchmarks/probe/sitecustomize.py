"""Loaded by every Python process started with this folder on PYTHONPATH; it acts only in
`accord serve` started by `benchmarks.breakdown` (ACCORD_BREAKDOWN set): see that module."""

import os

if os.environ.get("ACCORD_BREAKDOWN"):
    _argv = open("/proc/self/cmdline", "rb").read().split(b"\0")  # noqa: SIM115
    if b"server.cli" in _argv and b"serve" in _argv:
        from benchmarks.breakdown import install

        install(os.environ["ACCORD_BREAKDOWN"])
