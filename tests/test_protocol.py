"""Unit tests of the y-websocket wire protocol (server/sync/protocol.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from pycrdt import Awareness, Doc, Text, merge_updates

from server.errors import InvalidPayload, PolicyViolation, SyncError, UnsupportedData
from server.sync import checks, protocol, structs
from server.sync.awareness import Presence
from server.sync.checks import covers, merged
from server.sync.protocol import (
    AwarenessEntry,
    AwarenessMessage,
    MessageType,
    QueryAwareness,
    Reader,
    SyncMessage,
    SyncType,
)

CORPUS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "corpus" / "hostile_frames.json").read_text(encoding="utf-8")
)["frames"]


def doc_with(text: str) -> Doc:
    doc = Doc()
    doc.get("content", type=Text).insert(0, text)
    return doc


def text_of(doc: Doc) -> str:
    return str(doc.get("content", type=Text))


# -- varints ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 300, 16383, 16384, 2**32, 2**53, 2**56 - 1])
def test_var_uint_round_trip(value: int) -> None:
    encoded = protocol.var_uint(value)
    assert encoded == pycrdt.write_var_uint(value)
    reader = Reader(encoded)
    assert reader.var_uint() == value
    assert reader.done()


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (2**14, b"\x80\x80\x01"),
    ],
)
def test_var_uint_known_encodings(value: int, encoded: bytes) -> None:
    assert protocol.var_uint(value) == encoded


def test_var_uint_rejects_more_than_8_bytes() -> None:
    with pytest.raises(InvalidPayload, match="varint too long") as excinfo:
        Reader(protocol.var_uint(2**56)).var_uint()
    assert excinfo.type is InvalidPayload


@pytest.mark.parametrize("data", [b"", b"\x80", b"\xff\xff", b"\x80" * 7])
def test_var_uint_rejects_truncation(data: bytes) -> None:
    with pytest.raises(InvalidPayload, match="truncated varint") as excinfo:
        Reader(data).var_uint()
    assert excinfo.type is InvalidPayload


def test_non_canonical_varint_is_read_like_lib0() -> None:
    reader = Reader(b"\x80\x00")  # 0 with a redundant continuation byte
    assert reader.var_uint() == 0
    assert reader.done()


def test_var_bytes_and_var_string() -> None:
    data = protocol.var_bytes("Señoría 📊 中文".encode())
    assert Reader(data).var_string() == "Señoría 📊 中文"
    assert Reader(protocol.var_bytes(b"")).var_bytes() == b""
    with pytest.raises(InvalidPayload, match="truncated byte array"):
        Reader(protocol.var_uint(5) + b"abcd").var_bytes()
    with pytest.raises(InvalidPayload, match="not UTF-8"):
        Reader(protocol.var_bytes(b"\xc3(")).var_string()


# -- parsing every message type -----------------------------------------------------------


def test_parse_sync_step1() -> None:
    state = doc_with("hola").get_state()
    message = protocol.parse(protocol.sync_step1(state))
    assert message == SyncMessage(SyncType.STEP1, state)


def test_parse_sync_step2() -> None:
    update = doc_with("hola").get_update()
    message = protocol.parse(protocol.sync_step2(update))
    assert message == SyncMessage(SyncType.STEP2, update)


def test_parse_sync_update() -> None:
    update = doc_with("¡Qué tal! 👋").get_update()
    frame = protocol.sync_update(update)
    assert frame[:2] == b"\x00\x02"
    assert protocol.parse(frame) == SyncMessage(SyncType.UPDATE, update)


def test_parse_awareness() -> None:
    entries = [(7, 3, '{"user":{"name":"Zoë"}}'), (2**40, 0, "null")]
    message = protocol.parse(protocol.awareness(entries))
    assert isinstance(message, AwarenessMessage)
    assert message.entries == tuple(AwarenessEntry(*entry) for entry in entries)


def test_parse_query_awareness() -> None:
    assert protocol.parse(bytes([MessageType.QUERY_AWARENESS])) == QueryAwareness()


def test_auth_from_a_client_is_not_accepted() -> None:
    with pytest.raises(UnsupportedData) as excinfo:
        protocol.parse(protocol.auth_denied("no"))
    assert excinfo.type is UnsupportedData


def test_auth_denied_encoding() -> None:
    frame = protocol.auth_denied("sólo lectura")
    reader = Reader(frame)
    assert reader.var_uint() == MessageType.AUTH
    assert reader.var_uint() == 0
    assert reader.var_string() == "sólo lectura"
    reader.expect_end()


def test_empty_update_round_trips() -> None:
    assert protocol.parse(protocol.sync_update(b"\x00\x00")) == SyncMessage(
        SyncType.UPDATE, b"\x00\x00"
    )


# -- strict rejection ---------------------------------------------------------------------

REJECTED = [
    ("empty frame", b"", InvalidPayload),
    ("truncated type", b"\x80", InvalidPayload),
    ("truncated subtype", b"\x00\xff", InvalidPayload),
    ("sync without subtype", b"\x00", InvalidPayload),
    ("step1 without payload", b"\x00\x00", InvalidPayload),
    ("type too long", b"\xff" * 9, InvalidPayload),
    ("unknown type 7", b"\x07", UnsupportedData),
    ("unknown type 200", protocol.var_uint(200), UnsupportedData),
    ("unknown type 4 with payload", b"\x04\x01\x00", UnsupportedData),
    ("unknown sync subtype 3", b"\x00\x03\x02\x00\x00", UnsupportedData),
    ("unknown sync subtype 128", b"\x00\x80\x01\x00", UnsupportedData),
    ("update length overruns", b"\x00\x02\x64" + b"\x00" * 10, InvalidPayload),
    ("update length truncated", b"\x00\x02\x80", InvalidPayload),
    ("update trailing byte", protocol.sync_update(b"\x00\x00") + b"\x00", InvalidPayload),
    ("step1 trailing byte", protocol.sync_step1(b"\x00") + b"!", InvalidPayload),
    ("query-awareness payload", b"\x03\x00", InvalidPayload),
    ("awareness without payload", b"\x01", InvalidPayload),
    ("awareness trailing outside", protocol.awareness([]) + b"\x00", InvalidPayload),
    ("awareness trailing inside", b"\x01" + protocol.var_bytes(b"\x00\x00"), InvalidPayload),
    ("awareness length overruns", b"\x01\x32\x01", InvalidPayload),
    ("awareness entry cut", b"\x01" + protocol.var_bytes(b"\x01\x05"), InvalidPayload),
    ("awareness state not JSON", protocol.awareness([(1, 1, "{nope")]), InvalidPayload),
    ("awareness state empty", protocol.awareness([(1, 1, "")]), InvalidPayload),
    # Python's json takes these; a browser's JSON.parse throws on them (every other client
    # would fail to read the message), and 1e400 would be written back as Infinity
    ("awareness state NaN", protocol.awareness([(1, 1, '{"x": NaN}')]), InvalidPayload),
    ("awareness state Infinity", protocol.awareness([(1, 1, "[Infinity]")]), InvalidPayload),
    ("awareness state -Infinity", protocol.awareness([(1, 1, "-Infinity")]), InvalidPayload),
    ("awareness state 1e400", protocol.awareness([(1, 1, '{"x": 1e400}')]), InvalidPayload),
    ("awareness state -1e400", protocol.awareness([(1, 1, "[-1e400]")]), InvalidPayload),
    ("awareness state with a BOM", protocol.awareness([(1, 1, "\ufeff{}")]), InvalidPayload),
    (
        "awareness state not UTF-8",
        b"\x01" + protocol.var_bytes(b"\x01\x01\x01" + protocol.var_bytes(b'"\xff"')),
        InvalidPayload,
    ),
    (
        "awareness 65 entries",
        protocol.awareness([(i, 1, "{}") for i in range(65)]),
        PolicyViolation,
    ),
    (
        "awareness claims 10**6",
        b"\x01" + protocol.var_bytes(protocol.var_uint(10**6)),
        PolicyViolation,
    ),
]


@pytest.mark.parametrize(
    ("frame", "error"), [(f, e) for _, f, e in REJECTED], ids=[n for n, _, _ in REJECTED]
)
def test_parse_rejects(frame: bytes, error: type[SyncError]) -> None:
    with pytest.raises(SyncError) as excinfo:
        protocol.parse(frame)
    assert excinfo.type is error


def test_close_codes_of_the_protocol_errors() -> None:
    assert (UnsupportedData.close_code, InvalidPayload.close_code) == (1003, 1007)
    assert PolicyViolation.close_code == 1008


def test_max_awareness_entries_boundary() -> None:
    entries = [(i, 1, "{}") for i in range(64)]
    message = protocol.parse(protocol.awareness(entries))
    assert isinstance(message, AwarenessMessage)
    assert len(message.entries) == 64
    with pytest.raises(PolicyViolation):
        protocol.parse(protocol.awareness(entries), max_awareness_entries=63)
    message = protocol.parse(protocol.awareness(entries * 2), max_awareness_entries=128)
    assert isinstance(message, AwarenessMessage)
    assert len(message.entries) == 128


# -- awareness encoding -------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        {"user": {"name": "José Ñúñez", "color": "#ff0000"}},
        {"user": {"name": "李小龙 📊"}, "cursor": {"anchor": 3, "head": 9}},
        {"user": {"name": "مريم שָׁלוֹם"}},
        {"user": {"name": "e\u0301"}},
    ],
)
def test_awareness_round_trip(state: dict[str, Any]) -> None:
    text = json.dumps(state, ensure_ascii=False)
    entries = [(123456789, 4, text), (42, 1, "null")]
    frame = protocol.awareness(entries)
    message = protocol.parse(frame)
    assert isinstance(message, AwarenessMessage)
    assert [(e.client_id, e.clock, e.state) for e in message.entries] == entries
    assert json.loads(message.entries[0].state) == state
    assert protocol.awareness_frame(message.payload) == frame


def test_awareness_numbers_a_browser_reads_are_kept() -> None:
    state = '{"cursor": {"anchor": 3, "head": 1.5e300, "x": -0.0, "big": 123456789012345678901}}'
    message = protocol.parse(protocol.awareness([(1, 1, state)]))
    assert isinstance(message, AwarenessMessage)
    assert message.entries[0].value == json.loads(state)


def test_awareness_of_nobody() -> None:
    frame = protocol.awareness([])
    assert frame == b"\x01\x01\x00"
    assert protocol.parse(frame) == AwarenessMessage((), b"\x00")


# -- state vectors ------------------------------------------------------------------------


def test_parse_state_vector() -> None:
    a = doc_with("abc")
    b = Doc()
    b.apply_update(a.get_update())
    b.get("content", type=Text).insert(0, "xy")
    assert protocol.parse_state_vector(Doc().get_state()) == {}
    assert protocol.parse_state_vector(a.get_state()) == {a.client_id: 3}
    assert protocol.parse_state_vector(b.get_state()) == {a.client_id: 3, b.client_id: 2}


def test_parse_state_vector_large_numbers() -> None:
    vector = protocol.var_uint(2) + protocol.var_uint(2**53) + protocol.var_uint(0)
    vector += protocol.var_uint(1) + protocol.var_uint(2**32)
    assert protocol.parse_state_vector(vector) == {2**53: 0, 1: 2**32}


@pytest.mark.parametrize(
    "vector",
    [b"", b"\x80", b"\x01", b"\x01\x05", b"\x01\x05\x03\x09", b"\x02\x05\x03", b"\xff" * 9],
    ids=["empty", "count cut", "no client", "no clock", "trailing", "one of two", "too long"],
)
def test_parse_state_vector_rejects(vector: bytes) -> None:
    with pytest.raises(InvalidPayload) as excinfo:
        protocol.parse_state_vector(vector)
    assert excinfo.type is InvalidPayload


# -- compatibility with pycrdt's own encoders and handlers --------------------------------


def test_pycrdt_sync_step1_parses() -> None:
    doc = doc_with("Hola")
    message = protocol.parse(pycrdt.create_sync_message(doc))
    assert message == SyncMessage(SyncType.STEP1, doc.get_state())
    assert protocol.parse_state_vector(message.payload) == {doc.client_id: 4}


def test_pycrdt_update_message_parses() -> None:
    update = doc_with("Señal 📶").get_update()
    assert protocol.parse(pycrdt.create_update_message(update)) == SyncMessage(
        SyncType.UPDATE, update
    )


def test_pycrdt_step2_reply_parses() -> None:
    server_doc = doc_with("Texto del servidor")
    reply = pycrdt.handle_sync_message(pycrdt.create_sync_message(Doc())[1:], server_doc)
    assert reply is not None
    message = protocol.parse(reply)
    assert isinstance(message, SyncMessage)
    assert message.kind is SyncType.STEP2
    client = Doc()
    client.apply_update(message.payload)
    assert text_of(client) == "Texto del servidor"


def test_pycrdt_awareness_message_parses() -> None:
    doc = Doc()
    awareness = Awareness(doc)
    awareness.set_local_state({"user": {"name": "Zoë 📊", "color": "#123456"}})
    payload = awareness.encode_awareness_update([doc.client_id])
    message = protocol.parse(pycrdt.create_awareness_message(payload))
    assert isinstance(message, AwarenessMessage)
    assert message.payload == payload
    (entry,) = message.entries
    assert entry.client_id == doc.client_id
    assert entry.clock == awareness.meta[doc.client_id]["clock"]
    assert json.loads(entry.state) == {"user": {"name": "Zoë 📊", "color": "#123456"}}


def test_our_step1_is_answered_by_pycrdt() -> None:
    remote = doc_with("Hola mundo 🌍")
    local = Doc()
    reply = pycrdt.handle_sync_message(protocol.sync_step1(local.get_state())[1:], remote)
    assert reply is not None
    assert reply[:2] == b"\x00\x01"
    pycrdt.handle_sync_message(reply[1:], local)
    assert text_of(local) == "Hola mundo 🌍"


def test_our_update_and_step2_are_applied_by_pycrdt() -> None:
    source = doc_with("Acta")
    target = Doc()
    assert pycrdt.handle_sync_message(protocol.sync_step2(source.get_update())[1:], target) is None
    assert text_of(target) == "Acta"
    before = source.get_state()
    source.get("content", type=Text).insert(4, " final ✓")
    frame = protocol.sync_update(source.get_update(before))
    assert pycrdt.handle_sync_message(frame[1:], target) is None
    assert text_of(target) == "Acta final ✓"


def test_our_awareness_is_applied_by_pycrdt() -> None:
    state = {"user": {"name": "Ana"}}
    frame = protocol.awareness([(555, 2, json.dumps(state))])
    awareness = Awareness(Doc())
    awareness.apply_awareness_update(pycrdt.read_message(frame[1:]), "test")
    assert awareness.states[555] == state


# -- the hostile corpus: every expectation matches what the protocol layer decides --------


def poisons(doc: Doc) -> bool:
    """Whether ``doc`` now panics when asked for its content, as a room does for every joiner."""
    try:
        doc.get_update(b"\x00")
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        return True
    return False


def offline_close_code(frame: bytes) -> int | None:
    """What the server decides for ``frame`` from a fresh connection, without a network."""
    try:
        message = protocol.parse(frame, max_awareness_entries=64)
        if isinstance(message, SyncMessage):
            if message.kind is SyncType.STEP1:
                protocol.parse_state_vector(message.payload)
                return None
            doc = Doc()
            doc.get("content", type=Text)
            try:
                doc.apply_update(message.payload)
            except Exception:
                return InvalidPayload.close_code
            except BaseException as exc:  # a Rust panic; the room maps it to InvalidPayload
                assert type(exc).__name__ == "PanicException"
                return InvalidPayload.close_code
            if poisons(doc):  # accepted, but the Doc is broken from now on: must be refused
                return InvalidPayload.close_code
        elif isinstance(message, AwarenessMessage):
            Presence[object]().accept(object(), message.entries)
    except SyncError as error:
        return error.close_code
    return None


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["name"] for entry in CORPUS])
def test_corpus_expectation(entry: dict[str, Any]) -> None:
    assert entry["close_code"] in (1003, 1007, 1008, 1009)
    assert offline_close_code(base64.b64decode(entry["frame_b64"])) == entry["close_code"]


def test_corpus_panic_updates_really_panic() -> None:
    panics = [e for e in CORPUS if e["category"] == "panic_update"]
    assert len(panics) >= 10
    for entry in panics:
        message = protocol.parse(base64.b64decode(entry["frame_b64"]))
        assert isinstance(message, SyncMessage)
        doc = Doc()
        doc.get("content", type=Text)
        with pytest.raises(BaseException) as excinfo:
            doc.apply_update(message.payload)
        assert type(excinfo.value).__name__ == "PanicException", entry["name"]


def test_corpus_poison_updates_apply_and_then_break_the_doc() -> None:
    poisoned = [e for e in CORPUS if e["category"] == "poison_update"]
    assert poisoned
    for entry in poisoned:
        message = protocol.parse(base64.b64decode(entry["frame_b64"]))
        assert isinstance(message, SyncMessage)
        doc = doc_with("Texto de la sala 📊")
        before = doc.get_state()
        doc.apply_update(message.payload)  # no error: pycrdt accepts it
        assert doc.get_state() != before, entry["name"]  # and takes it as a change
        assert poisons(doc), entry["name"]


def test_update_deletes_reads_the_delete_set_pycrdt_writes() -> None:
    doc: Doc[Text] = Doc()
    text = doc.get("content", type=Text)
    text.insert(0, "Estatuto de la federación")
    before = doc.get_state()
    del text[0:9]  # "Estatuto "
    del text[3:6]
    deletion = doc.get_update(before)
    assert structs.update_clocks(deletion) == {}
    deletes = structs.update_deletes(deletion)
    assert list(deletes) == [doc.client_id]
    assert sum(length for _, length in deletes[doc.client_id]) == 12
    # The whole document's delete set holds the same ranges.
    whole = structs.update_deletes(doc.get_update(doc.get_state()))
    assert merged(whole[doc.client_id]) == merged(deletes[doc.client_id])


def test_uncovered() -> None:
    ranges = merged([(10, 5), (0, 3), (20, 1)])
    assert checks.uncovered(ranges, 0, 3) == []
    assert checks.uncovered(ranges, 2, 10) == [(3, 7)]
    assert checks.uncovered(ranges, 0, 25) == [(3, 7), (15, 5), (21, 4)]
    assert checks.uncovered(ranges, 16, 2) == [(16, 2)]
    assert checks.uncovered([], 4, 2) == [(4, 2)]


def test_covers_and_merged() -> None:
    ranges = merged([(10, 5), (0, 3), (3, 2), (20, 1), (12, 1)])
    assert ranges == [(0, 5), (10, 5), (20, 1)]
    assert covers(ranges, 0, 5) and covers(ranges, 1, 2) and covers(ranges, 10, 5)
    assert covers(ranges, 20, 1) and covers(ranges, 7, 0)
    assert not covers(ranges, 4, 2)  # runs past the first range
    assert not covers(ranges, 5, 1)  # in the gap
    assert not covers(ranges, 14, 2)
    assert not covers(ranges, 21, 1)
    assert not covers([], 0, 1)


def test_walk_finds_the_second_half_of_every_astral_character() -> None:
    """Yjs clocks count UTF-16 units: in "a📊b😀" (client 7) the emoji take clocks 1-2 and
    4-5, so cuts at 2 and 5 would split them; a document without any costs no walk."""
    doc: Doc[Any] = Doc(client_id=7)
    text = doc.get("content", type=Text)
    text.insert(0, "a📊b😀")
    assert structs.walk_update(doc.get_update()).halves == {7: [2, 5]}
    assert checks.halves(doc.get_update()) == {7: {2, 5}}
    plain: Doc[Any] = Doc(client_id=8)
    plain.get("content", type=Text).insert(0, "Artículo 1. 条约 ñandú")
    assert checks.halves(plain.get_update()) == {}
    # An encoding the walk refuses (an empty string struct, as old fuzzed rows hold) next to
    # an emoji: nothing is known, so nothing will be refused, and the room still opens.
    assert checks.halves(bytes.fromhex("010100038400020000") + "📊".encode()) == {}

    def check(walk: structs.Walk, held: dict[int, int], deleted: list[tuple[int, int]]) -> None:
        checks.whole_characters(walk, {7: {2, 5}}, lambda: held, lambda: {7: deleted})

    check(structs.walk_update(doc.get_update()), {}, [])  # the emoji whole, itself
    whole = structs.Walk({9: 1}, {7: [(1, 2)]}, [(9, 0, 1, (7, 2), (7, 4), None)], {})
    check(whole, {7: 6}, [])  # deletes the first emoji; inserts between the emoji
    cuts = [
        structs.Walk({}, {7: [(0, 2)]}, [], {}),  # deletes a and half of 📊
        structs.Walk({9: 1}, {}, [(9, 0, 1, (7, 1), None, None)], {}),  # right after the first half
        structs.Walk(
            {9: 1}, {}, [(9, 0, 1, None, (7, 5), None)], {}
        ),  # right before the second half
    ]
    for cut in cuts:
        with pytest.raises(InvalidPayload):
            check(cut, {7: 6}, [])
    # What the document already holds passes: a struct it has, a deletion it has.
    check(structs.Walk({9: 1}, {}, [(9, 0, 1, (7, 1), None, None)], {}), {7: 6, 9: 1}, [])
    check(structs.Walk({}, {7: [(0, 2)]}, [], {}), {7: 6}, [(0, 3)])


def test_update_header_and_may_hold_astral() -> None:
    """What the keystroke fast path reads: the number of client blocks, the first block's
    number of structs, client id and first clock, and whether the bytes could hold a
    character outside the BMP at all."""
    doc: Doc[Any] = Doc(client_id=300)
    text = doc.get("content", type=Text)
    text.insert(0, "hola")
    assert structs.update_header(doc.get_update()) == (1, 1, 300, 0)
    assert structs.update_header(b"\x00\x00") == (0, 0, None, 0)
    assert structs.update_header(SKIPPING) == (1, 3, 2, 1)
    assert not structs.may_hold_astral(doc.get_update())
    state = doc.get_state()
    text.insert(4, " 📊")
    assert structs.may_hold_astral(doc.get_update(state))
    assert structs.update_header(doc.get_update(state)) == (1, 1, 300, 4)


def test_state_vector_round_trips() -> None:
    clocks = {0: 3, 7: 0, 2**40: 129}
    assert protocol.parse_state_vector(protocol.state_vector(clocks)) == clocks
    doc: Doc[Text] = Doc(client_id=5)
    doc.get("content", type=Text).insert(0, "abc")
    assert protocol.state_vector({5: 3}) == doc.get_state()


def test_the_walk_keeps_the_structs_asked_for() -> None:
    doc: Doc[Text] = Doc(client_id=5)
    text = doc.get("content", type=Text)
    text.insert(0, "hola")
    text.insert(2, "XY")  # clocks 4-5, between "ho" and "la": origin (5, 1), right origin (5, 2)
    update = doc.get_update()
    walk = structs.walk_update(update, keep={5: (5, 6)})
    assert walk.starts == {5: 0} and walk.ends == {5: 6}
    (run,) = walk.runs[5]
    assert (run.start, run.end, run.ref, run.origin, run.right) == (4, 6, 4, (5, 1), (5, 2))
    assert run.parent is None and run.content == "XY".encode("utf-16-le")
    assert run.part(5, 6) == "Y".encode("utf-16-le")
    assert run.origin_at(5, 4) == (5, 1) and run.origin_at(5, 5) == (5, 4)
    first, second, _ = structs.walk_update(update, keep={5: (0, 5)}).runs[5]  # "ho", "la", "XY"
    assert (first.start, first.end, first.origin, first.right) == (0, 2, None, None)
    assert (second.start, second.end, second.origin, second.right) == (2, 4, (5, 1), None)
    assert first.parent is not None  # no origins: the root type's name is written
    assert structs.walk_update(update, keep={5: (6, 9)}).runs == {}  # past its last clock
    assert structs.walk_update(update, keep={6: (0, 9)}).runs == {}  # another client
    assert structs.walk_update(update).runs == {}


Checker = Callable[[Doc[Text], bytes], None]


@pytest.fixture(params=["before", "after"])
def rewrite_checked(request: pytest.FixtureRequest) -> Checker:
    """Apply an update to a room's Doc and run `checks.no_rewrites` on it, as the room does:
    before applying it (an update `_check_writer` walked) or after (a keystroke-like one)."""

    def check(room: Doc[Text], update: bytes) -> None:
        prior = protocol.parse_state_vector(room.get_state())
        walk = structs.walk_update(update)
        if request.param == "before":
            checks.no_rewrites(room, update, walk, prior)
        room.apply_update(update)
        if request.param == "after":
            checks.no_rewrites(room, update, walk, prior)

    return check


def test_a_resend_of_what_the_room_holds_is_no_rewrite(rewrite_checked: Checker) -> None:
    """A client's whole copy, sent again (one struct over old and new clocks), is taken: also
    when the room split that struct with someone else's insert, when the client has deleted
    part of it since, and when the room has deleted part of it."""
    author: Doc[Text] = Doc(client_id=5)
    text = author.get("content", type=Text)
    text.insert(0, "hola")
    room: Doc[Text] = Doc(client_id=1)
    room.apply_update(author.get_update())
    room.get("content", type=Text).insert(2, "X")  # splits "hola" in the room
    text.insert(4, " mundo")
    rewrite_checked(room, author.get_update())  # one struct over clocks 0-9
    del text[0:2]
    rewrite_checked(room, author.get_update())  # "ho" deleted in the client's copy
    del room.get("content", type=Text)[6:8]
    rewrite_checked(room, author.get_update())  # part deleted in the room
    assert str(room.get("content", type=Text)) == "Xla muo"
    rewrite_checked(Doc(), author.get_update())  # an empty room: nothing to compare


def test_other_content_at_used_clocks_is_a_rewrite(rewrite_checked: Checker) -> None:
    room: Doc[Text] = Doc()
    first: Doc[Text] = Doc(client_id=5)
    first.get("content", type=Text).insert(0, "hola")
    room.apply_update(first.get_update())
    second: Doc[Text] = Doc(client_id=5)  # the same client id, other text
    second.get("content", type=Text).insert(0, "hoLa mundo")
    with pytest.raises(InvalidPayload, match="rewrites"):
        rewrite_checked(room, second.get_update())


@pytest.mark.parametrize("name", ["overlapping_clocks", "rewritten_origins"])
def test_the_fuzzers_rewrites_are_refused(name: str, rewrite_checked: Checker) -> None:
    corpus = Path(__file__).parent / "corpus" / f"{name}.json"
    updates = [base64.b64decode(u) for u in json.loads(corpus.read_text())["updates_b64"]]
    room: Doc[Text] = Doc()
    for update in updates[:-1]:
        room.apply_update(update)
    copy: Doc[Text] = Doc()
    copy.apply_update(room.get_update())
    with pytest.raises(InvalidPayload, match="rewrites"):
        rewrite_checked(room, updates[-1])
    # Deleted content keeps its origins: the rewrite is still told apart.
    state = copy.get_state()
    content = copy.get("content", type=Text)
    del content[0 : len(content)]
    deleted: Doc[Text] = Doc()
    for update in [*updates[:-1], copy.get_update(state)]:
        deleted.apply_update(update)
    with pytest.raises(InvalidPayload, match="rewrites"):
        rewrite_checked(deleted, updates[-1])


def test_an_update_needing_what_neither_holds_is_refused() -> None:
    """`checks.held_dependencies`: a client's clocks past a gap, or an origin the room never
    had, are refused; origins inside the update itself, or a resend, are taken."""
    author: Doc[Text] = Doc(client_id=5)
    text = author.get("content", type=Text)
    text.insert(0, "hola")
    first = author.get_update()
    state = author.get_state()
    text.insert(4, " mundo")
    second = author.get_update(state)
    other: Doc[Text] = Doc(client_id=6)
    other.apply_update(author.get_update())
    other.get("content", type=Text).insert(10, "!")
    after = other.get_update(author.get_state())  # its origin is (5, 9)

    def check(held: dict[int, int], update: bytes) -> None:
        checks.held_dependencies(structs.walk_update(update), held)

    with pytest.raises(InvalidPayload, match="does not have"):
        check({}, second)  # clocks 4-9 of client 5 without 0-3
    with pytest.raises(InvalidPayload, match="does not have"):
        check({5: 4}, after)  # an origin past what the room holds
    check({}, first)
    check({5: 4}, second)
    check({5: 10}, after)
    check({}, merge_updates(author.get_update(), after))  # the origin is in the update itself
    check({5: 10}, author.get_update())  # a resend


def varints(*values: int) -> bytes:
    return b"".join(protocol.var_uint(v) for v in values)


# Client 2 writes "b" at clock 1 after its "a" (origin (2, 0)), skips clocks 2-6, and writes
# "c" at clock 7 at the start of the text. yrs 0.14 integrates the "c" past the gap, reports
# the update as its change, and a history holding it can make yrs loop forever on loading.
SKIPPING = (
    varints(1, 3, 2, 1)
    + b"\x84" + varints(2, 0, 1) + b"b"
    + b"\x0a" + varints(5)
    + b"\x04" + varints(1, 7) + b"content" + varints(1) + b"c"
    + varints(0)
)  # fmt: skip


def test_a_skip_is_a_gap_and_refused() -> None:
    walk = structs.walk_update(SKIPPING)
    assert walk.skips and walk.ends == {2: 8}
    assert not structs.walk_update(structs_of_hola()).skips
    with pytest.raises(InvalidPayload, match="does not have"):
        checks.held_dependencies(walk, {2: 1})


def structs_of_hola() -> bytes:
    doc: Doc[Text] = Doc(client_id=2)
    doc.get("content", type=Text).insert(0, "hola")
    return doc.get_update()
