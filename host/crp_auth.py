"""One-time authentication with arbiter PUF challenge-response pairs (CRPs).

**For study, not deployment**, at the sizes this project builds: a 64-stage arbiter PUF with
k <= 5 chains is learned by :mod:`ropuf.host.arbiter_attack` from the CRPs an eavesdropper
records (a thousand for k = 1, about a hundred thousand for k = 5), and a learned model passes
this check. See ``docs/arbiter-puf.md``.

The scheme:

1. **Enrolment** (trusted setting, an enrollment build before LOCK): the verifier draws random
   challenges from the operating system's generator, asks the device for the number of ones
   in ``enrol_votes`` evaluations of each (COUNTS form), keeps only the challenges that
   answered the same every time (``stable_only``), and stores each with its answer in the
   registry (:meth:`~ropuf.host.registry.Registry.add_crps`, responses encrypted).
2. **Authentication**: the verifier takes ``n_bits`` unused CRPs, which the registry marks used
   and commits *before* the device is asked (like nonces: a crash or a rejection never makes
   a CRP usable again); the device answers each as the majority of ``votes`` evaluations; the
   verifier accepts when at most ``max_errors`` answers differ from the references.

The threshold comes from the measured reliability and uniqueness
(:func:`ropuf.sim.arbiter_fleet.crp_error_rates`): a genuine device's answers differ from its
references with probability ``intra_hd`` each (taken at the worst corner, for the least
reliable die of the fleet), another device's with probability ``inter_hd`` (near 0.5, measured
for every pair of dies). Treating the bits as independent, the number of wrong bits is
binomial, and :func:`choose_threshold` picks the ``max_errors`` where the larger of the two
error rates is smallest (the equal-error point):

* false reject = ``P(Binomial(n_bits, intra_hd) > max_errors)``;
* false accept = the mean over pairs of dies of ``P(Binomial(n_bits, inter_hd) <=
  max_errors)`` (another device, or a guess).

Per-challenge error rates differ, and for a sum of independent Bernoulli trials with a given
mean the binomial tails away from the mean are upper bounds (Hoeffding, 1956). The per-pair
mean matters: a pair of dies whose biases agree is closer than 0.5, and one mean rate for all
pairs estimates half the false accepts measured for a single chain.
``benchmarks/bench_arbiter_link.py`` checks both estimates by Monte Carlo with short
authentications: measured false rejects fall below the estimate (the worst die is assumed),
measured false accepts match it. The false-accept
estimate is against devices and guessers, **not** against a model of this device: a model
that predicts 97 % of the answers is accepted.
"""

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ropuf.spec import arbiter_command
from ropuf.spec.errors import RopufError

from .crp import collect_counts, collect_crps
from .registry import Registry

__all__ = [
    "AuthResult",
    "CRPAuthError",
    "EnrolResult",
    "Threshold",
    "authenticate",
    "choose_threshold",
    "draw_challenges",
    "enrol",
]


class CRPAuthError(RopufError):
    """CRP enrolment or authentication cannot proceed as asked; the message says what to do."""


@dataclass(frozen=True)
class Threshold:
    """An authentication policy and what it is expected to cost."""

    #: CRPs used (and spent) per authentication.
    n_bits: int
    #: Most wrong answers accepted; the fractional HD threshold is ``max_errors / n_bits``.
    max_errors: int
    #: Evaluations per answer the device is asked for (its majority).
    votes: int
    #: The per-bit error rate of a genuine device the choice used.
    intra_hd: float
    #: The (mean) per-bit error rate of another device the choice used.
    inter_hd: float
    #: The binomial estimate that a genuine device is rejected (see the module notes).
    false_reject: float
    #: The binomial estimate that another device is accepted (see the module notes).
    false_accept: float

    @property
    def fraction(self) -> float:
        """The fractional Hamming-distance threshold (accept at or below it)."""
        return self.max_errors / self.n_bits


def _binomial_pmf(n: int, p: float) -> list[float]:
    """``P(X = i)`` for ``X ~ Binomial(n, p)``, computed in logs (no underflow to NaN)."""
    if p <= 0.0:
        return [1.0] + [0.0] * n
    if p >= 1.0:
        return [0.0] * n + [1.0]
    log_p, log_q = math.log(p), math.log1p(-p)
    return [
        math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                 + i * log_p + (n - i) * log_q)
        for i in range(n + 1)
    ]  # fmt: skip


def choose_threshold(
    n_bits: int, intra_hd: float, inter_hd: float | Sequence[float] = 0.5, *, votes: int = 5
) -> Threshold:
    """The equal-error ``max_errors`` for *n_bits* CRPs (see the module notes).

    Parameters
    ----------
    n_bits : int
        CRPs per authentication, 1..4096.
    intra_hd : float
        Per-bit error rate of the genuine device (the worst die at the worst corner).
    inter_hd : float or sequence of float
        Per-bit error rate of another device; several values (one per measured pair of
        dies) make the false-accept rate the mean over them, which counts pairs of dies that
        are closer than average (their biases agree).
    votes : int
        Evaluations per answer the verifier will ask for (recorded in the result).

    Raises
    ------
    ValueError
        *n_bits* is not 1..4096, a rate is not in [0, 1], or ``intra_hd`` is not below the
        mean ``inter_hd`` (then no threshold separates the devices).
    """
    if isinstance(n_bits, bool) or not isinstance(n_bits, int) or not 1 <= n_bits <= 4096:
        raise ValueError(f"n_bits must be an integer in 1..4096, not {n_bits!r}")
    inters = [inter_hd] if isinstance(inter_hd, int | float) else list(inter_hd)
    if not inters:
        raise ValueError("inter_hd must hold at least one rate")
    for name, rate in (("intra_hd", intra_hd), *(("inter_hd", rate) for rate in inters)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1], not {rate!r}")
    inter_mean = math.fsum(inters) / len(inters)
    if intra_hd >= inter_mean:
        raise ValueError(
            f"intra_hd {intra_hd!r} is not below inter_hd {inter_mean!r}: no threshold tells "
            "this device from others"
        )
    genuine = _binomial_pmf(n_bits, intra_hd)
    pmfs = [_binomial_pmf(n_bits, rate) for rate in inters]
    impostor = [math.fsum(column) / len(pmfs) for column in zip(*pmfs, strict=True)]
    # Tails summed from their small end (1 - cdf would lose everything below 1e-16).
    reject = [0.0] * (n_bits + 2)  # reject[e] = P(genuine errors >= e)
    for errors in range(n_bits, -1, -1):
        reject[errors] = reject[errors + 1] + genuine[errors]
    best = None
    false_accept = 0.0
    for errors in range(n_bits + 1):
        false_accept += impostor[errors]
        false_reject = reject[errors + 1]
        worst = max(false_reject, false_accept)
        if best is None or worst < best[0]:
            best = (worst, errors, false_reject, false_accept)
    _, errors, false_reject, false_accept = best
    return Threshold(n_bits, errors, votes, intra_hd, inter_mean, false_reject, false_accept)


def draw_challenges(
    count: int, n_stages: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """*count* random packed challenges: from the operating system's generator (unpredictable,
    as a verifier's must be) unless a seeded *rng* is given (tests)."""
    width = arbiter_command.challenge_bytes(n_stages)
    if rng is None:
        raw = np.frombuffer(os.urandom(count * width), dtype=np.uint8)
    else:
        raw = rng.integers(0, 256, size=count * width, dtype=np.uint8)
    packed = raw.reshape(count, width).copy()
    if n_stages % 8:
        packed[:, -1] &= (1 << (n_stages % 8)) - 1
    return packed


@dataclass(frozen=True)
class EnrolResult:
    """What an enrolment stored: challenges drawn, CRPs kept as stable, CRPs new to the
    registry (a challenge it already had is not stored twice)."""

    drawn: int
    stable: int
    stored: int


def enrol(
    registry: Registry,
    device_id: str,
    device: object,
    *,
    count: int,
    n_stages: int,
    enrol_votes: int = 15,
    stable_only: bool = True,
    rng: np.random.Generator | None = None,
) -> EnrolResult:
    """Draw *count* challenges, measure them on *device* and store the CRPs of *device_id*.

    *device* must answer COUNTS (an enrollment build before LOCK); *device_id* must be
    enrolled in *registry*. See the module notes.

    Raises
    ------
    CRPAuthError
        *enrol_votes* is even, or no challenge was stable.
    RegistryError, DeviceError, CRPError
        From the registry or the device.
    """
    if enrol_votes % 2 == 0 or not 1 <= enrol_votes <= arbiter_command.MAX_VOTES:
        raise CRPAuthError(
            f"enrol_votes must be odd and at most {arbiter_command.MAX_VOTES}, not {enrol_votes!r}"
        )
    challenges = draw_challenges(count, n_stages, rng)
    ones = collect_counts(device, challenges, n_stages=n_stages, votes=enrol_votes)
    references = (2 * ones > enrol_votes).astype(np.uint8)
    keep = (ones == 0) | (ones == enrol_votes) if stable_only else np.ones(count, dtype=bool)
    if not keep.any():
        raise CRPAuthError(
            f"none of {count} challenges answered the same {enrol_votes} times: is the device "
            "too noisy, or answering at random?"
        )
    stored = registry.add_crps(
        device_id,
        [
            (row.tobytes(), int(bit))
            for row, bit in zip(challenges[keep], references[keep], strict=True)
        ],
    )
    return EnrolResult(drawn=count, stable=int(keep.sum()), stored=stored)


@dataclass(frozen=True)
class AuthResult:
    """One authentication: accepted or not, wrong answers of how many."""

    accepted: bool
    errors: int
    n_bits: int

    @property
    def distance(self) -> float:
        """Fractional Hamming distance of the answers from the references."""
        return self.errors / self.n_bits


def authenticate(
    registry: Registry, device_id: str, device: object, *, n_stages: int, threshold: Threshold
) -> AuthResult:
    """Spend ``threshold.n_bits`` unused CRPs of *device_id* on *device* and judge the answers.

    The CRPs are marked used before the device is asked. A device error propagates (treat it
    as a rejection); the CRPs stay spent.

    Raises
    ------
    CRPAuthError
        The stored challenges do not have *n_stages* bits.
    RegistryError
        Too few unused CRPs left (enrol more), or the registry does not decrypt.
    DeviceError, ProtocolError, CRPError
        The device did not answer.
    """
    crps = registry.take_crps(device_id, threshold.n_bits)
    width = arbiter_command.challenge_bytes(n_stages)
    if any(len(challenge) != width for challenge, _ in crps):
        raise CRPAuthError(
            f"the CRPs of {device_id!r} were enrolled for another stage count than {n_stages}"
        )
    challenges = np.frombuffer(b"".join(c for c, _ in crps), dtype=np.uint8).reshape(-1, width)
    references = np.array([r for _, r in crps], dtype=np.uint8)
    answers = collect_crps(device, challenges, n_stages=n_stages, votes=threshold.votes)
    errors = int(np.count_nonzero(answers != references))
    return AuthResult(accepted=errors <= threshold.max_errors, errors=errors, n_bits=len(crps))
