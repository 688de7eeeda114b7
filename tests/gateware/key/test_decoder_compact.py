# amaranth: UnusedElaboratable=no
"""Compact decoder in Amaranth's simulator, bit for bit against the host reference, and its
constant cycle count."""

import numpy as np
import pytest

from ropuf.gateware.key.decoder_compact import (
    CompactBCHDecoder,
    compact_decode_cycles,
    compact_input_stall,
)
from ropuf.spec.code_params import CHOSEN, CodeParams
from ropuf.spec.pairing import RankPairing

from .test_decoder import drive, make_case, reference

#: A t = 7 code of the size the iCE40 key path targets: BCH(192, 136, t=7) over GF(2^8).
T7 = CodeParams(rep=1, gf_m=8, t=7, n=192, pairing=RankPairing(batch=64, per_batch=32))
SOFT3 = CodeParams(
    rep=3, gf_m=5, t=3, n=31, pairing=RankPairing(batch=4, per_batch=1), soft_width=8
)


def run(params, cases, *, gaps=False):
    """Decode each ``(soft, offset)``: ``(message, failed, cycles, stalls)`` per case
    (:func:`~tests.gateware.key.test_decoder.drive`)."""
    return drive(CompactBCHDecoder(params), cases, gaps=gaps)


def check(params, cases, **kwargs):
    got = run(params, cases, **kwargs)
    assert [g[:2] for g in got] == reference(params, cases)
    assert {g[2] for g in got} == {compact_decode_cycles(params)}
    if not kwargs.get("gaps") and params.rep == 1:
        assert set().union(*(g[3] for g in got)) == {compact_input_stall(params)}
    return got


def patterns(p, rng, weights):
    return [sorted(rng.choice(p.n, w, replace=False)) for w in weights]


def test_t7_code_random_and_beyond_t_patterns():
    p = T7
    rng = np.random.default_rng(21)
    errors = [[], list(range(p.t)), list(range(p.n - p.t, p.n))]
    errors += patterns(p, rng, [1, 4, p.t, p.t + 1, 2 * p.t, 40])
    got = check(p, [make_case(p, rng, e) for e in errors])
    assert [g[1] for g in got[:6]] == [0] * 6
    assert got[7][1] == 1
    assert compact_decode_cycles(p) == 14 + 7 + 14 * 24 + 255 * 8 == 2397


def test_chosen_code_random_and_beyond_t_patterns():
    p = CHOSEN
    rng = np.random.default_rng(22)
    errors = [[p.n - 1], *patterns(p, rng, [p.t, p.t + 1]), list(range(p.n))]
    got = check(p, [make_case(p, rng, e) for e in errors])
    assert [g[1] for g in got] == [0, 0, 1, 1]


def test_miscorrection_beyond_t_matches_the_reference():
    # A word t away from another codeword: success with the wrong message, as the reference.
    from ropuf.host import fuzzy

    p = T7
    rng = np.random.default_rng(23)
    first, other = fuzzy.encode_batch(rng.integers(0, 2, (2, p.k)), p)
    soft, _ = make_case(p, rng, [])
    offset = (soft > 0).astype(int) ^ first
    errors = np.flatnonzero(first ^ other)[p.t :]
    soft = soft.copy()
    soft[errors] = 1 - soft[errors]
    got = check(p, [(soft, offset)])
    assert got[0][1] == 0
    assert got[0][0] == int("".join(str(b) for b in other[: p.k]), 2)


def test_soft_repetition_gaps_and_small_field():
    p = SOFT3
    rng = np.random.default_rng(24)
    limit = 2 ** (p.soft_width - 1) - 1
    cases = [make_case(p, rng, e, spread=limit) for e in patterns(p, rng, [0, 1, 3, 4, 9])]
    cases.append((rng.integers(-limit, limit + 1, p.selected_bits), rng.integers(0, 2, 93)))
    cases.append((np.zeros(p.selected_bits, int), np.zeros(p.selected_bits, int)))
    got = check(p, cases, gaps=True)
    assert [g[1] for g in got[:3]] == [0, 0, 0]
    assert got[3][1] == 1


@pytest.mark.slow
def test_t7_sweep_every_weight():
    p = T7
    rng = np.random.default_rng(25)
    weights = [w for w in range(0, 3 * p.t) for _ in range(3)]
    check(p, [make_case(p, rng, e) for e in patterns(p, rng, weights)])


def test_rejects_bad_parameters():
    with pytest.raises(TypeError, match=r"Decoder parameters must be a CodeParams, not 7"):
        CompactBCHDecoder(7)
