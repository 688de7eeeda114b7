"""The interface every arbiter PUF body (the chains) offers the sequencer of :mod:`.puf`.

Three bodies implement it: :class:`~ropuf.gateware.arbiter.behavioural.SimArbiterBody` (the
additive delay model, for simulation) and the placed iCE40 and ECP5 chains.
"""

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ArbiterBodySignature", "race_paths"]


class ArbiterBodySignature(wiring.Signature):
    """Sequencer-side view of an arbiter PUF body (``k`` chains of ``n`` stages).

    Members
    -------
    challenge : Out(n_stages)
        The switch settings, bit ``j`` for stage ``j``; held from the settle phase until the
        capture.
    launch : Out(1)
        Low: both paths of every chain rest at 0. A rising edge starts the race.
    chains : In(k)
        Each chain's arbiter bit; valid ``settle_cycles`` after ``launch`` rises (the body may
        register ``launch`` once more before the race starts).
    """

    def __init__(self, *, n_stages: int, k: int):
        super().__init__(
            {
                "challenge": Out(n_stages),
                "launch": Out(1),
                "chains": In(k),
            }
        )

    @property
    def n_stages(self) -> int:
        """Stages per chain: the width of ``challenge``."""
        return Shape.cast(self.members["challenge"].shape).width

    @property
    def k(self) -> int:
        """Chains: the width of ``chains``."""
        return Shape.cast(self.members["chains"].shape).width


def race_paths(m: Module, prefix: str, start, challenge, n_stages: int, stage) -> tuple:
    """The two racing paths of one placed chain, from the launch net *start*: at every stage
    a multiplexer LUT per path passes its own path's edge or the other's (the challenge bit
    selects). ``stage(name, own, other, select, out)`` makes the family's LUT instance for
    the cell named ``s{stage}_{side}``; it becomes submodule ``{prefix}_{name}``, its output
    net ``{prefix}_net{stage}_{side}``. Returns the ``(top, bottom)`` path ends."""
    top, bottom = start, start
    for index in range(n_stages):
        outputs = []
        for side, own, other in (("top", top, bottom), ("bot", bottom, top)):
            out = Signal(name=f"{prefix}_net{index}_{side}")
            name = f"s{index}_{side}"
            m.submodules[f"{prefix}_{name}"] = stage(name, own, other, challenge[index], out)
            outputs.append(out)
        top, bottom = outputs
    return top, bottom
