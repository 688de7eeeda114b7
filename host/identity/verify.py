"""Verifying a device: its certificate chain to the owner CA, revocation, and its signatures.

:func:`verify_device_certificate` takes the checks in an order that names the first thing
wrong (:class:`~.errors.Reason`):

1. the owner CA's certificate: a CA able to sign certificates, valid now (EXPIRED,
   NOT_YET_VALID, PROFILE);
2. the signature of the device certificate under the owner CA's key: if it does not verify,
   OTHER_CA when the certificate names another issuer (issuer name or authority key id),
   TAMPERED when it names this owner CA (altered after issue, or forged);
3. revocation (REVOKED); 4. validity at *now* (EXPIRED, NOT_YET_VALID);
5. the device profile (PROFILE): P-256 key, one common name, CA=false and key usage
   digitalSignature only (both critical), the build id extension;
6. the chain once more through ``cryptography.x509.verification`` (RFC 5280 path validation
   with the web PKI's CA profile and this page's device profile), a second opinion that
   should never disagree (PROFILE if it does).

:func:`verify_signature` checks an ECDSA P-256 / SHA-256 signature ``(r, s)`` over a 32-byte
digest under a certificate's key (BAD_SIGNATURE). :class:`CertificateVerifier` keeps the
signature and profile checks of each certificate it has seen (the expensive part); revocation,
validity and the owner CA's validity are checked on every call.
"""

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

from ropuf.spec.p256 import N

from .errors import Reason, RefusedError
from .profile import (
    PARSE_ERRORS,
    build_id_of,
    check_signature_encoding,
    fingerprint,
    point_of,
    utc,
)
from .revocation import Revocations

__all__ = [
    "NO_REVOCATIONS",
    "CertificateVerifier",
    "VerifiedDevice",
    "verify_device_certificate",
    "verify_signature",
]

_DIGEST_BYTES = 32

#: The empty revocation list.
NO_REVOCATIONS = Revocations()


@dataclass(frozen=True)
class VerifiedDevice:
    """What a verified device certificate says: *device_id*, *build_id*, public key *point*
    (65 bytes), *serial* number, *fingerprint* (SHA-256 of the DER) and *not_after*."""

    device_id: str
    build_id: bytes
    point: bytes
    serial: int
    fingerprint: bytes
    not_after: datetime.datetime


def _extension(certificate: x509.Certificate, kind):
    try:
        return certificate.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _check_time(certificate: x509.Certificate, now: datetime.datetime, what: str) -> None:
    if now < certificate.not_valid_before_utc:
        raise RefusedError(
            Reason.NOT_YET_VALID,
            f"{what} is valid from {certificate.not_valid_before_utc.isoformat()}, "
            f"not at {now.isoformat()}",
        )
    if now > certificate.not_valid_after_utc:
        raise RefusedError(
            Reason.EXPIRED,
            f"{what} expired at {certificate.not_valid_after_utc.isoformat()} "
            f"(checked at {now.isoformat()})",
        )


def _check_ca(ca: x509.Certificate) -> None:
    constraints = _extension(ca, x509.BasicConstraints)
    usage = _extension(ca, x509.KeyUsage)
    if constraints is None or not constraints.value.ca:
        raise RefusedError(Reason.PROFILE, "the owner CA's certificate is not a CA certificate")
    if usage is None or not usage.value.key_cert_sign:
        raise RefusedError(Reason.PROFILE, "the owner CA's key usage does not allow certificates")
    if _extension(ca, x509.SubjectKeyIdentifier) is None:
        raise RefusedError(Reason.PROFILE, "the owner CA's certificate has no subject key id")
    point_of(ca.public_key())


def _check_issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> None:
    ca_key_id = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    authority = _extension(certificate, x509.AuthorityKeyIdentifier)
    key_id = None if authority is None else authority.value.key_identifier
    names_ca = key_id == ca_key_id and certificate.issuer == ca.subject
    try:
        if certificate.signature_algorithm_oid != x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256:
            raise InvalidSignature
        ca.public_key().verify(
            certificate.signature,
            certificate.tbs_certificate_bytes,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, UnsupportedAlgorithm):
        if not names_ca:
            theirs = "none" if key_id is None else key_id.hex()
            raise RefusedError(
                Reason.OTHER_CA,
                f"issued by another CA ({certificate.issuer.rfc4514_string()}, key id "
                f"{theirs}), not this owner's ({ca.subject.rfc4514_string()}, key id "
                f"{ca_key_id.hex()})",
            ) from None
        raise RefusedError(
            Reason.TAMPERED,
            "the certificate names this owner CA but its signature does not verify: "
            "altered after issue, or forged",
        ) from None
    if not names_ca:
        raise RefusedError(
            Reason.PROFILE, "signed by the owner CA but naming another issuer or key id"
        )


def _check_profile(certificate: x509.Certificate) -> VerifiedDevice:
    point = point_of(certificate.public_key())
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or len(certificate.subject) != 1:
        raise RefusedError(Reason.PROFILE, "the subject is not one device id (common name)")
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is None or constraints.value.ca or not constraints.critical:
        raise RefusedError(Reason.PROFILE, "not a device certificate (critical CA=false missing)")
    usage = _extension(certificate, x509.KeyUsage)
    if (
        usage is None
        or not usage.critical
        or not usage.value.digital_signature
        or usage.value.key_cert_sign
        or usage.value.crl_sign
        or usage.value.content_commitment
        or usage.value.key_encipherment
        or usage.value.data_encipherment
        or usage.value.key_agreement
    ):
        raise RefusedError(Reason.PROFILE, "the key usage is not digitalSignature only (critical)")
    return VerifiedDevice(
        device_id=str(names[0].value),
        build_id=build_id_of(certificate),
        point=point,
        serial=certificate.serial_number,
        fingerprint=fingerprint(certificate),
        not_after=certificate.not_valid_after_utc,
    )


_DEVICE_POLICY = (
    verification.ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, verification.Criticality.CRITICAL, None)
    .require_present(x509.KeyUsage, verification.Criticality.CRITICAL, None)
)


def _second_opinion(
    certificate: x509.Certificate, ca: x509.Certificate, now: datetime.datetime
) -> None:
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(now)
        .max_chain_depth(0)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=_DEVICE_POLICY
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, [])
    except verification.VerificationError as exc:
        raise RefusedError(Reason.PROFILE, f"RFC 5280 path validation refuses it: {exc}") from None


def _time_and_revocation(
    certificate: x509.Certificate,
    ca: x509.Certificate,
    revocations: Revocations,
    now: datetime.datetime,
) -> None:
    _check_time(ca, now, "the owner CA")
    if revocations.is_revoked(certificate):
        raise RefusedError(
            Reason.REVOKED,
            f"the owner revoked this certificate (serial {certificate.serial_number:x})",
        )
    _check_time(certificate, now, "the device certificate")


def verify_device_certificate(
    certificate: x509.Certificate,
    ca: x509.Certificate,
    *,
    revocations: Revocations = NO_REVOCATIONS,
    now: datetime.datetime | None = None,
) -> VerifiedDevice:
    """What *certificate* says of its device, once it holds under the owner CA *ca* at *now*
    (the current time if None) and is not in *revocations*; :class:`RefusedError` with the first
    reason it does not (see the module's docstring for the order)."""
    now = utc(now)
    _check_ca(ca)
    _check_time(ca, now, "the owner CA")
    try:
        check_signature_encoding(
            certificate.public_bytes(serialization.Encoding.DER),
            certificate.signature,
            "certificate",
        )
        _check_issued_by(certificate, ca)
        _time_and_revocation(certificate, ca, revocations, now)
        device = _check_profile(certificate)
    except PARSE_ERRORS:  # cryptography parses fields as they are read
        raise RefusedError(Reason.CORRUPT, "the certificate's encoding is damaged") from None
    _second_opinion(certificate, ca, now)
    return device


def verify_signature(certificate: x509.Certificate, digest: bytes, r: int, s: int) -> None:
    """Nothing if ``(r, s)`` is an ECDSA P-256 signature of the SHA-256 *digest* (32 bytes)
    under *certificate*'s key; :class:`RefusedError` BAD_SIGNATURE otherwise."""
    if not isinstance(digest, bytes) or len(digest) != _DIGEST_BYTES:
        raise RefusedError(Reason.BAD_SIGNATURE, f"the signed digest is not {_DIGEST_BYTES} bytes")
    if not all(type(value) is int and 1 <= value < N for value in (r, s)):
        raise RefusedError(Reason.BAD_SIGNATURE, "r and s must be integers in [1, n)")
    key = certificate.public_key()
    point_of(key)
    try:
        key.verify(
            utils.encode_dss_signature(r, s), digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))
        )
    except InvalidSignature:
        raise RefusedError(
            Reason.BAD_SIGNATURE,
            "the signature does not verify under the device's certificate: another key or "
            "another message (nonce)",
        ) from None


class CertificateVerifier:
    """Verifies device certificates under one owner CA, remembering those that held.

    The first :meth:`verify` of a certificate runs every check; later ones of the same
    certificate (by fingerprint) check only the owner CA's validity, revocation and the
    certificate's validity, which change with time and with the list.
    """

    def __init__(self, ca: x509.Certificate) -> None:
        _check_ca(ca)
        self.ca = ca
        self._verified: dict[bytes, VerifiedDevice] = {}

    def verify(
        self,
        certificate: x509.Certificate,
        *,
        revocations: Revocations = NO_REVOCATIONS,
        now: datetime.datetime | None = None,
    ) -> VerifiedDevice:
        """As :func:`verify_device_certificate` under this verifier's owner CA."""
        now = utc(now)
        device = self._verified.get(fingerprint(certificate))
        if device is None:
            device = verify_device_certificate(
                certificate, self.ca, revocations=revocations, now=now
            )
            self._verified[device.fingerprint] = device
            return device
        _time_and_revocation(certificate, self.ca, revocations, now)
        return device

    def verify_attestation(
        self,
        certificate: x509.Certificate,
        digest: bytes,
        r: int,
        s: int,
        *,
        revocations: Revocations = NO_REVOCATIONS,
        now: datetime.datetime | None = None,
    ) -> VerifiedDevice:
        """The verified device if *certificate* holds (:meth:`verify`) and ``(r, s)`` is its
        signature of *digest* (:func:`verify_signature`); :class:`RefusedError` otherwise."""
        device = self.verify(certificate, revocations=revocations, now=now)
        verify_signature(certificate, digest, r, s)
        return device
