"""The interface every arbiter PUF body (the chains) offers the sequencer of :mod:`.puf`.

Three bodies implement it: :class:`~ropuf.gateware.arbiter.behavioural.SimArbiterBody` (the
additive delay model, for simulation) and the placed iCE40 and ECP5 chains.
"""

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ArbiterBodySignature", "PlacedArbiterBody", "race_paths"]


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


class PlacedArbiterBody(wiring.Component):
    """k placed arbiter chains of one family: checks the placement (``PLACEMENT`` is the
    family's placement class, the default when none is given) and offers the ``puf`` port.

    Raises
    ------
    TypeError, ValueError
        The placement is not a ``PLACEMENT``, or the chains do not fit it.
    """

    PLACEMENT: type

    def __init__(self, *, n_stages: int, k: int, placement=None):
        if placement is None:
            placement = self.PLACEMENT()
        if not isinstance(placement, self.PLACEMENT):
            raise TypeError(f"Placement must be an {self.PLACEMENT.__name__}, not {placement!r}")
        self._check_fit(placement, n_stages=n_stages, k=k)
        self._placement = placement
        self._n_stages = n_stages
        self._k = k
        super().__init__({"puf": In(ArbiterBodySignature(n_stages=n_stages, k=k))})

    def _check_fit(self, placement, *, n_stages: int, k: int) -> None:
        """Raise ValueError when the chains do not fit *placement*."""
        raise NotImplementedError


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
