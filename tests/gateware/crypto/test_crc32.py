# amaranth: UnusedElaboratable=no
"""CRC-32 in Amaranth's simulator, checked against zlib.crc32."""

import random
import zlib
from functools import reduce

from amaranth.sim import Simulator

from ropuf.gateware.crypto.crc32 import CRC32, crc32_step_masks
from ropuf.spec.framing import CRC32_INIT, CRC32_RESIDUE, crc32_step


def _run(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def test_masks_reproduce_the_step():
    # The XOR sets the gateware is built from give the spec's byte step for any input.
    masks = crc32_step_masks()
    rng = random.Random(1)
    for _ in range(200):
        state, byte = rng.getrandbits(32), rng.getrandbits(8)
        inputs = state | byte << 32
        step = sum((bin(inputs & mask).count("1") & 1) << j for j, mask in enumerate(masks))
        assert step == crc32_step(state, byte)


def test_matches_zlib():
    rng = random.Random(2)
    messages = [b"", b"\x00", b"123456789", bytes(range(256)), b"\xff" * 9]
    messages += [rng.randbytes(rng.randrange(1, 300)) for _ in range(20)]
    dut = CRC32()
    results = []

    async def testbench(ctx):
        for message in messages:
            # Clear with the first byte in the same cycle, or on its own before it.
            together = bool(message) and rng.random() < 0.5
            if not together:
                ctx.set(dut.clear, 1)
                await ctx.tick()
            for index, byte in enumerate(message):
                ctx.set(dut.clear, together and index == 0)
                ctx.set(dut.i_stream.payload, byte)
                ctx.set(dut.i_stream.valid, 1)
                assert ctx.get(dut.i_stream.ready) == 1
                await ctx.tick()
                # A cycle without a byte leaves the CRC alone.
                if rng.random() < 0.2:
                    ctx.set(dut.i_stream.valid, 0)
                    ctx.set(dut.clear, 0)
                    await ctx.tick()
            ctx.set(dut.i_stream.valid, 0)
            ctx.set(dut.clear, 0)
            results.append(ctx.get(dut.value))

    _run(dut, testbench)
    assert results == [zlib.crc32(message) for message in messages]
    assert zlib.crc32(b"123456789") == 0xCBF43926  # the published check value of CRC-32


def test_check_flags_a_frame_ending_in_its_crc():
    rng = random.Random(3)
    dut = CRC32()
    flags = []
    cases = []
    for _ in range(20):
        body = rng.randbytes(rng.randrange(0, 40))
        crc = zlib.crc32(body).to_bytes(4, "little")
        if rng.random() < 0.5:
            crc = bytes([crc[0] ^ 1 << rng.randrange(8)]) + crc[1:]
        cases.append(body + crc)

    async def testbench(ctx):
        for frame in cases:
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            ctx.set(dut.i_stream.valid, 1)
            for byte in frame:
                ctx.set(dut.i_stream.payload, byte)
                await ctx.tick()
            ctx.set(dut.i_stream.valid, 0)
            flags.append(ctx.get(dut.check))

    _run(dut, testbench)
    assert flags == [zlib.crc32(frame) == CRC32_RESIDUE for frame in cases]
    assert 0 < sum(flags) < len(cases)


def test_spec_step_is_zlib():
    rng = random.Random(4)
    for length in range(0, 70):
        message = rng.randbytes(length)
        assert reduce(crc32_step, message, CRC32_INIT) ^ 0xFFFF_FFFF == zlib.crc32(message)
