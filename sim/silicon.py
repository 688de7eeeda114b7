"""A statistical model of ring-oscillator frequencies on FPGA dies.

Each die follows from one integer seed (same seed, same die, always). Ring oscillator ``i`` at
grid position ``(x, y)`` runs at

.. math::

    f_i(T, V) = f_\\mathrm{nom}\\,\\bigl(1 + g(x_i, y_i) + r_i\\bigr)\\,
                \\bigl(1 + \\alpha_i (T - T_\\mathrm{ref})\\bigr)\\,
                \\bigl(1 + \\beta_i (V - V_\\mathrm{nom}) / V_\\mathrm{nom}\\bigr)

and one measurement of it sees ``f_i (1 + c + e_i)``, with ``c`` a relative noise shared by all
ROs of the die in that measurement and ``e_i`` the RO's own jitter (both Gaussian, fresh each
measurement, drawn from a separate noise generator). ``g`` is the systematic part: a die offset,
smooth degree-2 surfaces over the die and per-row and per-column offsets, each partly shared by
every die of the same design (the *layout*, from :attr:`SiliconParams.layout_seed`) and partly
the die's own. ``r_i`` is the per-RO random part, again a shared layout share plus the die's
own. ``alpha_i`` (per kelvin) and ``beta_i`` (per relative supply change) scatter independently
around their means from RO to RO.

The defaults in :class:`SiliconParams` reproduce the HOST 2010 Spartan-3E measurements; see
docs/silicon-model.md for the equations, the calibration table and the coefficient sources.
"""

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from ropuf.spec.errors import InputError

__all__ = [
    "DEFAULT_PARAMS",
    "Die",
    "SiliconParams",
    "as_generator",
    "fleet_frequencies",
    "grid_positions",
    "make_fleet",
    "measure_fleet",
    "surface_basis",
]

#: Number of degree-2 surface terms without the constant: x, y, P2(x), P2(y), xy.
SURFACE_TERMS = 5


@dataclass(frozen=True)
class SiliconParams:
    """Process, environment and noise parameters of a family of dies.

    Every relative quantity is a fraction (0.01 is 1 %). The defaults are calibrated against
    chips 1-40 of the HOST 2010 Spartan-3E RO data (512 ROs, 100 samples each): the comment
    beside each says where its value comes from; tests/sim/test_silicon.py checks them against the
    data and docs/silicon-model.md gives the table.

    Parameters
    ----------
    f_nominal_hz : float
        Nominal RO frequency in Hz at ``t_ref_c`` and ``v_nominal``.
    die_sigma : float
        Relative standard deviation of a die's mean frequency from die to die.
    layout_seed : int
        Seed of the design's layout share (same for every die of one design).
    layout_gradient_sigma : float
        Relative std over the array of the smooth surface shared by all dies (layout). The
        layout is one draw per design, normalised so that each ``layout_*`` sigma is exact.
    layout_row_sigma, layout_column_sigma : float
        Relative std of per-row and per-column offsets shared by all dies (fabric structure).
    layout_sigma : float
        Relative std of the per-RO offset shared by all dies (routing of each RO).
    gradient_sigma : float
        Expected relative std over the array of each die's own smooth surface (five random
        degree-2 coefficients per die).
    row_sigma, column_sigma : float
        Relative std of each die's own per-row and per-column offsets.
    random_sigma : float
        Relative std of each die's own per-RO random part.
    jitter_sigma : float
        Relative std of each RO's independent noise per measurement.
    common_noise_sigma : float
        Relative std of the noise shared by all ROs of a die in one measurement.
    t_ref_c : float
        Reference temperature in degrees C of the nominal frequencies.
    v_nominal : float
        Nominal core supply in volts (1.2 V Spartan-3E and iCE40, 1.1 V ECP5).
    tc_mean, tc_sigma : float
        Mean and per-RO std of the temperature coefficient ``alpha``, per kelvin
        (relative frequency change per degree).
    vc_mean, vc_sigma : float
        Mean and per-RO std of the voltage coefficient ``beta``, per *relative* supply change:
        ``beta = (df / f) / (dV / V)``, so ``beta = 1`` means +5 % supply gives +5 % frequency.

    Raises
    ------
    ValueError
        If a value is not a finite number, a sigma is negative, or a nominal value is not
        positive.
    """

    # HOST 2010 grand mean of chips 1-40 is 200.4 MHz; rounded.
    f_nominal_hz: float = 200.0e6
    # HOST 2010: std of the 40 chip means / grand mean = 6.9 %.
    die_sigma: float = 0.069
    # Any fixed value: the layout share is one draw per design; 2010 for the data's year.
    layout_seed: int = 2010
    # The process terms below: decomposition of the HOST 2010 RO means (chips 1-40) into a
    # degree-2 surface, row and column offsets and a per-RO rest, each split into the part all
    # chips share and each chip's own (calibration.variance_components), rounded, then adjusted
    # by hand so the model fleet matches spread, smooth fraction, neighbour-pair margin,
    # uniqueness and bit-aliasing (docs/silicon-model.md, "Calibration").
    layout_gradient_sigma: float = 0.0029
    layout_row_sigma: float = 0.0022
    layout_column_sigma: float = 0.0012
    layout_sigma: float = 0.0014
    gradient_sigma: float = 0.0030
    row_sigma: float = 0.0014
    column_sigma: float = 0.0008
    random_sigma: float = 0.0050
    # HOST 2010: std over samples of f[2i] - f[2i+1] is 2.03e-4 of f (median), so each RO's own
    # jitter is 2.03e-4 / sqrt(2) = 1.44e-4; the per-RO noise (2.47e-4, median) less that, in
    # quadrature, is noise shared by all ROs of a chip in one measurement (2.0e-4).
    jitter_sigma: float = 1.44e-4
    common_noise_sigma: float = 2.02e-4
    # Room temperature, the HOST 2010 measurement condition.
    t_ref_c: float = 25.0
    # Spartan-3E VCCINT (the HOST 2010 chips); boards override (iCE40 1.2 V, ECP5 1.1 V).
    v_nominal: float = 1.2
    # Order of magnitude of CMOS RO temperature sensitivity (frequency falls ~0.1 %/K);
    # a round value, not a figure from one paper. Only the spread changes response bits.
    tc_mean: float = -1.0e-3
    # Chosen, not measured: 1 % of tc_mean, which gives a worst-corner intra-chip HD of a
    # few percent (docs/silicon-model.md).
    tc_sigma: float = 1.0e-5
    # Near-linear delay/supply dependence of CMOS gates at nominal supply: a round value.
    vc_mean: float = 1.0
    # Chosen, not measured: 1 % of vc_mean (as tc_sigma).
    vc_sigma: float = 0.01

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "layout_seed":
                if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                    raise ValueError(f"layout_seed must be a non-negative integer, not {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ValueError(f"{item.name} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{item.name} must be finite, not {value!r}")
            if item.name.endswith("_sigma") and value < 0:
                raise ValueError(f"{item.name} must be zero or positive, not {value!r}")
        for name in ("f_nominal_hz", "v_nominal"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")


#: The calibrated defaults.
DEFAULT_PARAMS = SiliconParams()


def _check_count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, not {value!r}")
    return int(value)


def _check_grid(n_ro: object, columns: object) -> tuple[int, int]:
    n = _check_count("n_ro", n_ro)
    c = _check_count("columns", columns)
    if n % c:
        raise ValueError(
            f"columns={columns!r} does not divide n_ro={n_ro!r}: the ROs fill whole rows of "
            "the placement grid"
        )
    return n, c


def grid_positions(n_ro: int, columns: int) -> np.ndarray:
    """Grid position ``(x, y)`` of each RO placed row by row, ``columns`` per row.

    Parameters
    ----------
    n_ro, columns : int
        RO count and ROs per row; ``columns`` must divide ``n_ro``.

    Returns
    -------
    numpy.ndarray of int, shape (n_ro, 2)
        ``x = i % columns`` and ``y = i // columns`` (the HOST 2010 line order).
    """
    n, c = _check_grid(n_ro, columns)
    index = np.arange(n)
    return np.stack([index % c, index // c], axis=1)


def _normalised(coordinate: np.ndarray, size: int) -> np.ndarray:
    if size == 1:
        return np.zeros(coordinate.shape)
    return 2.0 * coordinate / (size - 1) - 1.0


@functools.cache
def _basis(n_ro: int, columns: int) -> np.ndarray:
    positions = grid_positions(n_ro, columns)
    u = _normalised(positions[:, 0], columns)
    v = _normalised(positions[:, 1], n_ro // columns)
    # Legendre terms scaled to unit variance over [-1, 1]: a coefficient vector with std s/sqrt(5)
    # per term gives a surface whose std over the die is about s.
    terms = np.stack(
        [
            math.sqrt(3.0) * u,
            math.sqrt(3.0) * v,
            math.sqrt(5.0) * (1.5 * u**2 - 0.5),
            math.sqrt(5.0) * (1.5 * v**2 - 0.5),
            3.0 * u * v,
        ],
        axis=1,
    )
    terms -= terms.mean(axis=0)
    terms.setflags(write=False)
    return terms


def surface_basis(n_ro: int, columns: int) -> np.ndarray:
    """The degree-2 surface terms over the placement grid, without the constant.

    Coordinates are scaled to ``[-1, 1]`` across the grid; the terms are ``sqrt(3) x``,
    ``sqrt(3) y``, ``sqrt(5) P2(x)``, ``sqrt(5) P2(y)`` and ``3 x y`` (Legendre, unit variance on
    ``[-1, 1]``), each then centred over the grid.

    Parameters
    ----------
    n_ro, columns : int
        RO count and ROs per row.

    Returns
    -------
    numpy.ndarray, shape (n_ro, 5)
        Read-only.
    """
    return _basis(*_check_grid(n_ro, columns))


@functools.cache
def _layout_draws(layout_seed: int, n_ro: int, columns: int) -> tuple[np.ndarray, ...]:
    """A design's layout share, unscaled (cached: one per design).

    Returns the shared surface over the ROs and the draws per row, per column and per RO, each
    centred and scaled to unit std: the layout is a single draw, and normalising it makes each
    ``layout_*_sigma`` the size the design actually has rather than a matter of luck.
    """
    rng = np.random.default_rng(np.random.SeedSequence([layout_seed, n_ro, columns]))
    draws = (
        _basis(n_ro, columns) @ rng.standard_normal(SURFACE_TERMS),
        rng.standard_normal(n_ro // columns),
        rng.standard_normal(columns),
        rng.standard_normal(n_ro),
    )
    result = []
    for draw in draws:
        centred = draw - draw.mean()
        spread = centred.std()
        unit = centred / spread if spread > 0 else centred
        unit.setflags(write=False)
        result.append(unit)
    return tuple(result)


def as_generator(rng: object) -> np.random.Generator:
    """*rng* itself when it is a numpy Generator, else a new one seeded with it (an integer)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy Generator or a non-negative integer seed, not {rng!r}")


class Die:
    """One FPGA die: the frequency, coefficients and position of each of its ring oscillators.

    Parameters
    ----------
    seed : int
        Non-negative die seed; every per-die quantity follows from it (through
        ``numpy.random.SeedSequence``), independently of ``params``, which only scales the draws.
    n_ro : int, optional
        Number of ring oscillators (default 512).
    columns : int, optional
        ROs per row of the placement grid; must divide ``n_ro`` (default 16).
    params : SiliconParams, optional
        Model parameters (default :data:`DEFAULT_PARAMS`).

    Attributes
    ----------
    positions : numpy.ndarray of int, shape (n_ro, 2)
        Grid position ``(x, y)`` of each RO.
    systematic : numpy.ndarray, shape (n_ro,)
        ``g(x_i, y_i)``: die offset plus the layout and die surfaces and row and column
        offsets (relative).
    random : numpy.ndarray, shape (n_ro,)
        ``r_i``: the per-RO random part, layout share plus the die's own (relative).
    nominal_hz : numpy.ndarray, shape (n_ro,)
        Noise-free frequencies at the reference temperature and nominal supply.
    tc, vc : numpy.ndarray, shape (n_ro,)
        Temperature (per kelvin) and voltage (per relative supply change) coefficients.

    Raises
    ------
    ValueError
        If ``seed`` is not a non-negative integer, ``n_ro`` or ``columns`` is not a positive
        integer, ``columns`` does not divide ``n_ro``, or ``params`` is not a SiliconParams.
    """

    def __init__(
        self,
        seed: int,
        n_ro: int = 512,
        columns: int = 16,
        params: SiliconParams = DEFAULT_PARAMS,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InputError(f"seed must be a non-negative integer, not {seed!r}")
        self.n_ro, self.columns = _check_grid(n_ro, columns)
        if not isinstance(params, SiliconParams):
            raise ValueError(f"params must be a SiliconParams, not {params!r}")
        self.seed = int(seed)
        self.params = params
        self.positions = grid_positions(self.n_ro, self.columns)
        self.positions.setflags(write=False)

        process, own_random, temperature, voltage = (
            np.random.default_rng(child) for child in np.random.SeedSequence(self.seed).spawn(4)
        )
        basis = _basis(self.n_ro, self.columns)
        layout_surface, layout_rows, layout_cols, layout_ro = _layout_draws(
            params.layout_seed, self.n_ro, self.columns
        )
        offset = params.die_sigma * process.standard_normal()
        die_surface = basis @ process.standard_normal(SURFACE_TERMS) / math.sqrt(SURFACE_TERMS)
        die_rows = process.standard_normal(self.n_ro // self.columns)
        die_cols = process.standard_normal(self.columns)
        x, y = self.positions[:, 0], self.positions[:, 1]
        self.offset = float(offset)
        self.systematic = (
            offset
            + params.layout_gradient_sigma * layout_surface
            + params.gradient_sigma * die_surface
            + (params.layout_row_sigma * layout_rows + params.row_sigma * die_rows)[y]
            + (params.layout_column_sigma * layout_cols + params.column_sigma * die_cols)[x]
        )
        self.random = (
            params.layout_sigma * layout_ro
            + params.random_sigma * own_random.standard_normal(self.n_ro)
        )
        self.nominal_hz = params.f_nominal_hz * (1.0 + self.systematic + self.random)
        self.tc = params.tc_mean + params.tc_sigma * temperature.standard_normal(self.n_ro)
        self.vc = params.vc_mean + params.vc_sigma * voltage.standard_normal(self.n_ro)
        for array in (self.systematic, self.random, self.nominal_hz, self.tc, self.vc):
            array.setflags(write=False)

    def __repr__(self) -> str:
        return f"Die(seed={self.seed!r}, n_ro={self.n_ro!r}, columns={self.columns!r})"

    def _condition(self, temperature: float, voltage: float | None) -> tuple[float, float]:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.number):
            raise InputError(f"temperature must be a number in degrees C, not {temperature!r}")
        if not -273.15 < temperature < 1000.0:
            raise InputError(
                f"temperature must be a plausible degrees C value, not {temperature!r}"
            )
        if voltage is None:
            return float(temperature), self.params.v_nominal
        if isinstance(voltage, bool) or not isinstance(voltage, int | float | np.number):
            raise InputError(f"voltage must be a number in volts, not {voltage!r}")
        if not 0.0 < voltage < math.inf:
            raise InputError(f"voltage must be positive and finite, not {voltage!r}")
        return float(temperature), float(voltage)

    def frequencies(self, temperature: float = 25.0, voltage: float | None = None) -> np.ndarray:
        """Noise-free frequency of every RO at one operating point.

        Parameters
        ----------
        temperature : float, optional
            Die temperature in degrees C (default 25).
        voltage : float, optional
            Core supply in volts (default ``params.v_nominal``).

        Returns
        -------
        numpy.ndarray, shape (n_ro,)
            Frequencies in Hz.
        """
        t, v = self._condition(temperature, voltage)
        p = self.params
        return (
            self.nominal_hz
            * (1.0 + self.tc * (t - p.t_ref_c))
            * (1.0 + self.vc * (v - p.v_nominal) / p.v_nominal)
        )

    def measure(
        self,
        temperature: float = 25.0,
        voltage: float | None = None,
        n_samples: int = 1,
        *,
        rng: np.random.Generator | int,
    ) -> np.ndarray:
        """Repeated noisy measurements of every RO at one operating point.

        Parameters
        ----------
        temperature, voltage : float, optional
            The operating point, as for :meth:`frequencies`.
        n_samples : int, optional
            Measurements per RO (default 1).
        rng : numpy.random.Generator or int
            Source of the measurement noise (an int seeds a new generator); kept apart from the
            die seed so the same die can be measured with fresh or with repeatable noise.

        Returns
        -------
        numpy.ndarray, shape (n_ro, n_samples)
            Measured frequencies in Hz; column ``k`` is measurement ``k`` of all ROs together
            (they share that measurement's common noise).
        """
        base = self.frequencies(temperature, voltage)
        count = _check_count("n_samples", n_samples)
        noise = as_generator(rng)
        p = self.params
        common = p.common_noise_sigma * noise.standard_normal(count)
        jitter = p.jitter_sigma * noise.standard_normal((self.n_ro, count))
        return base[:, None] * (1.0 + common[None, :] + jitter)


def make_fleet(
    n_dies: int,
    n_ro: int = 512,
    columns: int = 16,
    params: SiliconParams = DEFAULT_PARAMS,
    first_seed: int = 0,
) -> list[Die]:
    """Dies with consecutive seeds ``first_seed, first_seed + 1, ...``, all of one design.

    Parameters
    ----------
    n_dies : int
        Number of dies (at least 1).
    n_ro, columns, params
        As for :class:`Die`.
    first_seed : int, optional
        Seed of the first die (default 0).

    Returns
    -------
    list of Die
    """
    count = _check_count("n_dies", n_dies)
    _check_count("first_seed", first_seed, minimum=0)
    return [Die(first_seed + k, n_ro, columns, params) for k in range(count)]


def _check_fleet(dies: Sequence[Die]) -> None:
    if not dies:
        raise ValueError(f"dies must be a non-empty sequence of Die, not {dies!r}")
    if any(not isinstance(die, Die) for die in dies):
        raise ValueError("dies must hold only Die objects")
    if len({die.n_ro for die in dies}) != 1:
        raise ValueError(f"dies differ in RO count: {sorted({die.n_ro for die in dies})!r}")


def fleet_frequencies(
    dies: Sequence[Die], temperature: float = 25.0, voltage: float | None = None
) -> np.ndarray:
    """Noise-free frequencies of several dies at one operating point.

    Parameters
    ----------
    dies : sequence of Die
        Dies of equal RO count.
    temperature, voltage
        As for :meth:`Die.frequencies`.

    Returns
    -------
    numpy.ndarray, shape (n_dies, n_ro)
        Frequencies in Hz.
    """
    _check_fleet(dies)
    return np.stack([die.frequencies(temperature, voltage) for die in dies])


def measure_fleet(
    dies: Sequence[Die],
    temperature: float = 25.0,
    voltage: float | None = None,
    n_samples: int = 1,
    *,
    rng: np.random.Generator | int,
) -> np.ndarray:
    """Repeated noisy measurements of several dies, drawn in one vectorised step.

    The noise model is that of :meth:`Die.measure` with each die's own ``params``; the draws
    differ from calling :meth:`Die.measure` die by die with the same generator.

    Parameters
    ----------
    dies : sequence of Die
        Dies of equal RO count.
    temperature, voltage, n_samples, rng
        As for :meth:`Die.measure`.

    Returns
    -------
    numpy.ndarray, shape (n_dies, n_ro, n_samples)
        Measured frequencies in Hz.
    """
    base = fleet_frequencies(dies, temperature, voltage)
    count = _check_count("n_samples", n_samples)
    noise = as_generator(rng)
    common_sigma = np.array([die.params.common_noise_sigma for die in dies])
    jitter_sigma = np.array([die.params.jitter_sigma for die in dies])
    common = common_sigma[:, None, None] * noise.standard_normal((len(dies), 1, count))
    jitter = jitter_sigma[:, None, None] * noise.standard_normal((*base.shape, count))
    return base[:, :, None] * (1.0 + common + jitter)
