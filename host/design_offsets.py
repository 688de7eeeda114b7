"""Design thresholds: the systematic part of each RO pair's count difference, per design.

Every die of a design shares part of its ring frequencies: the placement and routing of each
ring, and gradients that the die-to-die process repeats. Compared in a fixed pair, that shared
part makes the same response bit likely on every die (bit-aliasing), so an attacker who knows
other devices of the design guesses key bits better than by chance. Subtracting the design's
mean difference of each pair before the sign removes it: on the silicon model the per-position
min-entropy of the 760 candidate bits rises from 0.71 to 0.93 (400 dies each side, the figure
limited by the estimate itself), and guessing a selected bit from the other dies' majority
drops from 70 % to 53 % right (`docs/keygen.md`).

The thresholds are public design data. They are estimated once per design (bitstream and
board family) from a characterisation of several devices with an enrollment build, stored in a
JSON file, and each enrollment copies the selected pairs' values into the helper data, where
the key derivation binds them (:mod:`ropuf.spec.helper_data`). Characterise with devices that
will not be enrolled: each contributes ``1/N`` of its own differences to the public thresholds.
"""

import json
from pathlib import Path

import numpy as np

from ropuf.spec.errors import RopufError

__all__ = ["DesignThresholdsError", "estimate_thresholds", "load_thresholds", "save_thresholds"]

#: Fewest devices an estimate is accepted from: with fewer, each device's own response weighs
#: so much in the mean that subtracting it removes the devices' own randomness too.
MIN_DEVICES = 8


class DesignThresholdsError(RopufError, ValueError):
    """Thresholds that cannot be used: too few devices, a malformed file, or a file made for
    another design. The message says which and what to do."""


def estimate_thresholds(device_means: np.ndarray) -> np.ndarray:
    """Thresholds from a characterisation: the mean over devices of each pair's mean soft value.

    Parameters
    ----------
    device_means : array_like, shape (devices, pairs)
        Each device's mean count difference (soft value) per candidate pair, read with the same
        gate as the devices to be enrolled.

    Returns
    -------
    numpy.ndarray of int64, shape (pairs,)
        Rounded to whole counts (the device subtracts integers), within signed 16 bits.
    """
    means = np.asarray(device_means, dtype=np.float64)
    if means.ndim != 2:
        raise DesignThresholdsError(
            f"device means must have shape (devices, pairs), not {means.shape!r}"
        )
    if means.shape[0] < MIN_DEVICES:
        raise DesignThresholdsError(
            f"{means.shape[0]} devices are too few to estimate design thresholds: "
            f"characterise at least {MIN_DEVICES}"
        )
    return np.clip(np.rint(means.mean(axis=0)), -(2**15) + 1, 2**15 - 1).astype(np.int64)


def save_thresholds(path: str | Path, thresholds: np.ndarray, *, gate_cycles: int, devices: int):
    """Write *thresholds* as JSON with what they are valid for."""
    Path(path).write_text(
        json.dumps(
            {
                "kind": "ropuf design thresholds",
                "gate_cycles": int(gate_cycles),
                "devices": int(devices),
                "thresholds": [int(t) for t in thresholds],
            },
            indent=1,
        )
    )


def load_thresholds(path: str | Path, *, pairs: int, gate_cycles: int | None) -> np.ndarray:
    """Read a thresholds file and check it fits the device (pair count and gate; the gate is
    not checked when *gate_cycles* is None, for a check before the device is reached).

    Raises
    ------
    DesignThresholdsError
        Unreadable, not a thresholds file, or made for another pair count or gate.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DesignThresholdsError(f"cannot read design thresholds {path}: {error}") from None
    if not isinstance(data, dict) or data.get("kind") != "ropuf design thresholds":
        raise DesignThresholdsError(f"{path} is not a ropuf design-thresholds file")
    values = data.get("thresholds")
    if not isinstance(values, list) or len(values) != pairs:
        raise DesignThresholdsError(
            f"{path} holds {len(values) if isinstance(values, list) else 'no'} thresholds; "
            f"the device has {pairs} candidate pairs"
        )
    if gate_cycles is not None and data.get("gate_cycles") != gate_cycles:
        raise DesignThresholdsError(
            f"{path} was measured with a {data.get('gate_cycles')}-cycle gate; the device "
            f"counts over {gate_cycles}: re-characterise"
        )
    if not all(isinstance(v, int) and abs(v) < 2**15 for v in values):
        raise DesignThresholdsError(f"{path}: thresholds must be signed 16-bit integers")
    return np.array(values, dtype=np.int64)
