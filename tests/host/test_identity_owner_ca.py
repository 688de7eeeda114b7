"""The owner CA: its certificate profile and its PEM files, with every refusal's message."""

import datetime
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.identity import (
    IdentityError,
    build_device_request,
    create_owner_ca,
    issue_device_certificate,
    load_owner_ca,
    write_owner_ca,
)
from ropuf.spec.errors import RopufError
from tests.drivers.identity_device import BUILD_ID, T0, SoftwareDevice

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def ca():
    return create_owner_ca("Owner A", now=T0)


def test_certificate_profile(ca):
    certificate = ca.certificate
    assert ca.name == "Owner A"
    assert certificate.subject == certificate.issuer
    assert certificate.not_valid_before_utc == T0
    assert certificate.not_valid_after_utc - T0 == datetime.timedelta(days=20 * 365)
    certificate.verify_directly_issued_by(certificate)  # self-signed
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(certificate.public_key().curve, ec.SECP256R1)
    assert certificate.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    extensions = certificate.extensions
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(certificate.public_key())
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert "key=" not in repr(ca)


def test_two_cas_have_different_keys():
    first, second = create_owner_ca("Owner A", now=T0), create_owner_ca("Owner A", now=T0)
    assert first.certificate.public_key() != second.certificate.public_key()
    assert first.certificate.serial_number != second.certificate.serial_number


@pytest.mark.parametrize("name", ["", "x" * 65, "line\nbreak", 7])
def test_bad_names_refused(name):
    with pytest.raises(IdentityError, match="an owner name must be 1 to 64 printable characters"):
        create_owner_ca(name)


def test_naive_time_and_bad_lifetime_refused():
    with pytest.raises(IdentityError, match="aware datetime"):
        create_owner_ca("Owner A", now=datetime.datetime(2027, 1, 1))
    with pytest.raises(IdentityError, match="positive"):
        create_owner_ca("Owner A", lifetime=datetime.timedelta(0))


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE, PASSPHRASE.encode()])
def test_round_trip(ca, tmp_path, passphrase):
    key_path, cert_path = tmp_path / "owner-ca.key", tmp_path / "owner-ca.pem"
    write_owner_ca(ca, key_path, cert_path, passphrase=passphrase)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key_text = key_path.read_bytes()
    encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in key_text
    assert encrypted == (passphrase is not None)
    loaded = load_owner_ca(key_path, cert_path, passphrase=passphrase)
    assert loaded.certificate == ca.certificate
    assert loaded.key.private_numbers() == ca.key.private_numbers()


def test_never_overwrites(ca, tmp_path):
    key_path, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    cert_path.write_bytes(b"precious")
    with pytest.raises(IdentityError, match="refusing to overwrite"):
        write_owner_ca(ca, key_path, cert_path)
    assert not key_path.exists() and cert_path.read_bytes() == b"precious"
    key_path.write_bytes(b"precious too")
    cert_path.unlink()
    with pytest.raises(IdentityError, match="refusing to overwrite"):
        write_owner_ca(ca, key_path, cert_path)
    assert key_path.read_bytes() == b"precious too" and not cert_path.exists()


def test_empty_passphrase_refused(ca, tmp_path):
    with pytest.raises(IdentityError, match="non-empty"):
        write_owner_ca(ca, tmp_path / "k", tmp_path / "c", passphrase="")


@pytest.fixture
def files(ca, tmp_path):
    key_path, cert_path = tmp_path / "owner-ca.key", tmp_path / "owner-ca.pem"
    write_owner_ca(ca, key_path, cert_path, passphrase=PASSPHRASE)
    plain_key = tmp_path / "plain.key"
    write_owner_ca(ca, plain_key, tmp_path / "plain.pem")
    return key_path, cert_path, plain_key


def _refusal(key_path, cert_path, passphrase=None) -> str:
    with pytest.raises(IdentityError) as info:
        load_owner_ca(key_path, cert_path, passphrase=passphrase)
    assert isinstance(info.value, RopufError)
    message = str(info.value)
    assert PASSPHRASE not in message and "PRIVATE KEY" not in message
    return message


def test_missing_files(files, tmp_path):
    key_path, cert_path, _ = files
    assert "new-owner-ca" in _refusal(tmp_path / "none.key", cert_path, PASSPHRASE)
    assert "no owner CA certificate file" in _refusal(key_path, tmp_path / "none.pem", PASSPHRASE)


def test_passphrase_refusals(files):
    key_path, cert_path, plain_key = files
    assert "is encrypted: give its passphrase" in _refusal(key_path, cert_path)
    assert "wrong passphrase" in _refusal(key_path, cert_path, "not it")
    assert "is not encrypted" in _refusal(plain_key, cert_path, PASSPHRASE)


def test_corrupt_files(files, tmp_path):
    key_path, cert_path, plain_key = files
    damaged = tmp_path / "damaged.key"
    text = bytearray(plain_key.read_bytes())
    text[60:64] = b"!!!!"
    damaged.write_bytes(bytes(text))
    assert "is not a PEM private key" in _refusal(damaged, cert_path)
    damaged_encrypted = tmp_path / "damaged-encrypted.key"
    text = bytearray(key_path.read_bytes())
    text[100:104] = b"AAAA" if text[100:104] != b"AAAA" else b"BBBB"
    damaged_encrypted.write_bytes(bytes(text))
    assert "or the file is damaged" in _refusal(damaged_encrypted, cert_path, PASSPHRASE)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    assert "is not a PEM certificate" in _refusal(plain_key, garbage)


def test_mismatched_pair_refused(files, tmp_path):
    _, cert_path, _ = files
    other = create_owner_ca("Owner A", now=T0)
    write_owner_ca(other, tmp_path / "other.key", tmp_path / "other.pem")
    assert "belong to different owner CAs" in _refusal(tmp_path / "other.key", cert_path)


def test_other_kinds_of_key_and_certificate_refused(files, tmp_path):
    _, cert_path, plain_key = files
    ed_key = tmp_path / "ed25519.key"
    ed_key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert "ECDSA P-256" in _refusal(ed_key, cert_path)
    # a device certificate is no CA certificate
    ca = load_owner_ca(plain_key, tmp_path / "plain.pem")
    device = SoftwareDevice()
    request = build_device_request("board-7", device.point, device.sign)
    leaf = issue_device_certificate(ca, request, BUILD_ID, now=T0)
    leaf_path = tmp_path / "leaf.pem"
    leaf_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    assert "is not a CA certificate" in _refusal(plain_key, leaf_path)
