"""The behavioural ring oscillator of the simulation body: its fixed-point format and noise.

In simulation a ring is not a combinational loop but a phase accumulator. Each RO has an *edge
rate*: rising edges per system clock cycle, a fixed-point number with :data:`RATE_FRAC` fraction
bits, loaded at run time (one Verilator build serves every die and condition). A measurement of
RO *i* over a gate window of ``G`` cycles gives::

    acc   = noise                      (a signed offset drawn when the counters are cleared)
    acc  += rate[i]   (G times)
    count = clamp(acc >> RATE_FRAC, 0, 2**count_width - 1)     (arithmetic shift: floor)

The noise is made on chip by a xorshift32 generator seeded at run time. Each measurement of a
pair draws three groups of :data:`DRAWS_PER_RO` numbers: first the noise common to both rings of
the measurement (supply and temperature noise that every ring on the die sees; it cancels in the
comparison but not in the raw counts), then each ring's own jitter, first RO then second. The
sum of a group's top 16 bits, centred, is an Irwin-Hall approximation of a Gaussian; it is
scaled by the run-time ``common_scale`` or ``noise_scale`` and shifted right by
:data:`NOISE_SHIFT`. This module is the single
definition of that arithmetic: the gateware is generated from these constants and the Python
model (:mod:`ropuf.sim.ro_measure`) computes with these functions, so the two agree bit for bit.
"""

import math

__all__ = [
    "DEFAULT_SEED",
    "DRAWS_PER_RO",
    "GROUPS_PER_MEASUREMENT",
    "NOISE_CENTRE",
    "NOISE_SCALE_BITS",
    "NOISE_SHIFT",
    "RATE_BITS",
    "RATE_FRAC",
    "noise_offsets",
    "noise_scale_for",
    "noise_sigma_units",
    "scale_for_sigma",
    "seed_state",
    "summed_draws_sigma",
    "xorshift32",
]

#: Fraction bits of an edge rate (edges per system clock cycle).
RATE_FRAC = 16
#: Width of a stored edge rate: 8 integer bits, so up to 255 edges per system clock cycle.
RATE_BITS = 24
#: Uniform draws summed per RO and measurement (Irwin-Hall with n = 4).
DRAWS_PER_RO = 4
#: Draw groups per pair measurement: common, first RO, second RO.
GROUPS_PER_MEASUREMENT = 3
#: Mean of the sum of DRAWS_PER_RO 16-bit uniforms, subtracted to centre the noise on zero.
NOISE_CENTRE = DRAWS_PER_RO * 0xFFFF // 2
#: Width of the run-time noise scale.
NOISE_SCALE_BITS = 16
#: Right shift applied after scaling.
NOISE_SHIFT = 8
#: The state a zero seed is replaced with (xorshift has a fixed point at zero).
DEFAULT_SEED = 0x6D2B79F5

_MASK32 = 0xFFFF_FFFF


def seed_state(seed: int) -> int:
    """The generator state after loading *seed* (32 bits; zero becomes :data:`DEFAULT_SEED`)."""
    if not 0 <= seed <= _MASK32:
        raise ValueError(f"Noise seed must fit in 32 bits, not {seed!r}")
    return seed or DEFAULT_SEED


def xorshift32(state: int) -> int:
    """One step of Marsaglia's xorshift32 (13, 17, 5)."""
    state ^= (state << 13) & _MASK32
    state ^= state >> 17
    state ^= (state << 5) & _MASK32
    return state


def _group(state: int, scale: int) -> tuple[int, int]:
    total = 0
    for _ in range(DRAWS_PER_RO):
        state = xorshift32(state)
        total += state >> 16
    return ((total - NOISE_CENTRE) * scale) >> NOISE_SHIFT, state


def noise_offsets(state: int, noise_scale: int, common_scale: int = 0) -> tuple[int, int, int]:
    """Draw the noise of one pair measurement (:data:`GROUPS_PER_MEASUREMENT` groups).

    Returns
    -------
    (offset_a, offset_b, state) : tuple of int
        The signed accumulator offsets of the first and second RO (in units of
        ``2**-RATE_FRAC`` edges; each is the common part plus the ring's own) and the generator
        state afterwards.
    """
    common, state = _group(state, common_scale)
    own_a, state = _group(state, noise_scale)
    own_b, state = _group(state, noise_scale)
    return common + own_a, common + own_b, state


def summed_draws_sigma(draws: int, noise_scale: int, shift: int) -> float:
    """Standard deviation of the sum of *draws* uniform 16-bit noise draws, times
    *noise_scale*, shifted right by *shift* bits (the behavioural bodies' noise offsets)."""
    uniform_var = (0x10000**2 - 1) / 12
    return math.sqrt(draws * uniform_var) * noise_scale / 2**shift


def noise_sigma_units(noise_scale: int) -> float:
    """Standard deviation of one offset, in units of ``2**-RATE_FRAC`` edges."""
    return summed_draws_sigma(DRAWS_PER_RO, noise_scale, NOISE_SHIFT)


def scale_for_sigma(sigma: float, step: float, bits: int, *, unit: str, advice: str) -> int:
    """The noise scale whose offsets have standard deviation *sigma*, where scale 1 gives
    *step* (both in *unit*), for a scale register of *bits* bits (the behavioural bodies').

    Raises
    ------
    ValueError
        *sigma* is negative or not a number, or needs a scale wider than *bits*; the message
        then gives *advice*.
    """
    if not sigma >= 0:
        raise ValueError(f"Noise sigma must not be negative, not {sigma!r}")
    scale = round(sigma / step)
    if scale >= 2**bits:
        raise ValueError(
            f"A noise sigma of {sigma!r} {unit} needs a scale of {scale}, more than "
            f"{bits} bits: {advice}"
        )
    return scale


def noise_scale_for(sigma_counts: float) -> int:
    """The noise scale whose offsets have standard deviation *sigma_counts* counts (errors as
    :func:`scale_for_sigma` says: use a shorter gate window)."""
    step = noise_sigma_units(1) / 2**RATE_FRAC
    return scale_for_sigma(
        sigma_counts, step, NOISE_SCALE_BITS, unit="counts", advice="use a shorter gate window"
    )
