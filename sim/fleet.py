"""A simulated fleet, enrolled and attested end to end on the fast model device.

Every die goes through the same host code as a real board (:mod:`ropuf.host.enrollment`,
:class:`~ropuf.host.attestation.Verifier`, the device client over frames), with the fast
model device standing in for the board (bit-identical to the Verilator device):

1. **Enrol** each die at 25 C and nominal supply: read, pair by rank, derive, verify on the
   device, register (a throw-away registry with a fresh master key and owner key).
2. At every **corner** (:data:`CORNERS`: 25 C and the rated -20 / 85 C at -5 % / +5 % supply)
   a fresh device for the die: read its ROs a few times (characterisation), then
   ``trials`` times LOAD_HELPER, RECONSTRUCT and ATTEST with a fresh nonce through the
   verifier: the key-reconstruction success per corner.
3. **PUF figures** of the characterisation reads (:mod:`ropuf.host.metrics`): uniqueness and
   uniformity of the 25 C reference responses of the fixed neighbour pairs ``(2i, 2i + 1)``
   (the same positions on every die, so the fleet figures compare like with like; less the
   design thresholds of the board's build, as for the key), reliability at each corner against
   them, and the error rate of each enrolled die's key-carrying rank-pair bits at each corner.
"""

import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host import metrics
from ropuf.host.attestation import Verifier
from ropuf.host.design_offsets import pair_thresholds
from ropuf.host.enrollment import EnrollmentError, enroll_device, read_counts
from ropuf.host.fuzzy import corrected_batch, pair_soft
from ropuf.host.registry import Registry
from ropuf.spec.code_params import CHOSEN, CodeParams
from ropuf.spec.errors import InputError
from ropuf.spec.helper_data import HelperData
from ropuf.spec.ro_pairs import neighbour_pairs

from .board import Condition
from .sources import FastModelSource

__all__ = ["CORNERS", "CornerResult", "FleetResult", "fleet_entropy", "run_fleet"]

#: Operating points (temperature in C, supply in V): nominal, then the rated corners.
CORNERS = ((25.0, 1.2), (-20.0, 1.14), (-20.0, 1.26), (85.0, 1.14), (85.0, 1.26))
#: Enrollment condition: 25 C, nominal supply.
ENROL_AT = (25.0, None)


@dataclass(frozen=True)
class CornerResult:
    """Key reconstruction and response figures at one corner.

    Attributes
    ----------
    temperature, voltage : float
    attempts : int
        RECONSTRUCT + ATTEST attempts (enrolled dies x trials).
    attested : int
        Attempts the verifier accepted.
    failures : dict
        Failed attempts by reason (the first words of the verifier's reason).
    reliability : float
        ``1 - intra-chip HD`` of all neighbour-pair bits against the 25 C references.
    intra_hd : numpy.ndarray
        Per die, the mean intra-chip HD (for the histogram).
    key_bit_error : float
        Error rate of the key-carrying rank-pair bits of enrolled dies, against their 25 C
        references; the chosen code corrects 12 of 224 (5.4 %) per reconstruction.
    """

    temperature: float
    voltage: float
    attempts: int
    attested: int
    failures: dict[str, int]
    reliability: float
    intra_hd: np.ndarray
    key_bit_error: float

    @property
    def label(self) -> str:
        return f"{self.temperature:g} C, {self.voltage:g} V"

    @property
    def success(self) -> float:
        """Fraction of attempts attested (NaN without attempts)."""
        return self.attested / self.attempts if self.attempts else float("nan")


@dataclass(frozen=True)
class FleetResult:
    """Figures of one fleet run (fractions, seconds).

    Attributes
    ----------
    dies, first_seed, reads, trials, char_reads : int
        Fleet size, first die seed, enrollment reads, attestation trials per die and corner,
        characterisation reads per die and corner.
    enrolled : int
        Dies enrolled (and verified on the device).
    refused : list of (int, str)
        Dies whose enrollment was refused, with the reason.
    min_entropy_account : float
        Smallest entropy account of an enrolled die, in bits.
    corners : list of CornerResult
    uniqueness, uniformity, bit_aliasing_spread, min_entropy : float
        Of the 25 C reference responses (the neighbour pairs of the ROs the key consumes:
        448 bits per die with the chosen construction).
    fleet_key_entropy : float
        The key's min-entropy as the fleet sees it: per enrolled die, the sum over its rank
        pairs of the per-position min-entropy from bit-aliasing (the bit every die of the
        fleet gives at that pair)
        (:func:`~ropuf.host.metrics.bitwise_min_entropy`), minus the bits the code offset
        discloses; the mean over dies. Unlike the per-die account (which assumes positions
        alike), it counts bias shared by the fleet; with few dies it is biased low.
    fair_key_entropy : float
        What :attr:`fleet_key_entropy` would read if every position were a fair coin on each
        die, with this many dies (:func:`~ropuf.host.metrics.fair_min_entropy_estimate`): the
        estimator's ceiling to compare with.
    majority_guess : float
        Fraction of a die's key bits an attacker guesses right from the other dies' majority
        at each of its (public) pairs (leave one out; 0.5 when positions carry no fleet bias).
    inter_hd : numpy.ndarray
        Every pairwise inter-chip HD (for the histogram).
    enrol_seconds : float
        Mean wall time of one enrollment.
    seconds : float
        Wall time of the whole run.
    """

    dies: int
    first_seed: int
    reads: int
    trials: int
    char_reads: int
    enrolled: int
    refused: list[tuple[int, str]]
    min_entropy_account: float
    corners: list[CornerResult]
    uniqueness: float
    uniformity: float
    bit_aliasing_spread: float
    min_entropy: float
    fleet_key_entropy: float
    fair_key_entropy: float
    majority_guess: float
    inter_hd: np.ndarray
    enrol_seconds: float
    seconds: float

    def summary(self) -> dict:
        """The figures as plain JSON-ready values (no arrays)."""
        return {
            "dies": self.dies,
            "first_seed": self.first_seed,
            "reads": self.reads,
            "trials": self.trials,
            "characterisation_reads": self.char_reads,
            "enrolled": self.enrolled,
            "refused": [{"die_seed": seed, "reason": reason} for seed, reason in self.refused],
            "min_entropy_account_bits": round(self.min_entropy_account, 2),
            "uniqueness": round(self.uniqueness, 4),
            "uniformity": round(self.uniformity, 4),
            "bit_aliasing_spread": round(self.bit_aliasing_spread, 4),
            "min_entropy_per_bit": round(self.min_entropy, 4),
            "fleet_key_entropy_bits": round(self.fleet_key_entropy, 1),
            "fair_key_entropy_bits": round(self.fair_key_entropy, 1),
            "majority_guess": round(self.majority_guess, 4),
            "corners": [
                {
                    "temperature": c.temperature,
                    "voltage": c.voltage,
                    "attempts": c.attempts,
                    "attested": c.attested,
                    "success": round(c.success, 6) if c.attempts else None,
                    "failures": c.failures,
                    "reliability": round(c.reliability, 5),
                    "key_bit_error": round(c.key_bit_error, 5),
                }
                for c in self.corners
            ],
            "enrol_seconds_per_die": round(self.enrol_seconds, 3),
            "seconds": round(self.seconds, 1),
        }


def _reason_key(reason: str) -> str:
    """A short tally key for a failure reason."""
    for status in ("KEY_CHECK_FAILED", "BAD_HELPER", "NO_KEY", "MAC mismatch", "replayed"):
        if status in reason:
            return status
    return reason.split(":")[0]


def run_fleet(
    dies: int = 20,
    *,
    reads: int = 25,
    trials: int = 2,
    char_reads: int = 3,
    first_seed: int = 1000,
    corners: Sequence[tuple[float, float]] = CORNERS,
    params: CodeParams = CHOSEN,
    progress: Callable[[int, int], None] | None = None,
) -> FleetResult:
    """Enrol *dies* simulated dies and attest them at *corners* (see the module docstring).

    Parameters
    ----------
    dies : int
        Fleet size, at least 2 (die seeds ``first_seed .. first_seed + dies - 1``).
    reads : int
        Enrollment reads per die (at 25 C).
    trials : int
        Reconstruct-and-attest attempts per die and corner.
    char_reads : int
        Characterisation reads per die and corner (for the PUF figures).
    progress : callable, optional
        ``progress(done, total)`` in dies.
    """
    if not isinstance(dies, int) or dies < 2:
        raise InputError(f"a fleet needs at least 2 dies, not {dies!r}")
    for name, value, least in (("trials", trials, 0), ("char_reads", char_reads, 1)):
        if not isinstance(value, int) or value < least:
            raise InputError(f"{name} must be an integer >= {least}, not {value!r}")
    if not corners:
        raise InputError("give at least one corner")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ropuf-fleet-") as tmp:
        # A throw-away registry: its master key lives only in this process.
        with Registry(Path(tmp) / "fleet.db", secrets.token_bytes(32)) as registry:
            result = _run(
                registry,
                dies=dies,
                reads=reads,
                trials=trials,
                char_reads=char_reads,
                first_seed=first_seed,
                corners=corners,
                params=params,
                progress=progress,
            )
    return FleetResult(**result, seconds=time.monotonic() - started)


def fleet_entropy(counts: np.ndarray, pairs: Sequence, params: CodeParams, offsets=None) -> dict:
    """The key's entropy as the fleet's bit-aliasing sees it, and the majority guess.

    Parameters
    ----------
    counts : array_like, shape (dies, n_ro)
        Every die's mean count per RO at 25 C.
    pairs : sequence
        Per die, its rank pairs (helper data), or None for a die that was not enrolled.
    params : CodeParams
    offsets : sequence of int, optional
        The build's integer design offsets the enrollment used
        (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`): every die's bit at a pair is
        taken less that pair's threshold, as the device takes it.
    """
    counts = np.asarray(counts, dtype=np.float64)
    enrolled = [d for d, chosen in enumerate(pairs) if chosen is not None]
    if not enrolled:
        nan = float("nan")
        return {"fleet_key_entropy": nan, "fair_key_entropy": nan, "majority_guess": nan}
    disclosed = params.selected_bits - params.k
    entropies, hits = [], []
    for d in enrolled:
        index = np.asarray(pairs[d], dtype=np.int64)
        thresholds = pair_thresholds(offsets, index)
        bits = counts[:, index[:, 0]] - counts[:, index[:, 1]] - thresholds > 0  # (dies, n_sel)
        entropies.append(metrics.bitwise_min_entropy(bits).sum())
        guess = np.delete(bits, d, axis=0).mean(axis=0) > 0.5
        hits.append(np.mean(guess == bits[d]))
    fair = params.selected_bits * metrics.fair_min_entropy_estimate(len(counts)) - disclosed
    return {
        "fleet_key_entropy": float(np.mean(entropies)) - disclosed,
        "fair_key_entropy": fair,
        "majority_guess": float(np.mean(hits)),
    }


def _run(
    registry: Registry,
    *,
    dies: int,
    reads: int,
    trials: int,
    char_reads: int,
    first_seed: int,
    corners: Sequence[tuple[float, float]],
    params: CodeParams,
    progress: Callable[[int, int], None] | None,
) -> dict:
    """The fleet run proper; returns the fields of :class:`FleetResult` but its wall time."""
    owner = Ed25519PrivateKey.generate()
    verifier = Verifier(registry)
    ros = params.ros
    counts = np.zeros((len(corners), dies, char_reads, ros), dtype=np.int64)
    key_pairs: list = [None] * dies
    enrolled = np.zeros(dies, dtype=bool)
    attested = np.zeros(len(corners), dtype=np.int64)
    failures = [Counter() for _ in corners]
    refused, accounts, enrol_times = [], [], []
    # The design offsets of the simulated board's build: enrollment takes the bits less the
    # pairs' thresholds as the device does, and the fleet's responses below are taken the same
    # way.
    offsets = Condition(first_seed).config.offsets
    for d in range(dies):
        seed = first_seed + d
        device_id = f"die-{seed}"
        source = FastModelSource(Condition(seed, ENROL_AT[0], ENROL_AT[1], noise_seed=1))
        t = time.monotonic()
        try:
            report = enroll_device(
                device_id,
                [source],
                registry,
                owner,
                reads=reads,
                params=params,
                thresholds=offsets,
            )
        except EnrollmentError as exc:
            refused.append((seed, str(exc)))
        else:
            enrol_times.append(time.monotonic() - t)
            accounts.append(report.account.remaining)
            enrolled[d] = True
            key_pairs[d] = HelperData.from_bytes(registry.record(device_id).helper_data).pairs
        for c, (temperature, voltage) in enumerate(corners):
            corner = FastModelSource(Condition(seed, temperature, voltage, noise_seed=100 + c))
            with corner.open() as client:
                counts[c, d] = read_counts(client, ros, char_reads)
                for _ in range(trials if enrolled[d] else 0):
                    result = verifier.attest_enrolled(device_id, client)
                    if result.ok:
                        attested[c] += 1
                    else:
                        failures[c][_reason_key(result.reason)] += 1
        if progress is not None:
            progress(d + 1, dies)

    def corrected(pairs) -> np.ndarray:
        # Soft values of *pairs* as the device's decoder takes them (less their thresholds).
        thresholds = pair_thresholds(offsets, pairs)
        return corrected_batch(
            pair_soft(counts, pairs, params.soft_width), thresholds, params.soft_width
        )

    soft = corrected(neighbour_pairs(ros))  # (corners, dies, reads, ros / 2)
    reference = soft[0].mean(axis=1) > 0  # (dies, pairs): the 25 C nominal responses
    # Each enrolled die's key-pair soft values at every corner: (corners, reads, pairs).
    key_soft = {d: corrected(key_pairs[d])[:, d] for d in np.flatnonzero(enrolled)}
    key_reference = {d: values[0].mean(axis=0) > 0 for d, values in key_soft.items()}
    results = []
    for c, (temperature, voltage) in enumerate(corners):
        bits = soft[c] > 0  # (dies, reads, pairs)
        per_die = metrics.intra_hd(bits, reference)
        # Key bits of the enrolled dies that differ from their reference.
        wrong = sum(
            int(np.sum((values[c] > 0) != key_reference[d])) for d, values in key_soft.items()
        )
        key_bit_count = len(key_reference) * params.selected_bits * char_reads
        results.append(
            CornerResult(
                temperature=float(temperature),
                voltage=float(voltage),
                attempts=int(enrolled.sum()) * trials,
                attested=int(attested[c]),
                failures=dict(failures[c]),
                reliability=float(np.mean(1.0 - per_die)),
                intra_hd=np.asarray(per_die),
                key_bit_error=float(wrong / key_bit_count) if key_bit_count else float("nan"),
            )
        )
    return dict(
        dies=dies,
        first_seed=first_seed,
        reads=reads,
        trials=trials,
        char_reads=char_reads,
        enrolled=int(enrolled.sum()),
        refused=refused,
        min_entropy_account=float(min(accounts)) if accounts else float("nan"),
        corners=results,
        uniqueness=metrics.uniqueness(reference),
        uniformity=float(np.mean(metrics.uniformity(reference))),
        bit_aliasing_spread=metrics.bit_aliasing_spread(reference),
        min_entropy=metrics.min_entropy(reference),
        **fleet_entropy(counts[0].mean(axis=1), key_pairs, params, offsets),
        inter_hd=metrics.pairwise_hd(reference),
        enrol_seconds=float(np.mean(enrol_times)) if enrol_times else float("nan"),
    )
