"""Arbiter PUF quality over a simulated fleet and operating corners, with the shared PUF metrics.

:func:`characterise` builds a fleet of :class:`~ropuf.sim.arbiter_model.ArbiterDie` (seeds
``first_seed ..``), answers one set of random challenges on every die and computes, with the
same functions as the RO PUF (:mod:`ropuf.host.metrics`):

* uniformity, uniqueness, bit-aliasing spread and min-entropy of the reference responses;
* reliability at each corner: every die answers every challenge ``repeats`` times with fresh
  noise and each answer is compared with the die's reference, the majority of
  ``enrol_votes`` answers at the nominal point (what an enrolment would record);
* the same with each answer itself a majority of ``votes`` evaluations (what a verifier that
  votes sees), which shows how much majority voting buys.

:func:`crp_error_rates` measures what one-time CRP authentication (:mod:`ropuf.host.crp_auth`)
sees: the fraction of wrong answers against references enrolled at the nominal point, at
every corner (intra) and from another die (inter), with the enrolment's reliability selection
and the device's majority voting; its threshold is chosen from these.
"""

from dataclasses import dataclass

import numpy as np

from ropuf.host import metrics

from .arbiter_model import DEFAULT_ARBITER_PARAMS, ArbiterDie, ArbiterParams, random_challenges

__all__ = [
    "CORNERS",
    "CRPErrorRates",
    "FleetFigures",
    "characterise",
    "crp_error_rates",
    "majority",
]

#: Operating points (degrees C, volts) of a 1.2 V core: nominal and the four extremes of
#: -20..85 C and +-5 % supply.
CORNERS: dict[str, tuple[float, float]] = {
    "25 C, 1.20 V": (25.0, 1.20),
    "-20 C, 1.14 V": (-20.0, 1.14),
    "-20 C, 1.26 V": (-20.0, 1.26),
    "85 C, 1.14 V": (85.0, 1.14),
    "85 C, 1.26 V": (85.0, 1.26),
}


def majority(bits: np.ndarray, axis: int = 0) -> np.ndarray:
    """Majority of 0/1 answers along *axis* (an odd count, so there are no ties)."""
    count = bits.shape[axis]
    if count % 2 == 0:
        raise ValueError(f"Majority voting needs an odd number of answers, not {count!r}")
    return (2 * np.sum(bits, axis=axis, dtype=np.int64) > count).astype(np.uint8)


@dataclass(frozen=True)
class _Measured:
    """What a fleet figure was measured on: the PUF (``k`` chains of ``n_stages``), dies and
    challenges; the first fields of :class:`FleetFigures` and :class:`CRPErrorRates`."""

    k: int
    n_stages: int
    n_dies: int
    n_challenges: int


@dataclass(frozen=True)
class FleetFigures(_Measured):
    """PUF figures of one fleet (fractions, not percent).

    Attributes
    ----------
    k, n_stages, n_dies, n_challenges : int
        What was measured.
    uniformity_mean, uniformity_std : float
        Mean and spread over dies of the fraction of ones in the reference response.
    uniqueness : float
        Mean inter-die HD of the reference responses.
    bit_aliasing_spread : float
        Spread over challenges of the fraction of dies answering 1.
    min_entropy : float
        Per-bit min-entropy estimate from the bit-aliasing.
    reliability : dict of str to float
        Per corner: mean over dies of ``1 - intra_hd`` of single answers.
    reliability_voted : dict of str to float
        Per corner: the same for answers that are each a majority of ``votes`` evaluations.
    votes : int
        Evaluations per voted answer.
    """

    uniformity_mean: float
    uniformity_std: float
    uniqueness: float
    bit_aliasing_spread: float
    min_entropy: float
    reliability: dict[str, float]
    reliability_voted: dict[str, float]
    votes: int


def characterise(
    *,
    k: int,
    n_stages: int = 64,
    n_dies: int = 40,
    n_challenges: int = 2000,
    repeats: int = 5,
    enrol_votes: int = 11,
    votes: int = 5,
    corners: dict[str, tuple[float, float]] | None = None,
    params: ArbiterParams = DEFAULT_ARBITER_PARAMS,
    first_seed: int = 0,
    seed: int = 1,
) -> FleetFigures:
    """Measure a fleet of k-XOR arbiter PUFs (see the module docstring).

    *seed* seeds the challenges and the measurement noise (kept apart from the die seeds).
    """
    corners = CORNERS if corners is None else corners
    streams = np.random.SeedSequence([seed, k, n_stages]).spawn(2)
    challenges = random_challenges(n_challenges, n_stages, np.random.default_rng(streams[0]))
    noise = np.random.default_rng(streams[1])
    dies = [ArbiterDie(first_seed + i, n_stages, k, params) for i in range(n_dies)]
    nominal = next(iter(corners.values()))

    references = np.stack(
        [
            majority(die.responses(challenges, *nominal, rng=noise, repeats=enrol_votes))
            for die in dies
        ]
    )
    single: dict[str, list[float]] = {name: [] for name in corners}
    voted: dict[str, list[float]] = {name: [] for name in corners}
    for die, reference in zip(dies, references, strict=True):
        for name, (temperature, voltage) in corners.items():
            answers = die.responses(
                challenges, temperature, voltage, rng=noise, repeats=repeats * votes
            )
            single[name].append(float(metrics.reliability(answers[:repeats], reference)))
            grouped = majority(answers.reshape(votes, repeats, n_challenges), axis=0)
            voted[name].append(float(metrics.reliability(grouped, reference)))

    uniformity = metrics.uniformity(references)
    return FleetFigures(
        k=k,
        n_stages=n_stages,
        n_dies=n_dies,
        n_challenges=n_challenges,
        uniformity_mean=float(np.mean(uniformity)),
        uniformity_std=float(np.std(uniformity)),
        uniqueness=metrics.uniqueness(references),
        bit_aliasing_spread=metrics.bit_aliasing_spread(references),
        min_entropy=metrics.min_entropy(references),
        reliability={name: float(np.mean(values)) for name, values in single.items()},
        reliability_voted={name: float(np.mean(values)) for name, values in voted.items()},
        votes=votes,
    )


@dataclass(frozen=True)
class CRPErrorRates(_Measured):
    """How often one-time CRP authentication sees a wrong bit (fractions), over a fleet.

    Attributes
    ----------
    k, n_stages, n_dies, n_challenges : int
        What was measured.
    enrol_votes, auth_votes : int
        Evaluations per challenge at enrolment (at the nominal point) and per answer at
        authentication (the device's majority).
    stable_only : bool
        Only challenges whose ``enrol_votes`` evaluations all agreed were kept.
    kept : float
        Mean fraction of challenges kept at enrolment.
    intra : dict of str to float
        Per corner: mean over dies of the fraction of authentication answers that differ from
        the stored reference (the intra-chip HD the verifier sees).
    intra_worst_die : dict of str to float
        Per corner: the same for the least reliable die.
    inter_pairs : tuple of float
        For every ordered pair of distinct dies ``(i, j)``: the fraction of die ``j``'s answers
        (at the nominal point) that differ from die ``i``'s references (the inter-chip HD an
        impostor device sees). Pairs differ: a die's bias makes it closer to some dies.
    """

    enrol_votes: int
    auth_votes: int
    stable_only: bool
    kept: float
    intra: dict[str, float]
    intra_worst_die: dict[str, float]
    inter_pairs: tuple[float, ...]

    @property
    def inter(self) -> float:
        """Mean inter-chip HD over all ordered pairs of dies."""
        return float(np.mean(self.inter_pairs))

    @property
    def worst_corner(self) -> str:
        """The corner with the largest mean intra-chip HD."""
        return max(self.intra, key=self.intra.__getitem__)

    @property
    def worst_intra(self) -> float:
        """The largest intra-chip HD of any die at any corner: what a threshold must allow."""
        return max(self.intra_worst_die.values())


def crp_error_rates(
    *,
    k: int,
    n_stages: int = 64,
    n_dies: int = 40,
    n_challenges: int = 2000,
    enrol_votes: int = 15,
    auth_votes: int = 1,
    stable_only: bool = True,
    corners: dict[str, tuple[float, float]] | None = None,
    params: ArbiterParams = DEFAULT_ARBITER_PARAMS,
    first_seed: int = 0,
    seed: int = 2,
) -> CRPErrorRates:
    """Measure what a CRP verifier sees over a fleet (see :class:`CRPErrorRates`).

    Enrolment: every die answers every challenge *enrol_votes* times at the first corner (the
    nominal point); the reference is the majority, and with *stable_only* only challenges
    answered the same every time are kept. Authentication: at each corner every die answers
    each kept challenge as the majority of *auth_votes* fresh evaluations; intra = fraction of
    answers that differ from the die's reference; inter = the same for every other die's
    answers at the nominal point against this die's references. HDs from :mod:`ropuf.host.metrics`.
    """
    if enrol_votes % 2 == 0 or auth_votes % 2 == 0:
        raise ValueError(
            f"Majorities need odd vote counts, not enrol_votes={enrol_votes!r}, "
            f"auth_votes={auth_votes!r}"
        )
    if n_dies < 2:
        raise ValueError(f"Inter-chip figures need at least 2 dies, not {n_dies!r}")
    corners = CORNERS if corners is None else corners
    streams = np.random.SeedSequence([seed, k, n_stages, 7]).spawn(2)
    challenges = random_challenges(n_challenges, n_stages, np.random.default_rng(streams[0]))
    noise = np.random.default_rng(streams[1])
    dies = [ArbiterDie(first_seed + i, n_stages, k, params) for i in range(n_dies)]
    nominal = next(iter(corners.values()))

    references, masks = [], []
    for die in dies:
        answers = die.responses(challenges, *nominal, rng=noise, repeats=enrol_votes)
        ones = answers.sum(axis=0, dtype=np.int64)
        references.append((2 * ones > enrol_votes).astype(np.uint8))
        stable = (ones == 0) | (ones == enrol_votes)
        masks.append(stable if stable_only else np.ones(n_challenges, dtype=bool))

    def answer(die: ArbiterDie, corner: tuple[float, float]) -> np.ndarray:
        return majority(die.responses(challenges, *corner, rng=noise, repeats=auth_votes))

    intra: dict[str, list[float]] = {name: [] for name in corners}
    for die, reference, mask in zip(dies, references, masks, strict=True):
        for name, corner in corners.items():
            hd = metrics.hamming_distance(answer(die, corner)[mask], reference[mask])
            intra[name].append(float(hd))
    nominal_answers = np.stack([answer(die, nominal) for die in dies])
    inter = [
        float(metrics.hamming_distance(nominal_answers[j][mask], reference[mask]))
        for i, (reference, mask) in enumerate(zip(references, masks, strict=True))
        for j in range(n_dies)
        if j != i
    ]
    return CRPErrorRates(
        k=k,
        n_stages=n_stages,
        n_dies=n_dies,
        n_challenges=n_challenges,
        enrol_votes=enrol_votes,
        auth_votes=auth_votes,
        stable_only=stable_only,
        kept=float(np.mean([np.mean(mask) for mask in masks])),
        intra={name: float(np.mean(values)) for name, values in intra.items()},
        intra_worst_die={name: float(np.max(values)) for name, values in intra.items()},
        inter_pairs=tuple(inter),
    )
