# amaranth: UnusedElaboratable=no
"""The P-256 field ALU in Amaranth's simulator: each instruction against Python integers.

Small programs (a handful of instructions) on random operands modulo p and modulo n, the edge
operands 0, 1, m - 1, and the cycle count of each against :func:`p256_alu.cycles`.
"""

import random

import pytest
from amaranth.sim import Simulator

from ropuf.gateware.crypto.p256_alu import (
    ADD,
    ADDK,
    BIT,
    CHK,
    CLRF,
    KEY_MODULUS,
    LOOP,
    MODULI,
    MUL,
    P256ALU,
    REGISTERS,
    SEL,
    SETC,
    STOP,
    SUB,
    WORD_BITS,
    WORDS,
    Instruction,
    cycles,
    run_model,
)

R = 2 ** (WORD_BITS * WORDS)


def run(program, registers, *, entry=0, read=None, readable=None, max_cycles=200_000, flag=None):
    """Load *registers* (``{number: value}``), run *program* from *entry*; return the values of
    the registers in *read* (all loaded ones when None) and the busy cycles. The fault flag after
    the run is appended to the list *flag* if given."""
    dut = P256ALU(program, readable=readable)
    read = sorted(registers) if read is None else read
    out = {}
    busy_cycles = []
    faults = []

    async def testbench(ctx):
        for number, value in registers.items():
            for j in range(WORDS):
                ctx.set(dut.addr, number * WORDS + j)
                ctx.set(dut.wdata, (value >> (WORD_BITS * j)) & (2**WORD_BITS - 1))
                ctx.set(dut.we, 1)
                await ctx.tick()
        ctx.set(dut.we, 0)
        ctx.set(dut.entry, entry)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        n = 0
        while ctx.get(dut.busy):
            await ctx.tick()
            n += 1
            assert n < max_cycles, "the program did not stop"
        busy_cycles.append(n)
        faults.append(ctx.get(dut.fault))
        for number in read:
            value = 0
            for j in range(WORDS):
                ctx.set(dut.addr, number * WORDS + j)
                await ctx.tick()
                value |= ctx.get(dut.rdata) << (WORD_BITS * j)
            out[number] = value

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    if flag is not None:
        flag.extend(faults)
    return out, busy_cycles[0]


def operands(modulus, rng, count):
    edge = [0, 1, modulus - 1, modulus // 2, R - 1 - modulus]
    return edge + [rng.randrange(modulus) for _ in range(count)]


@pytest.mark.parametrize("mod", [0, 1], ids=["p", "n"])
def test_arithmetic_matches_python(mod):
    modulus = MODULI[mod]
    rng = random.Random(mod)
    xs = operands(modulus, rng, 3)
    ys = list(reversed(operands(modulus, rng, 3)))
    r_inv = pow(R, -1, modulus)
    for x, y in zip(xs, ys, strict=True):
        program = [
            Instruction(MUL, dst=2, a=0, b=1, mod=mod),
            Instruction(ADD, dst=3, a=0, b=1, mod=mod),
            Instruction(SUB, dst=4, a=0, b=1, mod=mod),
            Instruction(SUB, dst=5, a=1, b=0, mod=mod),
            Instruction(MUL, dst=6, a=0, b=0, mod=mod),
            Instruction(ADD, dst=0, a=0, b=0, mod=mod),  # in place
            Instruction(STOP),
        ]
        out, busy = run(program, {0: x, 1: y}, read=[0, 2, 3, 4, 5, 6])
        assert out[2] == x * y * r_inv % modulus
        assert out[3] == (x + y) % modulus
        assert out[4] == (x - y) % modulus
        assert out[5] == (y - x) % modulus
        assert out[6] == x * x * r_inv % modulus
        assert out[0] == 2 * x % modulus
        assert busy == cycles(program)


@pytest.mark.parametrize("mod", [0, 1], ids=["p", "n"])
def test_multiplication_in_place_and_carry_heavy_operands_match_the_model(mod):
    # MUL writes dst only after its last read: dst = a, dst = b and a = b = dst all work. The
    # operands include words of all ones (every column's carry at its largest) and results on
    # both sides of the final subtraction (t < m and t >= m, a pair of each per modulus).
    modulus = MODULI[mod]
    rng = random.Random(10 + mod)
    values = [modulus - 1, modulus - 2, R - 1 - modulus, 2**255, 1, R // 3 % modulus]
    values += [rng.randrange(modulus) for _ in range(6)]
    program = [
        Instruction(MUL, dst=2, a=0, b=1, mod=mod),
        Instruction(MUL, dst=0, a=0, b=1, mod=mod),  # dst = a
        Instruction(MUL, dst=1, a=2, b=1, mod=mod),  # dst = b
        Instruction(MUL, dst=3, a=3, b=3, mod=mod),  # dst = a = b
        Instruction(STOP),
    ]
    for x, y in zip(values, reversed(values), strict=True):
        loaded = {0: x, 1: y, 3: x ^ y if x ^ y < modulus else y}
        expected = [0] * REGISTERS
        for number, value in loaded.items():
            expected[number] = value
        total, _ = run_model(program, expected)
        out, busy = run(program, {**loaded, 2: 0}, read=[0, 1, 2, 3])
        assert [out[k] for k in range(4)] == expected[:4]
        assert busy == total == cycles(program)


def test_multiplication_takes_a_full_width_operand():
    # A 256-bit number (a scalar not yet reduced) times R^2 mod n gives its Montgomery form.
    n = MODULI[1]
    r2 = R * R % n
    for k in (R - 1, n, n + 1, 2**255):
        out, _ = run(
            [Instruction(MUL, dst=2, a=0, b=1, mod=1), Instruction(STOP)], {0: k, 1: r2}, read=[2]
        )
        assert out[2] == k * R % n


def test_loop_bits_and_select():
    # Double-and-add over the bits of a 256-bit register: x * e mod p (256 passes of the loop).
    p = MODULI[0]
    rng = random.Random(3)
    x, e = rng.randrange(p), rng.randrange(R)
    program = [
        Instruction(SEL, dst=3, a=2, b=2),  # acc = 0
        Instruction(SETC),
        Instruction(BIT, a=1),
        Instruction(ADD, dst=3, a=3, b=3),
        Instruction(ADD, dst=4, a=3, b=0),
        Instruction(SEL, dst=3, a=3, b=4),
        Instruction(LOOP, target=2),
        Instruction(STOP),
    ]
    out, busy = run(program, {0: x, 1: e, 2: 0}, read=[3])
    assert out[3] == x * e % p
    assert busy == cycles(program)


def test_instructions_are_checked():
    with pytest.raises(ValueError, match="register"):
        Instruction(MUL, dst=REGISTERS)
    with pytest.raises(ValueError, match="opcode"):
        Instruction(11)
    with pytest.raises(ValueError, match="instructions"):
        P256ALU([])


def test_only_readable_registers_reach_the_read_port():
    program = [Instruction(ADD, dst=2, a=0, b=1), Instruction(STOP)]
    out, _ = run(program, {0: 5, 1: 7}, read=[0, 1, 2], readable=[2])
    assert out == {0: 0, 1: 0, 2: 12}
    with pytest.raises(ValueError, match="readable"):
        P256ALU(program, readable=[REGISTERS])


@pytest.mark.parametrize(
    "value, mod, fault", [(0, 0, 0), (2**255, 0, 1), (1, 1, 0), (0, 1, 1)], ids=str
)
def test_check_sets_the_fault_flag_and_hides_the_results(value, mod, fault):
    # CHK a, mod 0: fault if a != 0; mod 1: fault if a == 0. While it is set, nothing is read.
    program = [
        Instruction(ADD, dst=2, a=1, b=1),
        Instruction(CHK, a=0, mod=mod),
        Instruction(CHK, a=1, mod=1),  # 5 != 0: passes, and does not clear the flag
        Instruction(STOP),
    ]
    flag = []
    out, busy = run(program, {0: value, 1: 5}, read=[2], readable=[2], flag=flag)
    assert flag == [fault]
    assert out[2] == (0 if fault else 10)
    assert busy == cycles(program)


def test_clrf_clears_the_flag():
    program = [Instruction(CHK, a=0), Instruction(CLRF), Instruction(STOP)]
    flag = []
    run(program, {0: 1}, read=[], flag=flag)
    assert flag == [0]


def test_addk_adds_modulo_n_minus_1():
    # ADDK ignores the mod bit: n - 1 either way, and the fix pass adds n - 1 back.
    m = KEY_MODULUS
    pairs = [(0, 0), (m - 1, 1), (m - 1, m - 1), (m // 2, m // 2 + 1), (5, 7)]
    for mod in (0, 1):
        program = [Instruction(ADDK, dst=10 + k, a=k, b=k + 5, mod=mod) for k in range(5)]
        program.append(Instruction(STOP))
        registers = {k: a for k, (a, _) in enumerate(pairs)}
        registers.update({k + 5: b for k, (_, b) in enumerate(pairs)})
        out, busy = run(program, registers, read=range(10, 15))
        assert [out[10 + k] for k in range(5)] == [(a + b) % m for a, b in pairs]
        assert busy == cycles(program)
