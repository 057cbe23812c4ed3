"""A room: one open document, its connected peers and their presence.

The path of an edit: a peer's Update is applied to the room's Doc (which validates it; a
crash inside pycrdt costs only the sender its connection), the change the Doc reports is
appended to the log, and only once that commit is durable is the change sent, encoded once,
to every other peer. Replies that reveal the document's state wait for the same commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Subscription, Text, TransactionEvent, merge_updates

from server.errors import InvalidPayload, ReadOnly
from server.sync import checks, order, protocol, structs
from server.sync.awareness import Presence
from server.sync.peer import Peer
from server.sync.protocol import (
    AwarenessMessage,
    QueryAwareness,
    SyncMessage,
    SyncType,
)
from server.sync.store import EMPTY_UPDATE, UpdateLog

log = logging.getLogger(__name__)

EMPTY_STATE_VECTOR = b"\x00"
REBASE_AFTER = 500  # changes kept after the last rebuild's base before they are merged into it
IDLE_UPDATE_BYTES = 1024 * 1024  # the largest answer to a saved notice a room keeps to compare


class Room:
    def __init__(
        self,
        document_id: str,
        state: bytes,
        updates: UpdateLog,
        *,
        saved_notice_ms: float = 200.0,
        max_awareness_entries: int = 64,
        on_change: Callable[[Room], None] | None = None,
    ) -> None:
        self.document_id = document_id
        self.updates = updates
        self.saved_notice_seconds = saved_notice_ms / 1000
        self.max_awareness_entries = max_awareness_entries
        self.on_change = on_change
        self.peers: set[Peer] = set()
        self.presence: Presence[Peer] = Presence()
        self.unsaved: deque[bytes] = deque()  # applied, not yet committed, oldest first
        self.last_write: asyncio.Future[Any] | None = None
        self.appended = 0
        self.broken = False
        self.frozen = False  # not a draft (in review, or ratified): nobody writes
        self.editors: set[int] = set()  # who edited since the last version was taken
        # Who wrote first with each client id: {client id: user id} (see `checks.claims`).
        self.writers: dict[int, int] = {}
        self._changes: list[bytes] = []
        # The SyncStep2 answering an empty state vector (a new client): the whole document,
        # encoded once per state and shared by every joiner until the next change.
        self._full_reply: bytes | None = None
        self._subscription: Subscription | None = None
        # Writers owed a 'saved' notice, sent together by one timer (see `schedule_saved_notice`).
        self._owed_notice: set[Peer] = set()
        # Kept once the Doc had to be rebuilt (a client sent an update it could not take):
        # what storage holds, as one update plus the changes committed since, so that the
        # next rebuild need not read and merge the whole log again.
        self._base: bytes | None = None
        self._since: list[bytes] = []
        self._delete_set: dict[int, list[tuple[int, int]]] | None = None  # see `_deleted`
        # The last update without new text that changed nothing (see `_receive_update`).
        self._idle_update: bytes | None = None
        # Where a cut would split a character (`checks.halves`); given by `Rooms` at load,
        # else made at the first update, and made anew after a server-side edit.
        self.halves: dict[int, set[int]] | None = None
        self._notice_timer: asyncio.TimerHandle | None = None
        # The text's order, deleted characters included (`server.sync.order`).
        self.ordering = order.Ordering()
        self.doc = self._new_doc(state)

    # -- the document -------------------------------------------------------------------

    def _new_doc(self, state: bytes, observe: bool = True) -> Doc[Text]:
        doc: Doc[Text] = Doc()
        doc.get("content", type=Text)
        if state != EMPTY_UPDATE:
            doc.apply_update(state)
        if observe:
            # The Doc (Rust) holds this callback and so the Room: Python's cycle collector
            # cannot see through it, so `close` must unobserve or the room never dies.
            self._subscription = doc.observe(self._on_transaction)
        return doc

    def close(self) -> None:
        """Release the Doc: called when the room is unloaded."""
        self._unobserve()
        if self._notice_timer is not None:
            self._notice_timer.cancel()
            self._notice_timer = None

    def _unobserve(self) -> None:
        if self._subscription is not None:
            self.doc.unobserve(self._subscription)
            self._subscription = None

    def _on_transaction(self, event: TransactionEvent) -> None:
        update = event.update
        if update != EMPTY_UPDATE:
            self._changes.append(update)
            self._full_reply = None
            self._delete_set = None

    @property
    def text(self) -> str:
        return str(self.doc.get("content", type=Text))

    def _apply(self, update: bytes, walk: structs.Walk | None = None) -> list[bytes]:
        """Apply an untrusted update; return the changes the Doc accepted.

        An update that was walked (``walk``, made by `_check_writer`: anything but a
        keystroke) is first checked against the Doc's state, before the Doc sees it: it must
        not need structs neither holds (`checks.held_dependencies`) nor rewrite clocks its
        client has used (`checks.no_rewrites`). Every update, keystrokes included, must put
        its text between characters that were side by side for its typist (`server.sync.order`).
        Refused there, it costs nothing else.

        Some malformed updates apply without error but leave the Doc unable to encode itself
        (every later joiner would crash): so the new part is encoded once as a check, unless
        the Doc's own encoding of the change, made as it took it, is the update byte for byte
        (a real client's keystroke): that encoding is then proven, and the check, which
        writes the Doc's whole delete set too, would cost each keystroke more the more text
        was ever deleted (0.7 ms with 20,000 deleted ranges). When the Doc integrated
        something else than what was sent, it is looked at closer: an update whose structs
        were not all integrated (pycrdt would show some as text that is never stored nor
        relayed), that rewrote used clocks, or that became an empty struct (a change that
        makes clients panic), is refused.
        Any failure costs the sender its connection; if the Doc may have changed, it is rebuilt
        from storage.
        """
        self._changes = []
        before = self.doc.get_state()
        applied, checked = False, walk is not None
        try:
            if walk is not None:
                prior = protocol.parse_state_vector(before)
                checks.held_dependencies(walk, prior)
                checks.no_rewrites(self.doc, update, walk, prior)
            placing = self.ordering.check(self.doc, update, walk)
            applied = True
            self.doc.apply_update(update)
            if self._changes and self._changes != [update]:
                self.doc.get_update(before)
            if self._changes != [update] and update[:1] != b"\x00":
                walks = [structs.walk_update(change) for change in self._changes]
                state = protocol.parse_state_vector(self.doc.get_state())
                walk = walk or structs.walk_update(update)
                if walk.skips or any(state.get(c, 0) < end for c, end in walk.ends.items()):
                    raise InvalidPayload(checks.MISSING)
                if not checked:
                    checks.no_rewrites(self.doc, update, walk, protocol.parse_state_vector(before))
                if walk.halves or self.halves:
                    # A deletion that arrived before its text waits in the Doc and takes
                    # effect now, as part of this change: it must not cut an emoji either.
                    checks.no_cut_deletions(walks, self.halves or {}, walk.halves)
        except InvalidPayload as exc:  # its message is ours, never the document's text
            self._changes = []
            if not applied:
                log.warning("refused an update (%s)", exc)
                raise
            log.warning("refused an update (%s); rebuilding the document", exc)
            self._rebuild()
            raise
        except Exception as exc:
            self._changes = []
            # A decoding error (ValueError) comes before any change; an error while
            # integrating may come after part of the update is in the Doc, unstored.
            if not isinstance(exc, ValueError) or self.doc.get_state() != before:
                log.warning("an update failed half-applied; rebuilding the document")
                self._rebuild()
            raise InvalidPayload("invalid update") from exc
        except BaseException as exc:
            if not checks.is_panic(exc):
                raise
            self._changes = []
            log.warning("an update crashed pycrdt; rebuilding the document from storage")
            self._rebuild()
            raise InvalidPayload("invalid update") from None
        changes, self._changes = self._changes, []
        self.ordering.taken(changes, update, placing)
        return changes

    def _rebuild(self) -> None:
        if self._base is None:
            self._base = self.updates.load_now(self.document_id).state
        elif len(self._since) > REBASE_AFTER:
            self._base, self._since = merge_updates(self._base, *self._since), []
        self._unobserve()
        # Merged into one update by yrs's merge, which reads structs without integrating
        # them, never replayed one by one: a forged history replayed one update at a time
        # can make yrs loop forever in its conflict resolution, holding the GIL (fuzz runs
        # froze the whole server here twice, the second time in `store.merge`, which replays
        # on a Doc when there are many parts), while the same updates merged integrate at
        # once (`test_a_rebuild_of_a_history_that_hangs_a_replay_ends`). At most
        # REBASE_AFTER changes are merged so (merge_updates is quadratic: ~5 ms for 500).
        # The unsaved ones may repeat committed ones; merging them again is harmless.
        self.doc = self._new_doc(merge_updates(self._base, *self._since, *self.unsaved))
        self.ordering.rebuilt(self.doc)
        self._full_reply = None
        self._delete_set = None
        self._idle_update = None  # deletions of text it lacked waited in the old Doc only

    # -- peers --------------------------------------------------------------------------

    def set_writable(self, peer: Peer, writable: bool) -> None:
        writable = writable and not self.frozen
        if peer.can_write == writable:
            return
        if writable:  # reconnecting lets the client sync both ways and learn its new role
            peer.close(4000, "your role changed; reconnect")
            return
        peer.can_write = False
        peer.send(protocol.auth_denied("read-only"))

    def join(self, peer: Peer) -> None:
        self.peers.add(peer)
        if self.frozen:
            peer.can_write = False
        if not peer.can_write:
            peer.send(protocol.auth_denied("read-only"))
        if peer.can_write:
            # Ask for what the client has and we lack (its offline edits). A read-only client
            # is never asked, so anything it sends that would change the text is refused.
            greeting = protocol.sync_step1(self.doc.get_state())
            self._after_commit(lambda: peer.send(greeting))
        snapshot = self.presence.snapshot()
        if snapshot is not None:
            peer.send(snapshot)

    def leave(self, peer: Peer) -> None:
        self.peers.discard(peer)
        self._owed_notice.discard(peer)
        removal = self.presence.release(peer)
        if removal is not None:
            self.broadcast(removal)

    def broadcast(self, frame: bytes, exclude: Peer | None = None) -> None:
        for peer in self.peers:
            if peer is not exclude:
                peer.send(frame)

    # -- messages -----------------------------------------------------------------------

    def receive(self, peer: Peer, frame: bytes) -> None:
        """Handle one frame from ``peer``. Raises `SyncError` if the peer must be closed."""
        message = protocol.parse(frame, self.max_awareness_entries)
        if isinstance(message, SyncMessage):
            if message.kind is SyncType.STEP1:
                self._answer_step1(peer, message.payload)
            else:
                self._receive_update(peer, message.payload)
        elif isinstance(message, AwarenessMessage):
            relay = self.presence.relay(peer, message, peer.identity)
            if relay is not None:
                # A cursor is relative to the text: it goes out after the edits before it
                # (the client sent them first), together with them.
                self._after_commit(lambda: self.broadcast(relay))
        elif isinstance(message, QueryAwareness):
            snapshot = self.presence.snapshot()
            if snapshot is not None:
                peer.send(snapshot)

    def _answer_step1(self, peer: Peer, state_vector: bytes) -> None:
        protocol.parse_state_vector(state_vector)  # strict check before pycrdt sees it
        cached = self._full_reply if state_vector == EMPTY_STATE_VECTOR else None
        if cached is not None:
            self._after_commit(lambda: peer.send(cached))
            return
        try:
            reply = protocol.sync_step2(self.doc.get_update(state_vector))
            if state_vector == EMPTY_STATE_VECTOR:
                self._full_reply = reply
        except Exception as exc:
            raise InvalidPayload("invalid state vector") from exc
        except BaseException as exc:
            if not checks.is_panic(exc):
                raise
            log.error("the document could not be encoded; rebuilding it from storage")
            self._rebuild()
            raise InvalidPayload("invalid state vector") from None
        self._after_commit(lambda: peer.send(reply))

    def _receive_update(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE or update == self._idle_update:
            return
        protocol.check_update_counts(update)  # before pycrdt sees it
        if not peer.can_write:
            self._check_read_only(update)
            return
        claims, walk = self._check_writer(peer, update)
        changes = self._apply(update, walk)
        if not changes and update[:1] == b"\x00" and len(update) <= IDLE_UPDATE_BYTES:
            # No structs, only deletions the Doc already has: y-websocket's answer to each
            # saved notice, which carries the sender's whole delete set (~550 µs to apply
            # with 5,000 deletions). Every writer in the room answers with the same bytes
            # until someone deletes again; an update applied twice changes nothing more, so
            # the same bytes again are not applied again.
            self._idle_update = update
        if changes and peer.user_id is not None:
            for client in claims:
                self.writers[client] = peer.user_id
                self.updates.claim(self.document_id, client, peer.user_id)
        if walk is not None and walk.halves:  # new characters outside the BMP
            assert self.halves is not None
            for change in changes:
                added = walk.halves if change == update else structs.walk_update(change).halves
                for client, clocks in added.items():
                    self.halves.setdefault(client, set()).update(clocks)
        for change in changes:
            self._persist(peer, change)
        if changes:  # a reply that brings nothing new is not an edit to acknowledge
            self.schedule_saved_notice(peer)

    def _check_writer(self, peer: Peer, update: bytes) -> tuple[list[int], structs.Walk | None]:
        """The client ids ``update`` claims for ``peer`` (`checks.claims`) and its walk, after
        refusing it if it writes under another person's id or cuts a character in half
        (`checks.whole_characters`).

        A keystroke is one struct under the writer's own id, at its client's next clock and
        between characters the room holds (`Ordering.may_skip_walk`: anything else is walked
        and checked before the Doc sees it, instead of refused after and the Doc rebuilt), without
        characters outside the BMP, in a document without any: then nothing can be wrong
        and the update is not walked (at 1,000 updates a second that walk, ~15 µs, was what
        tipped the 1,000-client benchmark over its knee: p99 25 → 140 ms)."""
        if self.halves is None:
            self.halves = checks.halves(self.doc.get_update())
        clients, count, first, clock = structs.update_header(update)
        own = first is None or (clients == count == 1 and self.writers.get(first) == peer.user_id)
        astral = bool(self.halves) or structs.may_hold_astral(update)
        if (
            own
            and not astral
            and (first is None or self.ordering.may_skip_walk(update, first, clock))
        ):
            return [], None
        walk = structs.walk_update(update)
        claims = [] if own else checks.claims(self.doc, self.writers, peer.user_id, walk)
        if astral:
            checks.whole_characters(
                walk,
                self.halves,
                lambda: protocol.parse_state_vector(self.doc.get_state()),
                self._deleted,
            )
        return claims, walk

    def _check_read_only(self, update: bytes) -> None:
        """A read-only client may send back what the server has; anything new is refused."""
        checks.check_read_only(self.doc, update, self._deleted)

    def _deleted(self) -> dict[int, list[tuple[int, int]]]:
        """The Doc's delete set, ranges merged and sorted per client; kept until it changes."""
        if self._delete_set is None:
            self._delete_set = checks.delete_set(self.doc)
        return self._delete_set

    def freeze(self, frozen: bool) -> None:
        """The document left draft (nobody may write) or came back to it (reconnect, so that
        writers get their rights back)."""
        if frozen == self.frozen:
            return
        self.frozen = frozen
        for peer in list(self.peers):
            if frozen:
                self.set_writable(peer, False)
            else:
                peer.close(4000, "the document is a draft again; reconnect")

    def edit(self, change: Callable[[Text], None], author: int | None = None) -> None:
        """A server-side edit (an accepted suggestion, a restored version): made on the Doc in
        one transaction, then stored and broadcast to every peer like any peer's edit."""
        if self.frozen:
            raise ReadOnly("this document is not a draft")
        if author is not None:
            self.editors.add(author)
        self._changes = []
        with self.doc.transaction():
            change(self.doc.get("content", type=Text))
        changes, self._changes = self._changes, []
        self.halves = None  # the change may hold characters outside the BMP: made anew
        self.ordering.taken(changes, b"", None)
        for update in changes:
            self._persist(None, update)

    def _persist(self, sender: Peer | None, change: bytes) -> None:
        if sender is not None and sender.user_id is not None:
            self.editors.add(sender.user_id)
        self.unsaved.append(change)
        frame = protocol.sync_update(change)
        future = self.updates.append(self.document_id, change)
        self.last_write = future
        self.appended += 1

        def committed(f: asyncio.Future[Any]) -> None:
            self.unsaved.popleft()
            if f.cancelled() or f.exception() is not None:
                self._storage_failed()
                return
            if self._base is not None:
                self._since.append(change)
            self.broadcast(frame, exclude=sender)
            if self.on_change is not None:
                self.on_change(self)

        future.add_done_callback(committed)

    def _storage_failed(self) -> None:
        """A commit failed: the Doc holds a change storage lacks. Close everyone; the room is
        reloaded from storage on the next join and clients resend what it lacks."""
        if self.broken:
            return
        log.error("storing an update failed; closing the room so clients resync")
        self.broken = True
        for peer in list(self.peers):
            peer.close(1011, "storage failed, reconnect")

    def _after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once everything applied so far is durable."""
        pending = self.last_write
        if pending is None or pending.done():
            action()
        else:
            pending.add_done_callback(lambda f: None if self.broken else action())

    def schedule_saved_notice(self, peer: Peer) -> None:
        """Tell the peer, soon, which state the server holds durably (its 'saved' signal).
        One timer per room: everyone who edited in the meantime gets the same notice."""
        self._owed_notice.add(peer)
        if self._notice_timer is None:
            loop = asyncio.get_running_loop()
            self._notice_timer = loop.call_later(self.saved_notice_seconds, self._send_notices)

    def _send_notices(self) -> None:
        self._notice_timer = None
        owed, self._owed_notice = self._owed_notice, set()
        notice = protocol.sync_step1(self.doc.get_state())

        def send() -> None:
            for peer in owed:
                if peer in self.peers:
                    peer.send(notice)

        self._after_commit(send)

    async def settle(self) -> None:
        """Wait until every update applied so far is committed."""
        if self.last_write is not None and not self.last_write.done():
            await asyncio.shield(self.last_write)


__all__ = ["Room"]
