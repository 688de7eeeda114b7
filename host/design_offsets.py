"""Design offsets: the systematic part of each ring oscillator's count, per design.

Every die of a design shares part of its ring frequencies: the placement and routing of each
ring, and gradients that the die-to-die process repeats. That shared part makes the same ROs
fast on every die, so rank pairs and their response bits would repeat from die to die
(bit-aliasing), and an attacker who knows other devices of the design would guess key bits
better than by chance. The design offset of an RO is its count relative to its own die's mean
count, averaged over characterised dies: the design's systematic part, with each die's overall
speed removed.

The offsets are public design data, held by the build: the device's key engine subtracts a
pair's design threshold ``offsets[a] - offsets[b]``
(:meth:`ropuf.spec.device_config.DeviceConfig.threshold`) from its count difference before the
sign, with the build's *integer* offsets (:attr:`~ropuf.spec.device_config.DeviceConfig.offsets`).
A file's offsets become a build's by :func:`as_build_offsets` (each RO rounded on its own, then
differences taken), the one conversion the build and every host use, so that enrollment
(:func:`ropuf.host.keygen.enrol`, which ranks each batch by ``mean count - offset`` and takes
the bits as the device does) and the device agree exactly. The helper data carries nothing of
them.

They are estimated once per design (bitstream and board family) from a characterisation of
several devices with an enrollment build, stored in a JSON file of kind :data:`KIND`.
Characterise with devices that will not be enrolled: each contributes ``1/N`` of its own counts
to the public offsets. Files of the neighbour-pair construction (kind ``"ropuf design
thresholds"``, one threshold per fixed pair) are refused: characterise again.
"""

import json
import math
from pathlib import Path

import numpy as np

from ropuf.spec.device_config import OFFSET_LIMIT
from ropuf.spec.errors import RopufError

__all__ = [
    "KIND",
    "MIN_DEVICES",
    "DesignOffsetsError",
    "as_build_offsets",
    "estimate_offsets",
    "load_offsets",
    "pair_thresholds",
    "save_offsets",
]

#: Fewest devices an estimate is accepted from: with fewer, each device's own response weighs
#: so much in the mean that subtracting it removes the devices' own randomness too.
MIN_DEVICES = 8

#: The ``kind`` of an offsets file.
KIND = "ropuf design RO offsets"
#: The kind of the neighbour-pair construction's per-pair thresholds files (refused).
_OLD_KIND = "ropuf design thresholds"


class DesignOffsetsError(RopufError, ValueError):
    """Offsets that cannot be used: too few devices, a malformed file, a file of the old
    per-pair kind, or one made for another design. The message says which and what to do."""


def estimate_offsets(device_counts: np.ndarray) -> np.ndarray:
    """Offsets from a characterisation: the mean over devices of each RO's mean count less
    that device's mean over all its ROs.

    Parameters
    ----------
    device_counts : array_like, shape (devices, n_ro)
        Each device's mean count per RO, read with the same gate as the devices to be enrolled.

    Returns
    -------
    numpy.ndarray of float64, shape (n_ro,)
        In counts, rounded to 1/100 count (what the file stores).
    """
    counts = np.asarray(device_counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise DesignOffsetsError(
            f"device counts must have shape (devices, n_ro >= 2), not {counts.shape!r}"
        )
    if counts.shape[0] < MIN_DEVICES:
        raise DesignOffsetsError(
            f"{counts.shape[0]} devices are too few to estimate design offsets: "
            f"characterise at least {MIN_DEVICES}"
        )
    relative = counts - counts.mean(axis=1, keepdims=True)
    return np.round(relative.mean(axis=0), 2)


def as_build_offsets(values, n_ro: int | None = None) -> tuple[int, ...]:
    """The integer design offsets a build holds
    (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`) from per-RO offsets in counts
    (:func:`estimate_offsets`, :func:`load_offsets`): each RO's offset rounded to the nearest
    integer (halves to even), the one rounding host and device share.

    Parameters
    ----------
    values : array_like of float, shape (m,)
    n_ro : int, optional
        Keep the first *n_ro* (at least that many are needed); all when None.

    Raises
    ------
    DesignOffsetsError
        Fewer than *n_ro* values, a value not finite, or one outside
        ``+-OFFSET_LIMIT`` once rounded (offsets of another gate, or a broken file).
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or (n_ro is not None and len(array) < n_ro):
        raise DesignOffsetsError(
            f"design offsets must be {n_ro if n_ro is not None else 'some'} per-RO numbers, "
            f"not shape {array.shape!r}"
        )
    if n_ro is not None:
        array = array[:n_ro]
    if not np.all(np.isfinite(array)):
        raise DesignOffsetsError("design offsets must be finite numbers (counts)")
    rounded = np.rint(array)
    if np.any(np.abs(rounded) > OFFSET_LIMIT):
        raise DesignOffsetsError(
            f"a design offset is outside +-{OFFSET_LIMIT} counts: the offsets do not fit this "
            "gate; re-characterise"
        )
    return tuple(int(v) for v in rounded)


def pair_thresholds(offsets, pairs) -> np.ndarray:
    """Design thresholds of RO *pairs* from a build's integer offsets (:func:`as_build_offsets`):
    ``offsets[a] - offsets[b]``, int64; :meth:`ropuf.spec.device_config.DeviceConfig.threshold`
    over arrays. None: zeros."""
    index = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if offsets is None:
        return np.zeros(len(index), dtype=np.int64)
    offsets = np.asarray(offsets)
    if offsets.dtype.kind not in "iu":
        raise TypeError("pair thresholds need the build's integer offsets (as_build_offsets)")
    offsets = offsets.astype(np.int64)
    return offsets[index[:, 0]] - offsets[index[:, 1]]


def save_offsets(path: str | Path, offsets: np.ndarray, *, gate_cycles: int, devices: int):
    """Write *offsets* as JSON with what they are valid for."""
    Path(path).write_text(
        json.dumps(
            {
                "kind": KIND,
                "version": 1,
                "gate_cycles": int(gate_cycles),
                "devices": int(devices),
                "offsets": [round(float(v), 2) for v in offsets],
            },
            indent=1,
        )
    )


def load_offsets(path: str | Path, *, ros: int | None, gate_cycles: int | None) -> np.ndarray:
    """Read an offsets file and check it fits the device: at least *ros* ROs (the ROs the key
    construction consumes) and the gate (neither is checked when None, for a check before the
    device is reached).

    Returns
    -------
    numpy.ndarray of float64, shape (n_ro,)

    Raises
    ------
    DesignOffsetsError
        Unreadable, not an offsets file, an old per-pair thresholds file, an unknown version,
        or made for fewer ROs or another gate.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DesignOffsetsError(f"cannot read design offsets {path}: {error}") from None
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == _OLD_KIND:
        raise DesignOffsetsError(
            f"{path} holds per-pair thresholds of the neighbour-pair construction, which this "
            "design no longer uses; it takes per-RO design offsets: characterise the design "
            "again with 'ropuf thresholds'"
        )
    if kind != KIND:
        raise DesignOffsetsError(f"{path} is not a ropuf design-offsets file")
    if data.get("version") != 1:
        raise DesignOffsetsError(
            f"{path} is a design-offsets file of version {data.get('version')!r}; this reader "
            "knows version 1"
        )
    values = data.get("offsets")
    if not isinstance(values, list) or (ros is not None and len(values) < ros):
        raise DesignOffsetsError(
            f"{path} holds {len(values) if isinstance(values, list) else 'no'} RO offsets; "
            f"the key construction uses {ros} ROs"
        )
    if gate_cycles is not None and data.get("gate_cycles") != gate_cycles:
        raise DesignOffsetsError(
            f"{path} was measured with a {data.get('gate_cycles')}-cycle gate; the device "
            f"counts over {gate_cycles}: re-characterise"
        )
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise DesignOffsetsError(f"{path}: offsets must be finite numbers (counts)")
    return np.array(values, dtype=np.float64)
