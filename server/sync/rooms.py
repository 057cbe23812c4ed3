"""The open rooms: each document is loaded once, however many clients join at the same
moment, and unloaded a while after its last client leaves."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from pycrdt import get_state

from server import documents
from server.settings import Settings
from server.sync import checks, order, store
from server.sync.memory import release_free_memory, renew_free_lists
from server.sync.peer import Peer
from server.sync.protocol import parse_state_vector
from server.sync.room import Room
from server.sync.store import UpdateLog

log = logging.getLogger(__name__)

TRIM_AFTER_SECONDS = 3.0  # after the last of a series of unloads
# How long after a room opened its order of characters is made (see `Rooms._make_order`).
ORDER_AFTER_SECONDS = 0.5
# A quiet timer may fire this much early (the loop's clock resolution): that is quiet enough.
QUIET_SLACK_SECONDS = 0.001


class Rooms:
    def __init__(
        self,
        updates: UpdateLog,
        settings: Settings,
    ) -> None:
        self.updates = updates
        self.settings = settings
        self.open: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unload_timers: dict[str, asyncio.TimerHandle] = {}
        self._compactions: set[asyncio.Task[int]] = set()
        # Called with a room whose editing went quiet, or is being unloaded or closed, while
        # it holds edits no version has recorded yet (the app takes an automatic version).
        self.on_quiet: Callable[[Room], Awaitable[object]] | None = None
        self._quiet: dict[str, asyncio.TimerHandle] = {}
        self._quiet_at: dict[str, float] = {}  # when each room's editing counts as quiet
        self._snapshots: set[asyncio.Task[Any]] = set()
        self._trim: asyncio.TimerHandle | None = None
        self._orders: set[asyncio.Task[None]] = set()  # see `_make_order`

    async def get(self, document_id: str) -> Room:
        """The room of a document that exists, loading it once."""
        room = self.open.get(document_id)
        if room is not None and room.broken:
            del self.open[document_id]
            room.close()
            room = None
        if room is not None:
            return room
        loading = self._loading.get(document_id)
        if loading is None:
            loading = asyncio.get_running_loop().create_future()
            self._loading[document_id] = loading
            try:
                room = await self._load(document_id)
            except BaseException as exc:
                loading.set_exception(exc)
                loading.exception()  # retrieved: joiners that wait see it themselves
                raise
            finally:
                del self._loading[document_id]
            self.open[document_id] = room
            loading.set_result(room)
            return room
        return await asyncio.shield(loading)

    async def _load(self, document_id: str) -> Room:
        stored = await self.updates.load(document_id)
        log.info("room loaded: %d bytes, %d log rows", len(stored.state), stored.rows)
        room = Room(
            document_id,
            stored.state,
            self.updates,
            saved_notice_ms=self.settings.saved_notice_ms,
            max_awareness_entries=self.settings.max_awareness_entries,
            on_change=self.maybe_compact,
        )
        room.appended = stored.rows
        # Where the stored text's characters outside the BMP are split in two
        # (`checks.halves`): walked here, off the event loop, for a document that has any.
        document, room.writers, room.halves = await self.updates.db.read(
            lambda conn: (
                documents.get(conn, document_id),
                store.writers(conn, document_id),
                checks.halves(stored.state),
            )
        )
        room.frozen = document is not None and not document.writable
        task = asyncio.create_task(self._make_order(document_id, weakref.ref(room)))
        self._orders.add(task)
        task.add_done_callback(self._orders.discard)
        return room

    async def _make_order(self, document_id: str, opened: weakref.ref[Room]) -> None:
        """Make the room's order of characters (`server.sync.order`) in a reader thread soon
        after the room opened, rather than on the event loop at its first update (243 ms for
        a document of 20,000 deleted ranges, every other room waiting). Not at once: a
        Python thread slows the event loop down while it runs (each time the loop gives up
        the interpreter's lock it waits up to 5 ms to get it back), and the first clients
        are syncing then (a cold open of a 100,000-update history took 160-190 ms instead
        of 40). An update that comes first makes it itself, as before. The order depends
        only on the structs the Doc holds (deletions change nothing in it), so it is taken
        if the Doc's state vector is still the one it was made from. The room is held only
        weakly meanwhile: one unloaded in between is not kept in memory."""
        await asyncio.sleep(ORDER_AFTER_SECONDS)
        room = opened()
        if room is None or self.open.get(document_id) is not room:
            return
        if room.ordering.order is not None:
            return
        try:
            state, vector = room.doc.get_update(), room.doc.get_state()
        except BaseException as exc:
            if not checks.is_failure(exc):
                raise
            return  # the first update finds out, as it would have
        del room
        try:
            made = await self.updates.db.read(lambda conn: order.made_ahead(state))
        except RuntimeError:  # the database closed meanwhile (shutting down)
            return
        room = opened()
        if room is not None and not room.broken and room.doc.get_state() == vector:
            room.ordering.adopt(made)

    @asynccontextmanager
    async def borrow(self, document_id: str) -> AsyncIterator[Room]:
        """The document's room for server-side work (reading anchors, applying an accepted
        suggestion); a room nobody is in is unloaded later, as if a client had left."""
        room = await self.get(document_id)
        try:
            yield room
        finally:
            await room.settle()
            self._schedule_unload(room)

    def join(self, room: Room, peer: Peer) -> None:
        timer = self._unload_timers.pop(room.document_id, None)
        if timer is not None:
            timer.cancel()
        room.join(peer)

    def leave(self, room: Room, peer: Peer) -> None:
        room.leave(peer)
        self._schedule_unload(room)
        if room.appended >= self.settings.compact_after_updates:
            self._compact(room)

    def _schedule_unload(self, room: Room) -> None:
        if not room.peers and room.document_id not in self._unload_timers:
            loop = asyncio.get_running_loop()
            self._unload_timers[room.document_id] = loop.call_later(
                self.settings.room_unload_seconds, self._unload, room
            )

    def _unload(self, room: Room, versioned: bool = False) -> None:
        self._unload_timers.pop(room.document_id, None)
        if room.peers or self.open.get(room.document_id) is not room:
            return
        timer = self._quiet.pop(room.document_id, None)
        self._quiet_at.pop(room.document_id, None)
        if timer is not None:
            timer.cancel()
        if room.editors and self.on_quiet is not None and not versioned:
            # Edits no version has recorded yet: version them first (the room stays open, so
            # a client joining meanwhile finds it), then try again.
            self._went_quiet(room, then=lambda: self._unload(room, versioned=True))
            return
        del self.open[room.document_id]
        room.close()
        log.info("room unloaded; %d open", len(self.open))
        # Give the freed memory back once this series of unloads is over.
        if self._trim is not None:
            self._trim.cancel()
        self._trim = asyncio.get_running_loop().call_later(TRIM_AFTER_SECONDS, self._release)

    def _release(self) -> None:
        self._trim = None
        task = asyncio.create_task(self._reopen_and_release())
        self._snapshots.add(task)  # awaited by `close`
        task.add_done_callback(self._snapshots.discard)

    async def _reopen_and_release(self) -> None:
        # The database's connections first: what they grew at the peak would otherwise keep
        # memory that the rooms gave back (see `Database.refresh`).
        try:
            await self.updates.db.refresh()
        except Exception:
            log.warning(
                "reopening the database connections failed; the old ones are kept",
                exc_info=True,
            )
        await renew_free_lists()
        release_free_memory()

    def _compact(self, room: Room) -> None:
        """Replace the document's log with the room's Doc, encoded now (see
        `store.save_state`): one encoding on the loop, one short write for the writer."""
        room.appended = 0
        if room.broken:
            return
        state = room.doc.get_update()
        encoded, held = get_state(state), room.doc.get_state()
        if parse_state_vector(encoded) != parse_state_vector(held):  # the encoding is whole
            log.error("a document's encoding does not match it; the log is kept whole")
            return
        future = self.updates.save_state(room.document_id, state)

        async def run() -> int:
            removed = await future
            log.info("compacted %d updates of a document", removed)
            return removed

        task = asyncio.create_task(run())
        self._compactions.add(task)
        task.add_done_callback(self._compaction_done)

    def _compaction_done(self, task: asyncio.Task[int]) -> None:
        self._compactions.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("compaction failed; the log is kept whole", exc_info=task.exception())

    def maybe_compact(self, room: Room) -> None:
        """After each committed edit: compact if the log grew, and push back the moment the
        room's editing counts as quiet. One timer per spell of editing, not one per edit
        (cancelling and making a timer on every keystroke was 2 % of the event loop at 1,000
        edits a second): a timer that fires while the moment has moved is set again."""
        if room.appended >= self.settings.compact_after_updates:
            self._compact(room)
        loop = asyncio.get_running_loop()
        at = self._quiet_at[room.document_id] = loop.time() + self.settings.version_quiet_seconds
        if room.document_id not in self._quiet:
            self._quiet[room.document_id] = loop.call_at(at, self._maybe_quiet, room)

    def _maybe_quiet(self, room: Room) -> None:
        loop = asyncio.get_running_loop()
        at = self._quiet_at.get(room.document_id, 0.0)
        if at - loop.time() > QUIET_SLACK_SECONDS:  # edited since the timer was set
            self._quiet[room.document_id] = loop.call_at(at, self._maybe_quiet, room)
            return
        self._went_quiet(room)

    def _went_quiet(self, room: Room, then: Callable[[], None] | None = None) -> None:
        self._quiet.pop(room.document_id, None)
        self._quiet_at.pop(room.document_id, None)
        if not room.editors or self.on_quiet is None:
            if then is not None:
                then()
            return
        task = asyncio.create_task(self._snapshot(room))
        self._snapshots.add(task)

        def finished(task: asyncio.Task[object]) -> None:
            # After the task is done (its frame, which holds the room, is gone).
            self._snapshots.discard(task)
            if then is not None:
                then()

        task.add_done_callback(finished)

    async def _snapshot(self, room: Room) -> object:
        try:
            assert self.on_quiet is not None
            return await self.on_quiet(room)
        except Exception:
            log.exception("taking an automatic version failed")
            return None

    def peers(self) -> list[tuple[Room, Peer]]:
        return [(room, peer) for room in self.open.values() for peer in room.peers]

    def close_where(self, match: Callable[[Peer], bool], code: int, reason: str) -> int:
        """Close every connection that ``match`` selects (sign-out, removal, revocation)."""
        closed = 0
        for _, peer in self.peers():
            if match(peer):
                peer.close(code, reason)
                closed += 1
        return closed

    def apply_role(self, document_id: str, user_id: int, role: str | None) -> None:
        """A role changed: open connections follow at once (closed, read-only or writable)."""
        room = self.open.get(document_id)
        if room is None:
            return
        for peer in list(room.peers):
            if peer.user_id != user_id:
                continue
            if role is None:
                peer.close(4403, "you are no longer a member of this document")
            else:
                room.set_writable(peer, role in ("chair", "delegate"))

    async def close(self) -> None:
        """Shut down: close every connection after a last sync, then wait for everything
        applied to be committed and for compactions to end.

        `accord serve` calls this when a stop signal arrives, before uvicorn closes the
        sockets (the lifespan calls it again). Each writing client first gets a 'saved'
        notice, a SyncStep1 it answers with whatever the server lacks, so edits still on the
        wire arrive and are stored; then everyone is closed with 1012 (service restart).
        """
        for timer in [*self._unload_timers.values(), *self._quiet.values()]:
            timer.cancel()
        if self._trim is not None:
            self._trim.cancel()
        self._unload_timers.clear()
        self._quiet.clear()
        self._quiet_at.clear()
        connected = self.peers()
        for room, peer in connected:
            if peer.can_write and not peer.closing:
                room.schedule_saved_notice(peer)
        if connected:  # the notice timer, then the client's answer
            await asyncio.sleep(self.settings.saved_notice_ms / 1000 + 0.3)
            self.close_where(lambda peer: True, 1012, "server restarting")
        for room in list(self.open.values()):
            await room.settle()
            if room.editors and self.on_quiet is not None:  # the last edits get a version
                await self._snapshot(room)
        if self._snapshots:
            await asyncio.gather(*self._snapshots, return_exceptions=True)
        if self._compactions:
            await asyncio.gather(*self._compactions, return_exceptions=True)
        for task in self._orders:
            task.cancel()  # (one already in its reader thread finishes there)
        if self._orders:
            await asyncio.gather(*self._orders, return_exceptions=True)
