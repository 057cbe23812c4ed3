"""`benchmarks.faults.soak`, short: with ``--edits replace`` every client keeps exactly one
word in its document however many edits it sends, so the documents stop growing (what the
option is for: telling a leak from the documents' own growth). The server stays up, no
connection drops, and the report has its samples. No timing or memory figure is asserted."""

from __future__ import annotations

from benchmarks.faults import soak
from benchmarks.faults.common import WORDS


def test_replace_edits_keep_every_document_the_same_length() -> None:
    clients, rooms = 8, 2
    result = soak.soak(
        soak.options(
            [
                "--minutes=0.15",
                f"--connections={clients}",
                f"--rooms={rooms}",
                "--workers=1",
                "--interval=2",
                "--warmup-seconds=0",
                "--settle-seconds=1",
                "--edits=replace",
                "--env=ACCORD_ROOM_UNLOAD_SECONDS=1",
            ]
        )
    )
    assert result["server_alive_at_end"]
    assert result["connections"] == clients
    assert result["load"]["closes"] == 0 and result["load"]["errors"] == 0
    assert result["server_warnings"] == {}
    per_room = clients // rooms
    longest = max(len(word) for word in WORDS)
    # Appending, each client would have typed one word a second for 9 s by now.
    assert result["load"]["edits"] >= clients * 5
    assert len(result["text_chars"]) == rooms
    assert all(0 < chars <= per_room * longest for chars in result["text_chars"])
    assert len(result["samples"]) >= 3
