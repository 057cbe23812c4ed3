"""The order check (`server.sync.order`): text put between neighbours that had, between them, a
character its typist must have had is refused; nothing a real client sends ever is.

The forged updates are built by hand in the v1 encoding; the real ones come from pycrdt (yrs,
the Rust port of Yjs) clients editing concurrently, offline and online, with deletions and
characters outside the BMP, as the browser's Yjs would send them.
"""

from __future__ import annotations

import random

import pytest
from pycrdt import Doc, Text, merge_updates

from server.errors import InvalidPayload
from server.sync import blanking, lists, order, structs
from server.sync.protocol import var_uint
from tests.helpers import map_entries, whole_order_budget

pytestmark = pytest.mark.usefixtures(whole_order_budget.__name__)


def varints(*values: int) -> bytes:
    return b"".join(var_uint(v) for v in values)


ID = tuple[int, int] | None


def item(client: int, clock: int, text: str, origin: ID, right: ID) -> bytes:
    """An update of one string struct placed between ``origin`` and ``right``."""
    info = 4 | (0x80 if origin else 0) | (0x40 if right else 0)
    body = varints(1, 1, client, clock) + bytes([info])
    body += varints(*origin) if origin else b""
    body += varints(*right) if right else b""
    data = text.encode()
    return body + var_uint(len(data)) + data + varints(0)


class Room:
    """What a room does with the check (`order.Ordering`): check an update, apply it, and give
    the order the changes the Doc reports. An update without characters outside the BMP
    takes the keystroke path (not walked), as in the room."""

    def __init__(self, state: bytes | None = None) -> None:
        self.doc: Doc[Text] = Doc()
        self.doc.get("content", type=Text)
        if state is not None:
            self.doc.apply_update(state)
        self.changes: list[bytes] = []
        self.doc.observe(lambda event: self.changes.append(event.update))
        self.ordering = order.Ordering()

    def send(self, update: bytes) -> None:
        walk = structs.walk_update(update) if structs.may_hold_astral(update) else None
        placing = self.ordering.check(self.doc, update, walk)
        self.changes.clear()
        self.doc.apply_update(update)
        self.ordering.taken(list(self.changes), update, placing)
        assert self.ordering.failures == 0  # it never failed (and stopped checking)

    def rebuild(self) -> None:
        """A new Doc from what this one took, as the room's rebuild after a refusal: the
        order holds the same structs, so it is kept."""
        kept, state = self.ordering.order, self.doc.get_update()
        self.doc = Doc()
        self.doc.get("content", type=Text)
        self.doc.apply_update(state)
        self.doc.observe(lambda event: self.changes.append(event.update))
        self.ordering.rebuilt(self.doc)
        assert self.ordering.order is kept

    @property
    def text(self) -> str:
        return str(self.doc.get("content", type=Text))


def typing(client: int, text: str) -> tuple[Doc[Text], list[bytes]]:
    doc: Doc[Text] = Doc(client_id=client)
    updates = []
    for character in text:
        before = doc.get_state()
        content = doc.get("content", type=Text)
        content.insert(len(content), character)
        updates.append(doc.get_update(before))
    return doc, updates


def test_text_between_neighbours_that_had_a_known_character_between_is_refused() -> None:
    room = Room()
    _, updates = typing(1, "abc")
    for update in updates:
        room.send(update)
    # "x" between a (1, 0) and c (1, 2): whoever knew c knew b (1, 1), which is between them
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(2, 0, "x", (1, 0), (1, 2)))
    # crossing: between c and a, the wrong way round
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(2, 0, "x", (1, 2), (1, 0)))
    # at the end with nothing on its right, while its own earlier text is on the right
    room.send(item(2, 0, "y", (1, 0), (1, 1)))  # real: a y b c
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(2, 1, "z", (1, 0), None))  # y (2, 0) and b, c are between
    assert room.text == "aybc"


def test_deleted_characters_keep_their_place() -> None:
    author, updates = typing(1, "abc")
    before = author.get_state()
    del author.get("content", type=Text)[1:2]  # b is deleted
    updates.append(author.get_update(before))
    room = Room()
    for update in updates:
        room.send(update)
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(2, 0, "x", (1, 0), (1, 2)))  # b is still between a and c
    room.send(item(2, 0, "x", (1, 1), (1, 2)))  # right after the deleted b: real
    assert room.text == "axc"
    # the same from an order made from a stored state (b kept only as deleted content)
    loaded = Room(room.doc.get_update())
    with pytest.raises(InvalidPayload, match="side by side"):
        loaded.send(item(3, 0, "w", (1, 0), (1, 2)))


def test_concurrent_text_between_neighbours_is_taken() -> None:
    room = Room()
    first, updates = typing(1, "a")
    room.send(updates[0])
    late: Doc[Text] = Doc(client_id=2)
    late.apply_update(first.get_update())  # knows only "a"
    text = first.get("content", type=Text)
    before = first.get_state()
    text.insert(1, "c")
    room.send(first.get_update(before))
    before = late.get_state()
    late.get("content", type=Text).insert(1, "x")  # after a, nothing on its right: c is news
    room.send(late.get_update(before))
    assert sorted(room.text) == ["a", "c", "x"]


def concurrent_session(
    seed: int, clients: int = 5, steps: int = 500, states: list[bytes] | None = None
) -> int:
    """Clients type, delete, go offline and come back (sending their whole state, deleted
    text as deleted content), with emoji and accents; the room checks every update and makes
    its order anew now and then (a reload), and rebuilds its Doc now and then (keeping the
    order, as after a refusal). Returns how many updates it took;
    the room's state at each remaking of its order, and at the end, go to ``states``."""
    rnd = random.Random(seed)
    docs: list[Doc[Text]] = [Doc(client_id=1000 + n) for n in range(clients)]
    room = Room()
    unsent: list[list[bytes]] = [[] for _ in docs]
    words = ["a", "hola ", "ñ", "📊", "条约", "e\u0301", "\n", "xyz"]
    taken = 0
    for _ in range(steps):
        n = rnd.randrange(clients)
        doc, text = docs[n], docs[n].get("content", type=Text)
        current = str(text)
        at = rnd.random()
        if at < 0.45:
            before = doc.get_state()
            where = rnd.choice([0, len(current), len(current) // 2, rnd.randint(0, len(current))])
            text.insert(len(current[:where].encode()), rnd.choice(words))
            unsent[n].append(doc.get_update(before))
        elif at < 0.6 and len(current) > 2:
            before = doc.get_state()
            start = rnd.randrange(len(current) - 1)
            end = min(len(current), start + rnd.randint(1, 4))
            del text[len(current[:start].encode()) : len(current[:end].encode())]
            unsent[n].append(doc.get_update(before))
        elif at < 0.75 and unsent[n]:
            updates, unsent[n] = unsent[n], []
            if rnd.random() < 0.3:  # back online: everything the room lacks, in one update
                updates = [doc.get_update(room.doc.get_state())]
            elif len(updates) > 1 and rnd.random() < 0.5:
                updates = [merge_updates(*updates)]
            for update in updates:
                if rnd.random() < 0.02:
                    room.ordering = order.Ordering()  # made anew from the Doc (a reload)
                    if states is not None:
                        states.append(room.doc.get_update())
                elif rnd.random() < 0.02:
                    room.rebuild()  # the order is kept, and goes on checking
                room.send(update)  # a refusal raises: the test fails
                taken += 1
        else:
            doc.apply_update(room.doc.get_update(doc.get_state()))
    if states is not None:
        states.append(room.doc.get_update())
    return taken


@pytest.mark.parametrize("seeds", [range(0, 30), range(30, 60)])
def test_real_concurrent_editing_is_never_refused(seeds: range) -> None:
    assert sum(concurrent_session(seed) for seed in seeds) > 1000


def test_a_whole_state_blanked_in_one_pass_makes_the_same_order() -> None:
    """The order's first state (`blanking.blanked_whole`, each run of structs that go on one
    from the other written as one string) makes the same order Doc, byte for byte, as the
    state blanked struct by struct (`blanking.blanked`, which yrs joins while it commits, in
    time that grows with the square of the runs): over concurrent sessions with deletions,
    offline edits and emoji, a map's entries beside the text, deleted content past what is
    blanked, and a text cut by 300 deletions."""

    def order_doc(blanked: bytes) -> bytes:
        doc: Doc[Text] = Doc()
        doc.get("content", type=Text)
        doc.apply_update(blanked)
        return doc.get_update()

    states: list[bytes] = []
    for seed in range(12):
        concurrent_session(seed, steps=300, states=states)
    typist: Doc[Text] = Doc(client_id=9)
    text = typist.get("content", type=Text)
    text.insert(0, "Articulo 1. Las denuncias son confidenciales. " * 15)
    for k in range(300):
        del text[k]
    huge = varints(1, 1, 3, 0) + b"\x01" + varints(1, 7) + b"content" + varints(2**31, 0)
    # One client's consecutive structs with different right neighbours, not to be joined:
    # A types "a" in "XY"; B types "Z" after it; A, having Z, types "b" between a and Z.
    a_doc: Doc[Text] = Doc(client_id=20)
    b_doc: Doc[Text] = Doc(client_id=10)
    a_doc.get("content", type=Text).insert(0, "XY")
    a_doc.get("content", type=Text).insert(1, "a")
    b_doc.apply_update(a_doc.get_update())
    b_doc.get("content", type=Text).insert(2, "Z")
    a_doc.apply_update(b_doc.get_update())
    a_doc.get("content", type=Text).insert(2, "b")
    assert str(a_doc.get("content", type=Text)) == "XabZY"
    # After deleted content too long to blank, a struct that goes on from it is not joined
    # to anything blanked before (here, client 1's string).
    content = b"\x01" + varints(7) + b"content"
    after_huge = varints(2, 1, 1, 0) + b"\x04" + content + varints(2) + b"ab"
    after_huge += varints(2, 3, 0) + b"\x01" + content + varints(2**31)
    after_huge += b"\x84" + varints(3, 2**31 - 1, 1) + b"c" + varints(0)
    states += [
        after_huge,
        a_doc.get_update(),
        typist.get_update(),
        merge_updates(typist.get_update(), map_entries(4)),
        merge_updates(typing(1, "ab")[0].get_update(), huge),
    ]
    joined = 0
    for state in states:
        walk = structs.walk_update(state)
        whole = blanking.blanked_whole(state, walk)
        assert order_doc(whole) == order_doc(blanking.blanked(state, walk.blanks, walk.body_end))
        joined += sum(walk.joins)
    assert joined > 300  # the runs were there to join


def test_deleted_content_claimed_in_a_few_bytes_is_not_blanked_without_bound() -> None:
    """Deleted content is only a length: 2^31 units in 11 bytes. Blanked, it would be 2 GB of
    ASCII in the order (a fuzz run saw the server grow to 2.5 GB); only 8 units per byte of
    the update are blanked, the rest stays deleted content."""
    room = Room()
    _, updates = typing(1, "ab")
    for update in updates:
        room.send(update)
    huge = varints(1, 1, 3, 0) + b"\x01" + varints(1, 7) + b"content" + varints(2**31, 0)
    room.send(huge)
    small = varints(1, 1, 4, 0) + b"\x01" + varints(1, 7) + b"content" + varints(100, 0)
    room.send(small)
    assert room.ordering.order is not None
    room.ordering.order.add(b"\x00\x00")  # no change: to read the order's length, merged
    room.ordering.order._flush()
    assert len(room.ordering.order.text) == 2 + 100  # "ab" and the small deleted run
    assert room.text == "ab"


def test_text_between_neighbours_in_two_lists_is_refused() -> None:
    """Found in room 0 of the 16:05 fuzz run: a struct whose left neighbour is a character
    and whose right one is a map's entry. yrs looks for the right neighbour from the left
    one, runs past the end of the text: the room lost characters ("abcd" became "ax") and a
    newcomer saw another text ("x")."""
    room = Room()
    room.send(map_entries(9))
    for update in typing(1, "abcd")[1]:
        room.send(update)
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(3, 0, "x", (1, 0), (9, 0)))  # left in the text, right in the map
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(3, 0, "x", (9, 1), (1, 1)))  # and the other way round
    assert room.text == "abcd"
    room.send(item(3, 0, "x", (1, 0), (1, 1)))  # between two characters: real
    room.send(item(4, 0, "y", (9, 1), None))  # after the map's entry, in its list
    assert room.text == "axbcd"
    # the same from an order made from a stored state
    loaded = Room(room.doc.get_update())
    with pytest.raises(InvalidPayload, match="side by side"):
        loaded.send(item(5, 0, "z", (3, 0), (9, 0)))
    loaded.send(item(5, 0, "z", (3, 0), (1, 1)))
    assert loaded.text == "axzbcd"


def test_text_cut_after_garbage_is_refused() -> None:
    """Found in room 4 of the 16:05 fuzz run: a struct that begins at a clock the room holds
    as garbage is cut there by yrs, and the part after the cut has the garbage as its left
    neighbour. yrs then puts it at the start of the text; Yjs (the browsers) drops it."""
    room = Room()
    for update in typing(1, "abcd")[1]:
        room.send(update)
    room.send(varints(1, 1, 5, 0) + b"\x00" + varints(1) + varints(0))  # GC of clock 0
    with pytest.raises(InvalidPayload, match="side by side"):
        room.send(item(5, 0, "XYZ", (1, 0), (1, 1)))  # held from clock 1 on: after the GC
    assert room.text == "abcd"
    assert room.ordering.order is not None
    held = room.ordering.order.lists
    assert held.new([(5, 0, 3, (1, 0), (1, 1), None)]) == [(5, 1, 2, (5, 0), (1, 1), None)]
    assert held.new([(1, 2, 2, (1, 1), None, None)]) == []  # all held: nothing new


def test_a_client_twice_in_one_update_is_refused() -> None:
    """Found in room 10 of the 16:05 fuzz run: client 2's structs in two runs of one update
    ('hola' at clocks 0-3, garbage at clock 3). pycrdt took it and reported a change with a
    Skip of 2^32 - 1 clocks; the room then showed 'hola' where newcomers saw 'x'."""
    twice = bytes.fromhex("020102030001020200040107636f6e74656e7404686f6c61000200")
    with pytest.raises(InvalidPayload, match="appear twice"):
        structs.walk_update(twice)


def test_the_lists_of_a_stored_state_are_read_whatever_the_order_of_its_structs() -> None:
    """In a state, a client's structs may have neighbours of clients written after them:
    each struct's list is read from its neighbours' first (depth first, no recursion)."""
    docs = [Doc(client_id=client) for client in (1, 2, 3)]
    for step in range(300):
        doc = docs[step % 3]
        text = doc.get("content", type=Text)
        text.insert(len(str(text)) // 2, "ab"[step % 2])  # in the middle: neighbours of others
        for other in docs:
            if other is not doc:
                other.apply_update(doc.get_update(other.get_state()))
    state = merge_updates(docs[0].get_update(), map_entries(9))
    order_ = order.Order(state)
    walk = structs.walk_update(state)
    for client, clock, length, *_ in walk.items:
        assert order_.lists.in_text((client, clock + length - 1)) is (client != 9)
    assert order_.lists.in_text((1, 10**6)) is None  # not held
    # Text alone: every struct is in the text, read at once; the same as depth first.
    text_only = structs.walk_update(docs[0].get_update()).items
    quick = lists.Lists().place(text_only, strict=False)
    assert quick == lists.Lists().place(text_only, strict=True)
    assert sum(stop - start for _, start, stop in quick) == len(str(docs[0]["content"]))
