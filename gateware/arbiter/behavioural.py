"""Simulation body of the arbiter PUF: the additive delay model in integers, run-time weights.

The arithmetic is defined once in :mod:`ropuf.spec.arbiter_behavioural`; this file only builds it.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.xorshift import xorshift32
from ropuf.spec import arbiter_behavioural

from .body import ArbiterBodySignature

__all__ = ["ArbiterSimLoadSignature", "SimArbiterBody"]


class ArbiterSimLoadSignature(wiring.Signature):
    """Simulation-only port that loads a die: weights, the noise seed and the noise scale.

    Members
    -------
    weight_addr : Out(range(k * (n_stages + 1)))
        Weight written when ``weight_we`` is high: ``chain * (n_stages + 1) + stage``, stage
        ``n_stages`` being the chain's bias.
    weight_data : Out(signed(WEIGHT_BITS))
        The weight, in weight units (see :func:`ropuf.sim.arbiter_model.sim_load`).
    weight_we : Out(1)
        Write strobe (one weight per cycle).
    seed : Out(32)
        Noise generator seed, loaded when ``seed_we`` is high (zero means ``DEFAULT_SEED``).
    seed_we : Out(1)
        Seed load strobe.
    noise_scale : Out(NOISE_SCALE_BITS)
        Noise amplitude (see :func:`ropuf.spec.arbiter_behavioural.noise_scale_for`); zero for none.
    """

    def __init__(self, *, n_stages: int, k: int):
        super().__init__(
            {
                "weight_addr": Out(range(k * (n_stages + 1))),
                "weight_data": Out(signed(arbiter_behavioural.WEIGHT_BITS)),
                "weight_we": Out(1),
                "seed": Out(32),
                "seed_we": Out(1),
                "noise_scale": Out(arbiter_behavioural.NOISE_SCALE_BITS),
            }
        )


def _tree_sum(terms: list):
    """Sum of *terms* as a balanced tree (widths grow by one bit a level, not a term)."""
    while len(terms) > 1:
        paired = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
    return terms[0]


class SimArbiterBody(wiring.Component):
    """k behavioural arbiter chains (for Verilator and Amaranth's simulator).

    On the cycle ``launch`` rises, every chain evaluates ``delta = sum of +-w by the parity
    bits + bias + noise`` for the current challenge and registers ``delta > 0``, and the noise
    generator advances by ``k * DRAWS_PER_CHAIN`` steps; see :mod:`ropuf.spec.arbiter_behavioural`.

    Parameters
    ----------
    n_stages, k : int
        Stages per chain, number of chains.

    Attributes
    ----------
    puf : In(ArbiterBodySignature)
        ``chains`` is valid from the cycle after ``launch`` rises until the next rise.
    sim : In(ArbiterSimLoadSignature)
        Loads the die at run time.
    """

    def __init__(self, *, n_stages: int, k: int):
        self._n_stages = n_stages
        self._k = k
        super().__init__(
            {
                "puf": In(ArbiterBodySignature(n_stages=n_stages, k=k)),
                "sim": In(ArbiterSimLoadSignature(n_stages=n_stages, k=k)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        n, k = self._n_stages, self._k

        weights = []
        for chain in range(k):
            row = []
            for stage in range(n + 1):
                weight = Signal(signed(arbiter_behavioural.WEIGHT_BITS), name=f"w{chain}_{stage}")
                address = chain * (n + 1) + stage
                with m.If(self.sim.weight_we & (self.sim.weight_addr == address)):
                    m.d.sync += weight.eq(self.sim.weight_data)
                row.append(weight)
            weights.append(row)

        state = Signal(32, init=arbiter_behavioural.DEFAULT_SEED)
        with m.If(self.sim.seed_we):
            m.d.sync += state.eq(
                Mux(self.sim.seed == 0, arbiter_behavioural.DEFAULT_SEED, self.sim.seed)
            )
        draws = []
        value = state
        for index in range(k * arbiter_behavioural.DRAWS_PER_CHAIN):
            draw = Signal(32, name=f"draw{index}")  # a signal per step keeps the logic linear
            m.d.comb += draw.eq(xorshift32(value))
            draws.append(draw)
            value = draw

        # parity[i] = c[i] ^ ... ^ c[n - 1]: the stage's weight enters negated when it is 1.
        challenge = self.puf.challenge
        parity = Signal(n)
        m.d.comb += parity[n - 1].eq(challenge[n - 1])
        for stage in reversed(range(n - 1)):
            m.d.comb += parity[stage].eq(challenge[stage] ^ parity[stage + 1])

        width = arbiter_behavioural.delta_width(n)
        scale = Cat(self.sim.noise_scale, Const(0, 1)).as_signed()
        decisions = []
        for chain in range(k):
            group = draws[
                chain * arbiter_behavioural.DRAWS_PER_CHAIN : (chain + 1)
                * arbiter_behavioural.DRAWS_PER_CHAIN
            ]
            total = Signal(signed(20), name=f"noise_sum{chain}")
            m.d.comb += total.eq(sum(d[16:] for d in group) - arbiter_behavioural.NOISE_CENTRE)
            noise = Signal(
                signed(20 + arbiter_behavioural.NOISE_SCALE_BITS + 1), name=f"noise{chain}"
            )
            m.d.comb += noise.eq(total * scale)
            row = weights[chain]
            terms = [Mux(parity[i], -row[i], row[i]) for i in range(n)]
            terms += [row[n], noise >> arbiter_behavioural.NOISE_SHIFT]
            delta = Signal(signed(width), name=f"delta{chain}")
            m.d.comb += delta.eq(_tree_sum(terms))
            decisions.append(delta > 0)

        launched = Signal()
        m.d.sync += launched.eq(self.puf.launch)
        with m.If(self.puf.launch & ~launched):
            m.d.sync += self.puf.chains.eq(Cat(*decisions))
            with m.If(~self.sim.seed_we):
                m.d.sync += state.eq(draws[-1])

        return m
