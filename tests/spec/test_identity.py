"""The identity reference (spec/identity.py) against cryptography and RFC 6979 A.2.5."""

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from ropuf.spec import identity, p256
from ropuf.spec.kdf_labels import IDENTITY_LABEL

#: RFC 6979 A.2.5: the P-256 key; SHA-256 nonces and signatures of "sample" and "test".
RFC_KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC_VECTORS = {
    b"sample": (
        0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60,
        0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
        0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8,
    ),
    b"test": (
        0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0,
        0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
        0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083,
    ),
}


@pytest.mark.parametrize("message", sorted(RFC_VECTORS))
def test_rfc6979_a25(message):
    k, r, s = RFC_VECTORS[message]
    h = hashlib.sha256(message).digest()
    assert identity.rfc6979_nonce(RFC_KEY, h) == k
    assert identity.sign(RFC_KEY, h) == r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_signatures_equal_cryptography_deterministic_ecdsa():
    for _ in range(8):
        master = os.urandom(32)
        d = identity.identity_scalar(master)
        key = ec.derive_private_key(d, ec.SECP256R1())
        h = os.urandom(32)
        algorithm = ec.ECDSA(Prehashed(hashes.SHA256()), deterministic_signing=True)
        r, s = decode_dss_signature(key.sign(h, algorithm))
        signature = identity.sign(d, h)
        assert signature == r.to_bytes(32, "big") + s.to_bytes(32, "big")
        key.public_key().verify(encode_dss_signature(r, s), h, ec.ECDSA(Prehashed(hashes.SHA256())))
        numbers = key.public_key().public_numbers()
        assert identity.public_key(d) == (numbers.x, numbers.y)
        encoded = identity.encode_public_key((numbers.x, numbers.y))
        assert encoded == key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        assert identity.decode_public_key(encoded) == (numbers.x, numbers.y)


def test_identity_scalar_is_fips_a21_over_hkdf_expand():
    master = bytes(range(32))
    c = HKDFExpand(hashes.SHA256(), identity.C_BYTES, IDENTITY_LABEL).derive(master)
    expected = int.from_bytes(c, "big") % (p256.N - 1) + 1
    assert identity.identity_scalar(master) == expected
    assert 1 <= expected < p256.N
    with pytest.raises(ValueError, match="32 bytes"):
        identity.identity_scalar(master[:31])


def test_first_nonce_out_of_range_is_a_fault(monkeypatch):
    monkeypatch.setattr(identity, "rfc6979_nonce", lambda d, h: p256.N)
    assert identity.sign(RFC_KEY, bytes(32)) is None
    monkeypatch.setattr(identity, "rfc6979_nonce", lambda d, h: 0)
    assert identity.sign(RFC_KEY, bytes(32)) is None


def test_sign_request_formats_and_attestation_digest():
    helper, nonce = b"record bytes", bytes(range(32))
    payload = identity.encode_sign_request(identity.SignDomain.ATTESTATION, nonce)
    assert payload == b"\x01" + nonce
    assert identity.decode_sign_request(payload) == (identity.SignDomain.ATTESTATION, nonce)
    expected = hashlib.sha256(
        identity.SIGN_ATTEST_LABEL + hashlib.sha256(helper).digest() + nonce
    ).digest()
    assert identity.sign_request_digest(identity.SignDomain.ATTESTATION, nonce, helper) == (
        expected
    )
    assert identity.sign_request_digest(identity.SignDomain.GENERIC, nonce, helper) == nonce
    assert len(identity.SIGN_ATTEST_LABEL) == 16
    with pytest.raises(ValueError, match="domain byte 0x07"):
        identity.decode_sign_request(b"\x07" + nonce)
    with pytest.raises(ValueError, match="33 bytes"):
        identity.decode_sign_request(b"\x01" + nonce[:5])
    with pytest.raises(ValueError, match="not on P-256"):
        identity.decode_public_key(b"\x04" + bytes(64))
    with pytest.raises(ValueError, match="uncompressed"):
        identity.decode_public_key(b"\x02" + bytes(32))


def test_the_key_n_minus_1_signs_nothing():
    # Q = -G: G + Q, which the device's verification adds, is infinity; the device answers
    # FAULT for every digest, and the reference says so (probability of such a d: 2^-256).
    assert identity.sign(p256.N - 1, bytes(range(32))) is None
    assert identity.sign(p256.N - 2, bytes(range(32))) is not None
