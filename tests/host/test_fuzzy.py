"""Host reference of the fuzzy extractor: BCH decoding, soft combining, KDF, enrollment."""

import hashlib
import hmac
import itertools

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from ropuf.host import fuzzy, keygen
from ropuf.host.kdf import derive_keys, pack_secret
from ropuf.spec.code_params import CHOSEN, CodeParams
from ropuf.spec.helper_data import HelperData
from ropuf.spec.kdf_labels import ATTEST_LABEL, KCV_LABEL, MASTER_LABEL

SMALL = CodeParams(rep=1, gf_m=4, t=2, n=15, candidate_pairs=15)


def test_bch_dimensions_match_the_literature():
    assert CodeParams(rep=7, gf_m=8, t=18, n=255, candidate_pairs=1785).k == 131
    assert CHOSEN.k == 134 and CHOSEN.code.k_full == 147
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


def enrolled_device(seed: int, params: CodeParams = CHOSEN, s: float = 0.5095):
    rng = np.random.default_rng(seed)
    margin = rng.standard_normal(params.candidate_pairs)
    reads = np.rint((margin + s * rng.standard_normal((32, params.candidate_pairs))) * 1000)
    enrolment = keygen.enrol(reads.astype(int), params, n_ro=2 * params.candidate_pairs)
    return rng, margin, enrolment, reads


def test_enrol_and_reconstruct_at_15_percent():
    rng, margin, enrolment, reads = enrolled_device(1)
    helper = HelperData.from_bytes(enrolment.helper.to_bytes())
    selected = np.array(helper.selected)
    assert sum(enrolment.helper.mask) == CHOSEN.selected_bits
    account = enrolment.account
    assert account.disclosed == CHOSEN.n - CHOSEN.k == 108
    assert 128 < account.remaining < 134
    for _ in range(20):
        reading = np.rint((margin[selected] + 0.5095 * rng.standard_normal(242)) * 1000)
        keys = fuzzy.reconstruct(helper, reading.astype(int))
        assert keys.attestation == enrolment.keys.attestation
    # Balanced: exactly half of the selected response bits are ones, and they are the most
    # reliable of their value.
    bits = reads.mean(axis=0) > 0
    assert bits[selected].sum() == CHOSEN.selected_bits // 2
    strength = np.abs(reads.mean(axis=0))
    for value in (True, False):
        kept = strength[selected][bits[selected] == value].min()
        dropped = np.delete(strength, selected)[np.delete(bits, selected) == value]
        assert kept >= dropped.max()


def test_manipulated_helper_data_fails_with_key_check_error():
    _rng, margin, enrolment, _reads = enrolled_device(2)
    helper = enrolment.helper
    reading = margin[np.array(helper.selected)] * 1000
    # One offset bit flipped: the decoder corrects it, but the helper hash changes the key.
    flipped = list(helper.offset)
    flipped[3] ^= 1
    manipulated = HelperData(helper.params, helper.n_ro, helper.mask, tuple(flipped), helper.kcv)
    with pytest.raises(fuzzy.KeyCheckError, match="Key-check value mismatch"):
        fuzzy.reconstruct(manipulated, reading.astype(int))
    # Many flipped: the decoder reports failure.
    flipped = [b ^ (i < 40) for i, b in enumerate(helper.offset)]
    manipulated = HelperData(helper.params, helper.n_ro, helper.mask, tuple(flipped), helper.kcv)
    with pytest.raises(fuzzy.KeyCheckError, match=r"Decoder failure: .*t=14"):
        fuzzy.reconstruct(manipulated, reading.astype(int))
    wrong_kcv = HelperData(helper.params, helper.n_ro, helper.mask, helper.offset, bytes(8))
    with pytest.raises(fuzzy.KeyCheckError, match="Key-check value mismatch"):
        fuzzy.reconstruct(wrong_kcv, reading.astype(int))
    assert hmac.compare_digest(fuzzy.reconstruct(helper, reading.astype(int)).kcv, helper.kcv)


def test_enrolment_refusals():
    rng = np.random.default_rng(3)
    n = CHOSEN.candidate_pairs
    biased = rng.standard_normal(n) + 0.8
    reads = np.rint((biased + 0.3 * rng.standard_normal((8, n))) * 100).astype(int)
    with pytest.raises(keygen.EnrollmentError, match=r"Response bias 0\.\d+ is further"):
        keygen.enrol(reads, CHOSEN, n_ro=2 * n)
    skewed = rng.standard_normal(n) + 1.5
    reads = np.rint((skewed + 0.3 * rng.standard_normal((8, n))) * 100).astype(int)
    with pytest.raises(keygen.EnrollmentError, match=r"Only \d+ pairs answer 0; .* needs 121"):
        keygen.enrol(reads, CHOSEN, n_ro=2 * n, max_bias=0.5)
    low_rate = CodeParams(rep=1, gf_m=8, t=20, n=255, candidate_pairs=n)
    fair = np.rint(rng.standard_normal((4, n)) * 100).astype(int)
    with pytest.raises(keygen.EnrollmentError, match=r"Entropy account \d+\.\d bits is below 128"):
        keygen.enrol(fair, low_rate, n_ro=2 * n)
    with pytest.raises(keygen.EnrollmentError, match="Entropy account"):
        keygen.enrol(fair, CHOSEN, n_ro=2 * n, design_min_entropy=0.69)
    with pytest.raises(ValueError, match=r"reads must have shape \(n_reads >= 2, 760\)"):
        keygen.enrol(fair[:1], CHOSEN, n_ro=2 * n)


def test_device_averaged_failure_with_enrollment_reads():
    """Noisy enrollment margins cost key failure, and many reads approach exact margins."""
    from ropuf.host import keygen_analysis as ka

    p = CodeParams(rep=1, gf_m=6, t=4, n=63, candidate_pairs=150)

    def failure(reads):
        rng = np.random.default_rng(3)
        return ka.device_averaged_failure(p, 0.15, 4000, rng=rng, enrol_reads=reads)[0]

    exact = ka.device_averaged_failure(p, 0.15, 4000, rng=np.random.default_rng(3))[0]
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
    assert CHOSEN.code.k_full == 147
