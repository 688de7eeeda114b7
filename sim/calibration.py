"""The statistics that calibrate the silicon model, computed alike from real data and model dies.

:func:`calibration_stats` takes repeated frequency measurements of shape
``(n_chips, n_ro, n_samples)`` - a loaded :class:`ropuf.host.dataset.RODataset` or
:func:`model_measurements` of a model fleet - and returns a :class:`CalibrationStats`. The test
that checks the model's defaults against the HOST 2010 data and the benchmark that prints the
comparison both call it, so they cannot drift apart. :func:`corner_intra_hd` gives the
intra-chip HD of model dies at the temperature and supply corners of BENCHMARKS.md.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ropuf.host import metrics
from ropuf.spec.errors import RopufError

from .silicon import DEFAULT_PARAMS, Die, SiliconParams, make_fleet, measure_fleet, surface_basis

__all__ = [
    "CORNERS",
    "CalibrationError",
    "CalibrationStats",
    "calibration_stats",
    "corner_intra_hd",
    "model_measurements",
    "variance_components",
]

#: The corners of BENCHMARKS.md: (temperature in degrees C, supply relative to nominal).
CORNERS: tuple[tuple[float, float], ...] = (
    (-20.0, 0.95),
    (-20.0, 1.05),
    (85.0, 0.95),
    (85.0, 1.05),
)


class CalibrationError(RopufError, ValueError):
    """Measurements given for calibration have the wrong shape or are too few."""


@dataclass(frozen=True)
class CalibrationStats:
    """Calibration statistics of a set of chips (all relative values are fractions).

    Attributes
    ----------
    n_chips, n_ro, n_samples : int
        Size of the measurements.
    noise : float
        Per-RO relative noise: sample std (ddof 1) over mean, median over ROs and chips.
    pair_noise : float
        The same for the difference ``f[2i] - f[2i+1]`` of neighbour pairs over the chip mean
        frequency: noise shared by both ROs cancels here, so it separates common-mode noise
        from each RO's own jitter.
    spread : float
        Within-chip spread: std of the RO means over their mean, per chip, averaged.
    smooth_fraction : float
        Share of the within-chip variance of RO means that a degree-2 surface in ``(x, y)``
        explains (least-squares fit per chip, R squared, averaged).
    die_spread : float
        Std over chips of the chip mean frequency, over the grand mean.
    uniqueness : float
        Mean inter-chip fractional HD of the neighbour-pair responses of the RO means.
    intra_hd : float
        Mean fractional HD of each sample's response against the chip's reference response
        (the response of the mean over samples), averaged over samples and chips.
    uniformity : float
        Mean fraction of ones of the reference responses.
    bit_aliasing_spread : float
        Std over bits of the per-bit mean over chips of the reference responses.
    min_entropy : float
        Mean per-bit min-entropy estimate from bit-aliasing (:func:`metrics.min_entropy`).
    """

    n_chips: int
    n_ro: int
    n_samples: int
    noise: float
    pair_noise: float
    spread: float
    smooth_fraction: float
    die_spread: float
    uniqueness: float
    intra_hd: float
    uniformity: float
    bit_aliasing_spread: float
    min_entropy: float


def calibration_stats(freqs: npt.ArrayLike, columns: int = 16) -> CalibrationStats:
    """Compute the calibration statistics of repeated RO measurements.

    Parameters
    ----------
    freqs : array_like, shape (n_chips, n_ro, n_samples)
        Frequencies (or counts) of every RO of every chip, repeated; ROs placed row by row,
        ``columns`` per row. At least 2 chips, 4 ROs and 2 samples.
    columns : int, optional
        ROs per row of the placement grid (default 16, HOST 2010).

    Returns
    -------
    CalibrationStats

    Raises
    ------
    CalibrationError
        If the array has the wrong shape or ``columns`` does not divide the RO count.
    """
    data = np.asarray(freqs, dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 2 or data.shape[1] < 4 or data.shape[2] < 2:
        raise CalibrationError(
            f"freqs must have shape (n_chips >= 2, n_ro >= 4, n_samples >= 2), not {data.shape!r}"
        )
    n_chips, n_ro, n_samples = data.shape
    try:
        basis = surface_basis(n_ro, columns)
    except ValueError as exc:
        raise CalibrationError(str(exc)) from None

    means = data.mean(axis=2)
    chip_mean = means.mean(axis=1)
    noise = float(np.median(data.std(axis=2, ddof=1) / means))
    pairs = metrics.neighbour_pairs(n_ro)
    difference = data[:, pairs[:, 0], :] - data[:, pairs[:, 1], :]
    pair_noise = float(np.median(difference.std(axis=2, ddof=1) / chip_mean[:, None]))
    spread = float(np.mean(means.std(axis=1, ddof=1) / chip_mean))

    relative = means / chip_mean[:, None] - 1.0
    design = np.column_stack([np.ones(n_ro), basis])
    coefficients, *_ = np.linalg.lstsq(design, relative.T, rcond=None)
    fitted = (design @ coefficients).T
    smooth_fraction = float(np.mean(fitted.var(axis=1) / relative.var(axis=1)))
    die_spread = float(chip_mean.std(ddof=1) / chip_mean.mean())

    reference = metrics.responses(means, pairs)  # (n_chips, n_bits)
    samples = metrics.responses(np.moveaxis(data, 2, 1), pairs)  # (n_chips, n_samples, n_bits)
    return CalibrationStats(
        n_chips=n_chips,
        n_ro=n_ro,
        n_samples=n_samples,
        noise=noise,
        pair_noise=pair_noise,
        spread=spread,
        smooth_fraction=smooth_fraction,
        die_spread=die_spread,
        uniqueness=metrics.uniqueness(reference),
        intra_hd=float(np.mean(metrics.intra_hd(samples, reference))),
        uniformity=float(np.mean(metrics.uniformity(reference))),
        bit_aliasing_spread=metrics.bit_aliasing_spread(reference),
        min_entropy=metrics.min_entropy(reference),
    )


def variance_components(freqs: npt.ArrayLike, columns: int = 16) -> dict[str, float]:
    """Split the within-chip variation of RO means into the model's process terms.

    Each chip's relative RO means are fitted with a degree-2 surface; the residual is split
    into row means, column means and the rest. Each of these four parts is then split into
    the part shared by all chips (its mean over chips) and each chip's own part, and the
    finite-sample share of the mean over chips is removed:
    ``var(own) = var(X - mean) * n / (n - 1)``, ``var(shared) = var(mean) - var(own) / n``.

    Row and column parts include the average of the per-RO rest over a row (column), so for
    pure per-RO noise of std ``s`` they read about ``s / sqrt(columns)`` (``s / sqrt(rows)``);
    the model's row and column sigmas are what remains above that.

    Parameters
    ----------
    freqs : array_like, shape (n_chips, n_ro, n_samples) or (n_chips, n_ro)
        Repeated measurements (averaged over samples) or RO means; at least 2 chips.
    columns : int, optional
        ROs per row of the placement grid (default 16).

    Returns
    -------
    dict of str to float
        Relative standard deviations ``{part}_shared`` and ``{part}_own`` for the parts
        ``surface``, ``row``, ``column`` and ``rest``.
    """
    data = np.asarray(freqs, dtype=np.float64)
    means = data.mean(axis=2) if data.ndim == 3 else data
    if means.ndim != 2 or means.shape[0] < 2:
        raise CalibrationError(
            f"freqs must have shape (n_chips >= 2, n_ro[, n_samples]), not {data.shape!r}"
        )
    n_chips, n_ro = means.shape
    try:
        basis = surface_basis(n_ro, columns)
    except ValueError as exc:
        raise CalibrationError(str(exc)) from None
    relative = means / means.mean(axis=1, keepdims=True) - 1.0
    design = np.column_stack([np.ones(n_ro), basis])
    coefficients, *_ = np.linalg.lstsq(design, relative.T, rcond=None)
    surface = (basis @ coefficients[1:]).T
    grid = (relative - surface - coefficients[0][:, None]).reshape(n_chips, -1, columns)
    rows = grid.mean(axis=2, keepdims=True)
    cols = grid.mean(axis=1, keepdims=True)
    parts = {
        "surface": surface,
        "row": np.broadcast_to(rows, grid.shape).reshape(n_chips, n_ro),
        "column": np.broadcast_to(cols, grid.shape).reshape(n_chips, n_ro),
        "rest": (grid - rows - cols).reshape(n_chips, n_ro),
    }
    result: dict[str, float] = {}
    for name, part in parts.items():
        shared = part.mean(axis=0)
        own_var = (part - shared).var() * n_chips / (n_chips - 1)
        result[f"{name}_shared"] = float(np.sqrt(max(shared.var() - own_var / n_chips, 0.0)))
        result[f"{name}_own"] = float(np.sqrt(own_var))
    return result


def model_measurements(
    n_dies: int = 40,
    n_ro: int = 512,
    columns: int = 16,
    n_samples: int = 100,
    params: SiliconParams = DEFAULT_PARAMS,
    first_seed: int = 0,
    noise_seed: int = 0,
) -> np.ndarray:
    """Measurements of a model fleet shaped like a data set, at 25 C and nominal supply.

    Parameters
    ----------
    n_dies, n_ro, columns, n_samples : int, optional
        Fleet and measurement size (defaults: the HOST 2010 subset, 40 x 512 x 100).
    params : SiliconParams, optional
        Model parameters (default :data:`~ropuf.sim.silicon.DEFAULT_PARAMS`).
    first_seed : int, optional
        Seed of the first die; the others follow consecutively.
    noise_seed : int, optional
        Seed of the measurement noise.

    Returns
    -------
    numpy.ndarray, shape (n_dies, n_ro, n_samples)
        Frequencies in Hz.
    """
    dies = make_fleet(n_dies, n_ro, columns, params, first_seed)
    return measure_fleet(dies, 25.0, None, n_samples, rng=noise_seed)


def corner_intra_hd(
    dies: Sequence[Die],
    corners: Iterable[tuple[float, float]] = CORNERS,
    n_samples: int = 10,
    enrol_samples: int = 100,
    rng: np.random.Generator | int = 0,
) -> dict[tuple[float, float], float]:
    """Intra-chip HD at operating corners against a reference enrolled at 25 C, nominal supply.

    The reference is the response of the mean of ``enrol_samples`` measurements at 25 C and
    nominal supply; at each corner ``n_samples`` single measurements are compared with it,
    using neighbour pairs. The HD is averaged over measurements and dies.

    Parameters
    ----------
    dies : sequence of Die
        Dies of equal RO count (see :func:`~ropuf.sim.silicon.make_fleet`).
    corners : iterable of (float, float), optional
        ``(temperature in degrees C, supply relative to each die's v_nominal)``; default
        :data:`CORNERS`.
    n_samples, enrol_samples : int, optional
        Measurements per corner and for the reference.
    rng : numpy.random.Generator or int, optional
        Noise source.

    Returns
    -------
    dict
        ``{(temperature, relative supply): intra-chip HD}`` in the order given.
    """
    if not dies:
        raise CalibrationError(f"dies must be a non-empty sequence of Die, not {dies!r}")
    noise = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    pairs = metrics.neighbour_pairs(dies[0].n_ro)
    enrol = measure_fleet(dies, 25.0, None, enrol_samples, rng=noise)
    reference = metrics.reference_response(enrol, pairs)
    v_nominal = dies[0].params.v_nominal
    result: dict[tuple[float, float], float] = {}
    for temperature, relative_supply in corners:
        measured = measure_fleet(
            dies, temperature, relative_supply * v_nominal, n_samples, rng=noise
        )
        bits = metrics.responses(np.moveaxis(measured, 2, 1), pairs)
        result[(float(temperature), float(relative_supply))] = float(
            np.mean(metrics.intra_hd(bits, reference))
        )
    return result
