"""The framed packet protocol's definition (ropuf.spec.framing): codecs, errors, splitter."""

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ropuf.spec.framing import (
    COMMAND_STATUS_BASE,
    CRC32_RESIDUE,
    FRAMING_STATUSES,
    HEADER_SIZE,
    MAX_ENCODED_FRAME,
    MAX_FRAME,
    MAX_PAYLOAD,
    MIN_FRAME,
    PROTOCOL_VERSION,
    Frame,
    FrameSplitter,
    FramingError,
    Status,
    cobs_decode,
    cobs_encode,
    cobs_max_encoded,
    crc32,
    decode_frame,
    encode_frame,
    frame_size,
    pack_frame,
    unpack_frame,
)

#: The encoding examples of the Wikipedia article "Consistent Overhead Byte Stuffing" (the
#: trailing 0x00 delimiter left off).
WIKIPEDIA_COBS = [
    ("00", "0101"),
    ("0000", "010101"),
    ("001100", "01021101"),
    ("11220033", "0311220233"),
    ("11223344", "0511223344"),
    ("11000000", "0211010101"),
    (bytes(range(1, 255)).hex(), "ff" + bytes(range(1, 255)).hex()),
    (bytes(range(0, 255)).hex(), "01ff" + bytes(range(1, 255)).hex()),
    (bytes(range(1, 256)).hex(), "ff" + bytes(range(1, 255)).hex() + "02ff"),
    (bytes(range(2, 256)).hex() + "00", "ff" + bytes(range(2, 256)).hex() + "0101"),
    (bytes(range(3, 256)).hex() + "0001", "fe" + bytes(range(3, 256)).hex() + "0201"),
]


def raw(seq=1, code=2, payload=b"", *, version=PROTOCOL_VERSION, length=None, crc_flip=0):
    field = len(payload) if length is None else length
    body = bytes([version, seq, code]) + field.to_bytes(2, "little") + payload
    return body + (crc32(body) ^ crc_flip).to_bytes(4, "little")


def failure(data: bytes, **kwargs) -> FramingError:
    with pytest.raises(FramingError) as caught:
        decode_frame(data, **kwargs)
    return caught.value


@pytest.mark.parametrize(("data", "encoded"), WIKIPEDIA_COBS)
def test_cobs_published_examples(data, encoded):
    assert cobs_encode(bytes.fromhex(data)) == bytes.fromhex(encoded)
    assert cobs_decode(bytes.fromhex(encoded)) == bytes.fromhex(data)


@given(st.binary(max_size=1200))
def test_cobs_round_trip(data):
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= cobs_max_encoded(len(data))
    assert cobs_decode(encoded) == data


def test_cobs_max_encoded_is_reached():
    # The longest encodings come from data without zeros (one code byte per 254 bytes).
    for length in range(0, 800):
        assert len(cobs_encode(b"\x01" * length)) == cobs_max_encoded(length)
    assert len(cobs_encode(b"\x01" * MAX_FRAME)) == MAX_ENCODED_FRAME


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (b"", "at least a code byte"),
        (b"\x03\x11\x00", "zero byte at offset 2"),
        (b"\x02\x11\x00\x01", "zero code byte at offset 2"),
        (b"\x04\x11\x22", "code 0x04 at offset 0 points past the end"),
    ],
)
def test_cobs_decode_rejects(encoded, message):
    with pytest.raises(FramingError, match=message) as caught:
        cobs_decode(encoded)
    assert caught.value.status == Status.BAD_COBS


def test_crc32_is_ieee():
    assert crc32(b"123456789") == 0xCBF43926  # the published check value of CRC-32
    for data in (b"", b"\x00", b"123456789", bytes(range(256))):
        assert zlib.crc32(data + crc32(data).to_bytes(4, "little")) == CRC32_RESIDUE


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=MAX_PAYLOAD))
def test_frame_round_trip(seq, code, payload):
    wire = encode_frame(seq, code, payload)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert len(wire) <= MAX_ENCODED_FRAME + 1
    assert decode_frame(wire) == Frame(seq, code, payload)
    assert decode_frame(wire[:-1]) == Frame(seq, code, payload)  # the delimiter is optional
    packed = pack_frame(seq, code, payload)
    assert len(packed) == frame_size(len(payload))
    assert packed[:HEADER_SIZE] == bytes([PROTOCOL_VERSION, seq, code]) + len(payload).to_bytes(
        2, "little"
    )
    assert packed[-4:] == crc32(packed[:-4]).to_bytes(4, "little")


@settings(max_examples=500)
@given(st.binary(max_size=400), st.integers(0, MAX_PAYLOAD))
def test_garbage_raises_only_framing_errors(data, max_payload):
    try:
        frame = decode_frame(data, max_payload=max_payload)
    except FramingError as error:
        assert error.status in FRAMING_STATUSES
        assert 0 <= error.seq <= 255
    else:
        assert decode_frame(encode_frame(frame.seq, frame.code, frame.payload)) == frame


@given(
    st.integers(0, 255),
    st.binary(max_size=MAX_PAYLOAD),
    st.integers(0, 10_000),
    st.sampled_from(["flip", "drop", "insert", "cut"]),
    st.integers(1, 255),
)
def test_damaged_frames_raise_only_framing_errors(seq, payload, where, how, value):
    # A valid frame with one byte changed, dropped, inserted or the rest cut off: never
    # accepted as a different frame, never any exception but FramingError.
    wire = bytearray(encode_frame(seq, 0x33, payload)[:-1])
    at = where % len(wire)
    if how == "flip":
        wire[at] ^= value
    elif how == "drop":
        del wire[at]
    elif how == "insert":
        wire.insert(at, value)
    else:
        del wire[max(at, 1) :]
    try:
        frame = decode_frame(bytes(wire))
    except FramingError as error:
        assert error.status in FRAMING_STATUSES
    else:
        # Accepting a damaged frame as another one would take a CRC-32 collision.
        assert frame == Frame(seq, 0x33, payload)


@given(st.binary(min_size=MIN_FRAME, max_size=MAX_FRAME))
def test_garbage_after_cobs_raises_only_framing_errors(data):
    # Garbage that gets past COBS reaches every header check.
    try:
        unpack_frame(data)
    except FramingError as error:
        assert error.status in FRAMING_STATUSES
        assert error.seq == data[1]


@pytest.mark.parametrize(
    ("name", "data", "status", "seq"),
    [
        ("bad CRC", raw(7, payload=b"abc", crc_flip=0x100), Status.BAD_CRC, 7),
        ("empty", b"", Status.TRUNCATED, 0),
        ("decodes to nothing", b"\x01", Status.TRUNCATED, 0),
        ("4 bytes", raw(7)[:4], Status.TRUNCATED, 0),
        ("5 bytes: the header is readable", raw(7)[:5], Status.TRUNCATED, 7),
        ("8 bytes", raw(7)[:8], Status.TRUNCATED, 7),
        ("length too large", raw(7, payload=b"ab", length=3), Status.LENGTH_MISMATCH, 7),
        ("length too small", raw(7, payload=b"ab", length=1), Status.LENGTH_MISMATCH, 7),
        ("length above the maximum", raw(7, length=MAX_PAYLOAD + 1), Status.OVERSIZE, 7),
        ("frame above the maximum", raw(7, payload=bytes(MAX_PAYLOAD + 1)), Status.OVERSIZE, 7),
        ("version 0", raw(7, version=0), Status.BAD_VERSION, 7),
        ("version 2", raw(7, version=2), Status.BAD_VERSION, 7),
    ],
)
def test_each_error(name, data, status, seq):
    encoded = cobs_encode(data) + b"\x00" if name != "empty" else b""
    error = failure(encoded)
    assert (error.status, error.seq) == (status, seq), name
    assert str(error).startswith(status.name)


def test_bad_cobs_carries_no_sequence_number():
    encoded = cobs_encode(raw(7, payload=b"abcdef"))
    for bad in (encoded[:-1], encoded[:3] + b"\x00" + encoded[3:]):
        error = failure(bad + b"\x00")
        assert (error.status, error.seq) == (Status.BAD_COBS, 0)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        # A frame too short for a header and CRC is truncated, whatever its length field.
        (raw(7, length=MAX_PAYLOAD + 1)[:8], Status.TRUNCATED),
        # A frame longer than the buffer is oversize, whatever its CRC.
        (raw(7, payload=bytes(MAX_PAYLOAD + 1), crc_flip=1), Status.OVERSIZE),
        # The CRC is checked before the version and the length field...
        (raw(7, version=9, crc_flip=1), Status.BAD_CRC),
        (raw(7, payload=b"ab", length=5, crc_flip=1), Status.BAD_CRC),
        # ... the version before the length field ...
        (raw(7, payload=b"ab", length=5, version=0), Status.BAD_VERSION),
        # ... and a length field above the maximum is oversize, not a mismatch.
        (raw(7, payload=b"ab", length=MAX_PAYLOAD + 1), Status.OVERSIZE),
    ],
)
def test_error_precedence(data, status):
    assert failure(cobs_encode(data)).status == status


def test_smaller_receive_buffer():
    assert decode_frame(encode_frame(1, 2, bytes(16)), max_payload=16).payload == bytes(16)
    for length in (17, MAX_PAYLOAD):
        error = failure(encode_frame(1, 2, bytes(length)), max_payload=16)
        assert (error.status, error.seq) == (Status.OVERSIZE, 1)
    error = failure(cobs_encode(raw(3, payload=b"abc", length=20)), max_payload=16)
    assert error.status == Status.OVERSIZE
    with pytest.raises(ValueError, match=r"Maximum payload must be in 0\.\.256, not 257"):
        decode_frame(encode_frame(1, 2), max_payload=257)
    with pytest.raises(TypeError, match=r"Maximum payload must be an integer, not 1\.5"):
        decode_frame(encode_frame(1, 2), max_payload=1.5)


#: The framing layer's statuses (one Status enum holds them and the command processor's).
FRAMING_NAMES = (
    "BAD_CRC",
    "TRUNCATED",
    "LENGTH_MISMATCH",
    "OVERSIZE",
    "BAD_COBS",
    "BAD_VERSION",
    "OVERRUN",
)


def test_status_codes():
    framing = [Status[name] for name in FRAMING_NAMES]
    assert Status.OK == 0
    assert all(status in FRAMING_STATUSES for status in framing)
    assert [s for s in Status if s.is_framing] == framing
    assert max(FRAMING_STATUSES) < COMMAND_STATUS_BASE <= 0xFF
    assert len({int(status) for status in Status}) == len(Status)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((256, 0, b""), ValueError, "Frame seq must be in 0..255, not 256"),
        ((0, -1, b""), ValueError, "Frame code must be in 0..255, not -1"),
        ((0, 1.0, b""), TypeError, "Frame code must be an integer, not 1.0"),
        ((0, 0, "text"), TypeError, "Frame payload must be bytes, not 'text'"),
        ((0, 0, bytes(MAX_PAYLOAD + 1)), ValueError, "at most 256 bytes, not 257"),
    ],
)
def test_frame_checks_arguments(args, error, message):
    with pytest.raises(error, match=message):
        Frame(*args)
    with pytest.raises(error, match=message):
        encode_frame(*args)


frames = st.lists(
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=MAX_PAYLOAD)),
    max_size=6,
)


@given(frames, st.lists(st.integers(1, 400), max_size=20), st.integers(0, 3))
def test_splitter_any_chunks(contents, cuts, empties):
    stream = b"\x00" * empties + b"".join(
        encode_frame(*content) + b"\x00" * empties for content in contents
    )
    splitter = FrameSplitter()
    got, position = [], 0
    for cut in [*cuts, len(stream)]:
        got += splitter.feed(stream[position : position + cut])
        position += cut
    got += splitter.feed(stream[position:])
    assert [decode_frame(frame) for frame in got] == [Frame(*content) for content in contents]
    assert splitter.pending == 0 and splitter.discarded == 0


def test_splitter_keeps_an_unfinished_frame():
    wire = encode_frame(1, 2, b"hello")
    splitter = FrameSplitter()
    assert splitter.feed(wire[:4]) == []
    assert splitter.pending == 4
    assert splitter.feed(wire[4:]) == [wire]
    assert splitter.pending == 0


def test_splitter_discards_overlong_frames():
    good = encode_frame(1, 2, bytes(range(1, 200)))
    splitter = FrameSplitter(limit=len(good) - 2)  # one byte short of it (delimiter excluded)
    junk = b"\x01" * 1000
    assert splitter.feed(junk + b"\x00" + good + encode_frame(3, 4)) == [encode_frame(3, 4)]
    assert splitter.discarded == 2
    default = FrameSplitter()
    longest = encode_frame(1, 2, b"\x01" * MAX_PAYLOAD)
    assert default.feed(longest) == [longest]
    assert default.feed(b"\x01" * (MAX_ENCODED_FRAME + 1) + b"\x00") == []
    assert default.discarded == 1


@pytest.mark.parametrize(
    ("limit", "error", "message"),
    [(0, ValueError, "at least 1 byte, not 0"), ("9", TypeError, "an integer, not '9'")],
)
def test_splitter_checks_limit(limit, error, message):
    with pytest.raises(error, match=message):
        FrameSplitter(limit=limit)
