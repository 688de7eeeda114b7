"""The P-256 reference model against ``cryptography``: d * G, the formulas, the inversion,
ECDSA's r and s (RFC 6979 A.2.5)."""

import hashlib
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from ropuf.spec import p256


def public_point(d):
    numbers = ec.derive_private_key(d, ec.SECP256R1()).public_key().public_numbers()
    return numbers.x, numbers.y


@pytest.mark.parametrize("d", [1, 2, 3, p256.N - 1, p256.N - 2, 2**255 + 17, 0xC0FFEE])
def test_scalar_mult_matches_cryptography(d):
    assert p256.affine(p256.scalar_mult(d)) == public_point(d)


def test_scalar_mult_of_the_order_and_zero_is_infinity():
    assert p256.affine(p256.scalar_mult(0)) is None
    assert p256.affine(p256.scalar_mult(p256.N)) is None


def test_complete_add_has_no_exceptional_case():
    g = (p256.GX, p256.GY, 1)
    minus_g = (p256.GX, -p256.GY % p256.P, 1)
    assert p256.affine(p256.complete_add(g, minus_g)) is None
    assert p256.affine(p256.complete_add(p256.INFINITY, g)) == (p256.GX, p256.GY)
    assert p256.affine(p256.complete_add(g, p256.INFINITY)) == (p256.GX, p256.GY)
    assert p256.affine(p256.complete_add(p256.INFINITY, p256.INFINITY)) is None
    # Equal points in different projective representations: the doubling.
    z = 0x1234567
    scaled = (p256.GX * z % p256.P, p256.GY * z % p256.P, z)
    assert p256.affine(p256.complete_add(g, scaled)) == public_point(2)


def test_base_point_and_inverse():
    assert p256.on_curve(p256.GX, p256.GY)
    assert not p256.on_curve(p256.GX, p256.GY + 1)
    rng = random.Random(5)
    for modulus in (p256.P, p256.N):
        x = rng.randrange(1, modulus)
        assert p256.inverse(x, modulus) * x % modulus == 1


def test_scalars_are_checked():
    with pytest.raises(ValueError, match="modulo n"):
        p256.scalar_mult(2**256)
    with pytest.raises(TypeError, match="int"):
        p256.scalar_mult(1.0)
    with pytest.raises(ValueError, match="unknown field operation"):
        p256.run_formula([("div", "a", "a", "a")], {"a": 1})


def test_double_and_mixed_add_agree_with_complete_add():
    g = (p256.GX, p256.GY, 1)
    rng = random.Random(9)
    for _ in range(5):
        z = rng.randrange(1, p256.P)
        point = p256.scalar_mult(rng.randrange(1, p256.N))
        scaled = tuple(c * z % p256.P for c in point)
        assert p256.affine(p256.double(scaled)) == p256.affine(p256.complete_add(point, point))
        assert p256.affine(p256.mixed_add(scaled, (p256.GX, p256.GY))) == p256.affine(
            p256.complete_add(point, g)
        )


def test_double_and_mixed_add_have_no_exceptional_case():
    g_affine = (p256.GX, p256.GY)
    assert p256.affine(p256.double(p256.INFINITY)) is None
    assert p256.affine(p256.mixed_add(p256.INFINITY, g_affine)) == g_affine
    assert p256.affine(p256.mixed_add((p256.GX, p256.GY, 1), g_affine)) == public_point(2)
    minus_g = (p256.GX, -p256.GY % p256.P, 1)
    assert p256.affine(p256.mixed_add(minus_g, g_affine)) is None


def test_ecdsa_sign_matches_rfc6979_and_verifies():
    d = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
    k = 0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60
    digest = hashlib.sha256(b"sample").digest()
    r, s = p256.ecdsa_sign(d, k, digest)
    assert (r, s) == (
        0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
        0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8,
    )
    public = ec.derive_private_key(d, ec.SECP256R1()).public_key()
    public.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    with pytest.raises(ValueError, match=r"\[1, n\)"):
        p256.ecdsa_sign(0, k, digest)
    with pytest.raises(ValueError, match="32 bytes"):
        p256.ecdsa_sign(d, k, digest[:31])


def _cryptography_verifies(d, digest, r, s):
    public = ec.derive_private_key(d, ec.SECP256R1()).public_key()
    try:
        public.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except Exception:  # InvalidSignature
        return False
    return True


@pytest.mark.parametrize("seed", range(6))
def test_ecdsa_verify_agrees_with_cryptography(seed):
    rng = random.Random(seed)
    d = rng.randrange(1, p256.N)
    digest = rng.randbytes(32)
    r, s = p256.ecdsa_sign(d, rng.randrange(1, p256.N), digest)
    q = public_point(d)
    other = rng.randrange(1, p256.N)
    cases = [
        (q, digest, r, s),  # good
        (q, digest[::-1], r, s),  # another digest
        (q, digest, r, (s + 1) % p256.N or 1),  # another s
        (q, digest, (r + 1) % p256.N or 1, s),  # another r
        (public_point(other), digest, r, s),  # another key
    ]
    for point, h, rr, ss in cases:
        expected = _cryptography_verifies(d if point == q else other, h, rr, ss)
        assert p256.ecdsa_verify(point, h, rr, ss) is expected
    assert p256.ecdsa_verify(q, digest, r, s) is True
    assert p256.ecdsa_verify(q, digest, 0, s) is False
    assert p256.ecdsa_verify(q, digest, r, p256.N) is False


def test_double_scalar_mult_matches_cryptography():
    rng = random.Random(7)
    big = rng.randrange(p256.N), rng.randrange(p256.N)
    for u1, u2, d in [(1, 0, 5), (0, 1, 5), (3, 4, 1), (*big, 99), (*big, p256.N - 2)]:
        q = public_point(d)
        gq = p256.affine(p256.complete_add((p256.GX, p256.GY, 1), (*q, 1)))
        expected = public_point((u1 + u2 * d) % p256.N)
        assert p256.affine(p256.double_scalar_mult(u1, u2, q, gq)) == expected
