"""Design offsets of the simulated board: what characterising its design would give.

A design team characterises several devices of a build and averages each RO's count relative
to its die's mean (:mod:`ropuf.host.design_offsets`). For the simulated board the same average
is taken over dies of the silicon model that are never enrolled (seeds from
:data:`TRAINING_SEED`), noise-free, at 25 C: the layout-shared part of the model is the same
for every die, so these are the offsets a real characterisation converges to.
"""

import functools

import numpy as np

from ropuf.host.design_offsets import estimate_offsets
from ropuf.spec.device_config import DeviceConfig

from .board import SIM_CLOCK_HZ, SIM_DEVICE
from .ro_measure import sim_load
from .silicon import Die

__all__ = ["TRAINING_DIES", "TRAINING_SEED", "simulated_offsets"]

#: First die seed of the characterisation set (far from the seeds fleets and tests use).
TRAINING_SEED = 1_000_000
#: Dies characterised.
TRAINING_DIES = 200


@functools.cache
def simulated_offsets(params: DeviceConfig = SIM_DEVICE) -> np.ndarray:
    """Offsets of the ROs *params*' key construction consumes, in counts of its gate."""
    if params.code is None:
        raise ValueError("a build without a key path has no key construction to offset")
    ros = params.code.ros
    counts = np.empty((TRAINING_DIES, ros))
    for i in range(TRAINING_DIES):
        load = sim_load(
            Die(TRAINING_SEED + i, n_ro=params.n_ro),
            25.0,
            None,
            clock_hz=SIM_CLOCK_HZ,
            gate_cycles=params.gate_cycles,
        )
        counts[i] = params.gate_cycles * np.asarray(load.rates[:ros], dtype=np.float64) / 2**16
    offsets = estimate_offsets(counts)
    offsets.setflags(write=False)
    return offsets
