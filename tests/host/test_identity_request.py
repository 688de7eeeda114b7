"""The PKCS #10 request a device signs: built with asn1crypto, read back with cryptography."""

import hashlib

import pytest
from asn1crypto import csr as asn1_csr
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from ropuf.host.identity import (
    IdentityError,
    Reason,
    RefusedError,
    build_device_request,
    check_device_request,
)
from ropuf.host.identity.request import request_info
from ropuf.spec import p256
from tests.drivers.identity_device import ReferenceDevice, SoftwareDevice


@pytest.fixture(scope="module")
def device():
    return SoftwareDevice()


def test_request_reads_back_with_cryptography(device):
    signed = []

    def sign(digest):
        signed.append(digest)
        return device.sign(digest)

    der = build_device_request("board-7", device.point, sign)
    request = x509.load_der_x509_csr(der)
    assert request.is_signature_valid
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "board-7"
    assert request.public_key() == device.key.public_key()
    assert request.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    assert len(request.attributes) == 0
    # the device signed SHA-256 of exactly the info cryptography reads
    assert signed == [hashlib.sha256(request.tbs_certrequest_bytes).digest()]
    assert request.tbs_certrequest_bytes == request_info("board-7", device.point).dump()
    assert check_device_request(der, device_id="board-7", point=device.point) == request


def test_reference_model_signs_a_request():
    """The repository's P-256 model (the fabric's arithmetic) as the device signer."""
    device = ReferenceDevice()
    der = build_device_request("die-42", device.point, device.sign)
    request = x509.load_der_x509_csr(der)
    assert request.is_signature_valid
    assert (
        request.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        == device.point
    )


def test_signer_with_another_key_refused(device):
    impostor = SoftwareDevice()
    with pytest.raises(RefusedError) as info:
        build_device_request("board-7", device.point, impostor.sign)
    assert info.value.reason is Reason.BAD_REQUEST_SIGNATURE


def test_mismatched_key_or_id_refused(device):
    der = build_device_request("board-7", device.point, device.sign)
    with pytest.raises(RefusedError, match="another public key") as info:
        check_device_request(der, point=SoftwareDevice().point)
    assert info.value.reason is Reason.KEY_MISMATCH
    with pytest.raises(RefusedError, match="'board-8'") as info:
        check_device_request(der, device_id="board-8")
    assert info.value.reason is Reason.KEY_MISMATCH


def test_tampered_request_refused(device):
    der = build_device_request("board-7", device.point, device.sign)
    # another device id of the same length: still parses, no longer matches the signature
    tampered = der.replace(b"board-7", b"board-8")
    assert tampered != der
    with pytest.raises(RefusedError) as info:
        check_device_request(tampered)
    assert info.value.reason is Reason.BAD_REQUEST_SIGNATURE


def test_every_byte_change_refused(device):
    der = build_device_request("board-7", device.point, device.sign)
    for index in range(len(der)):
        tampered = bytearray(der)
        tampered[index] ^= 0x01
        with pytest.raises(RefusedError):
            check_device_request(bytes(tampered), device_id="board-7", point=device.point)


def test_corrupt_request_refused():
    with pytest.raises(RefusedError) as info:
        check_device_request(b"\x30\x03\x02\x01\x00")
    assert info.value.reason is Reason.CORRUPT


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (b"\x04" + bytes(64), "not a point on P-256"),
        (b"\x02" + bytes(64), "uncompressed P-256 point"),
        (bytes(33), "uncompressed P-256 point"),
        ("04" * 65, "uncompressed P-256 point"),
    ],
)
def test_bad_points_refused(point, message):
    with pytest.raises(IdentityError, match=message):
        build_device_request("board-7", point, lambda digest: (1, 1))


@pytest.mark.parametrize("signature", [(0, 1), (1, p256.N), (1,), "rs", (1.0, 2), (True, 1)])
def test_bad_signer_answers_refused(device, signature):
    with pytest.raises(IdentityError, match=r"two integers r, s in \[1, n\)"):
        build_device_request("board-7", device.point, lambda digest: signature)


@pytest.mark.parametrize("device_id", ["", "d" * 65, "tab\there", None])
def test_bad_device_ids_refused(device, device_id):
    with pytest.raises(IdentityError, match="a device id must be 1 to 64 printable characters"):
        build_device_request(device_id, device.point, device.sign)


def test_request_info_is_version_0_with_no_attributes(device):
    info = asn1_csr.CertificationRequestInfo.load(request_info("board-7", device.point).dump())
    assert info["version"].native == "v1"  # asn1crypto's name for the value 0
    assert info["attributes"].native == []
    assert info["subject_pk_info"]["public_key"].native == device.point


def _with_one_unused_bit(der: bytes, signature: bytes) -> bytes:
    """*der* with its signature BIT STRING's unused-bits count set to 1 (same bytes)."""
    assert signature[-1] & 1 == 0
    tail = b"\x00" + signature
    assert der.endswith(tail)
    return der[: -len(tail)] + b"\x01" + signature


def test_signature_bit_string_with_unused_bits_refused(device):
    """cryptography ignores the count; a request re-encoded that way still verifies there."""
    while True:
        der = build_device_request("board-7", device.point, device.sign)
        signature = x509.load_der_x509_csr(der).signature
        if signature[-1] & 1 == 0:
            break
    altered = _with_one_unused_bit(der, signature)
    assert x509.load_der_x509_csr(altered).is_signature_valid  # the leniency exists
    with pytest.raises(RefusedError, match="whole bytes") as info:
        check_device_request(altered)
    assert info.value.reason is Reason.CORRUPT
