"""Host reference of the fuzzy extractor: BCH decoding, soft combining, KDF, enrollment."""

import hashlib
import hmac
import itertools

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from ropuf.host import fuzzy, keygen
from ropuf.host.design_offsets import as_build_offsets
from ropuf.host.kdf import derive_keys, pack_secret
from ropuf.spec.code_params import CHOSEN, ICE40, CodeParams
from ropuf.spec.helper_data import HelperData
from ropuf.spec.kdf_labels import ATTEST_LABEL, KCV_LABEL, MASTER_LABEL
from ropuf.spec.pairing import RankPairing

SMALL = CodeParams(rep=1, gf_m=4, t=2, n=15, pairing=RankPairing(4, 1))


def test_bch_dimensions_match_the_literature():
    assert CodeParams(rep=7, gf_m=8, t=18, n=255, pairing=RankPairing(4, 1)).k == 131
    assert CHOSEN.k == 140 and CHOSEN.code.k_full == 187  # BCH(208, 140, t=9)
    assert ICE40.k == 136 and ICE40.code.k_full == 199  # BCH(192, 136, t=7)
    assert SMALL.k == 7  # BCH(15, 7, 5)


def test_bounded_distance_decoding_is_exhaustively_right_on_a_small_code():
    code = SMALL.code
    codewords = fuzzy.encode_batch(np.array(list(itertools.product([0, 1], repeat=7))), SMALL)
    errors = [np.zeros(15, np.uint8)]
    for weight in (1, 2):
        for positions in itertools.combinations(range(15), weight):
            e = np.zeros(15, np.uint8)
            e[list(positions)] = 1
            errors.append(e)
    errors = np.array(errors)
    for codeword in codewords[::9]:
        corrected, failed = fuzzy.decode_bch(codeword ^ errors, code)
        assert not failed.any()
        assert (corrected == codeword).all()


@pytest.mark.parametrize("weight", [0, 1, 7, 14, 15, 16, 30, 121])
def test_chosen_code_corrects_t_and_never_claims_a_wrong_word(weight):
    rng = np.random.default_rng(weight)
    trials = 300
    message = rng.integers(0, 2, (trials, CHOSEN.k), dtype=np.uint8)
    codeword = fuzzy.encode_batch(message, CHOSEN)
    assert not fuzzy.syndromes(codeword, CHOSEN.code).any()
    error = np.zeros_like(codeword)
    for row in error:
        row[rng.choice(CHOSEN.n, weight, replace=False)] = 1
    corrected, failed = fuzzy.decode_bch(codeword ^ error, CHOSEN.code)
    if weight <= CHOSEN.t:
        assert not failed.any() and (corrected == codeword).all()
    else:
        # Beyond t: flagged, or (rarely) a different codeword within t of the received word.
        unflagged = ~failed
        assert not (corrected[unflagged] == codeword[unflagged]).all(axis=1).any()
        assert not fuzzy.syndromes(corrected[unflagged], CHOSEN.code).any()
        distance = (corrected[unflagged] ^ codeword[unflagged] ^ error[unflagged]).sum(axis=1)
        assert (distance <= CHOSEN.t).all()
        assert failed.mean() > 0.9


def test_soft_combining():
    # 2y - 1, negated by the offset bit, summed over rep = 3; code bit 1 when positive.
    soft = np.array([[5, 0, 0, -3, -3, 9, 1, 1, 0]])
    offset = np.array([0, 0, 0, 1, 1, 0, 1, 1, 1])
    # sums: 9 - 1 - 1 = 7 -> 1; 7 + 7 + 17 = 31 -> 1; -1 - 1 + 1 = -1 -> 0
    assert fuzzy.combine(soft, offset, 3).tolist() == [[1, 1, 0]]
    # rep = 1 is hard decision: bit = (y > 0) xor offset
    y = np.array([[3, 0, -2, 1]])
    assert fuzzy.combine(y, np.array([0, 0, 1, 1]), 1).tolist() == [[1, 0, 1, 0]]


def test_key_derivation_layout_and_hkdf():
    body, secret = b"helper body bytes", bytes(range(17))
    keys = derive_keys(body, secret)
    expected_master = hashlib.sha256(
        b"ropuf master v1\x00" + hashlib.sha256(body).digest() + secret
    ).digest()
    assert MASTER_LABEL == b"ropuf master v1"
    assert keys.master == expected_master
    for label, value, length in ((KCV_LABEL, keys.kcv, 8), (ATTEST_LABEL, keys.attestation, 32)):
        hkdf = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=label)
        assert value == hkdf.derive(keys.master)[:length]
    assert "kcv=" in repr(keys) and keys.master.hex() not in repr(keys)
    assert pack_secret([1, 0, 1] + [0] * 5 + [1]) == b"\xa0\x80"


#: Mean count of a simulated RO, its die-to-die (manufacturing) sigma, in counts.
BASE, SPREAD = 10_000, 40.0


def enrolled_device(seed: int, params: CodeParams = CHOSEN, noise: float = 12.0, offsets=None):
    """A synthetic device (each RO's count ``BASE + SPREAD z``), read 32 times with Gaussian
    *noise* per RO count, enrolled; *offsets* (the design's part) are added to its counts and
    passed to enrollment."""
    rng = np.random.default_rng(seed)
    design = np.zeros(params.ros) if offsets is None else np.asarray(offsets, dtype=np.float64)
    frequency = BASE + SPREAD * rng.standard_normal(params.ros) + design
    reads = np.rint(frequency + noise * rng.standard_normal((32, params.ros))).astype(int)
    enrolment = keygen.enrol(reads, params, n_ro=params.ros + 8, offsets=offsets)
    return rng, frequency, enrolment, reads


def test_enrol_and_reconstruct_with_bit_errors():
    rng, frequency, enrolment, _reads = enrolled_device(1)
    helper = HelperData.from_bytes(enrolment.helper.to_bytes())
    assert helper == enrolment.helper and helper.n_ro == CHOSEN.ros + 8
    account = enrolment.account
    assert account.disclosed == CHOSEN.n - CHOSEN.k == 68
    assert account.selected_entropy == CHOSEN.selected_bits == 208
    assert account.remaining == CHOSEN.k == 140
    assert 0.0 < account.predicted_bit_error < 0.02
    pairs = np.array(helper.pairs)
    errors = []
    for _ in range(20):
        counts = np.rint(frequency + 30.0 * rng.standard_normal(CHOSEN.ros)).astype(int)
        keys = fuzzy.reconstruct(helper, np.concatenate([counts, [0] * 8]))
        assert keys.attestation == enrolment.keys.attestation
        bits = counts[pairs[:, 0]] > counts[pairs[:, 1]]
        enrolled = frequency[pairs[:, 0]] > frequency[pairs[:, 1]]
        errors.append(int(np.sum(bits != enrolled)))
    assert 0 < max(errors) <= CHOSEN.t  # the decoder corrected real errors
    with pytest.raises(ValueError, match="Expected 832 or more RO counts"):
        fuzzy.reconstruct(helper, counts[:-1])


def test_enrolment_takes_rank_pairs_in_canonical_order():
    _rng, _frequency, enrolment, reads = enrolled_device(4)
    helper = enrolment.helper
    mean = reads.mean(axis=0)
    assert list(helper.pairs) == CHOSEN.pairing.choose(mean, CHOSEN.selected_bits)
    pairing = CHOSEN.pairing
    local = pairing.to_local(helper.pairs)  # canonical: checked, raises otherwise
    assert len(local) == 208
    for group in range(pairing.batches(CHOSEN.selected_bits)):
        base = group * pairing.batch
        rank = np.argsort(np.argsort(mean[base : base + pairing.batch], kind="stable"))
        batch_pairs = local[group * pairing.per_batch : (group + 1) * pairing.per_batch]
        # Each pair: a rank among the slowest quarter and the one 48 ranks above it.
        gaps = sorted(abs(int(rank[a]) - int(rank[b])) for a, b in batch_pairs)
        assert gaps == [pairing.batch - pairing.per_batch] * pairing.per_batch
        assert sorted(min(rank[a], rank[b]) for a, b in batch_pairs) == list(range(16))
    # A bit is 1 when the lower-indexed RO counted more, and carries the code offset.
    pairs = np.array(helper.pairs)
    bits = (mean[pairs[:, 0]] > mean[pairs[:, 1]]).astype(np.uint8)
    assert 0.35 < enrolment.account.bias == bits.mean() < 0.65
    codeword = fuzzy.encode_batch(np.array([[0] * CHOSEN.k], np.uint8), CHOSEN)[0]
    again = keygen.enrol(reads, CHOSEN, n_ro=helper.n_ro, message_bits=[0] * CHOSEN.k)
    assert np.array_equal(np.array(again.helper.offset), bits ^ codeword)
    # Swapping the counts of one pair's ROs swaps their ranks: the list is the same, only
    # that pair's bit flips (the list says nothing about which RO is faster).
    a, b = helper.pairs[5]
    swapped = reads.copy()
    swapped[:, [a, b]] = swapped[:, [b, a]]
    other = keygen.enrol(swapped, CHOSEN, n_ro=helper.n_ro, message_bits=[0] * CHOSEN.k)
    assert other.helper.pairs == helper.pairs
    flipped = np.flatnonzero(np.array(other.helper.offset) != np.array(again.helper.offset))
    assert flipped.tolist() == [5]


def test_offsets_rank_the_corrected_counts_and_take_the_bits_as_the_device():
    # A design whose systematic part dwarfs the die's own: without the offsets the pairs are
    # the design's, with them the die's; each bit is taken less offset_a - offset_b, as the
    # device does, and nothing of the offsets is in the record.
    design = as_build_offsets(500.0 * np.random.default_rng(9).standard_normal(CHOSEN.ros))
    rng, frequency, enrolment, reads = enrolled_device(6, offsets=design)
    helper = enrolment.helper
    mean = reads.mean(axis=0)
    offsets = np.array(design)
    assert list(helper.pairs) == CHOSEN.pairing.choose(mean - offsets, CHOSEN.selected_bits)
    assert list(helper.pairs) != CHOSEN.pairing.choose(mean, CHOSEN.selected_bits)
    pairs = np.array(helper.pairs)
    threshold = offsets[pairs[:, 0]] - offsets[pairs[:, 1]]
    soft = reads[:, pairs[:, 0]] - reads[:, pairs[:, 1]] - threshold
    codeword = fuzzy.encode_batch(np.array([[0] * CHOSEN.k], np.uint8), CHOSEN)[0]
    zeros = [0] * CHOSEN.k
    again = keygen.enrol(reads, CHOSEN, n_ro=helper.n_ro, offsets=design, message_bits=zeros)
    assert np.array_equal(again.helper.offset, (soft.mean(axis=0) > 0) ^ codeword)
    assert len(helper.to_bytes()) == HelperData.total_length(CHOSEN)
    counts = np.rint(frequency + 12.0 * rng.standard_normal(CHOSEN.ros)).astype(int)
    assert fuzzy.reconstruct(helper, counts, design).kcv == helper.kcv
    # A device without the design's offsets decodes other bits from the same counts: it fails.
    with pytest.raises(fuzzy.KeyCheckError):
        fuzzy.reconstruct(helper, counts)


def test_ice40_enrols_every_ro_and_takes_offsets_too():
    rng, frequency, enrolment, _reads = enrolled_device(7, ICE40)
    helper = enrolment.helper
    assert sorted(ro for pair in helper.pairs for ro in pair) == list(range(ICE40.ros))
    assert enrolment.account.remaining == ICE40.k
    counts = np.rint(frequency + 12.0 * rng.standard_normal(ICE40.ros)).astype(int)
    assert fuzzy.reconstruct(HelperData.from_bytes(helper.to_bytes()), counts).kcv == helper.kcv
    # Every construction may be built with design offsets.
    design = as_build_offsets(300.0 * np.random.default_rng(8).standard_normal(ICE40.ros))
    rng, frequency, enrolment, _reads = enrolled_device(7, ICE40, offsets=design)
    counts = np.rint(frequency + 12.0 * rng.standard_normal(ICE40.ros)).astype(int)
    helper = HelperData.from_bytes(enrolment.helper.to_bytes())
    assert fuzzy.reconstruct(helper, counts, design).kcv == helper.kcv


def test_manipulated_helper_data_fails_with_key_check_error():
    _rng, frequency, enrolment, _reads = enrolled_device(2)
    helper = enrolment.helper
    counts = np.rint(frequency).astype(int)

    def changed(**fields):
        values = dict(
            params=helper.params,
            n_ro=helper.n_ro,
            pairs=helper.pairs,
            offset=helper.offset,
            kcv=helper.kcv,
        )
        return HelperData(**(values | fields))

    # One offset bit flipped: the decoder corrects it, but the helper hash changes the key.
    flipped = list(helper.offset)
    flipped[3] ^= 1
    with pytest.raises(fuzzy.KeyCheckError, match="Key-check value mismatch"):
        fuzzy.reconstruct(changed(offset=tuple(flipped)), counts)
    # Many flipped: the decoder reports failure.
    flipped = [b ^ (i < 40) for i, b in enumerate(helper.offset)]
    with pytest.raises(fuzzy.KeyCheckError, match=r"Decoder failure: .*t=9"):
        fuzzy.reconstruct(changed(offset=tuple(flipped)), counts)
    # Another pair list (one pair's second RO replaced by an unused RO of its batch).
    a, _b = helper.pairs[0]
    used = {ro for pair in helper.pairs[:16] for ro in pair}
    unused = next(ro for ro in range(a + 1, 64) if ro not in used)
    pairs = ((a, unused), *helper.pairs[1:])
    with pytest.raises(fuzzy.KeyCheckError, match="Key-check value mismatch"):
        fuzzy.reconstruct(changed(pairs=pairs), counts)
    with pytest.raises(fuzzy.KeyCheckError, match="Key-check value mismatch"):
        fuzzy.reconstruct(changed(kcv=bytes(8)), counts)
    assert hmac.compare_digest(fuzzy.reconstruct(helper, counts).kcv, helper.kcv)


def test_enrolment_refusals():
    rng = np.random.default_rng(3)
    n = CHOSEN.ros
    # Lower-indexed ROs systematically faster (a gradient the offsets do not remove): biased.
    gradient = -3.0 * (np.arange(n) % 64)
    biased = BASE + 40.0 * rng.standard_normal(n) + gradient
    reads = np.rint(biased + 5.0 * rng.standard_normal((8, n))).astype(int)
    with pytest.raises(keygen.EnrollmentError, match=r"Response bias 0\.\d+ is further"):
        keygen.enrol(reads, CHOSEN, n_ro=n)
    assert keygen.enrol(reads, CHOSEN, n_ro=n, max_bias=0.5).account.bias > 0.65
    low_rate = CodeParams(rep=1, gf_m=8, t=16, n=208, pairing=CHOSEN.pairing)
    fair = np.rint(BASE + rng.standard_normal((4, n)) * 100).astype(int)
    with pytest.raises(keygen.EnrollmentError, match=r"Entropy account 84\.0 bits is below 128"):
        keygen.enrol(fair, low_rate, n_ro=n)
    # 208 * 0.94 - 68 = 127.5 bits: refused; 0.95 gives 129.6: accepted.
    with pytest.raises(keygen.EnrollmentError, match=r"Entropy account 127\.5 bits"):
        keygen.enrol(fair, CHOSEN, n_ro=n, design_min_entropy=0.94)
    account = keygen.enrol(fair, CHOSEN, n_ro=n, design_min_entropy=0.95).account
    assert account.remaining == pytest.approx(208 * 0.95 - 68)
    with pytest.raises(ValueError, match=r"counts must have shape \(n_reads >= 2, n_ro >= 832\)"):
        keygen.enrol(fair[:1], CHOSEN, n_ro=n)
    with pytest.raises(ValueError, match=r"n_ro >= 832"):
        keygen.enrol(fair[:, :-1], CHOSEN, n_ro=n)
    # Design offsets: the build's integers, at least one per RO used, within OFFSET_LIMIT.
    with pytest.raises(ValueError, match="offsets must be 832 or more integers"):
        keygen.enrol(fair, CHOSEN, n_ro=n, offsets=np.zeros(n - 1, dtype=int))
    with pytest.raises(ValueError, match=r"integer design offsets .*as_build_offsets"):
        keygen.enrol(fair, CHOSEN, n_ro=n, offsets=np.zeros(n))
    with pytest.raises(ValueError, match=r"within \+-16383"):
        keygen.enrol(fair, CHOSEN, n_ro=n, offsets=[0] * (n - 1) + [2**14])


def test_device_averaged_failure_with_enrollment_reads():
    """Noisy enrollment margins cost key failure, and many reads approach exact margins."""
    from ropuf.host import keygen_analysis as ka

    p = CodeParams(rep=1, gf_m=6, t=4, n=63, pairing=RankPairing(batch=4, per_batch=1))

    def failure(reads):
        rng = np.random.default_rng(3)
        return ka.device_averaged_failure(
            p, 0.15, 4000, rng=rng, candidates=150, enrol_reads=reads
        )[0]

    exact = ka.device_averaged_failure(p, 0.15, 4000, rng=np.random.default_rng(3), candidates=150)[
        0
    ]
    few, many, limit = failure(2), failure(64), failure(10**9)
    assert few > 2 * many > 0
    assert limit == pytest.approx(exact, rel=0.15)
    with pytest.raises(ka.AnalysisError, match="positive integer, not 0"):
        failure(0)


#: Primitive polynomials of Lin & Costello, "Error Control Coding" (2nd ed.), Table 2.7 (bit j
#: is the coefficient of x^j): 1+x+x^4, 1+x^2+x^5, 1+x+x^6, 1+x^3+x^7, 1+x^2+x^3+x^4+x^8,
#: 1+x^4+x^9, 1+x^3+x^10. Every enrolled record depends on the field: it must never change.
PUBLISHED_PRIMITIVE = {4: 0x13, 5: 0x25, 6: 0x43, 7: 0x89, 8: 0x11D, 9: 0x211, 10: 0x409}
#: Generator polynomials in octal, (n, k, t): Lin & Costello, Appendix C (Stenbit's table).
PUBLISHED_GENERATORS = {
    (15, 11, 1): "23",
    (15, 7, 2): "721",
    (15, 5, 3): "2467",
    (31, 26, 1): "45",
    (31, 21, 2): "3551",
    (31, 16, 3): "107657",
    (31, 11, 5): "5423325",
    (31, 6, 7): "313365047",
    (63, 57, 1): "103",
    (63, 51, 2): "12471",
    (63, 45, 3): "1701317",
}


def test_bch_field_and_generators_match_the_published_tables():
    from ropuf.spec.bch_code import PRIMITIVE_POLYNOMIALS, bch_code

    assert PRIMITIVE_POLYNOMIALS == PUBLISHED_PRIMITIVE
    for (n, k, t), octal in PUBLISHED_GENERATORS.items():
        code = bch_code(n.bit_length(), t, n)
        assert (code.k, oct(code.generator)) == (k, "0o" + octal), (n, k, t)


def test_bch_generators_match_galois_over_the_published_fields():
    # An independent implementation (galois, a dev dependency) computes the generators over
    # the published fields: the chosen code's, and the small code's the gateware tests use.
    # (Its compiler makes the first code of each field cost seconds: only these fields.)
    import galois

    from ropuf.spec.bch_code import bch_code

    for m, t in [(8, 1), (8, 2), (8, CHOSEN.t), (5, 3)]:
        field = galois.GF(2**m, irreducible_poly=PUBLISHED_PRIMITIVE[m])
        assert field.is_primitive_poly
        reference = galois.BCH(2**m - 1, d=2 * t + 1, extension_field=field)
        code = bch_code(m, t, 2**m - 1)
        assert (code.k_full, code.generator) == (reference.k, int(reference.generator_poly))
    assert CHOSEN.code.generator == bch_code(8, CHOSEN.t, 255).generator
    assert CHOSEN.code.k_full == 187
