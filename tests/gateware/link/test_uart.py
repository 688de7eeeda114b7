# amaranth: UnusedElaboratable=no
"""UART in Amaranth's simulator, checked against the reference line model."""

import random

import pytest
from amaranth.sim import Simulator

from ropuf.gateware.link.uart import UART, UARTRx, UARTTx, divisor_for
from ropuf.sim import uart_model


def _simulate(dut, testbench, *, deadline=None):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run_until(deadline) if deadline else sim.run()


@pytest.mark.parametrize("divisor", [4, 5, 16])
def test_tx_matches_model(divisor):
    rng = random.Random(divisor)
    data = bytes([0x00, 0xFF, 0x55, 0xAA] + [rng.randrange(256) for _ in range(12)])
    dut = UARTTx(divisor=divisor)
    line = []

    async def testbench(ctx):
        sent = 0
        # Offer bytes continuously and record the line every cycle until all are out.
        while sent < len(data) or ctx.get(dut.busy):
            ctx.set(dut.i_stream.valid, sent < len(data))
            ctx.set(dut.i_stream.payload, data[sent] if sent < len(data) else 0)
            _, _, ready, valid, tx = await ctx.tick().sample(
                dut.i_stream.ready, dut.i_stream.valid, dut.tx
            )
            line.append(tx)
            if ready and valid:
                sent += 1
        line.extend([1] * divisor)

    _simulate(dut, testbench)
    decoded = uart_model.decode(line, divisor)
    assert bytes(decoded.data) == data
    assert decoded.frame_errors == []
    # Back to back: the line carries exactly ten bit periods per byte, no gap between frames.
    assert len(line) == 1 + len(data) * 10 * divisor + divisor


@pytest.mark.parametrize("divisor", [4, 7, 16])
def test_rx_matches_model(divisor):
    rng = random.Random(100 + divisor)
    data = [rng.randrange(256) for _ in range(20)] + [0x00, 0xFF]
    bad = {3, 11}
    levels = [1] * (3 * divisor) + uart_model.encode(data, divisor, bad_stop=bad) + [1] * divisor
    expected = uart_model.decode(levels, divisor)
    dut = UARTRx(divisor=divisor)
    received, errors = [], 0

    async def testbench(ctx):
        nonlocal errors
        ctx.set(dut.o_stream.ready, 1)
        for level in levels + [1] * 4:
            ctx.set(dut.rx, level)
            _, _, valid, payload, frame_error = await ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.payload, dut.frame_error
            )
            if valid:
                received.append(payload)
            errors += frame_error

    _simulate(dut, testbench)
    assert received == list(expected.data)
    assert received == [b for i, b in enumerate(data) if i not in bad]
    assert errors == len(expected.frame_errors) == len(bad)


def test_rx_ignores_glitch():
    divisor = 8
    glitch = [1] * 8 + [0] * 2 + [1] * 30  # shorter than half a bit: not a start bit
    levels = glitch + uart_model.encode([0x5A], divisor) + [1] * divisor
    dut = UARTRx(divisor=divisor)
    received = []

    async def testbench(ctx):
        ctx.set(dut.o_stream.ready, 1)
        for level in levels:
            ctx.set(dut.rx, level)
            _, _, valid, payload = await ctx.tick().sample(dut.o_stream.valid, dut.o_stream.payload)
            if valid:
                received.append(payload)

    _simulate(dut, testbench)
    assert received == [0x5A]


def test_rx_flags_overrun_and_keeps_first_byte():
    divisor = 4
    levels = uart_model.encode([0x11, 0x22], divisor) + [1] * (2 * divisor)
    dut = UARTRx(divisor=divisor)
    overruns = 0

    async def testbench(ctx):
        nonlocal overruns
        ctx.set(dut.o_stream.ready, 0)  # nobody takes the first byte
        for level in levels:
            ctx.set(dut.rx, level)
            _, _, overrun = await ctx.tick().sample(dut.overrun)
            overruns += overrun
        assert ctx.get(dut.o_stream.valid) == 1
        assert ctx.get(dut.o_stream.payload) == 0x11

    _simulate(dut, testbench)
    assert overruns == 1


def test_uart_loops_back_through_pins():
    divisor = 5
    data = bytes(range(0, 256, 37))
    dut = UART(divisor=divisor)
    line = []

    async def testbench(ctx):
        ctx.set(dut.o_stream.ready, 1)
        # Feed the receiver from the transmitter's pin: a wire from tx to rx.
        sent = 0
        received = []
        for _ in range(len(data) * 11 * divisor + 40):
            ctx.set(dut.i_stream.valid, sent < len(data))
            ctx.set(dut.i_stream.payload, data[sent] if sent < len(data) else 0)
            ctx.set(dut.rx, ctx.get(dut.tx))
            _, _, ready, valid, out_valid, out_payload, tx = await ctx.tick().sample(
                dut.i_stream.ready,
                dut.i_stream.valid,
                dut.o_stream.valid,
                dut.o_stream.payload,
                dut.tx,
            )
            line.append(tx)
            sent += ready and valid
            if out_valid:
                received.append(out_payload)
        assert bytes(received) == data

    _simulate(dut, testbench)
    assert bytes(uart_model.decode(line, divisor).data) == data


@pytest.mark.parametrize(
    ("divisor", "error"),
    [
        (3, "Divisor must be at least 4 clock cycles, not 3"),
        (0, "Divisor must be at least 4 clock cycles, not 0"),
    ],
)
def test_divisor_too_small(divisor, error):
    for cls in (UARTTx, UARTRx, UART):
        with pytest.raises(ValueError, match=error):
            cls(divisor=divisor)


@pytest.mark.parametrize("divisor", [4.0, "16", True])
def test_divisor_not_integer(divisor):
    with pytest.raises(TypeError, match=r"Divisor must be an integer, not "):
        UARTTx(divisor=divisor)


def test_divisor_for():
    assert divisor_for(12e6, 115200) == 104
    assert divisor_for(25e6, 115200) == 217
    with pytest.raises(ValueError, match=r"off by .* choose another baud rate"):
        divisor_for(1e6, 180_000)
    with pytest.raises(ValueError, match=r"too slow for 1000000 baud"):
        divisor_for(2e6, 1_000_000)


def test_model_frame_bits():
    assert uart_model.frame_bits(0x01) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert uart_model.frame_bits(0x80, stop=0) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    with pytest.raises(ValueError, match=r"must be in 0\.\.255, not 256"):
        uart_model.frame_bits(256)
