"""The additive delay model of (XOR) arbiter PUFs, vectorised, and what the simulation body answers.

Chain *l* of a die has a delay difference ``w[l][i]`` per stage and an arbiter offset
``w[l][n]`` (the bias), in picoseconds, all drawn from the die seed. For a challenge ``c``
(``n`` bits) the chain's two edges arrive ``delta = w . Phi(c)`` apart, with the parity
features ``Phi_i = prod_{j >= i} (1 - 2 c_j)`` for ``i < n`` and ``Phi_n = 1``; each evaluation
adds Gaussian noise; the chain answers 1 when ``delta + noise > 0`` and a k-XOR PUF answers the
XOR of its chains.

Operating point: every weight drifts by its own small amount and all scale together,

.. math::

    w_i(T, V) = \\bigl(w_i + \\sigma_s (t_i \\Delta T + v_i \\Delta V / V_n)\\bigr)
                \\bigl(1 + \\alpha \\Delta T\\bigr)\\bigl(1 + \\beta \\Delta V / V_n\\bigr)

with ``t_i``, ``v_i`` per-stage draws. The common factor changes no sign; the per-stage drift
does, which is what makes corners less reliable. :class:`ArbiterParams` says why each value was
chosen; ``docs/arbiter-puf.md`` gives the resulting figures.

Challenges are **packed**: an array of shape ``(count, ceil(n / 8))`` of ``uint8``, the
little-endian bytes of the challenge integer (bit ``j`` drives stage ``j``; bits past ``n`` are
zero). Responses go through per-byte lookup tables, so a million CRPs of a 64-stage chain take
about a tenth of a second. The simulation body computes the same model in integers
(:mod:`ropuf.spec.arbiter_behavioural`); :func:`sim_load` quantises a die for it and
:func:`gateware_responses` gives exactly what it answers.
"""

import math
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from ropuf.spec import arbiter_behavioural

from .silicon import as_generator

__all__ = [
    "DEFAULT_ARBITER_PARAMS",
    "UNITS_PER_SIGMA",
    "ArbiterDie",
    "ArbiterParams",
    "SimLoad",
    "challenge_bits",
    "challenge_ints",
    "challenges_from_ints",
    "gateware_responses",
    "parity_features",
    "random_challenges",
    "sim_load",
    "xor_delays",
]

#: Weight units (simulation body LSBs) per stage sigma: 16-bit weights reach +-16 sigma.
UNITS_PER_SIGMA = 2048

_BYTE_BITS = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.uint8)
#: For a byte v: bit j is the XOR of bits j..7 of v (the suffix parity inside one byte).
_SUFFIX_IN_BYTE = np.zeros(256, dtype=np.uint8)
for _j in range(8):
    _SUFFIX_IN_BYTE |= (np.bitwise_xor.reduce(_BYTE_BITS[:, _j:], axis=1) << _j).astype(np.uint8)
_BYTE_PARITY = (_BYTE_BITS.sum(axis=1) & 1).astype(np.uint8)


@dataclass(frozen=True)
class ArbiterParams:
    """Process, environment and noise parameters of a family of arbiter PUF dies.

    Parameters
    ----------
    stage_sigma_ps : float
        Standard deviation of one stage's delay difference between its two paths. Only ratios
        to it matter for the responses; 5 ps is the order of magnitude of LUT-to-LUT mismatch on
        small FPGAs (a round value, not a measurement).
    bias_sigma_ps : float
        Standard deviation of the arbiter offset ``w[n]``. The additive delay model (Lim et
        al.; Ruhrmair et al., CCS 2010) writes a stage's weight as the sum of two independent
        halves, ``w_i = (d0_(i-1) + d1_(i-1) + d0_i - d1_i) / 2`` (``d0``, ``d1`` a stage's
        delay differences when straight and crossed), while the last one is a single half,
        ``w_n = (d0_(n-1) + d1_(n-1)) / 2``: half the variance of a stage, so
        ``stage_sigma / sqrt 2`` (3.54 ps), with an ideal (symmetric) arbiter. The arbiter's
        own set-up/hold asymmetry and the routing into it add to this; a real FPGA build can
        be far more biased, which the board bring-up must measure (docs/arbiter-puf.md).
    noise_sigma_ps : float
        Per-evaluation noise of ``delta`` (jitter of both edges, arbiter metastability).
        ``noise / stage = 0.5`` gives a 64-stage chain an intra-chip HD of about 2 % against
        its noise-free response (``arctan(0.5 / sqrt(65)) / pi``), reliability about 98 %,
        inside the 95-99 % that FPGA arbiter PUFs report.
    t_ref_c, v_nominal : float
        Reference temperature (degrees C) and nominal core supply (V) of the nominal weights.
    tc_mean : float
        Common relative delay change per kelvin (delays grow about 0.1 %/K).
    vc_mean : float
        Common relative delay change per relative supply change (+5 % supply, -5 % delay).
    stage_tc_sigma : float
        Per-stage drift, in stage sigmas per kelvin. Chosen, not measured: 1.5e-3 moves
        ``delta`` by 9 % of its spread at 60 K from the reference, which takes the intra-chip HD
        of a chain from about 2 % to about 3.5-4 % at the temperature corners.
    stage_vc_sigma : float
        Per-stage drift, in stage sigmas per relative supply change. Chosen: 1.0 moves
        ``delta`` by 5 % of its spread at a 5 % supply change.

    Raises
    ------
    ValueError
        A value is not a finite number, a sigma is negative, or a nominal value not positive.
    """

    stage_sigma_ps: float = 5.0
    bias_sigma_ps: float = 5.0 * math.sqrt(0.5)
    noise_sigma_ps: float = 2.5
    t_ref_c: float = 25.0
    v_nominal: float = 1.2
    tc_mean: float = 1.0e-3
    vc_mean: float = -1.0
    stage_tc_sigma: float = 1.5e-3
    stage_vc_sigma: float = 1.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ValueError(f"{item.name} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{item.name} must be finite, not {value!r}")
            if "sigma" in item.name and value < 0:
                raise ValueError(f"{item.name} must be zero or positive, not {value!r}")
        for name in ("stage_sigma_ps", "v_nominal"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")


#: The defaults, as documented in :class:`ArbiterParams`.
DEFAULT_ARBITER_PARAMS = ArbiterParams()


def _check_int(name: str, value: object, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be in {minimum}..{maximum}, not {value!r}")
    return int(value)


def _packed(challenges: npt.ArrayLike, n_stages: int) -> np.ndarray:
    array = np.asarray(challenges)
    width = (n_stages + 7) // 8
    if array.ndim != 2 or array.shape[1] != width or array.dtype != np.uint8:
        raise ValueError(
            f"Challenges of {n_stages} stages must be a uint8 array of shape (count, {width}), "
            f"not {array.dtype} of shape {array.shape!r}"
        )
    if n_stages % 8 and np.any(array[:, -1] >> (n_stages % 8)):
        raise ValueError(f"A challenge has bits set past stage {n_stages - 1}")
    return array


def random_challenges(count: int, n_stages: int, rng: np.random.Generator | int) -> np.ndarray:
    """*count* uniformly random packed challenges of *n_stages* bits."""
    count = _check_int("count", count, 0, 2**40)
    n_stages = _check_int("n_stages", n_stages, 1, arbiter_behavioural.MAX_STAGES)
    array = as_generator(rng).integers(0, 256, size=(count, (n_stages + 7) // 8), dtype=np.uint8)
    if n_stages % 8:
        array[:, -1] &= (1 << (n_stages % 8)) - 1
    return array


def challenge_bits(challenges: npt.ArrayLike, n_stages: int) -> np.ndarray:
    """Packed challenges as bits: shape ``(count, n_stages)``, column ``j`` for stage ``j``."""
    packed = _packed(challenges, n_stages)
    return np.unpackbits(packed, axis=1, bitorder="little")[:, :n_stages]


def challenge_ints(challenges: npt.ArrayLike, n_stages: int) -> list[int]:
    """Packed challenges as Python integers (bit ``j`` for stage ``j``), as the gateware wants."""
    return [int.from_bytes(row.tobytes(), "little") for row in _packed(challenges, n_stages)]


def challenges_from_ints(values: list[int], n_stages: int) -> np.ndarray:
    """Integers (bit ``j`` for stage ``j``) as packed challenges; each must fit *n_stages* bits."""
    width = (n_stages + 7) // 8
    rows = []
    for value in values:
        if not 0 <= value < 2**n_stages:
            raise ValueError(f"Challenge {value!r} does not fit {n_stages} bits")
        rows.append(np.frombuffer(int(value).to_bytes(width, "little"), dtype=np.uint8))
    return np.array(rows, dtype=np.uint8).reshape(len(rows), width)


def _suffix_bytes(packed: np.ndarray) -> np.ndarray:
    """Suffix parities, packed, byte-major: shape ``(width, count)``; bit j of row b is
    the XOR of challenge bits ``8 b + j`` and up."""
    columns = np.ascontiguousarray(packed.T)
    higher = np.zeros_like(columns)  # parity of all bytes above b
    for b in range(columns.shape[0] - 2, -1, -1):
        higher[b] = higher[b + 1] ^ _BYTE_PARITY[columns[b + 1]]
    return _SUFFIX_IN_BYTE[columns] ^ (np.uint8(0) - higher)


def parity_features(
    challenges: npt.ArrayLike, n_stages: int, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """The parity feature transform: shape ``(count, n_stages + 1)`` of +1/-1.

    Column ``i < n`` is ``Phi_i = prod_{j >= i} (1 - 2 c_j)``; the last column is 1 (the bias),
    so ``delta = features @ w`` for a chain's weights ``w``.
    """
    packed = _packed(challenges, n_stages)
    bits = np.unpackbits(_suffix_bytes(packed).T, axis=1, bitorder="little")[:, :n_stages]
    features = np.ones((packed.shape[0], n_stages + 1), dtype=dtype)
    features[:, :n_stages] -= 2 * bits.astype(dtype)
    return features


def _delays(packed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``delta`` of every chain, shape ``(count, k)``, through per-byte lookup tables."""
    k, n_plus_1 = weights.shape
    n_stages = n_plus_1 - 1
    width = packed.shape[1]
    suffix = _suffix_bytes(packed)
    stage_weights = np.zeros((k, width * 8), dtype=weights.dtype)
    stage_weights[:, :n_stages] = weights[:, :n_stages]
    # table[l, b, v] = sum of the stage weights of byte b whose suffix-parity bit is set in v
    tables = np.einsum(
        "vj,lbj->lbv", _BYTE_BITS.astype(weights.dtype), stage_weights.reshape(k, width, 8)
    )
    out = np.empty((packed.shape[0], k), dtype=weights.dtype)
    for chain in range(k):
        acc = np.full(packed.shape[0], weights[chain].sum(), dtype=weights.dtype)
        for b in range(width):
            acc -= 2 * tables[chain, b][suffix[b]]
        out[:, chain] = acc
    return out


def xor_delays(weights: npt.ArrayLike, challenges: npt.ArrayLike) -> np.ndarray:
    """Noise-free ``delta`` of every chain of *weights* (shape ``(k, n + 1)``) per challenge.

    Returns an array of shape ``(count, k)``; integer weights give exact integers.
    """
    w = np.atleast_2d(np.asarray(weights))
    if not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)):
        raise ValueError(f"Weights must be numbers, not {w.dtype}")
    w = w.astype(np.float64 if np.issubdtype(w.dtype, np.floating) else np.int64)
    return _delays(_packed(challenges, w.shape[1] - 1), w)


class ArbiterDie:
    """One die's k-chain arbiter PUF under the additive delay model.

    Parameters
    ----------
    seed : int
        Non-negative die seed. Chain *l* draws from ``SeedSequence(seed, spawn_key=(l,))``, so a
        die's chain *l* is the same whatever *k*; *n_stages* changes the die.
    n_stages : int
        Stages per chain, 1..256.
    k : int
        Chains XORed, 1..8.
    params : ArbiterParams
        Model parameters.

    Attributes
    ----------
    nominal_ps : numpy.ndarray, shape (k, n_stages + 1)
        Weights at the reference point (stages, then the bias), in ps.
    stage_tc, stage_vc : numpy.ndarray, shape (k, n_stages + 1)
        Per-stage drift coefficients (stage sigmas per kelvin, per relative supply change).
    """

    def __init__(
        self,
        seed: int,
        n_stages: int = 64,
        k: int = 1,
        params: ArbiterParams = DEFAULT_ARBITER_PARAMS,
    ) -> None:
        self.seed = _check_int("seed", seed, 0, 2**63)
        self.n_stages = _check_int("n_stages", n_stages, 1, arbiter_behavioural.MAX_STAGES)
        self.k = _check_int("k", k, 1, arbiter_behavioural.MAX_CHAINS)
        if not isinstance(params, ArbiterParams):
            raise ValueError(f"params must be an ArbiterParams, not {params!r}")
        self.params = params
        size = self.n_stages + 1
        scale = np.full(size, params.stage_sigma_ps)
        scale[-1] = params.bias_sigma_ps
        nominal, tc, vc = [], [], []
        for chain in range(self.k):
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(chain,)))
            nominal.append(scale * rng.standard_normal(size))
            tc.append(params.stage_tc_sigma * rng.standard_normal(size))
            vc.append(params.stage_vc_sigma * rng.standard_normal(size))
        self.nominal_ps = np.array(nominal)
        self.stage_tc = np.array(tc)
        self.stage_vc = np.array(vc)
        for array in (self.nominal_ps, self.stage_tc, self.stage_vc):
            array.setflags(write=False)

    def __repr__(self) -> str:
        return f"ArbiterDie(seed={self.seed!r}, n_stages={self.n_stages!r}, k={self.k!r})"

    def weights(self, temperature: float = 25.0, voltage: float | None = None) -> np.ndarray:
        """Weights in ps at one operating point, shape ``(k, n_stages + 1)``."""
        p = self.params
        if isinstance(temperature, bool) or not -273.15 < temperature < 1000.0:
            raise ValueError(
                f"temperature must be a plausible degrees C value, not {temperature!r}"
            )
        v = p.v_nominal if voltage is None else voltage
        if isinstance(v, bool) or not 0.0 < v < math.inf:
            raise ValueError(f"voltage must be positive and finite, not {voltage!r}")
        dt = temperature - p.t_ref_c
        dv = (v - p.v_nominal) / p.v_nominal
        drift = p.stage_sigma_ps * (self.stage_tc * dt + self.stage_vc * dv)
        return (self.nominal_ps + drift) * (1.0 + p.tc_mean * dt) * (1.0 + p.vc_mean * dv)

    def delays(
        self, challenges: npt.ArrayLike, temperature: float = 25.0, voltage: float | None = None
    ) -> np.ndarray:
        """Noise-free ``delta`` in ps of every chain, shape ``(count, k)``."""
        return _delays(_packed(challenges, self.n_stages), self.weights(temperature, voltage))

    def chain_bits(
        self,
        challenges: npt.ArrayLike,
        temperature: float = 25.0,
        voltage: float | None = None,
        *,
        rng: np.random.Generator | int | None = None,
        repeats: int | None = None,
    ) -> np.ndarray:
        """Each chain's bit, shape ``(count, k)`` (or ``(repeats, count, k)``), ``uint8``.

        With *rng* None the answers are noise-free; otherwise each evaluation draws its own
        Gaussian noise from *rng* (kept apart from the die seed). *repeats* evaluates every
        challenge that many times (with fresh noise each) for the cost of one delay computation.
        """
        delta = self.delays(challenges, temperature, voltage)
        if rng is None:
            if repeats is not None:
                raise ValueError("repeats needs an rng: noise-free evaluations never differ")
            return (delta > 0).astype(np.uint8)
        noise = as_generator(rng)
        shape = (
            delta.shape
            if repeats is None
            else (_check_int("repeats", repeats, 1, 2**20), *delta.shape)
        )
        sigma = self.params.noise_sigma_ps
        return (delta + sigma * noise.standard_normal(shape) > 0).astype(np.uint8)

    def responses(
        self, challenges: npt.ArrayLike, temperature: float = 25.0, voltage: float | None = None,
        *, rng: np.random.Generator | int | None = None, repeats: int | None = None,
    ) -> np.ndarray:  # fmt: skip
        """The XOR response, shape ``(count,)`` (or ``(repeats, count)``), ``uint8``.

        Arguments as for :meth:`chain_bits`.
        """
        bits = self.chain_bits(challenges, temperature, voltage, rng=rng, repeats=repeats)
        return np.bitwise_xor.reduce(bits, axis=-1)


@dataclass(frozen=True)
class SimLoad:
    """What the simulation body is loaded with to stand in for one die at one condition.

    Attributes
    ----------
    weights : numpy.ndarray of int64, shape (k, n_stages + 1)
        Quantised weights, :data:`UNITS_PER_SIGMA` units per stage sigma.
    noise_scale : int
        The noise scale (see :func:`ropuf.spec.arbiter_behavioural.noise_scale_for`).
    """

    weights: np.ndarray
    noise_scale: int


def sim_load(die: ArbiterDie, temperature: float = 25.0, voltage: float | None = None) -> SimLoad:
    """Quantised weights and noise scale that make the simulation body stand in for *die*.

    Raises
    ------
    ValueError
        A weight does not fit :data:`~ropuf.spec.arbiter_behavioural.WEIGHT_BITS` signed bits (more
        than 16 stage sigmas: a different parameter set needs a smaller unit).
    """
    unit_ps = die.params.stage_sigma_ps / UNITS_PER_SIGMA
    weights = np.rint(die.weights(temperature, voltage) / unit_ps).astype(np.int64)
    limit = 2 ** (arbiter_behavioural.WEIGHT_BITS - 1)
    if np.any(weights < -limit) or np.any(weights >= limit):
        raise ValueError(
            f"{die!r} has a weight of {int(np.abs(weights).max())} units at {temperature!r} C, "
            f"beyond {arbiter_behavioural.WEIGHT_BITS} signed bits"
        )
    scale = arbiter_behavioural.noise_scale_for(die.params.noise_sigma_ps / unit_ps)
    return SimLoad(weights=weights, noise_scale=scale)


def _noise_stream(state: int, evaluations: int, k: int, noise_scale: int) -> tuple[np.ndarray, int]:
    """The simulation body's noise offsets, shape ``(evaluations, k)``, and the state after."""
    draws = arbiter_behavioural.DRAWS_PER_CHAIN
    sums = np.empty(evaluations * k, dtype=np.int64)
    step = arbiter_behavioural.xorshift32
    for index in range(evaluations * k):
        total = 0
        for _ in range(draws):
            state = step(state)
            total += state >> 16
        sums[index] = total
    offsets = (
        (sums - arbiter_behavioural.NOISE_CENTRE) * noise_scale
    ) >> arbiter_behavioural.NOISE_SHIFT
    return offsets.reshape(evaluations, k), state


def gateware_responses(
    weights: npt.ArrayLike,
    challenges: npt.ArrayLike,
    *,
    seed: int,
    noise_scale: int,
    state: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exactly what the simulation body answers for *challenges*, in order.

    Vectorised over the challenges; the arithmetic is that of
    :func:`ropuf.spec.arbiter_behavioural.evaluate` (the tests check the two agree).

    Parameters
    ----------
    weights : array_like of int, shape (k, n_stages + 1)
        The loaded weights.
    challenges : numpy.ndarray of uint8
        Packed challenges.
    seed : int
        Noise seed as loaded (ignored when *state* is given).
    noise_scale : int
        Noise scale as loaded.
    state : int, optional
        Generator state to continue from (the last value returned by an earlier call).

    Returns
    -------
    (bits, chains, state) : tuple
        Responses ``(count,)`` and chain bits ``(count, k)``, both ``uint8``, and the state after.
    """
    w = np.asarray(
        arbiter_behavioural.check_weights(np.asarray(weights).tolist(), np.shape(weights)[-1] - 1)
    )
    if not 0 <= noise_scale < 2**arbiter_behavioural.NOISE_SCALE_BITS:
        raise ValueError(
            f"Noise scale must fit {arbiter_behavioural.NOISE_SCALE_BITS} bits, not {noise_scale!r}"
        )
    packed = _packed(challenges, w.shape[1] - 1)
    if state is None:
        state = arbiter_behavioural.seed_state(seed)
    offsets, state = _noise_stream(state, packed.shape[0], w.shape[0], noise_scale)
    chains = (_delays(packed, w.astype(np.int64)) + offsets > 0).astype(np.uint8)
    return np.bitwise_xor.reduce(chains, axis=1), chains, state
