"""SIGTERM under load: a graceful shutdown loses nothing.

    python -m benchmarks.faults.sigterm [--rounds 20] [--clients 50] [--rooms 5] [--rate 20]

The load of kill9.py; at a random moment of each round the server gets SIGTERM and the
campaign times how long the process takes to exit (``shutdown_s``) and records its exit
code and how many clients were closed with 1012 (service restart). Then it reads the
database file and counts, like kill9.py, what storage lacks.

What "acknowledged" means in the y-websocket protocol, which has no acknowledgement: an
edit is acknowledged once the server has (1) relayed it to any other client, or (2) sent its
author a SyncStep1 (the greeting of a connection, or the 'saved' notice) whose state vector
covers it. Accord does both only after the edit is committed, so an acknowledged edit is on
disk; ``received_missing`` and ``acked_lost`` check exactly that and must be 0. A graceful
shutdown must also keep what was sent before the signal, acknowledged or not:
``lost_before_signal`` counts edits sent before SIGTERM that storage lacks, and must be 0 (the
server asks every writing client for what it lacks before it closes them: see
`Rooms.close`). Edits sent after the signal may not be read by a closing server
(``sent_lost``); their authors still hold them and resync them (``recovered``). The exit code
must be 0 and every client should be closed with 1012 (``closed_1012``).
"""

from __future__ import annotations

import sys

from benchmarks.faults import kill9

if __name__ == "__main__":
    sys.exit(kill9.main(fault="term", doc=__doc__ or ""))
