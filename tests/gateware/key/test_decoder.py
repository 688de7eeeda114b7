# amaranth: UnusedElaboratable=no
"""Gateware decoder in Amaranth's simulator, bit for bit against the host reference."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from ropuf.gateware.key.decoder import BCHDecoder, decode_cycles
from ropuf.host import fuzzy
from ropuf.spec.code_params import CHOSEN, CodeParams
from ropuf.spec.pairing import RankPairing

SOFT3 = CodeParams(
    rep=3, gf_m=5, t=3, n=31, pairing=RankPairing(batch=4, per_batch=1), soft_width=8
)


def drive(dut, cases, *, gaps=False):
    """Decode each ``(soft, offset)`` on the decoder *dut*: ``(message, failed, cycles,
    stalls)`` per case, cycles from the edge taking the last beat to the first edge with
    ``o_result.valid``, stalls the set of ready-low runs before each beat but the first."""
    results = []

    async def testbench(ctx):
        for soft, offset in cases:
            stalls = set()
            for j, (value, bit) in enumerate(zip(soft, offset, strict=True)):
                if gaps and j % 5 == 2:
                    ctx.set(dut.i_bits.valid, 0)
                    await ctx.tick()
                ctx.set(dut.i_bits.payload, {"soft": int(value), "offset": int(bit)})
                ctx.set(dut.i_bits.valid, 1)
                waited = 0
                while not ctx.get(dut.i_bits.ready):
                    await ctx.tick()
                    waited += 1
                if j:
                    stalls.add(waited)
                await ctx.tick()
            ctx.set(dut.i_bits.valid, 0)
            cycles = 0
            while not ctx.get(dut.o_result.valid):
                assert not ctx.get(dut.i_bits.ready)
                await ctx.tick()
                cycles += 1
            failed = int(ctx.get(dut.o_result.payload).failed)
            # The message a byte at a time (message_shift): the MSB-first packing, zero-padded;
            # the byte shown stays until the shift.
            k = dut.params.k
            packed = bytearray()
            for _ in range((k + 7) // 8):
                assert ctx.get(dut.o_result.valid)
                byte = ctx.get(dut.o_result.payload.byte)
                await ctx.tick()
                assert ctx.get(dut.o_result.payload.byte) == byte
                packed.append(byte)
                ctx.set(dut.message_shift, 1)
                await ctx.tick()
                ctx.set(dut.message_shift, 0)
            padded = int.from_bytes(packed, "big")
            assert padded & ((1 << (-k % 8)) - 1) == 0
            results.append((padded >> (-k % 8), failed, cycles, stalls))
            ctx.set(dut.o_result.ready, 1)
            await ctx.tick()
            ctx.set(dut.o_result.ready, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return results


def run(params, cases, *, gaps=False):
    """Decode each ``(soft, offset)``; returns ``(message, failed, cycles)`` per case, cycles
    from the edge taking the last beat to the first edge with ``o_result.valid``; the
    decoder takes every beat at once (no stall)."""
    results = drive(BCHDecoder(params), cases, gaps=gaps)
    assert all(stalls <= {0} for *_, stalls in results)
    return [result[:3] for result in results]


def reference(params, cases):
    soft = np.array([c[0] for c in cases])
    offset = np.array([c[1] for c in cases])
    message, failed = fuzzy.decode_soft(soft, offset, params)
    as_int = [int("".join(str(b) for b in row), 2) for row in message]
    return list(zip(as_int, failed.astype(int).tolist(), strict=True))


def make_case(params, rng, error_positions, *, spread=2**10):
    """A random message and response whose code bits are wrong exactly at *error_positions*
    (every repetition of those code bits points the wrong way)."""
    limit = 2 ** (params.soft_width - 1) - 1
    message = rng.integers(0, 2, (1, params.k))
    codeword = np.repeat(fuzzy.encode_batch(message, params)[0], params.rep)
    response = rng.integers(0, 2, params.selected_bits)
    offset = response ^ codeword
    magnitude = rng.integers(1, min(spread, limit) + 1, params.selected_bits)
    soft = np.where(response == 1, magnitude, 1 - magnitude)
    for position in error_positions:
        block = slice(position * params.rep, (position + 1) * params.rep)
        soft[block] = 1 - soft[block]  # 2y - 1 changes sign
    return soft, offset


def check(params, cases, **kwargs):
    got = run(params, cases, **kwargs)
    assert [g[:2] for g in got] == reference(params, cases)
    assert {g[2] for g in got} == {decode_cycles(params)}
    return got


def test_chosen_code_random_and_adversarial_patterns():
    p = CHOSEN
    rng = np.random.default_rng(11)
    patterns = [
        [],
        [0],
        [p.n - 1],
        list(range(p.t)),  # burst over the first message bits
        list(range(p.n - p.t, p.n)),  # burst over the last parity bits
        sorted(rng.choice(p.n, p.t, replace=False)),
        sorted(rng.choice(p.n, p.t + 1, replace=False)),  # beyond capability
        sorted(rng.choice(p.n, 2 * p.t, replace=False)),
        list(range(p.n)),  # every bit wrong
    ]
    cases = [make_case(p, rng, e) for e in patterns]
    got = check(p, cases)
    assert [g[1] for g in got] == [0] * 6 + [1, 1, 1]
    assert decode_cycles(p) == 18 * 20 + 208 * 10 == 2440


def test_miscorrection_beyond_t_is_unflagged_like_the_reference():
    # Received word within t of a different codeword: the decoder reports success with the
    # wrong message (as the reference does); only the key-check value catches it.
    p = CHOSEN
    rng = np.random.default_rng(12)
    message = rng.integers(0, 2, (2, p.k))
    first, other = fuzzy.encode_batch(message, p)
    difference = first ^ other
    ones = np.flatnonzero(difference)
    error_positions = ones[p.t :]  # leaves the word t away from `other`
    soft, offset = make_case(p, rng, [])
    codeword = np.repeat(first, p.rep)
    offset = (soft > 0).astype(int) ^ codeword
    soft = soft.copy()
    soft[error_positions] = 1 - soft[error_positions]
    got = check(p, [(soft, offset)])
    assert got[0][1] == 0
    expected_wrong = int("".join(str(b) for b in other[: p.k]), 2)
    assert got[0][0] == expected_wrong


def test_soft_repetition_random_values_and_saturation():
    p = SOFT3
    rng = np.random.default_rng(13)
    limit = 2 ** (p.soft_width - 1) - 1
    cases = []
    for weight in (0, 1, 3, 4, 9):
        soft, offset = make_case(p, rng, rng.choice(p.n, weight, replace=False), spread=limit)
        cases.append((soft, offset))
    # Pure noise, saturated extremes and zeros (ties of the repetition sum cannot happen at
    # rep = 3; zero soft values count as -1).
    cases.append((rng.integers(-limit, limit + 1, p.selected_bits), rng.integers(0, 2, 93)))
    cases.append((np.array([limit, -limit, 0] * p.n), rng.integers(0, 2, p.selected_bits)))
    cases.append((np.zeros(p.selected_bits, int), np.zeros(p.selected_bits, int)))
    got = check(p, cases, gaps=True)
    assert [g[1] for g in got[:3]] == [0, 0, 0]
    assert got[3][1] == 1


def test_hard_decision_and_even_repetition_ties():
    p = CodeParams(
        rep=2, gf_m=5, t=3, n=31, pairing=RankPairing(batch=4, per_batch=2), soft_width=4
    )
    rng = np.random.default_rng(14)
    cases = [(rng.integers(0, 2, 62), rng.integers(0, 2, 62)) for _ in range(6)]
    check(p, cases)


def test_rejects_bad_parameters():
    with pytest.raises(TypeError, match=r"Decoder parameters must be a CodeParams, not 7"):
        BCHDecoder(7)
