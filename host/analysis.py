"""Characterisation of a set of RO PUF chips: the figures ``ropuf analyze`` prints.

Works on real measurements (:class:`~ropuf.host.dataset.RODataset`, e.g. HOST 2010) and on
simulated fleets alike: all it needs is repeated frequencies or counts per RO per chip.
"""

from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt

from . import metrics

__all__ = ["PUBLISHED_HOST2010", "Analysis", "analyze"]

#: Figures published for the full HOST 2010 set (Maiti et al., HOST 2010; 125 chips).
PUBLISHED_HOST2010 = {"uniqueness": 0.4731, "intra_hd": 0.0086}


@dataclass(frozen=True)
class Analysis:
    """PUF quality figures of a set of chips (fractions, not percent).

    Attributes
    ----------
    n_chips, n_ro, n_samples, n_bits : int
        Chips, ROs per chip, repeated measurements per RO, response bits per chip.
    uniformity : float
        Mean fraction of ones of the reference responses (ideal 0.5).
    uniqueness : float
        Mean pairwise inter-chip fractional HD of the reference responses (ideal 0.5).
    intra_hd : float
        Mean fractional HD of single measurements against each chip's reference (ideal 0).
    reliability : float
        ``1 - intra_hd``.
    bit_aliasing_spread : float
        Std over bits of the fraction of chips with a 1 there (0 is ideal).
    min_entropy : float
        Per-bit min-entropy estimate from bit-aliasing, in bits per response bit.
    inter_hd : numpy.ndarray
        Every pairwise inter-chip fractional HD (for a histogram).
    intra_hd_per_sample : numpy.ndarray
        Every single-measurement fractional HD against its chip's reference.
    """

    n_chips: int
    n_ro: int
    n_samples: int
    n_bits: int
    uniformity: float
    uniqueness: float
    intra_hd: float
    reliability: float
    bit_aliasing_spread: float
    min_entropy: float
    inter_hd: np.ndarray = field(repr=False)
    intra_hd_per_sample: np.ndarray = field(repr=False)

    def summary(self) -> dict[str, float | int]:
        """The scalar figures, for printing or JSON."""
        return {
            key: value for key, value in asdict(self).items() if not isinstance(value, np.ndarray)
        }


def analyze(freqs: npt.ArrayLike, pairs: npt.ArrayLike | None = None) -> Analysis:
    """Compute the PUF figures of repeated RO measurements.

    Parameters
    ----------
    freqs : array_like, shape (n_chips, n_ro, n_samples)
        Frequencies or counts; the reference response of a chip compares the means over its
        samples.
    pairs : array_like of int, shape (n_bits, 2), optional
        Which ROs each bit compares; default disjoint neighbours ``(2i, 2i + 1)``.

    Raises
    ------
    metrics.MetricsError
        The array has the wrong shape (at least 2 chips and 2 samples are needed).
    """
    data = np.asarray(freqs, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 2 or data.shape[2] < 2:
        raise metrics.MetricsError(
            f"measurements must have shape (n_chips >= 2, n_ro, n_samples >= 2), not {data.shape!r}"
        )
    n_chips, n_ro, n_samples = data.shape
    pairs = metrics.neighbour_pairs(n_ro) if pairs is None else np.asarray(pairs)
    reference = metrics.responses(data.mean(axis=2), pairs)  # (chips, bits)
    samples = metrics.responses(np.moveaxis(data, 2, 1), pairs)  # (chips, samples, bits)
    per_sample = np.mean(samples != reference[:, None, :], axis=-1)  # (chips, samples)
    intra_mean = float(np.mean(metrics.intra_hd(samples, reference)))
    return Analysis(
        n_chips=n_chips,
        n_ro=n_ro,
        n_samples=n_samples,
        n_bits=int(reference.shape[1]),
        uniformity=float(np.mean(metrics.uniformity(reference))),
        uniqueness=metrics.uniqueness(reference),
        intra_hd=intra_mean,
        reliability=1.0 - intra_mean,
        bit_aliasing_spread=metrics.bit_aliasing_spread(reference),
        min_entropy=metrics.min_entropy(reference),
        inter_hd=metrics.pairwise_hd(reference),
        intra_hd_per_sample=np.ravel(per_sample),
    )
