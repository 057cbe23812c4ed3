"""Who is here: the awareness states of a room, and which connection owns which client id.

A connection owns the client ids it announces first (a y-websocket client announces its own
id as soon as it connects). Standard clients also re-send, unchanged, the states of others
they receive: those echoes are dropped, never relayed, so a cursor move costs one frame per
peer, not one per pair of peers. A newer state for an id that another live connection owns
is an attempt to speak for someone else, and is refused (`PolicyViolation`). The server never
adds a state of its own, but it names the person behind each one: `stamp` sets a state's
``user`` field from the account, so nobody can appear as someone else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from server.errors import PolicyViolation
from server.sync import protocol
from server.sync.protocol import AwarenessEntry, AwarenessMessage

Owner = TypeVar("Owner")

MAX_IDS_PER_CONNECTION = 4  # a reconnecting client may change its id; nobody needs more


def stamp(entry: AwarenessEntry, identity: dict[str, str]) -> AwarenessEntry:
    """The entry with its ``user`` field set by the server from the account.

    The entry itself when it already names the account exactly (Accord's web app announces
    the identity the server gives it), so its text is relayed as the client wrote it."""
    if entry.state == "null":
        return entry
    value = protocol.state_value(entry.state) if entry.value is None else entry.value
    state = value if isinstance(value, dict) else {}
    if state.get("user") == identity:
        return entry
    state["user"] = identity
    return AwarenessEntry(entry.client_id, entry.clock, json.dumps(state, ensure_ascii=False))


@dataclass(slots=True)
class ClientState:
    clock: int
    state: str


class Presence(Generic[Owner]):
    def __init__(self) -> None:
        self.states: dict[int, ClientState] = {}
        self.clocks: dict[int, int] = {}  # last clock seen per id, kept after it leaves
        self.owners: dict[int, Owner] = {}
        self._claims: dict[Owner, set[int]] = {}

    def relay(
        self, owner: Owner, message: AwarenessMessage, identity: dict[str, str] | None
    ) -> bytes | None:
        """Take what ``owner`` sent, named after ``identity`` (`stamp`), and return the frame
        to relay to the others, or None when nothing in it is new.

        Raises `PolicyViolation` like `accept`.
        """
        entries = message.entries
        if identity is not None:
            entries = tuple(stamp(entry, identity) for entry in entries)
        accepted = self.accept(owner, entries)
        if not accepted:
            return None
        if len(accepted) == len(message.entries) and all(
            mine is theirs for mine, theirs in zip(accepted, message.entries, strict=True)
        ):  # relayed as it came: nothing dropped, no name stamped
            return protocol.awareness_frame(message.payload)
        return protocol.awareness([(e.client_id, e.clock, e.state) for e in accepted])

    def accept(self, owner: Owner, entries: tuple[AwarenessEntry, ...]) -> list[AwarenessEntry]:
        """Apply what ``owner`` may set; return those entries (to relay). Echoes are dropped.

        Raises `PolicyViolation` for a newer state of an id another connection owns, or for
        too many ids on one connection.
        """
        claims = self._claims.get(owner, set())
        first = not claims
        new_claims: set[int] = set()
        accepted = []
        for entry in entries:  # decide everything first: a refused message changes nothing
            cid = entry.client_id
            holder = self.owners.get(cid)
            last = self.clocks.get(cid, -1)
            if holder is not None and holder is not owner:
                if entry.clock > last:
                    raise PolicyViolation("awareness for a client id owned by another connection")
                continue  # an echo of someone else's state
            if holder is None:
                if not (first or cid not in self.clocks):
                    continue  # an echo of someone who has left
                new_claims.add(cid)
            elif entry.clock < last:
                continue  # stale
            accepted.append(entry)
        if len(claims | new_claims) > MAX_IDS_PER_CONNECTION:
            raise PolicyViolation("too many awareness client ids on one connection")
        if new_claims:
            self._claims[owner] = claims | new_claims
            for cid in new_claims:
                self.owners[cid] = owner
        for entry in accepted:
            self.clocks[entry.client_id] = entry.clock
            if entry.state == "null":
                self.states.pop(entry.client_id, None)
            else:
                self.states[entry.client_id] = ClientState(entry.clock, entry.state)
        return accepted

    def release(self, owner: Owner) -> bytes | None:
        """Forget ``owner``'s ids; return the awareness frame that removes them, if any."""
        removals = []
        for cid in self._claims.pop(owner, set()):
            if self.owners.get(cid) is owner:
                del self.owners[cid]
            state = self.states.pop(cid, None)
            if state is not None:
                self.clocks[cid] = state.clock + 1
                removals.append((cid, state.clock + 1, "null"))
        return protocol.awareness(removals) if removals else None

    def snapshot(self) -> bytes | None:
        """One awareness frame with every present state, or None when nobody is here."""
        if not self.states:
            return None
        return protocol.awareness([(cid, s.clock, s.state) for cid, s in self.states.items()])
