"""Enrollment: from measured soft values to helper data, keys and an entropy account.

Enrollment reads every candidate pair several times, takes the mean count difference as the
pair's margin, and selects the ``n * rep`` pairs with the largest margins, **balanced**: half
of them (rounded down) with response bit 1, the rest with bit 0. Balancing is the bias
compensation: for exchangeable bits (the same distribution at every position, any bias),
every arrangement of the selected bits with that many ones is equally likely given the mask,
so the selected response holds exactly ``log2 C(n_sel, ones)`` bits of min-entropy whatever the
die's bias. The code offset then discloses ``n_sel - k`` bits (the syndrome of a linear code),
so the account is ``log2 C(n_sel, ones) - (n_sel - k)``, and enrollment refuses below 128 bits.

Bias that differs from position to position (bit-aliasing across a fleet, from the layout) is
not visible on one die; pass ``design_min_entropy`` (bits per response bit, from a fleet
characterisation) to cap the account with it.
"""

import math
import secrets
from dataclasses import dataclass, replace

import numpy as np

from ropuf.spec.code_params import CodeParams
from ropuf.spec.errors import RopufError
from ropuf.spec.helper_data import HelperData

from .fuzzy import encode_batch
from .kdf import DerivedKeys, derive_keys, pack_secret

__all__ = [
    "MIN_KEY_ENTROPY",
    "Enrollment",
    "EnrollmentError",
    "EntropyAccount",
    "enrol",
    "rank_pair_account",
]

#: Enrollment refuses when the account falls below this (bits).
MIN_KEY_ENTROPY = 128.0


class EnrollmentError(RopufError):
    """Enrollment refused: too much bias, too few reliable pairs, or too little entropy left
    for a 128-bit key. The message gives the figures."""


@dataclass(frozen=True)
class EntropyAccount:
    """What the key's min-entropy rests on, in bits.

    Attributes
    ----------
    bias : float
        Fraction of ones among all candidate response bits (the die's measured bias).
    selected_entropy : float
        Min-entropy of the selected response: ``log2 C(n_sel, ones)`` (exchangeable bits,
        balanced selection), capped by ``n_sel * design_min_entropy`` when that is given.
    disclosed : int
        Bits the code offset discloses: ``n_sel - k``. The mask discloses nothing about the
        selected bits' values under exchangeability (it depends on margins' magnitudes and on
        the balance, which the figure above already counts).
    remaining : float
        ``selected_entropy - disclosed``: the key's min-entropy.
    predicted_bit_error : float
        Mean over selected bits of ``Phi(-|margin| / sigma)``, sigma each pair's read-to-read
        spread: the enrollment's own estimate of the bit-error rate at enrollment conditions.
    """

    bias: float
    selected_entropy: float
    disclosed: int
    remaining: float
    predicted_bit_error: float


@dataclass(frozen=True)
class Enrollment:
    """Result of :func:`enrol`.

    Attributes
    ----------
    helper : HelperData
        The helper data (key-check value filled in).
    keys : DerivedKeys
        The enrolled keys (the master key never leaves the enrolling host's memory).
    account : EntropyAccount
    """

    helper: HelperData
    keys: DerivedKeys
    account: EntropyAccount


def _log2_binomial(n: int, k: int) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


def enrol(
    reads: np.ndarray,
    params: CodeParams,
    *,
    n_ro: int,
    max_bias: float = 0.1,
    design_min_entropy: float | None = None,
    thresholds=None,
    message_bits: list[int] | None = None,
) -> Enrollment:
    """Enrol one device from repeated soft readings of its candidate pairs.

    Parameters
    ----------
    reads : array_like of int, shape (n_reads, candidate_pairs)
        Soft values (count differences, ``count_a - count_b``) of neighbour pairs
        ``(2i, 2i + 1)``, ``i < params.candidate_pairs``, read ``n_reads >= 2`` times.
    params : CodeParams
    n_ro : int
        RO count of the array (recorded in the helper data).
    max_bias : float, optional
        Largest accepted ``|fraction of ones - 0.5|`` among the candidates (default 0.1).
    design_min_entropy : float, optional
        Min-entropy per response bit from a fleet characterisation (bit-aliasing), in (0, 1].
    thresholds : array_like of int, shape (candidate_pairs,), optional
        The design's systematic count difference of each candidate pair
        (:mod:`ropuf.host.design_offsets`), subtracted before anything else and recorded for
        the selected pairs in the helper data; zeros when omitted.
    message_bits : list of int, optional
        The secret message (``params.k`` bits); drawn with :mod:`secrets` when omitted. Only
        tests pass it.

    Returns
    -------
    Enrollment

    Raises
    ------
    EnrollmentError
        Bias above ``max_bias``, too few pairs of one response value to balance the
        selection, or an entropy account below :data:`MIN_KEY_ENTROPY`.
    ValueError
        *reads* has the wrong shape or fewer than two reads.
    """
    reads = np.asarray(reads, dtype=np.float64)
    if reads.ndim != 2 or reads.shape[1] != params.candidate_pairs or reads.shape[0] < 2:
        raise ValueError(
            f"reads must have shape (n_reads >= 2, {params.candidate_pairs}), not {reads.shape!r}"
        )
    if thresholds is None:
        thresholds = np.zeros(params.candidate_pairs, dtype=np.int64)
    thresholds = np.asarray(thresholds)
    if thresholds.shape != (params.candidate_pairs,) or not np.all(
        (thresholds == np.round(thresholds)) & (np.abs(thresholds) < 2**15)
    ):
        raise ValueError(
            f"thresholds must be {params.candidate_pairs} signed 16-bit integers, "
            f"not shape {thresholds.shape!r}"
        )
    thresholds = thresholds.astype(np.int64)
    margin = reads.mean(axis=0) - thresholds
    spread = np.maximum(reads.std(axis=0, ddof=1), 0.5)
    bits = (margin > 0).astype(np.uint8)
    bias = float(bits.mean())
    if abs(bias - 0.5) > max_bias:
        raise EnrollmentError(
            f"Response bias {bias:.3f} is further from 0.5 than the accepted {max_bias}"
        )
    n_sel = params.selected_bits
    ones = n_sel // 2
    want = {1: ones, 0: n_sel - ones}
    chosen = []
    for value, count in want.items():
        candidates = np.flatnonzero(bits == value)
        if len(candidates) < count:
            raise EnrollmentError(
                f"Only {len(candidates)} pairs answer {value}; a balanced selection needs {count}"
            )
        order = np.argsort(-np.abs(margin[candidates]), kind="stable")
        chosen.append(candidates[order[:count]])
    selected = np.sort(np.concatenate(chosen))
    erfc = np.vectorize(math.erfc)
    predicted = float(np.mean(0.5 * erfc(np.abs(margin[selected]) / spread[selected] / 2**0.5)))

    selected_entropy = _log2_binomial(n_sel, ones)
    if design_min_entropy is not None:
        if not 0.0 < design_min_entropy <= 1.0:
            raise ValueError(f"design_min_entropy must be in (0, 1], not {design_min_entropy!r}")
        selected_entropy = min(selected_entropy, n_sel * design_min_entropy)
    disclosed = n_sel - params.k
    account = EntropyAccount(
        bias=bias,
        selected_entropy=selected_entropy,
        disclosed=disclosed,
        remaining=selected_entropy - disclosed,
        predicted_bit_error=predicted,
    )
    if account.remaining < MIN_KEY_ENTROPY:
        raise EnrollmentError(
            f"Entropy account {account.remaining:.1f} bits is below {MIN_KEY_ENTROPY:.0f}: "
            f"selected response {selected_entropy:.1f} bits, code offset discloses {disclosed}"
        )

    if message_bits is None:
        message_bits = [secrets.randbits(1) for _ in range(params.k)]
    codeword = encode_batch(np.array([message_bits], dtype=np.uint8), params)[0]
    offset = bits[selected] ^ np.repeat(codeword, params.rep)
    mask = np.zeros(params.candidate_pairs, dtype=np.uint8)
    mask[selected] = 1
    helper = HelperData(
        params=params,
        n_ro=n_ro,
        mask=tuple(int(b) for b in mask),
        offset=tuple(int(b) for b in offset),
        thresholds=tuple(int(t) for t in thresholds[selected]),
    )
    keys = derive_keys(helper.body(), pack_secret(message_bits))
    helper = replace(helper, kcv=keys.kcv)
    return Enrollment(helper=helper, keys=keys, account=account)


def rank_pair_account(
    bits, k: int, *, design_min_entropy: float | None = None, predicted_bit_error: float = 0.0
) -> EntropyAccount:
    """The entropy account of a rank-pair enrollment (:mod:`ropuf.spec.pairing`), refused below
    :data:`MIN_KEY_ENTROPY`.

    For exchangeable ROs each rank pair's bit is uniform and independent of the pair list and of
    the other pairs' bits (docs/keygen.md, "Rank pairing"), so the ``n`` bits hold ``n`` bits of
    min-entropy, capped at ``n * design_min_entropy`` when a fleet characterisation gives one;
    the code offset discloses ``n - k`` of them.

    Parameters
    ----------
    bits : array_like of {0, 1}, shape (n,)
        The enrolled pair bits (their fraction of ones is recorded as the bias).
    k : int
        Message bits of the code.
    design_min_entropy : float, optional
        Min-entropy per pair bit from a fleet characterisation, in (0, 1].
    predicted_bit_error : float, optional
        Recorded as is.

    Raises
    ------
    EnrollmentError
        The account is below :data:`MIN_KEY_ENTROPY`; the message gives the figures.
    ValueError
        *k* not in 1..n, or *design_min_entropy* outside (0, 1].
    """
    bits = np.asarray(bits, dtype=np.uint8).ravel()
    n = len(bits)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= n:
        raise ValueError(f"k must be an integer in 1..{n}, not {k!r}")
    selected_entropy = float(n)
    if design_min_entropy is not None:
        if not 0.0 < design_min_entropy <= 1.0:
            raise ValueError(f"design_min_entropy must be in (0, 1], not {design_min_entropy!r}")
        selected_entropy = min(selected_entropy, n * design_min_entropy)
    disclosed = n - k
    account = EntropyAccount(
        bias=float(bits.mean()),
        selected_entropy=selected_entropy,
        disclosed=disclosed,
        remaining=selected_entropy - disclosed,
        predicted_bit_error=predicted_bit_error,
    )
    if account.remaining < MIN_KEY_ENTROPY:
        raise EnrollmentError(
            f"Entropy account {account.remaining:.1f} bits is below {MIN_KEY_ENTROPY:.0f}: "
            f"{n} pair bits hold {selected_entropy:.1f}, code offset discloses {disclosed}"
        )
    return account
