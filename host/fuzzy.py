"""Fuzzy-extractor reference: code-offset encoding, soft and hard decoding, reconstruction.

Everything is vectorised over a leading axis of trials, so the same functions serve one device
and a million simulated reconstructions. The arithmetic is the gateware's, step for step
(:mod:`ropuf.gateware.key.decoder` is checked bit for bit against it):

1. Inner soft repetition: each pair's response bit has a signed soft value ``y`` (the RO
   count difference, ``y > 0`` means response bit 1). It is mapped to the odd value
   ``2y - 1`` (never zero, same sign as the response bit), negated where the code-offset bit is
   1, and summed over the ``rep`` bits of a code bit; the code bit is 1 when the sum is
   positive. With ``rep = 1`` this is exactly hard decision, and hard bits decode as soft
   values ``y`` in ``{0, 1}``.
2. Outer BCH: syndromes ``S_1 .. S_2t``, inversionless Berlekamp-Massey over all ``2t``
   iterations with ``Lambda`` and ``B`` kept to ``t + 1`` coefficients, Chien search over every
   position of the shortened code. Failure is reported when ``L > t`` or the number of roots
   found differs from ``L``.
"""

import hmac

import numpy as np

from ropuf.spec.bch_code import BCHCode
from ropuf.spec.code_params import CodeParams
from ropuf.spec.errors import RopufError
from ropuf.spec.helper_data import HelperData

from .design_offsets import pair_thresholds
from .kdf import DerivedKeys, derive_keys, pack_secret

__all__ = [
    "KeyCheckError",
    "berlekamp_massey",
    "chien_search",
    "combine",
    "decode_bch",
    "decode_hard",
    "decode_soft",
    "encode_batch",
    "pair_soft",
    "reconstruct",
    "syndromes",
]


class KeyCheckError(RopufError):
    """Reconstruction failed: the decoder reported more errors than it corrects, or the key
    it produced does not match the key-check value (too many errors, or manipulated helper
    data). No key is returned."""


def _tables(code: BCHCode) -> tuple[np.ndarray, np.ndarray]:
    field = code.field
    exp = np.array(field.exp, dtype=np.int64)
    log = np.array([max(v, 0) for v in field.log], dtype=np.int64)
    return exp, log


def _gf_mul(a: np.ndarray, b: np.ndarray, exp: np.ndarray, log: np.ndarray) -> np.ndarray:
    return np.where((a != 0) & (b != 0), exp[log[a] + log[b]], 0)


def combine(soft: np.ndarray, offset: np.ndarray, rep: int) -> np.ndarray:
    """Inner soft repetition decoding.

    Parameters
    ----------
    soft : array_like of int, shape (..., n * rep)
        Soft values of the helper data's pairs (response bits), in pair order.
    offset : array_like of {0, 1}, shape (..., n * rep)
        Code-offset bits (broadcast against *soft*).
    rep : int
        Repetition length.

    Returns
    -------
    numpy.ndarray of uint8, shape (..., n)
        Received code bits.
    """
    soft = np.asarray(soft, dtype=np.int64)
    offset = np.asarray(offset, dtype=np.int64)
    odd = 2 * soft - 1
    aligned = np.where(offset != 0, -odd, odd)
    sums = aligned.reshape(*aligned.shape[:-1], -1, rep).sum(axis=-1)
    return (sums > 0).astype(np.uint8)


def _syndrome_matrix(code: BCHCode) -> np.ndarray:
    # Bit b of alpha^(j * (n - 1 - i)) for position i and j = 1 .. 2t.
    field = code.field
    n, t, m = code.n, code.t, field.m
    matrix = np.zeros((n, 2 * t * m), dtype=np.float32)
    for i in range(n):
        degree = n - 1 - i
        for j in range(1, 2 * t + 1):
            value = field.pow_alpha(j * degree)
            for b in range(m):
                matrix[i, (j - 1) * m + b] = (value >> b) & 1
    return matrix


_SYNDROME_MATRICES: dict[tuple[int, int, int], np.ndarray] = {}


def syndromes(words: np.ndarray, code: BCHCode) -> np.ndarray:
    """Syndromes ``S_1 .. S_2t`` of received words, shape (trials, n) -> (trials, 2t)."""
    key = (code.field.m, code.t, code.n)
    if key not in _SYNDROME_MATRICES:
        _SYNDROME_MATRICES[key] = _syndrome_matrix(code)
    matrix = _SYNDROME_MATRICES[key]
    m = code.field.m
    counts = np.asarray(words, dtype=np.float32) @ matrix
    bits = counts.astype(np.int64) & 1
    weights = 1 << np.arange(m)
    return (bits.reshape(len(bits), 2 * code.t, m) * weights).sum(axis=-1)


def berlekamp_massey(synd: np.ndarray, code: BCHCode) -> tuple[np.ndarray, np.ndarray]:
    """Inversionless Berlekamp-Massey over ``2t`` iterations, kept to ``t + 1`` coefficients.

    Returns
    -------
    (Lambda, L)
        Error-locator coefficients, shape (trials, t + 1), lowest degree first, and the
        register lengths, shape (trials,).
    """
    exp, log = _tables(code)
    t = code.t
    trials = len(synd)
    lam = np.zeros((trials, t + 1), dtype=np.int64)
    lam[:, 0] = 1
    b = lam.copy()
    length = np.zeros(trials, dtype=np.int64)
    gamma = np.ones(trials, dtype=np.int64)
    for r in range(2 * t):
        delta = np.zeros(trials, dtype=np.int64)
        for i in range(min(r, t) + 1):
            delta ^= _gf_mul(lam[:, i], synd[:, r - i], exp, log)
        shifted = np.zeros_like(b)
        shifted[:, 1:] = b[:, :-1]
        new_lam = _gf_mul(gamma[:, None], lam, exp, log) ^ _gf_mul(
            delta[:, None], shifted, exp, log
        )
        grow = (delta != 0) & (2 * length <= r)
        b = np.where(grow[:, None], lam, shifted)
        length = np.where(grow, r + 1 - length, length)
        gamma = np.where(grow, delta, gamma)
        lam = new_lam
    return lam, length


def chien_search(lam: np.ndarray, code: BCHCode) -> np.ndarray:
    """Roots of each locator at the positions of the shortened code.

    Returns
    -------
    numpy.ndarray of bool, shape (trials, n)
        ``True`` where ``Lambda(alpha^-(n - 1 - i)) == 0``: position ``i`` is in error.
    """
    exp, log = _tables(code)
    order = code.field.order
    degrees = code.n - 1 - np.arange(code.n)
    value = np.zeros((len(lam), code.n), dtype=np.int64)
    for j in range(code.t + 1):
        coefficient = lam[:, j]
        powers = (-degrees * j) % order
        term = exp[log[coefficient][:, None] + powers[None, :]]
        value ^= np.where(coefficient[:, None] != 0, term, 0)
    return value == 0


def decode_bch(words: np.ndarray, code: BCHCode) -> tuple[np.ndarray, np.ndarray]:
    """Bounded-distance decoding of received words.

    Parameters
    ----------
    words : array_like of {0, 1}, shape (trials, n)

    Returns
    -------
    (corrected, failed)
        Corrected words (uint8, shape (trials, n)) and the decoder's failure flags (bool,
        shape (trials,)). A word with more than ``t`` errors is either flagged or
        miscorrected into another codeword; only the key-check value tells the latter.
    """
    words = np.asarray(words, dtype=np.uint8)
    lam, length = berlekamp_massey(syndromes(words, code), code)
    roots = chien_search(lam, code)
    failed = (length > code.t) | (roots.sum(axis=1) != length)
    return words ^ roots.astype(np.uint8), failed


def decode_soft(
    soft: np.ndarray, offset: np.ndarray, params: CodeParams
) -> tuple[np.ndarray, np.ndarray]:
    """Soft-decision decoding: soft values and code offset -> message bits and failure flags.

    Parameters
    ----------
    soft : array_like of int, shape (trials, n * rep)
    offset : array_like of {0, 1}, shape (n * rep,) or (trials, n * rep)
    params : CodeParams

    Returns
    -------
    (message, failed)
        Message bits (uint8, shape (trials, k)) and failure flags (bool, shape (trials,)).
    """
    words = combine(soft, offset, params.rep)
    corrected, failed = decode_bch(words, params.code)
    return corrected[:, : params.k], failed


def decode_hard(
    bits: np.ndarray, offset: np.ndarray, params: CodeParams
) -> tuple[np.ndarray, np.ndarray]:
    """Hard-decision decoding: response bits (0/1) instead of soft values."""
    return decode_soft(np.asarray(bits, dtype=np.int64), offset, params)


_PARITY: dict[tuple[int, int, int], np.ndarray] = {}


def encode_batch(messages: np.ndarray, params: CodeParams) -> np.ndarray:
    """Systematic codewords of many messages, shape (trials, k) -> (trials, n), uint8."""
    code = params.code
    key = (code.field.m, code.t, code.n)
    if key not in _PARITY:
        unit = np.eye(code.k, dtype=np.uint8)
        rows = [code.encode([int(b) for b in row])[code.k :] for row in unit]
        _PARITY[key] = np.array(rows, np.float32)
    messages = np.asarray(messages, dtype=np.uint8)
    parity = (messages.astype(np.float32) @ _PARITY[key]).astype(np.int64) & 1
    return np.concatenate([messages, parity.astype(np.uint8)], axis=1)


def corrected_batch(soft: np.ndarray, thresholds, soft_width: int) -> np.ndarray:
    """:func:`ropuf.spec.helper_data.corrected_soft` over arrays: ``soft - thresholds``,
    saturated to the soft width (thresholds broadcast along the last axis)."""
    limit = 2 ** (soft_width - 1) - 1
    return np.clip(np.asarray(soft, np.int64) - np.asarray(thresholds, np.int64), -limit, limit)


def pair_soft(counts, pairs, soft_width: int) -> np.ndarray:
    """Soft values of RO *pairs* from per-RO counts, as the device computes them.

    Parameters
    ----------
    counts : array_like of int, shape (..., n_ro)
        Each RO's count (any leading axes: reads, trials).
    pairs : sequence of (int, int)
        Global RO indices ``(a, b)`` (:attr:`ropuf.spec.helper_data.HelperData.pairs`).
    soft_width : int

    Returns
    -------
    numpy.ndarray of int64, shape (..., len(pairs))
        ``count_a - count_b`` saturated to ``+-(2**(soft_width - 1) - 1)``: positive when the
        lower-indexed RO ``a`` counted more (response bit 1).
    """
    counts = np.asarray(counts, dtype=np.int64)
    index = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    limit = 2 ** (soft_width - 1) - 1
    return np.clip(counts[..., index[:, 0]] - counts[..., index[:, 1]], -limit, limit)


def reconstruct(helper: HelperData, counts: np.ndarray, offsets=None) -> DerivedKeys:
    """Reconstruct a device's keys from one reading of its ROs.

    Parameters
    ----------
    helper : HelperData
        The device's (parsed, CRC-checked) helper data.
    counts : array_like of int, shape (n_ro,)
        One count per RO, at least the ``params.ros`` ROs the pairs index; the soft values of
        ``helper.pairs`` are taken from them (:func:`pair_soft`) and the pairs' design
        thresholds subtracted.
    offsets : sequence of int, optional
        The device build's integer design offsets
        (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`), at least ``params.ros``; a
        pair's threshold is ``offsets[a] - offsets[b]``, as on the device. None: zeros.

    Returns
    -------
    DerivedKeys

    Raises
    ------
    KeyCheckError
        The decoder reported failure, or the derived key-check value differs from the stored
        one.
    ValueError
        *counts* is not one count per RO of the pairing.
    """
    params = helper.params
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or len(counts) < params.ros:
        raise ValueError(f"Expected {params.ros} or more RO counts, got shape {counts.shape!r}")
    soft = pair_soft(counts[None, :], helper.pairs, params.soft_width)
    message, failed = decode_soft(
        corrected_batch(soft, pair_thresholds(offsets, helper.pairs), params.soft_width),
        np.array(helper.offset),
        params,
    )
    if failed[0]:
        raise KeyCheckError(f"Decoder failure: more errors than the code corrects (t={params.t})")
    keys = derive_keys(helper.body(), pack_secret(message[0]))
    if not hmac.compare_digest(keys.kcv, helper.kcv):
        raise KeyCheckError("Key-check value mismatch: too many errors or manipulated helper data")
    return keys
