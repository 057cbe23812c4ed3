"""Who is here: the awareness states of a room, and which connection owns which client id.

The server keeps the latest (clock, JSON state) of every client id and the connection that
first claimed it. A connection that sends states for an id another connection owns is
rejected (`PolicyViolation`): nobody can speak for, or remove, someone else. The server never
adds a state of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from server.errors import PolicyViolation
from server.sync import protocol
from server.sync.protocol import AwarenessEntry

Owner = TypeVar("Owner")

MAX_IDS_PER_CONNECTION = 4  # a reconnecting client may change its id; nobody needs more


@dataclass(slots=True)
class ClientState:
    clock: int
    state: str


class Presence(Generic[Owner]):
    def __init__(self) -> None:
        self.states: dict[int, ClientState] = {}
        self.owners: dict[int, Owner] = {}

    def check(self, owner: Owner, entries: tuple[AwarenessEntry, ...]) -> None:
        """Raise `PolicyViolation` unless ``owner`` may set every entry."""
        claimed = {cid for cid, o in self.owners.items() if o is owner}
        for entry in entries:
            holder = self.owners.get(entry.client_id)
            if holder is not None and holder is not owner:
                raise PolicyViolation("awareness for a client id owned by another connection")
            claimed.add(entry.client_id)
        if len(claimed) > MAX_IDS_PER_CONNECTION:
            raise PolicyViolation("too many awareness client ids on one connection")

    def apply(self, owner: Owner, entries: tuple[AwarenessEntry, ...]) -> None:
        for entry in entries:
            current = self.states.get(entry.client_id)
            if current is not None and entry.clock < current.clock:
                continue  # stale
            if entry.state == "null":
                self.states.pop(entry.client_id, None)
                # keep ownership: the id stays this connection's until it leaves
                self.owners[entry.client_id] = owner
            else:
                self.states[entry.client_id] = ClientState(entry.clock, entry.state)
                self.owners[entry.client_id] = owner

    def release(self, owner: Owner) -> bytes | None:
        """Forget ``owner``'s ids; return the awareness frame that removes them, if any."""
        gone = [cid for cid, o in self.owners.items() if o is owner]
        removals = []
        for cid in gone:
            del self.owners[cid]
            state = self.states.pop(cid, None)
            if state is not None:
                removals.append((cid, state.clock + 1, "null"))
        return protocol.awareness(removals) if removals else None

    def snapshot(self) -> bytes | None:
        """One awareness frame with every present state, or None when nobody is here."""
        if not self.states:
            return None
        return protocol.awareness([(cid, s.clock, s.state) for cid, s in self.states.items()])
