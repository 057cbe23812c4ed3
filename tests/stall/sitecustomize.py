"""Loaded (through PYTHONPATH) only into servers that `tests/test_notify.py` starts: SIGUSR2
makes the main thread, which runs the event loop, sleep for 1.5 s. The loop stops turning
while every other thread goes on, as when yrs loops inside a call that holds the loop."""

import signal
import time

signal.signal(signal.SIGUSR2, lambda *_: time.sleep(1.5))
