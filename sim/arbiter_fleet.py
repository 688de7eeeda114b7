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
"""

from dataclasses import dataclass

import numpy as np

from ropuf.host import metrics

from .arbiter_model import DEFAULT_ARBITER_PARAMS, ArbiterDie, ArbiterParams, random_challenges

__all__ = ["CORNERS", "FleetFigures", "characterise", "majority"]

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
class FleetFigures:
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

    k: int
    n_stages: int
    n_dies: int
    n_challenges: int
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
