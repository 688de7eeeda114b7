"""What the simulated RO array measures, computed in Python: the model the gateware must equal.

Given the edge rates loaded into the simulation body, the noise seed and scale, and a list of
pairs, :func:`measure_pairs` returns exactly the results the gateware streams out (bit, soft
value, both counts and the flags), using the single definition of the arithmetic in
:mod:`ropuf.spec.ro_behavioural`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ropuf.spec import ro_behavioural

from .silicon import Die

__all__ = [
    "SIM_CLOCK_HZ",
    "MeasureConfig",
    "PairResult",
    "SimLoad",
    "edge_rates",
    "measure_pairs",
    "sim_load",
]

#: The simulated board's system clock: 12 MHz rounded to whole picoseconds per half period.
SIM_CLOCK_HZ = 1e12 / 83_334


class PairResult(NamedTuple):
    """One result as the gateware streams it (see ``ropuf.gateware.ro.array.ResultLayout``)."""

    bit: int
    soft: int
    count_a: int
    count_b: int
    overflow: int
    invalid: int


@dataclass(frozen=True)
class MeasureConfig:
    """The array parameters a measurement depends on."""

    n_ro: int
    gate_cycles: int
    count_width: int
    soft_width: int


def edge_rates(freqs_hz: Sequence[float] | np.ndarray, clock_hz: float) -> np.ndarray:
    """Fixed-point edge rates (rising edges per system clock cycle) of rings at *freqs_hz*.

    Raises
    ------
    ValueError
        A frequency is negative or not finite, or a rate does not fit :data:`RATE_BITS`.
    """
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    if clock_hz <= 0:
        raise ValueError(f"Clock frequency must be positive, not {clock_hz!r}")
    if not np.all(np.isfinite(freqs)) or np.any(freqs < 0):
        raise ValueError("Ring frequencies must be finite and not negative")
    rates = np.rint(freqs / clock_hz * 2**ro_behavioural.RATE_FRAC).astype(np.int64)
    if np.any(rates >= 2**ro_behavioural.RATE_BITS):
        most = 2 ** (ro_behavioural.RATE_BITS - ro_behavioural.RATE_FRAC) - 1
        raise ValueError(
            f"A ring at {freqs.max():.4g} Hz is too fast for a {clock_hz:.4g} Hz system clock "
            f"(more than {most} edges per cycle)"
        )
    return rates


@dataclass(frozen=True)
class SimLoad:
    """What the simulation body is loaded with to stand in for one die at one condition.

    Attributes
    ----------
    rates : numpy.ndarray of int64
        Edge rate of every RO (see :func:`edge_rates`).
    noise_scale : int
        Scale of each ring's own jitter.
    common_scale : int
        Scale of the noise shared by the two rings of a measurement.
    """

    rates: np.ndarray
    noise_scale: int
    common_scale: int


def sim_load(
    die: Die,
    temperature: float,
    voltage: float | None,
    *,
    clock_hz: float,
    gate_cycles: int,
) -> SimLoad:
    """Edge rates and noise scales that make the simulation body measure *die*.

    The model's noise is relative to each ring's frequency; the body has one scale for all
    rings, set from the die's mean count over the gate window (rings differ by a few percent,
    so their noise sigmas do too: an approximation the docs state).
    """
    freqs = die.frequencies(temperature, voltage)
    mean_count = float(np.mean(freqs)) / clock_hz * gate_cycles
    return SimLoad(
        rates=edge_rates(freqs, clock_hz),
        noise_scale=ro_behavioural.noise_scale_for(die.params.jitter_sigma * mean_count),
        common_scale=ro_behavioural.noise_scale_for(die.params.common_noise_sigma * mean_count),
    )


def _count(acc: int, count_width: int) -> tuple[int, int]:
    edges = acc >> ro_behavioural.RATE_FRAC
    top = 2**count_width - 1
    return min(max(edges, 0), top), int(edges < 0 or edges > top)


def measure_pairs(
    rates: Sequence[int] | np.ndarray,
    pairs: Iterable[tuple[int, int]],
    config: MeasureConfig,
    *,
    seed: int,
    noise_scale: int,
    common_scale: int = 0,
    state: int | None = None,
) -> tuple[list[PairResult], int]:
    """Results of measuring *pairs* in order, as the simulated gateware gives them.

    Parameters
    ----------
    rates : sequence of int
        Edge rates as loaded (see :func:`edge_rates`), one per RO.
    pairs : iterable of (int, int)
        Requests; invalid ones (an index past the array, or the same RO twice) give an
        ``invalid`` result and still consume noise draws, as in the gateware.
    config : MeasureConfig
        Array parameters.
    seed : int
        Noise seed as loaded; ignored when *state* is given.
    noise_scale : int
        Scale of each ring's own jitter, as loaded.
    common_scale : int
        Scale of the noise both rings of a measurement share, as loaded.
    state : int, optional
        Generator state to continue from (the second value returned by an earlier call).

    Returns
    -------
    (results, state) : tuple
        The results, and the generator state after them.
    """
    rates = [int(r) for r in rates]
    if len(rates) != config.n_ro:
        raise ValueError(f"Expected {config.n_ro} rates, got {len(rates)}")
    if state is None:
        state = ro_behavioural.seed_state(seed)
    limit = 2 ** (config.soft_width - 1) - 1
    results = []
    for a, b in pairs:
        offset_a, offset_b, state = ro_behavioural.noise_offsets(state, noise_scale, common_scale)
        if not (0 <= a < config.n_ro and 0 <= b < config.n_ro) or a == b:
            results.append(PairResult(0, 0, 0, 0, 0, 1))
            continue
        count_a, over_a = _count(offset_a + config.gate_cycles * rates[a], config.count_width)
        count_b, over_b = _count(offset_b + config.gate_cycles * rates[b], config.count_width)
        diff = count_a - count_b
        soft = max(-limit, min(limit, diff))
        results.append(PairResult(int(diff > 0), soft, count_a, count_b, over_a | over_b, 0))
    return results, state
