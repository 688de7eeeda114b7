"""The interface every arbiter PUF body (the chains) offers the sequencer of :mod:`.puf`.

Three bodies implement it: :class:`~ropuf.gateware.arbiter.behavioural.SimArbiterBody` (the
additive delay model, for simulation) and the placed iCE40 and ECP5 chains.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ArbiterBodySignature"]


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
        self._n_stages = n_stages
        self._k = k
        super().__init__(
            {
                "challenge": Out(n_stages),
                "launch": Out(1),
                "chains": In(k),
            }
        )

    @property
    def n_stages(self) -> int:
        return self._n_stages

    @property
    def k(self) -> int:
        return self._k
