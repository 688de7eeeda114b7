# amaranth: UnusedElaboratable=no
"""COBS decoder and encoder in Amaranth's simulator, checked against ropuf.spec.framing."""

import random

import pytest
from amaranth.sim import Simulator

from ropuf.gateware.link.cobs import COBSDecoder, COBSEncoder
from ropuf.spec.framing import FramingError, cobs_decode, cobs_encode


def _simulate(dut, *testbenches, deadline=None):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    sim.run_until(deadline) if deadline else sim.run()


def _source(port, beats, rng, gap):
    """A testbench offering *beats* on *port*, idle cycles between them with probability
    *gap*."""

    async def testbench(ctx):
        for beat in beats:
            while rng.random() < gap:
                ctx.set(port.valid, 0)
                await ctx.tick()
            ctx.set(port.payload, beat)
            ctx.set(port.valid, 1)
            await ctx.tick().until(port.ready)
        ctx.set(port.valid, 0)

    return testbench


def _sink(port, received, count, rng, stall, *, cycles=8, limit=200_000):
    """A testbench taking *count* beats from *port* into *received*, then watching *cycles*
    more for beats that should not be there; not ready with probability *stall*. It gives up
    after *limit* cycles, so a design that stalls fails the comparison instead of hanging."""

    async def testbench(ctx):
        budget = cycles
        for _ in range(limit):
            ready = len(received) >= count or rng.random() >= stall
            ctx.set(port.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(port.valid, port.payload)
            if valid and ready:
                received.append(payload)
            if len(received) >= count:
                budget -= 1
                if budget < 0:
                    return

    return testbench


def _random_frame(rng: random.Random) -> bytes:
    length = rng.choice([1, 2, 253, 254, 255, 256, 508, 509, rng.randrange(1, 600)])
    zeros = rng.choice([0.0, 0.01, 0.2, 0.9])
    return bytes(0 if rng.random() < zeros else rng.randrange(1, 256) for _ in range(length))


#: Frames where the block boundaries fall in every special place.
EDGE_FRAMES = [
    b"\x00",
    b"\x00\x00",
    b"\x11",
    b"\x11\x00",
    b"\x00\x11",
    bytes(range(1, 255)),  # exactly one full block
    bytes(range(1, 255)) + b"\x00",  # a full block, then a zero
    bytes(range(1, 256)),  # a full block and one more byte
    bytes(range(1, 255)) * 2,  # two full blocks
    b"\x00" + bytes(range(1, 255)) + b"\x00",
]


def _decoded_beats(chunk: bytes) -> list[tuple[int, int, int]]:
    """What the decoder must make of one frame's encoded bytes (a valid one): data beats, then
    an end beat."""
    return [(byte, 0, 0) for byte in cobs_decode(chunk)] + [(0, 1, 0)]


def _run_decoder(stream: bytes, expected_beats: int, seed: int):
    rng = random.Random(seed)
    dut = COBSDecoder()
    received = []
    _simulate(
        dut,
        _source(dut.i_stream, stream, rng, gap=0.2),
        _sink(dut.o_stream, received, expected_beats, rng, stall=0.2),
    )
    return [(int(beat.data), int(beat.end), int(beat.error)) for beat in received]


@pytest.mark.parametrize("seed", range(3))
def test_decoder_matches_spec(seed):
    rng = random.Random(seed)
    frames = [*EDGE_FRAMES, *(_random_frame(rng) for _ in range(6))]
    rng.shuffle(frames)
    stream = bytearray()
    expected = []
    for frame in frames:
        encoded = cobs_encode(frame)
        stream += encoded + b"\x00" * rng.choice([1, 1, 2])  # empty frames produce nothing
        expected += _decoded_beats(encoded)
    assert _run_decoder(bytes(stream), len(expected), seed) == expected


def test_decoder_flags_bad_cobs_and_resynchronises():
    good = cobs_encode(b"\x01\x00\x02")
    # Bad frames, and the bytes the decoder has passed on when the delimiter shows the fault.
    cases = [
        (b"\x05\x11\x22", b"\x11\x22"),  # code 5 announces four bytes, two follow
        (b"\x03\x11\x22\x04\x33", b"\x11\x22\x00\x33"),  # the second code points too far
        (b"\xff" + bytes(range(1, 200)), bytes(range(1, 200))),  # a full-block code, 199 bytes
    ]
    stream = bytearray(b"\x00")
    expected = []
    for bad, passed_on in cases:
        with pytest.raises(FramingError, match="points past the end"):
            cobs_decode(bad)
        stream += bad + b"\x00" + good + b"\x00"
        expected += [(byte, 0, 0) for byte in passed_on] + [(0, 1, 1)]
        expected += _decoded_beats(good)
    assert _run_decoder(bytes(stream), len(expected), seed=5) == expected


def test_decoder_accepts_a_full_block_without_the_empty_one():
    # The shortest encoding omits the empty block after a final full block; a longer encoder
    # sends it (FF <254 bytes> 01). Both decode to the same 254 bytes, as in the spec.
    data = bytes(range(1, 255))
    long_form = b"\xff" + data + b"\x01"
    assert cobs_decode(long_form) == cobs_decode(cobs_encode(data)) == data
    stream = cobs_encode(data) + b"\x00" + long_form + b"\x00"
    expected = _decoded_beats(cobs_encode(data)) + _decoded_beats(long_form)
    assert _run_decoder(stream, len(expected), seed=7) == expected


def _run_encoder(frames: list[bytes], seed: int, *, depth=512, gap=0.1, stall=0.3):
    rng = random.Random(seed)
    dut = COBSEncoder(depth=depth)
    beats = [
        {"data": byte, "last": index == len(frame) - 1}
        for frame in frames
        for index, byte in enumerate(frame)
    ]
    expected = b"".join(cobs_encode(frame) + b"\x00" for frame in frames)
    received = []
    _simulate(
        dut,
        _source(dut.i_stream, beats, rng, gap=gap),
        _sink(dut.o_stream, received, len(expected), rng, stall=stall, cycles=300),
    )
    return bytes(received), expected


@pytest.mark.parametrize("seed", range(3))
def test_encoder_matches_spec(seed):
    rng = random.Random(100 + seed)
    frames = [*EDGE_FRAMES, *(_random_frame(rng) for _ in range(6))]
    rng.shuffle(frames)
    received, expected = _run_encoder(frames, seed)
    assert received == expected


def test_encoder_smallest_ring_under_backpressure():
    # A 256-byte ring holds exactly one full block with its code: the encoder must wait for the
    # output, never overwrite bytes not yet sent.
    rng = random.Random(9)
    frames = [bytes(rng.randrange(1, 256) for _ in range(700)), b"\x00" * 300, b"\x07"]
    received, expected = _run_encoder(frames, seed=9, depth=256, gap=0.0, stall=0.8)
    assert received == expected


def test_encoder_full_rate():
    # Input every cycle, output always ready: the input takes one cycle per byte plus one per
    # full block (committing its code); the output follows back to back.
    frame = bytes(range(1, 256)) * 2  # 510 non-zero bytes: two full blocks and a short one
    dut = COBSEncoder()
    taken = []  # cycle of each input byte
    out = []  # (cycle, byte) of each output byte

    async def source(ctx):
        cycle = 0
        for index, byte in enumerate(frame):
            ctx.set(dut.i_stream.payload, {"data": byte, "last": index == len(frame) - 1})
            ctx.set(dut.i_stream.valid, 1)
            while True:
                *_, ready = await ctx.tick().sample(dut.i_stream.ready)
                cycle += 1
                if ready:
                    taken.append(cycle)
                    break
        ctx.set(dut.i_stream.valid, 0)

    async def sink(ctx):
        ctx.set(dut.o_stream.ready, 1)
        for cycle in range(1, 900):
            *_, valid, payload = await ctx.tick().sample(dut.o_stream.valid, dut.o_stream.payload)
            if valid:
                out.append((cycle, payload))

    _simulate(dut, source, sink)
    expected = cobs_encode(frame) + b"\x00"
    assert bytes(byte for _, byte in out) == expected
    assert taken[-1] - taken[0] == len(frame) - 1 + 2
    # The first code byte goes out the cycle after the first block is committed; then the
    # output never waits: the next block is committed before the current one is sent.
    assert out[0][0] == taken[253] + 2
    assert [cycle for cycle, _ in out] == list(range(out[0][0], out[0][0] + len(expected)))


@pytest.mark.parametrize(
    ("depth", "error", "message"),
    [
        (128, ValueError, "Ring depth must be a power of two of at least 256, not 128"),
        (300, ValueError, "Ring depth must be a power of two of at least 256, not 300"),
        (512.0, TypeError, "Ring depth must be an integer, not 512.0"),
    ],
)
def test_encoder_checks_depth(depth, error, message):
    with pytest.raises(error, match=message):
        COBSEncoder(depth=depth)
