# amaranth: UnusedElaboratable=no
"""Frame receiver and transmitter in Amaranth's simulator, checked against ropuf.spec.framing."""

import itertools
import random

import pytest
from amaranth.sim import Simulator

from ropuf.gateware.crypto.crc32 import BYTE_CYCLES
from ropuf.gateware.link.framing import FrameReceiver, FrameTransmitter
from ropuf.sim.testbenches.frame_echo import (
    FRAME_STATUSES,
    error_cases,
    expected_responses,
    good_frame,
    raw_frame,
    split_frames,
    wire,
)
from ropuf.spec.framing import (
    MAX_PAYLOAD,
    FramingError,
    Status,
    cobs_encode,
    decode_frame,
    encode_frame,
    pack_frame,
)

#: Cycles a testbench waits for a beat before it gives up (so a stuck design fails, not hangs).
PATIENCE = 3_000


def _simulate(dut, *testbenches):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    sim.run()


async def _put(ctx, port, payload):
    ctx.set(port.payload, payload)
    ctx.set(port.valid, 1)
    for _ in range(PATIENCE):
        *_, ready = await ctx.tick().sample(port.ready)
        if ready:
            ctx.set(port.valid, 0)
            return
    raise AssertionError("the design stopped taking beats")


async def _get(ctx, port):
    ctx.set(port.ready, 1)
    for _ in range(PATIENCE):
        *_, valid, payload = await ctx.tick().sample(port.valid, port.payload)
        if valid:
            ctx.set(port.ready, 0)
            return payload
    raise AssertionError("the design stopped offering beats")


async def _idle(ctx, rng, probability):
    while rng.random() < probability:
        await ctx.tick()


def _expected_requests(stream: bytes, max_payload: int) -> list[tuple[int, int, int, int, bytes]]:
    """What the receiver must hand over for *stream*: (seq, code, length, status, payload) per
    non-empty frame, from the spec's decoder."""
    expected = []
    for chunk in split_frames(stream):
        try:
            frame = decode_frame(chunk, max_payload=max_payload)
        except FramingError as error:
            expected.append((error.seq, 0, 0, error.status, b""))
        else:
            expected.append((frame.seq, frame.code, len(frame.payload), Status.OK, frame.payload))
    return expected


def _expected_with_losses(stream: bytes, lost: set[int]) -> list[tuple]:
    """As :func:`_expected_requests`, with the bytes at the indices in *lost* flagged "bytes
    were dropped before this one": the frame each belongs to (a delimiter's: the frame it
    ends) is OVERRUN with sequence number 0, even an empty one."""
    expected, start = [], 0
    for end, byte in enumerate(stream):
        if byte:
            continue
        if lost & set(range(start, end + 1)):
            expected.append((0, 0, 0, Status.OVERRUN, b""))
        else:
            expected += _expected_requests(stream[start : end + 1], MAX_PAYLOAD)
        start = end + 1
    return expected


def _run_receiver(
    stream: bytes, *, max_payload=MAX_PAYLOAD, seed=0, gap=0.1, stall=0.2, lost=frozenset()
):
    rng = random.Random(seed)
    dut = FrameReceiver(max_payload=max_payload)
    count = len(_expected_with_losses(stream, set(lost)))
    got = []

    async def source(ctx):
        for index, byte in enumerate(stream):
            await _idle(ctx, rng, gap)
            ctx.set(dut.lost, index in lost)
            await _put(ctx, dut.i_stream, byte)
            ctx.set(dut.lost, 0)

    async def consumer(ctx):
        for _ in range(count):
            await _idle(ctx, rng, stall)
            header = await _get(ctx, dut.o_header)
            payload = bytearray()
            for _ in range(header.length if header.status == Status.OK else 0):
                await _idle(ctx, rng, stall)
                payload.append(await _get(ctx, dut.o_payload))
            got.append((header.seq, header.code, header.length, header.status, bytes(payload)))
        # Nothing more: no header and no payload byte is offered after the last frame.
        for _ in range(20):
            *_, header_valid, payload_valid = await ctx.tick().sample(
                dut.o_header.valid, dut.o_payload.valid
            )
            assert not header_valid and not payload_valid

    _simulate(dut, source, consumer)
    return got


@pytest.mark.parametrize("seed", range(2))
def test_receiver_good_frames(seed):
    rng = random.Random(seed)
    lengths = [0, 1, 2, 253, 254, 255, MAX_PAYLOAD, rng.randrange(MAX_PAYLOAD)]
    rng.shuffle(lengths)
    stream = b"".join(good_frame(rng, length) for length in lengths)
    got = _run_receiver(stream, seed=seed)
    assert got == _expected_requests(stream, MAX_PAYLOAD)
    assert [status for *_, status, _ in got] == [Status.OK] * len(lengths)


@pytest.mark.parametrize("seed", range(2))
def test_receiver_every_error_then_good(seed):
    rng = random.Random(10 + seed)
    cases = error_cases(rng)
    rng.shuffle(cases)
    stream = b"".join(request for _, request in cases) + good_frame(rng, 30)
    expected = _expected_requests(stream, MAX_PAYLOAD)
    statuses = {status for *_, status, _ in expected}
    # Every framing status, and OK; OVERRUN comes from the line, not from the bytes (tested
    # with the `lost` input below).
    assert statuses == FRAME_STATUSES - {Status.OVERRUN}
    # Sequence numbers: echoed once a header was readable, else 0 (both occur).
    assert {seq == 0 for seq, *_ in expected} == {True, False}
    assert _run_receiver(stream, seed=seed) == expected


def test_receiver_small_buffer():
    # A receiver with a 16-byte payload buffer answers OVERSIZE to longer payloads, and to
    # frames longer than its buffer (whose excess it discards up to the delimiter).
    rng = random.Random(20)
    stream = b"\x00".join(good_frame(rng, length) for length in [0, 16, 17, 40, 200, 5])
    stream += b"".join(request for _, request in error_cases(rng, max_payload=16))
    expected = _expected_requests(stream, 16)
    assert [status for *_, status, _ in expected[:6]] == [Status.OK, Status.OK] + [
        Status.OVERSIZE
    ] * 3 + [Status.OK]
    assert _run_receiver(stream, max_payload=16, seed=20) == expected


def test_receiver_garbage_between_frames_back_to_back():
    # Junk, runs of delimiters and frames cut short in between valid frames, all at full rate:
    # the receiver resynchronises at every delimiter.
    rng = random.Random(30)
    stream = b""
    for _ in range(12):
        stream += good_frame(rng, rng.randrange(0, 60))
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30)))
        stream += junk + b"\x00" * rng.randrange(0, 3)
    stream += good_frame(rng, 8)
    expected = _expected_requests(stream, MAX_PAYLOAD)
    assert _run_receiver(stream, seed=30, gap=0.0, stall=0.0) == expected


@pytest.mark.parametrize("seed", range(3))
def test_receiver_answers_frames_that_lost_bytes_overrun(seed):
    # Bytes flagged "lost before this one" anywhere: in a frame, on its first (code) byte,
    # on its delimiter, on the delimiter of an empty frame, on the byte after a delimiter,
    # several in a row. Each frame that lost bytes gets one OVERRUN (seq 0), never a merge
    # with its neighbour and never silence; the frames around it are served as usual.
    rng = random.Random(40 + seed)
    stream = b""
    for _ in range(14):
        stream += b"\x00" * rng.randrange(0, 3) + good_frame(rng, rng.randrange(0, 40))
    stream += good_frame(rng, 5)
    starts = [0] + [i + 1 for i, byte in enumerate(stream[:-1]) if byte == 0]
    delimiters = [i for i, byte in enumerate(stream) if byte == 0]
    lost = set(rng.sample(range(len(stream) - 12), 6))
    lost |= set(rng.sample(starts[:-2], 3)) | set(rng.sample(delimiters[:-2], 3))
    lost |= {delimiters[3], delimiters[3] + 1, delimiters[3] + 2}
    expected = _expected_with_losses(stream, lost)
    statuses = [status for *_, status, _ in expected]
    assert statuses.count(Status.OVERRUN) >= 6 and statuses[-1] == Status.OK
    gap, stall = [(0.0, 0.0), (0.1, 0.2), (0.3, 0.6)][seed]
    assert _run_receiver(stream, seed=seed, gap=gap, stall=stall, lost=lost) == expected


def test_receiver_length_field_off_by_256():
    # The length field is 16 bits: a receiver that compared it modulo 256 would take these
    # frames for good ones. Each is intact (right CRC), so only the length check can tell.
    rng = random.Random(50)
    cases = [
        (raw_frame(1, 0x10, b"", length=256), Status.LENGTH_MISMATCH),
        (raw_frame(2, 0x10, b"\x07", length=257), Status.OVERSIZE),
        (raw_frame(3, 0x10, rng.randbytes(5), length=5 + 256), Status.OVERSIZE),
        (raw_frame(4, 0x10, rng.randbytes(MAX_PAYLOAD), length=0), Status.LENGTH_MISMATCH),
        (raw_frame(5, 0x10, rng.randbytes(200), length=200 - 256 + 0x10000), Status.OVERSIZE),
        (raw_frame(6, 0x10, rng.randbytes(3), length=3 + 512), Status.OVERSIZE),
    ]
    stream = b"".join(wire(raw) for raw, _ in cases) + good_frame(rng, 3)
    expected = _expected_requests(stream, MAX_PAYLOAD)
    assert [(seq, status) for seq, _, _, status, _ in expected[:-1]] == [
        (seq, status) for seq, (_, status) in enumerate(cases, 1)
    ]
    assert _run_receiver(stream, seed=50) == expected
    # A smaller buffer: a length field of max_payload + 256 with that many bytes is oversize.
    small = wire(raw_frame(7, 0x10, rng.randbytes(4), length=4 + 256)) + good_frame(rng, 4)
    small += wire(raw_frame(8, 0x10, b"", length=256))
    expected = _expected_requests(small, 16)
    assert [status for *_, status, _ in expected] == [
        Status.OVERSIZE, Status.OK, Status.OVERSIZE
    ]  # fmt: skip
    assert _run_receiver(small, max_payload=16, seed=51) == expected


def test_receiver_timing_and_skip():
    # The header is valid two cycles after the delimiter is taken; the first payload byte in
    # the cycle after the header transfer. A consumer that skips gets the next frame right.
    first = encode_frame(5, 0x10, bytes(range(1, 50)))
    second = encode_frame(6, 0x11, b"\x01\x02\x03")
    third = encode_frame(7, 0x12, b"\x04\x05")  # skipped with its header: no payload offered
    fourth = encode_frame(8, 0x13, b"\x06")
    dut = FrameReceiver()
    cycle = [0]  # clock edges so far
    seen = {}

    async def clock(ctx):
        while True:
            await ctx.tick()
            cycle[0] += 1

    async def source(ctx):
        for index, byte in enumerate(first + second + third + fourth):
            await _put(ctx, dut.i_stream, byte)
            if index == len(first) - 1:
                seen["delimiter"] = cycle[0]  # the edge that took the delimiter

    async def consumer(ctx):
        ctx.set(dut.o_header.ready, 1)
        for _ in range(PATIENCE):
            *_, valid, header = await ctx.tick().sample(dut.o_header.valid, dut.o_header.payload)
            if valid:
                seen["header"] = cycle[0]  # the edge that took the header
                break
        assert (header.seq, header.code, header.length, header.status) == (5, 0x10, 49, 0)
        ctx.set(dut.o_header.ready, 0)
        assert ctx.get(dut.o_payload.valid) == 1
        taken = []
        ctx.set(dut.o_payload.ready, 1)
        for _ in range(3):
            *_, valid, payload = await ctx.tick().sample(dut.o_payload.valid, dut.o_payload.payload)
            assert valid
            taken.append(payload)
        assert taken == [1, 2, 3]
        ctx.set(dut.o_payload.ready, 0)
        ctx.set(dut.skip, 1)
        await ctx.tick()
        ctx.set(dut.skip, 0)
        assert ctx.get(dut.o_payload.valid) == 0
        header = await _get(ctx, dut.o_header)
        assert (header.seq, header.code, header.length, header.status) == (6, 0x11, 3, 0)
        assert [await _get(ctx, dut.o_payload) for _ in range(3)] == [1, 2, 3]
        ctx.set(dut.skip, 1)
        header = await _get(ctx, dut.o_header)
        ctx.set(dut.skip, 0)
        assert (header.seq, header.length) == (7, 2)
        assert ctx.get(dut.o_payload.valid) == 0
        header = await _get(ctx, dut.o_header)
        assert (header.seq, header.code, header.length, header.status) == (8, 0x13, 1, 0)
        assert await _get(ctx, dut.o_payload) == 6

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(clock, background=True)
    sim.add_testbench(source)
    sim.add_testbench(consumer)
    sim.run()
    # The delimiter is taken at clock edge d (in cycle t, the cycle before it): the decoder's
    # end beat is valid in cycle t + 1, taken at edge d + 1, the header valid in cycle t + 2 and
    # taken by the always-ready consumer at edge d + 2.
    assert seen["header"] == seen["delimiter"] + 2


def _run_transmitter(responses, *, seed=0, gap=0.1, stall=0.3):
    rng = random.Random(seed)
    dut = FrameTransmitter()
    expected = b"".join(encode_frame(seq, status, payload) for seq, status, payload in responses)
    received = bytearray()

    async def source(ctx):
        for seq, status, payload in responses:
            await _idle(ctx, rng, gap)
            await _put(ctx, dut.i_header, {"seq": seq, "status": status, "length": len(payload)})
            for byte in payload:
                await _idle(ctx, rng, gap)
                await _put(ctx, dut.i_payload, byte)

    async def sink(ctx):
        for _ in range(len(expected)):
            await _idle(ctx, rng, stall)
            received.append(await _get(ctx, dut.o_stream))
        for _ in range(20):
            *_, valid = await ctx.tick().sample(dut.o_stream.valid)
            assert not valid

    _simulate(dut, source, sink)
    return bytes(received), expected


@pytest.mark.parametrize("seed", range(2))
def test_transmitter_matches_spec(seed):
    rng = random.Random(50 + seed)
    responses = []
    for length in [0, 1, 2, 253, 254, 255, MAX_PAYLOAD, rng.randrange(MAX_PAYLOAD)]:
        zeros = rng.choice([0.0, 0.1])
        payload = bytes(0 if rng.random() < zeros else rng.randrange(1, 256) for _ in range(length))
        status = rng.choice([Status.OK, Status.BAD_CRC, 0x10, 0xFF])
        responses.append((rng.randrange(256), status, payload))
    received, expected = _run_transmitter(responses, seed=seed)
    assert received == expected
    decoded = [decode_frame(frame) for frame in split_frames(received)]
    assert [(f.seq, f.code, f.payload) for f in decoded] == responses


def _full_blocks_before_crc_ends(frame: bytes) -> int:
    """Full COBS blocks of *frame* (raw, CRC included) that are not its last and whose last byte
    is the frame's last header or payload byte or one of its CRC bytes: the transmitter's
    cycles when the encoder commits such a block are not hidden under a CRC byte's eight."""
    encoded = cobs_encode(frame)
    count, index, raw = 0, 0, 0
    while index < len(encoded):
        code = encoded[index]
        index += code
        end = raw + code - 2  # raw position of the block's last data byte
        count += code == 0xFF and index < len(encoded) and end >= len(frame) - 5
        raw += code - (code == 0xFF)
    return count


def test_transmitter_full_rate_cycles():
    # Header and payload offered at once, output always ready: a response of L bytes takes
    # 1 + 8 (5 + L) + 4 cycles from header to header (eight a CRC-checked byte), plus one per
    # full COBS block that is not the frame's last and is committed after the last CRC-checked
    # byte. Other commits, and closing the frame before, hide under a byte's eight cycles.
    payloads = [b"", bytes(range(1, 101)), bytes([7] * 256), b"\x00" * 40, bytes([9] * 252)]
    dut = FrameTransmitter()
    taken = []
    cycle = [0]

    async def clock(ctx):
        while True:
            await ctx.tick()
            cycle[0] += 1

    async def source(ctx):
        for index, payload in enumerate(payloads):
            await _put(ctx, dut.i_header, {"seq": index, "status": 0, "length": len(payload)})
            taken.append(cycle[0])
            for byte in payload:
                await _put(ctx, dut.i_payload, byte)
        await _put(ctx, dut.i_header, {"seq": 9, "status": 0, "length": 0})
        taken.append(cycle[0])

    async def sink(ctx):
        ctx.set(dut.o_stream.ready, 1)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(clock, background=True)
    sim.add_testbench(sink)
    sim.add_testbench(source)
    sim.run()
    blocks = [_full_blocks_before_crc_ends(pack_frame(k, 0, p)) for k, p in enumerate(payloads)]
    assert blocks == [0, 0, 0, 0, 1]  # the 252-byte payload's block ends in its CRC
    intervals = [b - a for a, b in itertools.pairwise(taken)]
    assert intervals == [
        1 + BYTE_CYCLES * (5 + len(payload)) + 4 + blocks[index]
        for index, payload in enumerate(payloads)
    ]


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "message"),
    [
        (FrameReceiver, {"max_payload": 257}, ValueError, "Maximum payload must be in 0..256"),
        (FrameReceiver, {"max_payload": -1}, ValueError, "Maximum payload must be in 0..256"),
        (FrameReceiver, {"max_payload": "16"}, TypeError, "Maximum payload must be an integer"),
        (FrameTransmitter, {"depth": 100}, ValueError, "power of two of at least 256, not 100"),
    ],
)
def test_constructors_check_arguments(cls, kwargs, error, message):
    with pytest.raises(error, match=message):
        cls(**kwargs)


def test_error_cases_cover_every_status():
    # The shared case generator really makes every framing error (the tests above rely on it).
    rng = random.Random(60)
    stream = b"".join(request for _, request in error_cases(rng))
    codes = {response.code for response in expected_responses(stream)}
    assert codes == FRAME_STATUSES - {Status.OK, Status.OVERRUN}
    assert expected_responses(wire(b"")) == expected_responses(b"\x01\x00")
