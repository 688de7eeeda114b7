"""Enrollment: from repeated RO counts to helper data, keys and an entropy account.

Enrollment reads every RO the construction consumes several times and averages each RO's
count. Inside each batch of neighbouring ROs it ranks the ROs by that mean, less the design's
offset of each RO (:mod:`ropuf.host.design_offsets`), and pairs them by rank
(:class:`~ropuf.spec.pairing.RankPairing`): the pair list, in its canonical order, is public
helper data. A pair's response bit is 1 when its lower-indexed RO ``a`` counted more: the
sign of its mean corrected soft value ``corrected_soft(count_a - count_b, offset_a -
offset_b)``, the offsets being the device build's integer design offsets
(:attr:`ropuf.spec.device_config.DeviceConfig.offsets`): the bit the device's key engine takes.
The helper data carries nothing of the offsets.

**Entropy account.** The pair list depends only on which ROs are paired, never on which of the
two is faster, so for exchangeable ROs (the same distribution at every position) each of the
``n_sel`` response bits is uniform given the list: ``n_sel`` bits of min-entropy. The code
offset discloses ``n_sel - k`` of them (the syndrome of a linear code), so the account is
``n_sel - (n_sel - k) = k`` bits, and enrollment refuses below 128 bits. Bias that differs from
position to position (spatial gradients, bit-aliasing across a fleet) is not visible on one
die; pass ``design_min_entropy`` (bits per response bit, from a fleet characterisation) to cap
the account with it. A fraction of ones far from 0.5 is refused (``max_bias``): a broken
device, or a die whose own gradient biases its pairs (the silicon model's dies spread about
twice as far as fair bits; docs/keygen.md). The account does not yet charge the bias of the
dies it accepts.
"""

import math
import secrets
from dataclasses import dataclass, replace

import numpy as np

from ropuf.spec.code_params import CodeParams
from ropuf.spec.device_config import OFFSET_LIMIT
from ropuf.spec.errors import RopufError
from ropuf.spec.helper_data import HelperData

from .design_offsets import pair_thresholds
from .fuzzy import corrected_batch, encode_batch, pair_soft
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
    """Enrollment refused: too much bias or too little entropy left for a 128-bit key. The
    message gives the figures."""


@dataclass(frozen=True)
class EntropyAccount:
    """What the key's min-entropy rests on, in bits.

    Attributes
    ----------
    bias : float
        Fraction of ones among the ``n_sel`` response bits of the rank pairs.
    selected_entropy : float
        Min-entropy of the response: ``n_sel`` (each bit uniform for exchangeable ROs, given
        the pair list), capped by ``n_sel * design_min_entropy`` when that is given.
    disclosed : int
        Bits the code offset discloses: ``n_sel - k``. The pair list discloses nothing about
        the bits' values under exchangeability (its canonical order does not depend on which
        RO of a pair is faster).
    remaining : float
        ``selected_entropy - disclosed``: the key's min-entropy.
    predicted_bit_error : float
        Mean over the pairs of ``Phi(-|margin| / sigma)``, margin each pair's mean corrected
        soft value and sigma its read-to-read spread (at least 0.5 count): the enrollment's
        own estimate of the bit-error rate at enrollment conditions.
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


def enrol(
    counts: np.ndarray,
    params: CodeParams,
    *,
    n_ro: int,
    max_bias: float = 0.15,
    design_min_entropy: float | None = None,
    offsets=None,
    message_bits: list[int] | None = None,
) -> Enrollment:
    """Enrol one device from repeated counts of its ROs.

    Parameters
    ----------
    counts : array_like of int, shape (n_reads >= 2, n_ro_read)
        Each RO's count, ROs ``0 .. n_ro_read - 1``, ``n_ro_read >= params.ros`` (ROs past
        ``params.ros`` are not used), read ``n_reads`` times.
    params : CodeParams
    n_ro : int
        RO count of the array (recorded in the helper data).
    max_bias : float, optional
        Largest accepted ``|fraction of ones - 0.5|`` among the response bits (default 0.15:
        4.5 standard deviations of a fair 224-bit response, about 4 of a 192-bit one).
    design_min_entropy : float, optional
        Min-entropy per response bit from a fleet characterisation (bit-aliasing), in (0, 1].
    offsets : sequence of int, length >= params.ros, optional
        The device build's design offset of each RO
        (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`; from a file through
        :func:`ropuf.host.design_offsets.as_build_offsets`), integers within
        ``+-OFFSET_LIMIT``: subtracted from the mean counts before ranking, and each pair's
        ``offset_a - offset_b`` from its soft value before the sign, as the device does. They
        must be the build's own: other offsets give bits the device does not reproduce. Zeros
        when omitted (a build without offsets).
    message_bits : list of int, optional
        The secret message (``params.k`` bits); drawn with :mod:`secrets` when omitted. Only
        tests pass it.

    Returns
    -------
    Enrollment

    Raises
    ------
    EnrollmentError
        Bias above ``max_bias``, or an entropy account below :data:`MIN_KEY_ENTROPY`.
    ValueError
        *counts* has the wrong shape or fewer than two reads; *offsets* fewer than
        ``params.ros``, not integers, or outside ``+-OFFSET_LIMIT``.
    """
    ros = params.ros
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] < ros or counts.shape[0] < 2:
        raise ValueError(
            f"counts must have shape (n_reads >= 2, n_ro >= {ros}), not {counts.shape!r}"
        )
    counts = counts[:, :ros]
    offsets = _build_offsets(offsets, ros)
    pairs = params.pairing.choose(counts.mean(axis=0) - offsets, params.selected_bits)
    thresholds = pair_thresholds(offsets, pairs)
    soft = corrected_batch(
        pair_soft(counts, pairs, params.soft_width), thresholds, params.soft_width
    )
    margin = soft.mean(axis=0)
    spread = np.maximum(soft.std(axis=0, ddof=1), 0.5)
    bits = (margin > 0).astype(np.uint8)
    bias = float(bits.mean())
    if abs(bias - 0.5) > max_bias:
        raise EnrollmentError(
            f"Response bias {bias:.3f} is further from 0.5 than the accepted {max_bias}"
        )
    erfc = np.vectorize(math.erfc)
    predicted = float(np.mean(0.5 * erfc(np.abs(margin) / spread / 2**0.5)))

    account = rank_pair_account(
        bits, params.k, design_min_entropy=design_min_entropy, predicted_bit_error=predicted
    )

    if message_bits is None:
        message_bits = [secrets.randbits(1) for _ in range(params.k)]
    codeword = encode_batch(np.array([message_bits], dtype=np.uint8), params)[0]
    offset = bits ^ np.repeat(codeword, params.rep)
    helper = HelperData(
        params=params,
        n_ro=n_ro,
        pairs=tuple(pairs),
        offset=tuple(int(b) for b in offset),
    )
    keys = derive_keys(helper.body(), pack_secret(message_bits))
    helper = replace(helper, kcv=keys.kcv)
    return Enrollment(helper=helper, keys=keys, account=account)


def _build_offsets(offsets, ros: int) -> np.ndarray:
    # The first *ros* of a build's integer design offsets, checked (zeros when None).
    if offsets is None:
        return np.zeros(ros, dtype=np.int64)
    array = np.asarray(offsets)
    if array.ndim != 1 or len(array) < ros:
        raise ValueError(f"offsets must be {ros} or more integers, not shape {array.shape!r}")
    if array.dtype.kind not in "iu":
        raise ValueError(
            "offsets must be the build's integer design offsets (round a file's with "
            "ropuf.host.design_offsets.as_build_offsets)"
        )
    array = array[:ros].astype(np.int64)
    if np.any(np.abs(array) > OFFSET_LIMIT):
        raise ValueError(f"design offsets must be within +-{OFFSET_LIMIT}")
    return array


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
