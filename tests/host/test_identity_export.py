"""Certificate files: PEM chains, and `openssl verify -CAfile` accepting them (where openssl
exists) and refusing another owner's, tampered and expired ones."""

import datetime
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ropuf.host.identity import (
    IdentityError,
    Reason,
    RefusedError,
    build_device_request,
    chain_pem,
    create_owner_ca,
    issue_device_certificate,
    read_certificate_file,
    verify_device_certificate,
    write_chain,
)
from tests.drivers.identity_device import BUILD_ID, T0, SoftwareDevice

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="no openssl binary on PATH")
#: When openssl checks (its -attime): a day after issue, the tests' fixed clock.
CHECK_AT = T0 + datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def ca():
    return create_owner_ca("Owner A", now=T0 - datetime.timedelta(days=1))


@pytest.fixture(scope="module")
def device():
    return SoftwareDevice()


@pytest.fixture(scope="module")
def request_der(device):
    return build_device_request("board-7", device.point, device.sign)


@pytest.fixture(scope="module")
def leaf(ca, request_der):
    return issue_device_certificate(
        ca, request_der, BUILD_ID, lifetime=datetime.timedelta(days=30), now=T0
    )


def _pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_chain_file_round_trip(ca, leaf, tmp_path):
    path = tmp_path / "board-7.pem"
    write_chain(path, leaf, ca.certificate)
    assert path.read_bytes() == _pem(leaf) + _pem(ca.certificate)
    assert x509.load_pem_x509_certificates(path.read_bytes()) == [leaf, ca.certificate]
    assert read_certificate_file(path) == leaf  # the first of the chain
    der = tmp_path / "board-7.der"
    der.write_bytes(leaf.public_bytes(serialization.Encoding.DER))
    assert read_certificate_file(der) == leaf
    verify_device_certificate(read_certificate_file(path), ca.certificate, now=CHECK_AT)


def test_file_errors(tmp_path):
    with pytest.raises(IdentityError, match="cannot read the certificate file"):
        read_certificate_file(tmp_path / "none.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(RefusedError) as info:
        read_certificate_file(garbage)
    assert info.value.reason is Reason.CORRUPT
    with pytest.raises(IdentityError, match="cannot write the certificate chain"):
        write_chain(tmp_path / "no-such-dir" / "x.pem", *_two_certificates())


def _two_certificates():
    ca = create_owner_ca("Owner Z", now=T0)
    device = SoftwareDevice()
    request = build_device_request("z", device.point, device.sign)
    return issue_device_certificate(ca, request, BUILD_ID, now=T0), ca.certificate


def _openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OPENSSL, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def _verify(tmp_path, ca_certificate, chain: bytes, *options: str, at=CHECK_AT):
    ca_file, chain_file = tmp_path / "ca.pem", tmp_path / "chain.pem"
    ca_file.write_bytes(_pem(ca_certificate))
    chain_file.write_bytes(chain)
    return _openssl(
        "verify",
        "-x509_strict",
        "-attime",
        str(int(at.timestamp())),
        *options,
        "-CAfile",
        str(ca_file),
        str(chain_file),
    )


@needs_openssl
def test_openssl_accepts_the_chain(ca, leaf, tmp_path):
    result = _verify(tmp_path, ca.certificate, chain_pem(leaf, ca.certificate))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": OK")
    # the chain file's device certificate through -untrusted, as a TLS peer would send it
    chain_file = tmp_path / "chain.pem"
    result = _verify(tmp_path, ca.certificate, _pem(leaf), "-untrusted", str(chain_file))
    assert result.returncode == 0, result.stderr


@needs_openssl
def test_openssl_refuses_another_owner_tampered_and_expired(ca, leaf, tmp_path):
    other = create_owner_ca("Owner A", now=T0 - datetime.timedelta(days=1))
    assert _verify(tmp_path, ca.certificate, chain_pem(leaf, ca.certificate)).returncode == 0
    refused = _verify(tmp_path, other.certificate, chain_pem(leaf, ca.certificate))
    assert refused.returncode != 0 and "unable to get local issuer" in refused.stderr
    der = leaf.public_bytes(serialization.Encoding.DER)
    tampered = x509.load_der_x509_certificate(der.replace(b"board-7", b"board-8"))
    refused = _verify(tmp_path, ca.certificate, _pem(tampered))
    assert refused.returncode != 0 and "signature failure" in refused.stdout + refused.stderr
    late = leaf.not_valid_after_utc + datetime.timedelta(seconds=1)
    expired = _verify(tmp_path, ca.certificate, chain_pem(leaf, ca.certificate), at=late)
    assert expired.returncode != 0 and "expired" in expired.stdout + expired.stderr


@needs_openssl
def test_openssl_reads_the_request_and_the_profile(ca, leaf, request_der, tmp_path):
    request_file = tmp_path / "request.pem"
    request = x509.load_der_x509_csr(request_der)
    request_file.write_bytes(request.public_bytes(serialization.Encoding.PEM))
    result = _openssl("req", "-in", str(request_file), "-verify", "-noout")
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stdout + result.stderr
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(_pem(leaf))
    text = _openssl("x509", "-in", str(leaf_file), "-noout", "-text").stdout
    assert "Subject: CN = board-7" in text
    assert "X509v3 Key Usage: critical\n                Digital Signature\n" in text
    assert "CA:FALSE" in text
    assert "ASN1 OID: prime256v1" in text
