"""Design thresholds of the simulated board: what characterising its design would give.

A design team characterises several devices of a build and averages each pair's count
difference (:mod:`ropuf.host.design_offsets`). For the simulated board the same average is
taken over dies of the silicon model that are never enrolled (seeds from
:data:`TRAINING_SEED`), noise-free, at 25 C: the layout-shared part of the model is the same
for every die, so this is the threshold a real characterisation converges to.
"""

import functools

import numpy as np

from ropuf.host.design_offsets import estimate_thresholds
from ropuf.spec.device_config import DeviceConfig

from .board import SIM_CLOCK_HZ, SIM_DEVICE
from .ro_measure import sim_load
from .silicon import Die

__all__ = ["TRAINING_DIES", "TRAINING_SEED", "simulated_thresholds"]

#: First die seed of the characterisation set (far from the seeds fleets and tests use).
TRAINING_SEED = 1_000_000
#: Dies characterised.
TRAINING_DIES = 200


@functools.cache
def simulated_thresholds(params: DeviceConfig = SIM_DEVICE) -> np.ndarray:
    """Thresholds of *params*' candidate pairs, in soft units of its gate."""
    if params.code is None:
        raise ValueError("a build without a key path has no candidate pairs")
    pairs = params.code.candidate_pairs
    means = np.empty((TRAINING_DIES, pairs))
    for i in range(TRAINING_DIES):
        load = sim_load(
            Die(TRAINING_SEED + i, n_ro=params.n_ro),
            25.0,
            None,
            clock_hz=SIM_CLOCK_HZ,
            gate_cycles=params.gate_cycles,
        )
        rates = np.asarray(load.rates, dtype=np.float64)
        means[i] = params.gate_cycles * (rates[0 : 2 * pairs : 2] - rates[1 : 2 * pairs : 2])
    means /= 2**16
    thresholds = estimate_thresholds(means)
    thresholds.setflags(write=False)
    return thresholds
