# amaranth: UnusedElaboratable=no
"""CRC-32: the hardware processors (the byte-wide one and :class:`SerialCRC32`, in Amaranth's
simulator) and the software CRC of :data:`ropuf.spec.crc.CRC32`, checked against zlib.crc32."""

import random
import zlib

from amaranth.sim import Simulator

from ropuf.gateware.crypto.crc32 import BYTE_CYCLES, SerialCRC32
from ropuf.spec.crc import CRC32
from ropuf.spec.framing import CRC32_RESIDUE, crc32


def _run(dut, testbench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def test_software_and_hardware_share_one_definition():
    # One Parameters object: the software CRC is its compute(), the processor is its create();
    # the residue the processor matches is the spec's CRC32_RESIDUE before the final XOR.
    assert CRC32.data_width == 8
    assert CRC32.residue() ^ CRC32.algorithm.xor_output == CRC32_RESIDUE
    rng = random.Random(1)
    for _ in range(200):
        message = rng.randbytes(rng.randrange(0, 40))
        assert crc32(message) == CRC32.compute(message) == zlib.crc32(message)


def test_matches_zlib():
    rng = random.Random(2)
    messages = [b"", b"\x00", b"123456789", bytes(range(256)), b"\xff" * 9]
    messages += [rng.randbytes(rng.randrange(1, 300)) for _ in range(20)]
    dut = CRC32.create()
    results = []

    async def testbench(ctx):
        for message in messages:
            # Clear with the first byte in the same cycle, or on its own before it.
            together = bool(message) and rng.random() < 0.5
            if not together:
                ctx.set(dut.start, 1)
                await ctx.tick()
            for index, byte in enumerate(message):
                ctx.set(dut.start, together and index == 0)
                ctx.set(dut.data, byte)
                ctx.set(dut.valid, 1)
                await ctx.tick()
                # A cycle without a byte leaves the CRC alone.
                if rng.random() < 0.2:
                    ctx.set(dut.valid, 0)
                    ctx.set(dut.start, 0)
                    await ctx.tick()
            ctx.set(dut.valid, 0)
            ctx.set(dut.start, 0)
            results.append(ctx.get(dut.crc))

    _run(dut, testbench)
    assert results == [zlib.crc32(message) for message in messages]
    assert zlib.crc32(b"123456789") == 0xCBF43926  # the published check value of CRC-32


def test_check_flags_a_frame_ending_in_its_crc():
    rng = random.Random(3)
    dut = CRC32.create()
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
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.valid, 1)
            for byte in frame:
                ctx.set(dut.data, byte)
                await ctx.tick()
            ctx.set(dut.valid, 0)
            flags.append(ctx.get(dut.match_detected))

    _run(dut, testbench)
    assert flags == [zlib.crc32(frame) == CRC32_RESIDUE for frame in cases]
    assert 0 < sum(flags) < len(cases)


def test_software_crc_is_zlib():
    rng = random.Random(4)
    for length in range(0, 70):
        message = rng.randbytes(length)
        assert crc32(message) == zlib.crc32(message)
    assert crc32(b"123456789") == 0xCBF43926  # the published check value of CRC-32


async def _idle(ctx, rng):
    while rng.random() < 0.3:
        await ctx.tick()


def _serial_run(messages, rng):
    """CRCs and match flags of *messages* through a SerialCRC32, with random idle cycles and
    random cycles between the start and the first byte; checks that each byte is taken in its
    eighth offered cycle."""
    dut = SerialCRC32()
    results = []

    async def testbench(ctx):
        for message in messages:
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            await _idle(ctx, rng)
            for byte in message:
                ctx.set(dut.i_stream.payload, byte)
                offered = 0
                while True:
                    # A cycle without valid pauses the byte.
                    if rng.random() < 0.2:
                        ctx.set(dut.i_stream.valid, 0)
                        *_, ready = await ctx.tick().sample(dut.i_stream.ready)
                        continue
                    ctx.set(dut.i_stream.valid, 1)
                    offered += 1
                    *_, ready = await ctx.tick().sample(dut.i_stream.ready)
                    if ready:
                        break
                assert offered == BYTE_CYCLES
            ctx.set(dut.i_stream.valid, 0)
            results.append((ctx.get(dut.crc), ctx.get(dut.match_detected)))

    _run(dut, testbench)
    return results


def test_serial_matches_zlib():
    # Bit-exact with zlib, bits fed least significant first, whatever the gaps; every byte
    # takes exactly eight offered cycles.
    rng = random.Random(5)
    messages = [b"", b"\x00", b"123456789", bytes(range(256)), b"\xff" * 9, b"\x80\x01"]
    messages += [rng.randbytes(rng.randrange(1, 60)) for _ in range(15)]
    results = _serial_run(messages, rng)
    assert [crc for crc, _ in results] == [zlib.crc32(message) for message in messages]
    assert results[2][0] == 0xCBF43926


def test_serial_match_detected_is_the_residue():
    rng = random.Random(6)
    cases = []
    for _ in range(20):
        body = rng.randbytes(rng.randrange(0, 30))
        crc = zlib.crc32(body).to_bytes(4, "little")
        if rng.random() < 0.5:
            crc = crc[:3] + bytes([crc[3] ^ 1 << rng.randrange(8)])
        cases.append(body + crc)
    results = _serial_run(cases, rng)
    flags = [flag for _, flag in results]
    assert flags == [zlib.crc32(frame) == CRC32_RESIDUE for frame in cases]
    assert 0 < sum(flags) < len(cases)
