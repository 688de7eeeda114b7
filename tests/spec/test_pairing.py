"""Rank pairing: choice, canonical order, serialisation and its checks."""

import itertools

import numpy as np
import pytest

from ropuf.spec.pairing import RankPairing


@pytest.mark.parametrize("per_batch", [2, 4])
def test_pairs_slow_ranks_with_fast_ranks(per_batch):
    pairing = RankPairing(batch=8, per_batch=per_batch)
    counts = np.array([50, 10, 70, 30, 60, 20, 80, 40, 1, 2, 3, 4, 5, 6, 7, 8], dtype=float)
    pairs = pairing.choose(counts, 2 * per_batch)
    for group in range(2):
        batch = counts[8 * group : 8 * group + 8]
        ranks = np.argsort(np.argsort(batch))
        got = pairs[per_batch * group : per_batch * (group + 1)]
        for a, b in got:
            assert 8 * group <= a < b < 8 * group + 8
            low, high = sorted((ranks[a - 8 * group], ranks[b - 8 * group]))
            assert high - low == 8 - per_batch and low < per_batch
        assert [a for a, _ in got] == sorted(a for a, _ in got)


def test_swapping_a_pairs_counts_leaves_the_list_unchanged():
    pairing = RankPairing(batch=16, per_batch=8)
    rng = np.random.default_rng(1)
    counts = rng.normal(size=32)
    pairs = pairing.choose(counts, 16)
    for a, b in pairs:
        swapped = counts.copy()
        swapped[[a, b]] = swapped[[b, a]]
        assert pairing.choose(swapped, 16) == pairs


def test_bits_round_trip():
    pairing = RankPairing(batch=64, per_batch=32)
    rng = np.random.default_rng(2)
    pairs = pairing.choose(rng.normal(size=192), 96)
    bits = pairing.to_bits(pairs)
    assert len(bits) == 96 * 12 == pairing.list_bytes(96) * 8
    assert pairing.from_bits(bits, 96) == pairs
    pairing.check(pairs)
    assert pairing.ros(96) == 192


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([(1, 0), (2, 3)], "lower index first"),
        ([(0, 4), (2, 3)], "indices of batch 0"),
        ([(2, 3), (0, 1)], "canonical order"),
        ([(0, 1), (1, 2)], "reuses"),
        ([(0, 2), (1, 2)], "reuses"),
        ([(0, 1), (2, 3), (0, 1), (2, 3)], "batch 1"),
    ],
)
def test_malformed_lists_are_refused(pairs, message):
    pairing = RankPairing(batch=4, per_batch=2)
    with pytest.raises(ValueError, match=message):
        pairing.check(pairs)


def test_serialisation_keeps_what_a_list_says():
    # A parser reads what is listed (the record is bound into the key); only batch membership
    # is forced by the format.
    pairing = RankPairing(batch=4, per_batch=2)
    odd = [(1, 1), (3, 0), (4, 5), (5, 4)]
    assert pairing.from_bits(pairing.to_bits(odd), 4) == odd
    with pytest.raises(ValueError, match="batch 1"):
        pairing.to_bits([(0, 1), (2, 3), (0, 1), (2, 3)])


def test_every_list_that_passes_is_a_matching():
    pairing = RankPairing(batch=4, per_batch=2)
    for p in itertools.product(itertools.combinations(range(4), 2), repeat=2):
        try:
            pairing.check(p)
        except ValueError:
            continue
        assert len({ro for pair in p for ro in pair}) == 4


@pytest.mark.parametrize(
    ("batch", "per_batch", "message"),
    [(6, 2, "power of two"), (8, 3, "power of two"), (8, 8, "Pairs per batch"), (2, 1, "Batch")],
)
def test_bad_parameters_are_refused(batch, per_batch, message):
    with pytest.raises(ValueError, match=message):
        RankPairing(batch=batch, per_batch=per_batch)


def test_partial_batches_are_refused():
    with pytest.raises(ValueError, match="whole batches"):
        RankPairing(batch=8, per_batch=4).ros(6)
