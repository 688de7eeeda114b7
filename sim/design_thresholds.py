"""Design offsets of the simulated boards: what characterising their design would give.

A design team characterises several devices of a build and averages each RO's count relative
to its die's mean (:mod:`ropuf.host.design_offsets`); the build holds the result, rounded per
RO (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`). For a simulated board the same
average is taken over dies of the silicon model that are never enrolled (seeds from
:data:`TRAINING_SEED`), noise-free, at 25 C: the layout-shared part of the model is the same
for every die, so these are the offsets a real characterisation converges to.

This module imports nothing of :mod:`ropuf.sim.board`, so the board's builds can be given
their offsets here (:func:`with_simulated_offsets`); each (RO count, gate) is computed once, in
well under a second.
"""

import functools
from dataclasses import replace

import numpy as np

from ropuf.host.design_offsets import as_build_offsets, estimate_offsets
from ropuf.spec.device_config import DeviceConfig

from .ro_measure import SIM_CLOCK_HZ, sim_load
from .silicon import Die

__all__ = ["TRAINING_DIES", "TRAINING_SEED", "simulated_offsets", "with_simulated_offsets"]

#: First die seed of the characterisation set (far from the seeds fleets and tests use).
TRAINING_SEED = 1_000_000
#: Dies characterised.
TRAINING_DIES = 200


@functools.cache
def _offsets(n_ro: int, gate_cycles: int) -> tuple[int, ...]:
    counts = np.empty((TRAINING_DIES, n_ro))
    for i in range(TRAINING_DIES):
        load = sim_load(
            Die(TRAINING_SEED + i, n_ro=n_ro),
            25.0,
            None,
            clock_hz=SIM_CLOCK_HZ,
            gate_cycles=gate_cycles,
        )
        counts[i] = gate_cycles * np.asarray(load.rates, dtype=np.float64) / 2**16
    return as_build_offsets(estimate_offsets(counts))


def simulated_offsets(config: DeviceConfig) -> tuple[int, ...]:
    """The simulated design's integer offsets for a build of *config*'s RO count and gate:
    ``config.n_ro`` integers, what a :class:`~ropuf.spec.device_config.DeviceConfig` holds
    (whatever *config* holds itself)."""
    return _offsets(config.n_ro, config.gate_cycles)


def with_simulated_offsets(config: DeviceConfig) -> DeviceConfig:
    """*config* holding the simulated design's offsets (:func:`simulated_offsets`)."""
    return replace(config, offsets=simulated_offsets(config))
