"""PUF quality metrics on response bits: uniformity, uniqueness, reliability, bit-aliasing, entropy.

Every metric here works on *response bits*, so the same functions serve ring-oscillator PUFs
(bits from comparing RO pairs, :func:`responses`) and arbiter PUFs (bits straight from the arbiter).
The conventions follow Maiti, Gunreddy and Schaumont, "A Systematic Method to Evaluate and
Compare the Performance of Physical Unclonable Functions":

* A response is a vector of bits on the **last axis** of an array; leading axes index chips,
  measurements or conditions. Bits are booleans or the integers 0 and 1.
* Hamming distances are **fractional** (divided by the number of bits), so they read as
  probabilities; multiply by 100 for the percentages papers quote.

Definitions
-----------
uniformity
    Fraction of ones in one response; ideal 0.5.
uniqueness
    Mean fractional HD over all unordered pairs of distinct chips (inter-chip HD); ideal 0.5.
intra-chip HD
    Mean fractional HD between repeated measurements of a chip and that chip's *reference*
    response; ideal 0. The reference used throughout the project is the response of the mean
    over all samples of the enrolment measurement (:func:`reference_response`): averaging first
    removes the noise of any single sample, so the intra-chip HD counts how often one sample
    disagrees with the chip's best estimate of its own response. Reliability is
    ``1 - intra_hd``.
bit-aliasing
    For each bit position, the fraction of chips whose bit is 1; ideal 0.5 for every bit. Its
    spread (standard deviation over bit positions) shows systematic bias shared by all chips.
min-entropy
    Per bit position, ``-log2(max(p, 1 - p))`` with ``p`` the bit-aliasing value; this treats
    the bits as independent and the chips as samples of the population, so it is an upper
    estimate of the true min-entropy per bit (correlations between bits only lower it) and,
    with few chips, is biased low by the sampling noise of ``p``.
"""

import math

import numpy as np
import numpy.typing as npt

from ropuf.spec import ro_pairs
from ropuf.spec.errors import RopufError

__all__ = [
    "MetricsError",
    "bit_aliasing",
    "bit_aliasing_spread",
    "bitwise_min_entropy",
    "fair_min_entropy_estimate",
    "hamming_distance",
    "intra_hd",
    "min_entropy",
    "neighbour_pairs",
    "pairwise_hd",
    "reference_response",
    "reliability",
    "responses",
    "uniformity",
    "uniqueness",
]


class MetricsError(RopufError, ValueError):
    """An array given to a metric has the wrong shape, type or content."""


def _bits(bits: npt.ArrayLike, name: str, min_ndim: int = 1) -> np.ndarray:
    """Check that ``bits`` holds only 0/1 (or booleans) and return it as a boolean array."""
    array = np.asarray(bits)
    if array.ndim < min_ndim:
        raise MetricsError(
            f"{name} must have at least {min_ndim} dimension(s) (last axis = bits), "
            f"not shape {array.shape!r}"
        )
    if array.shape[-1] == 0:
        raise MetricsError(f"{name} has no bits (last axis of shape {array.shape!r} is empty)")
    if array.dtype == np.bool_:
        return array
    if not np.issubdtype(array.dtype, np.integer):
        raise MetricsError(
            f"{name} must hold booleans or the integers 0 and 1, not dtype {array.dtype!r}; "
            "make bits with responses() or compare values yourself"
        )
    if np.any((array != 0) & (array != 1)):
        raise MetricsError(f"{name} must hold only 0 and 1, found values {np.unique(array)!r}")
    return array.astype(np.bool_)


def _chips(bits: npt.ArrayLike, at_least: int = 0) -> np.ndarray:
    """*bits* checked as one response per chip, shape ``(n_chips, n_bits)``, at least
    *at_least* chips."""
    chips = _bits(bits, "bits", min_ndim=2)
    if chips.ndim != 2 or chips.shape[0] < at_least:
        need = f"n_chips >= {at_least}" if at_least > 1 else "n_chips"
        raise MetricsError(f"bits must have shape ({need}, n_bits), not {chips.shape!r}")
    return chips


def neighbour_pairs(n_ro: int) -> np.ndarray:
    """The default RO pairing: disjoint neighbours ``(0, 1), (2, 3), ...``.

    Parameters
    ----------
    n_ro : int
        Number of ring oscillators (at least 2). With an odd count the last RO is unused.

    Returns
    -------
    numpy.ndarray
        Integer array of shape ``(n_ro // 2, 2)``; row ``k`` is ``(2k, 2k + 1)``.

    Raises
    ------
    MetricsError
        If ``n_ro`` is not an integer of at least 2.
    """
    if isinstance(n_ro, bool) or not isinstance(n_ro, int | np.integer) or n_ro < 2:
        raise MetricsError(f"n_ro must be an integer of at least 2, not {n_ro!r}")
    return np.array(ro_pairs.neighbour_pairs(int(n_ro)), dtype=np.int64)


def responses(values: npt.ArrayLike, pairs: npt.ArrayLike, axis: int = -1) -> np.ndarray:
    """Response bits from comparing pairs of ring oscillators: bit = ``value[a] > value[b]``.

    Parameters
    ----------
    values : array_like
        Frequencies or counts, with one axis (``axis``) indexing the ring oscillators and any
        other axes (chips, samples, conditions) alongside.
    pairs : array_like of int, shape (n_bits, 2)
        Row ``k`` names the two ROs ``(a, b)`` compared for bit ``k``; see :func:`neighbour_pairs`.
    axis : int, optional
        The RO axis of ``values`` (default the last).

    Returns
    -------
    numpy.ndarray of bool
        ``values`` with the RO axis replaced, in place, by a bit axis of length ``n_bits``.
        Equal values give 0 (ties are "not greater").

    Raises
    ------
    MetricsError
        If ``pairs`` is not of shape ``(n, 2)``, or names an RO outside the array.
    """
    array = np.asarray(values)
    if array.ndim == 0:
        raise MetricsError("values must have at least one axis (the ROs), got a scalar")
    index = np.asarray(pairs)
    if index.ndim != 2 or index.shape[1] != 2 or not np.issubdtype(index.dtype, np.integer):
        raise MetricsError(
            f"pairs must be an integer array of shape (n_bits, 2), not {index.dtype!r} "
            f"of shape {index.shape!r}"
        )
    try:
        n_ro = array.shape[axis]
    except IndexError:
        raise MetricsError(
            f"axis {axis!r} is out of range for values of shape {array.shape!r}"
        ) from None
    if index.size and (index.min() < 0 or index.max() >= n_ro):
        raise MetricsError(
            f"pairs name ROs {int(index.min())}..{int(index.max())}, "
            f"but values hold only {n_ro} ROs on axis {axis!r}"
        )
    return np.take(array, index[:, 0], axis=axis) > np.take(array, index[:, 1], axis=axis)


def reference_response(
    samples: npt.ArrayLike, pairs: npt.ArrayLike, sample_axis: int = -1, ro_axis: int = -2
) -> np.ndarray:
    """The reference response of repeated measurements: the response of their mean.

    Parameters
    ----------
    samples : array_like
        Repeated frequency or count measurements, one axis for the samples, one for the ROs.
    pairs : array_like of int, shape (n_bits, 2)
        The RO pairs, as for :func:`responses`.
    sample_axis, ro_axis : int, optional
        Axes of ``samples`` holding the samples (default last) and the ROs (default second to
        last).

    Returns
    -------
    numpy.ndarray of bool
        The bits of the mean over samples, with the bit axis **last**.
    """
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim < 2:
        raise MetricsError(f"samples need a sample axis and an RO axis, not shape {array.shape!r}")
    moved = np.moveaxis(array, (ro_axis, sample_axis), (-2, -1))
    return responses(moved.mean(axis=-1), pairs, axis=-1)


def hamming_distance(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """Fractional Hamming distance between responses, along the last axis (broadcasting).

    Parameters
    ----------
    a, b : array_like of bool or {0, 1}
        Responses with the bits on the last axis; leading axes broadcast.

    Returns
    -------
    numpy.ndarray or float
        Fraction of differing bits, of the broadcast leading shape.
    """
    bits_a = _bits(a, "a")
    bits_b = _bits(b, "b")
    if bits_a.shape[-1] != bits_b.shape[-1]:
        raise MetricsError(
            f"responses differ in length: {bits_a.shape[-1]!r} and {bits_b.shape[-1]!r} bits"
        )
    return np.mean(bits_a != bits_b, axis=-1)


def uniformity(bits: npt.ArrayLike) -> np.ndarray:
    """Fraction of ones in each response (ideal 0.5).

    Parameters
    ----------
    bits : array_like of bool or {0, 1}
        Responses with the bits on the last axis.

    Returns
    -------
    numpy.ndarray or float
        One value per response (the leading shape of ``bits``).
    """
    return np.mean(_bits(bits, "bits"), axis=-1)


def pairwise_hd(bits: npt.ArrayLike) -> np.ndarray:
    """Fractional HD of every unordered pair of distinct chips.

    Parameters
    ----------
    bits : array_like of bool or {0, 1}, shape (n_chips, n_bits)
        One response per chip.

    Returns
    -------
    numpy.ndarray, shape (n_chips * (n_chips - 1) // 2,)
        The distances in the order ``(0, 1), (0, 2), ..., (1, 2), ...``.
    """
    chips = _chips(bits, at_least=2)
    as_float = chips.astype(np.float64)
    ones = as_float.sum(axis=1)
    # |a xor b| = |a| + |b| - 2 |a and b|: one matrix product instead of a loop over pairs.
    distance = (ones[:, None] + ones[None, :] - 2.0 * (as_float @ as_float.T)) / chips.shape[1]
    upper = np.triu_indices(chips.shape[0], k=1)
    return distance[upper]


def uniqueness(bits: npt.ArrayLike) -> float:
    """Mean inter-chip fractional HD over all pairs of distinct chips (ideal 0.5): the mean of
    :func:`pairwise_hd` of *bits* (as that takes them), a float."""
    return float(np.mean(pairwise_hd(bits)))


def intra_hd(measured: npt.ArrayLike, reference: npt.ArrayLike) -> np.ndarray:
    """Mean fractional HD of repeated measurements against a reference response (ideal 0).

    Parameters
    ----------
    measured : array_like of bool or {0, 1}, shape (..., n_measurements, n_bits)
        Repeated responses of each chip (leading axes: chips, conditions).
    reference : array_like of bool or {0, 1}, shape (..., n_bits)
        The reference response of each chip, usually :func:`reference_response` of the
        enrolment samples.

    Returns
    -------
    numpy.ndarray or float
        For each leading index, the HD averaged over the measurements.
    """
    samples = _bits(measured, "measured", min_ndim=2)
    ref = _bits(reference, "reference")
    if samples.shape[-1] != ref.shape[-1]:
        raise MetricsError(
            f"measured responses have {samples.shape[-1]!r} bits, the reference {ref.shape[-1]!r}"
        )
    return np.mean(hamming_distance(samples, ref[..., None, :]), axis=-1)


def reliability(measured: npt.ArrayLike, reference: npt.ArrayLike) -> np.ndarray:
    """Reliability, ``1 - intra_hd(measured, reference)`` (ideal 1); *measured* and
    *reference* as :func:`intra_hd` takes them. One value per leading index of ``reference``."""
    return 1.0 - intra_hd(measured, reference)


def bit_aliasing(bits: npt.ArrayLike) -> np.ndarray:
    """Per-bit fraction of chips whose bit is 1 (ideal 0.5 for every bit).

    Parameters
    ----------
    bits : array_like of bool or {0, 1}, shape (n_chips, n_bits)
        One response per chip; the fraction is taken down each column.

    Returns
    -------
    numpy.ndarray, shape (n_bits,)
    """
    chips = _chips(bits)
    return np.mean(chips, axis=0)


def bit_aliasing_spread(bits: npt.ArrayLike) -> float:
    """Standard deviation over bit positions of :func:`bit_aliasing`.

    With ``n`` independent, unbiased chips it is about ``0.5 / sqrt(n)`` from sampling alone;
    more than that means systematic bias shared by the chips (layout, placement). *bits* as
    :func:`bit_aliasing` takes them; a float.
    """
    return float(np.std(bit_aliasing(bits)))


def bitwise_min_entropy(bits: npt.ArrayLike) -> np.ndarray:
    """Min-entropy estimate of each bit position, ``-log2(max(p, 1 - p))``, in bits.

    Parameters
    ----------
    bits : array_like of bool or {0, 1}, shape (n_chips, n_bits)
        One response per chip; ``p`` is the :func:`bit_aliasing` of each position.

    Returns
    -------
    numpy.ndarray, shape (n_bits,)
        Values in ``[0, 1]``: 1 for a position that is 1 on exactly half the chips, 0 for one
        that is the same on every chip.
    """
    p = bit_aliasing(bits)
    return -np.log2(np.maximum(p, 1.0 - p))


def fair_min_entropy_estimate(n_chips: int) -> float:
    """What :func:`bitwise_min_entropy` gives on average for a position that is a fair coin
    on each of *n_chips* chips: the estimator's own ceiling (below 1: ``p`` estimated from few
    chips is rarely exactly one half). 0.863 for 60 chips, 0.892 for 100, 0.964 for 1,000;
    compare a measured figure with it, not with 1."""
    if not isinstance(n_chips, int) or n_chips < 1:
        raise ValueError(f"n_chips must be a positive integer, not {n_chips!r}")
    total = 0.0
    for ones in range(n_chips + 1):
        weight = math.comb(n_chips, ones) / 2**n_chips
        total += weight * -math.log2(max(ones, n_chips - ones) / n_chips)
    return total


def min_entropy(bits: npt.ArrayLike) -> float:
    """Mean min-entropy per response bit, the average of :func:`bitwise_min_entropy`.

    Multiply by the number of bits for the total of a response (assuming independent bits,
    which makes this an upper estimate; see the module notes). *bits* as
    :func:`bitwise_min_entropy` takes them; a float, bits of min-entropy per response bit, in
    ``[0, 1]``.
    """
    return float(np.mean(bitwise_min_entropy(bits)))
