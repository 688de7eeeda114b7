"""Device certificates: issue, verify (chain, revocation, validity), signature attestation and
transfer, each refusal with its reason."""

import datetime
import hashlib

import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from ropuf.host.identity import (
    BUILD_ID_OID,
    CertificateVerifier,
    IdentityError,
    Reason,
    RefusedError,
    Revocations,
    build_device_request,
    create_owner_ca,
    fingerprint,
    issue_device_certificate,
    load_certificate,
    transfer_device_certificate,
    verify_device_certificate,
    verify_signature,
)
from ropuf.spec import p256
from tests.drivers.identity_device import BUILD_ID, T0, ReferenceDevice, SoftwareDevice

DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def ca():
    return create_owner_ca("Owner A", now=T0 - DAY)


@pytest.fixture(scope="module")
def device():
    return SoftwareDevice()


@pytest.fixture(scope="module")
def certificate(ca, device):
    request = build_device_request("board-7", device.point, device.sign)
    return issue_device_certificate(
        ca, request, BUILD_ID, lifetime=datetime.timedelta(days=365), now=T0
    )


def _reason(call, *args, **kwargs) -> Reason:
    with pytest.raises(RefusedError) as info:
        call(*args, **kwargs)
    assert str(info.value).startswith(info.value.reason.value + ": ")
    return info.value.reason


def test_profile(ca, device, certificate):
    assert certificate.subject.rfc4514_string() == "CN=board-7"
    assert certificate.issuer == ca.certificate.subject
    assert certificate.public_key() == device.key.public_key()
    assert certificate.not_valid_before_utc == T0
    assert certificate.not_valid_after_utc == T0 + datetime.timedelta(days=365)
    assert certificate.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    assert 0 < certificate.serial_number < 2**159
    certificate.verify_directly_issued_by(ca.certificate)
    extensions = certificate.extensions
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.key_agreement)
    assert not (usage.value.content_commitment or usage.value.key_encipherment)
    ski = extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert ski.value == x509.SubjectKeyIdentifier.from_public_key(device.key.public_key())
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    build_id = extensions.get_extension_for_oid(BUILD_ID_OID)
    assert not build_id.critical
    assert core.OctetString.load(build_id.value.value).native == BUILD_ID
    assert BUILD_ID_OID.dotted_string.startswith("2.25.")


def test_verified_device(device, certificate, ca):
    verified = verify_device_certificate(certificate, ca.certificate, now=T0 + DAY)
    assert verified.device_id == "board-7"
    assert verified.build_id == BUILD_ID
    assert verified.point == device.point
    assert verified.serial == certificate.serial_number
    assert (
        verified.fingerprint
        == hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()
    )


def test_lifetime_cut_at_the_ca_end(device):
    short_ca = create_owner_ca("Owner S", lifetime=30 * DAY, now=T0)
    request = build_device_request("board-7", device.point, device.sign)
    leaf = issue_device_certificate(short_ca, request, BUILD_ID, now=T0 + DAY)
    assert leaf.not_valid_after_utc == short_ca.certificate.not_valid_after_utc


def test_issue_refusals(ca, device):
    request = build_device_request("board-7", device.point, device.sign)
    with pytest.raises(IdentityError, match="is not valid at"):
        issue_device_certificate(ca, request, BUILD_ID, now=T0 + 21 * 365 * DAY)
    with pytest.raises(IdentityError, match="8 bytes"):
        issue_device_certificate(ca, request, b"\x01" * 7, now=T0)
    with pytest.raises(IdentityError, match="positive"):
        issue_device_certificate(ca, request, BUILD_ID, lifetime=-DAY, now=T0)
    other = SoftwareDevice()
    assert (
        _reason(issue_device_certificate, ca, request, BUILD_ID, point=other.point, now=T0)
        is Reason.KEY_MISMATCH
    )
    tampered = request.replace(b"board-7", b"board-9")
    assert _reason(issue_device_certificate, ca, tampered, BUILD_ID, now=T0) is (
        Reason.BAD_REQUEST_SIGNATURE
    )


def _der(certificate):
    return certificate.public_bytes(serialization.Encoding.DER)


def test_tampered_public_key_and_subject(certificate, ca, device):
    der = _der(certificate)
    key_at = der.index(device.point)
    tampered = bytearray(der)
    tampered[key_at + 40] ^= 0x01  # a bit of y: the point is no longer on the curve
    with pytest.raises(RefusedError) as info:
        load_certificate(bytes(tampered))
    assert info.value.reason is Reason.CORRUPT
    swapped = der.replace(b"board-7", b"board-8")  # another device id, same length
    assert (
        _reason(verify_device_certificate, load_certificate(swapped), ca.certificate, now=T0)
        is Reason.TAMPERED
    )
    impostor = SoftwareDevice()  # another key in the same place: parses, signature fails
    with_other_key = der.replace(device.point, impostor.point)
    assert (
        _reason(verify_device_certificate, load_certificate(with_other_key), ca.certificate, now=T0)
        is Reason.TAMPERED
    )


def test_every_byte_change_refused(certificate, ca):
    der = _der(certificate)
    reasons = set()
    for index in range(len(der)):
        tampered = bytearray(der)
        tampered[index] ^= 0x01
        with pytest.raises(RefusedError) as info:
            verify_device_certificate(
                load_certificate(bytes(tampered)), ca.certificate, now=T0 + DAY
            )
        reasons.add(info.value.reason)
    # a byte of the issuer or its key id reads as another CA; nothing else gets past
    assert reasons <= {Reason.CORRUPT, Reason.TAMPERED, Reason.OTHER_CA}
    assert Reason.TAMPERED in reasons


def test_another_owners_ca(certificate, device):
    same_name = create_owner_ca("Owner A", now=T0 - DAY)
    with pytest.raises(RefusedError, match=r"key id [0-9a-f]{40}\), not this owner's") as info:
        verify_device_certificate(certificate, same_name.certificate, now=T0)
    assert info.value.reason is Reason.OTHER_CA
    # a certificate the other owner issued for the very same device key
    request = build_device_request("board-7", device.point, device.sign)
    foreign = issue_device_certificate(same_name, request, BUILD_ID, now=T0)
    owner_b = create_owner_ca("Owner B", now=T0 - DAY)
    assert _reason(verify_device_certificate, foreign, owner_b.certificate, now=T0) is (
        Reason.OTHER_CA
    )


def test_expiry_with_a_fixed_clock(certificate, ca):
    end = certificate.not_valid_after_utc
    verify_device_certificate(certificate, ca.certificate, now=end)  # the last valid second
    assert (
        _reason(
            verify_device_certificate,
            certificate,
            ca.certificate,
            now=end + datetime.timedelta(seconds=1),
        )
        is Reason.EXPIRED
    )
    assert (
        _reason(
            verify_device_certificate,
            certificate,
            ca.certificate,
            now=T0 - datetime.timedelta(seconds=1),
        )
        is Reason.NOT_YET_VALID
    )


def test_expired_ca(device):
    short_ca = create_owner_ca("Owner S", lifetime=30 * DAY, now=T0)
    request = build_device_request("board-7", device.point, device.sign)
    leaf = issue_device_certificate(short_ca, request, BUILD_ID, lifetime=10 * DAY, now=T0)
    with pytest.raises(RefusedError, match="the owner CA expired") as info:
        verify_device_certificate(leaf, short_ca.certificate, now=T0 + 31 * DAY)
    assert info.value.reason is Reason.EXPIRED


def test_revoked_serial_and_fingerprint(certificate, ca):
    now = T0 + DAY
    unrelated = Revocations(serials={certificate.serial_number + 1}, fingerprints={bytes(32)})
    verify_device_certificate(certificate, ca.certificate, revocations=unrelated, now=now)
    by_serial = Revocations(serials={certificate.serial_number})
    by_fingerprint = Revocations(fingerprints={fingerprint(certificate)})
    for revocations in (by_serial, by_fingerprint, Revocations().revoke(certificate)):
        assert (
            _reason(
                verify_device_certificate,
                certificate,
                ca.certificate,
                revocations=revocations,
                now=now,
            )
            is Reason.REVOKED
        )


def test_revocation_list_checks_its_entries():
    with pytest.raises(IdentityError, match="positive integers"):
        Revocations(serials={"12"})
    with pytest.raises(IdentityError, match="32-byte"):
        Revocations(fingerprints={b"short"})


def _forge(ca, device, **changes):
    """A certificate the owner CA really signed but with a profile other than ropuf's."""
    public = device.key.public_key()
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    extensions = {
        "constraints": (x509.BasicConstraints(ca=False, path_length=None), True),
        "usage": (
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            True,
        ),
        "ski": (x509.SubjectKeyIdentifier.from_public_key(public), False),
        "aki": (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False),
        "build": (
            x509.UnrecognizedExtension(BUILD_ID_OID, core.OctetString(BUILD_ID).dump()),
            False,
        ),
    }
    extensions.update(changes)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string("CN=board-7"))
        .issuer_name(ca.certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + 10 * DAY)
    )
    for value in extensions.values():
        if value is not None:
            builder = builder.add_extension(*value)
    return builder.sign(ca.key, hashes.SHA256())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"build": None}, "no build id"),
        (
            {"build": (x509.UnrecognizedExtension(BUILD_ID_OID, b"\x04\x01\x00"), False)},
            "malformed",
        ),
        ({"constraints": (x509.BasicConstraints(ca=True, path_length=0), True)}, "CA=false"),
        ({"constraints": None}, "CA=false"),
        (
            {
                "usage": (
                    x509.KeyUsage(True, False, False, False, False, True, False, False, False),
                    True,
                )
            },
            "digitalSignature only",
        ),
        (
            {
                "usage": (
                    x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                    False,
                )
            },
            "digitalSignature only",
        ),
        # the second opinion (cryptography.x509.verification): RFC 5280 critical extensions
        (
            {
                "extra": (
                    x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00"),
                    True,
                )
            },
            "path validation refuses it.*unaccounted-for critical",
        ),
        (
            {
                "build": (
                    x509.UnrecognizedExtension(BUILD_ID_OID, core.OctetString(BUILD_ID).dump()),
                    True,
                )
            },
            "path validation refuses it.*unaccounted-for critical",
        ),
    ],
)
def test_profile_refusals(ca, device, changes, message):
    forged = _forge(ca, device, **changes)
    with pytest.raises(RefusedError, match=message) as info:
        verify_device_certificate(forged, ca.certificate, now=T0 + DAY)
    assert info.value.reason is Reason.PROFILE


def test_forged_profile_passes_when_it_is_ropufs(ca, device):
    """The forger above, unchanged, makes a certificate the verifier accepts: the refusals
    above are each caused by their one change."""
    assert verify_device_certificate(_forge(ca, device), ca.certificate, now=T0).device_id == (
        "board-7"
    )


def _digest(label: bytes) -> bytes:
    return hashlib.sha256(label).digest()


def test_signature_attestation(certificate, ca, device):
    digest = _digest(b"nonce 1")
    r, s = device.sign(digest)
    verify_signature(certificate, digest, r, s)
    assert _reason(verify_signature, certificate, _digest(b"nonce 2"), r, s) is Reason.BAD_SIGNATURE
    assert _reason(verify_signature, certificate, digest, r, (s + 1) % p256.N) is (
        Reason.BAD_SIGNATURE
    )
    other_r, other_s = SoftwareDevice().sign(digest)
    assert _reason(verify_signature, certificate, digest, other_r, other_s) is Reason.BAD_SIGNATURE
    for bad in ((0, s), (r, p256.N), (r, -s)):
        assert _reason(verify_signature, certificate, digest, *bad) is Reason.BAD_SIGNATURE
    assert _reason(verify_signature, certificate, digest[:31], r, s) is Reason.BAD_SIGNATURE


def test_reference_model_end_to_end(ca):
    """The P-256 model as the device: its request, its certificate, its attestation signature
    checked with cryptography's ECDSA."""
    device = ReferenceDevice()
    request = build_device_request("die-42", device.point, device.sign)
    leaf = issue_device_certificate(ca, request, BUILD_ID, now=T0)
    verifier = CertificateVerifier(ca.certificate)
    digest = _digest(b"ropuf attest || record hash || nonce")
    r, s = device.sign(digest)
    verified = verifier.verify_attestation(leaf, digest, r, s, now=T0 + DAY)
    assert verified.point == device.point and verified.device_id == "die-42"
    leaf.public_key().verify(
        utils.encode_dss_signature(r, s), digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))
    )


def test_cached_verifier_still_checks_time_and_revocation(certificate, ca, device):
    verifier = CertificateVerifier(ca.certificate)
    first = verifier.verify(certificate, now=T0 + DAY)
    assert verifier.verify(certificate, now=T0 + 2 * DAY) == first
    assert (
        _reason(
            verifier.verify,
            certificate,
            revocations=Revocations().revoke(certificate),
            now=T0 + DAY,
        )
        is Reason.REVOKED
    )
    assert _reason(verifier.verify, certificate, now=T0 + 400 * DAY) is Reason.EXPIRED
    tampered = load_certificate(_der(certificate).replace(b"board-7", b"board-8"))
    assert _reason(verifier.verify, tampered, now=T0 + DAY) is Reason.TAMPERED
    digest = _digest(b"n")
    r, s = device.sign(digest)
    assert _reason(verifier.verify_attestation, certificate, _digest(b"m"), r, s, now=T0) is (
        Reason.BAD_SIGNATURE
    )


def test_transfer(ca, device, certificate):
    new_ca = create_owner_ca("Owner B", now=T0)
    later = T0 + 10 * DAY
    request = build_device_request("board-7", device.point, device.sign)
    moved = transfer_device_certificate(certificate, new_ca, request, now=later)
    verified = verify_device_certificate(moved, new_ca.certificate, now=later)
    assert verified.point == device.point and verified.build_id == BUILD_ID
    assert verified.device_id == "board-7"
    # the old owner's CA does not vouch for the new certificate, nor the new one for the old
    assert _reason(verify_device_certificate, moved, ca.certificate, now=later) is Reason.OTHER_CA
    assert _reason(verify_device_certificate, certificate, new_ca.certificate, now=later) is (
        Reason.OTHER_CA
    )
    # the old owner lists the old certificate as revoked
    old_owner_list = Revocations().revoke(certificate)
    assert (
        _reason(
            verify_device_certificate,
            certificate,
            ca.certificate,
            revocations=old_owner_list,
            now=later,
        )
        is Reason.REVOKED
    )
    # a request from another key, or for another device id, transfers nothing
    impostor = SoftwareDevice()
    for forged in (
        build_device_request("board-7", impostor.point, impostor.sign),
        build_device_request("board-8", device.point, device.sign),
    ):
        assert _reason(transfer_device_certificate, certificate, new_ca, forged, now=later) is (
            Reason.KEY_MISMATCH
        )
    rebuilt = transfer_device_certificate(
        certificate, new_ca, request, build_id=b"\xff" * 8, now=later
    )
    assert verify_device_certificate(rebuilt, new_ca.certificate, now=later).build_id == (
        b"\xff" * 8
    )


def test_signature_bit_string_with_unused_bits_refused(ca, device):
    """Another encoding of the same signed certificate (another fingerprint, so a revocation
    by fingerprint would miss it) is refused before anything else."""
    request = build_device_request("board-7", device.point, device.sign)
    while True:
        leaf = issue_device_certificate(ca, request, BUILD_ID, now=T0)
        if leaf.signature[-1] & 1 == 0:
            break
    der = _der(leaf)
    assert der.endswith(b"\x00" + leaf.signature)
    altered = der[: -len(leaf.signature) - 1] + b"\x01" + leaf.signature
    lenient = x509.load_der_x509_certificate(altered)
    lenient.verify_directly_issued_by(ca.certificate)  # the leniency exists
    assert fingerprint(lenient) != fingerprint(leaf)
    with pytest.raises(RefusedError, match="whole bytes") as info:
        load_certificate(altered)
    assert info.value.reason is Reason.CORRUPT
    revocations = Revocations(fingerprints={fingerprint(leaf)})
    assert (
        _reason(verify_device_certificate, lenient, ca.certificate, revocations=revocations, now=T0)
        is Reason.CORRUPT
    )
