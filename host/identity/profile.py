"""The certificate profile's constants: object identifiers, lifetimes, and the device's key.

ropuf's private object identifiers live under ``2.25.193626153399070040139395244662857232875``
(:data:`ROPUF_ARC`), an OID made from a UUID (ITU-T X.667 | ISO/IEC 9834-8: whoever generates
the UUID owns the arc, no registration needed). Under it, ``.1`` holds certificate extensions;
``.1.1`` (:data:`BUILD_ID_OID`) is the device's build id, an OCTET STRING of the 8 bytes INFO
reports (:attr:`ropuf.spec.device_config.DeviceConfig.build_id`), non-critical.

A device's public key travels as IDENTITY answers it: the uncompressed SEC 1 point
``04 || x || y`` (:data:`POINT_BYTES` = 65 bytes) on P-256.
"""

import datetime
import hashlib

from asn1crypto import core
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import IdentityError, Reason, RefusedError

__all__ = [
    "BUILD_ID_BYTES",
    "BUILD_ID_OID",
    "DEFAULT_CA_LIFETIME",
    "DEFAULT_DEVICE_LIFETIME",
    "MAX_DEVICE_ID_CHARS",
    "PARSE_ERRORS",
    "POINT_BYTES",
    "ROPUF_ARC",
    "build_id_extension",
    "build_id_of",
    "check_device_id",
    "check_signature_encoding",
    "fingerprint",
    "point_of",
    "public_key_of",
    "utc",
]

#: ropuf's private OID arc (a UUID OID, X.667).
ROPUF_ARC = "2.25.193626153399070040139395244662857232875"
#: The device certificate's build id extension (non-critical, OCTET STRING of 8 bytes).
BUILD_ID_OID = x509.ObjectIdentifier(ROPUF_ARC + ".1.1")
#: Bytes of a build id (INFO's).
BUILD_ID_BYTES = 8
#: Bytes of an uncompressed P-256 point: 0x04, x, y.
POINT_BYTES = 65
#: Longest device id: X.520's upper bound for a common name.
MAX_DEVICE_ID_CHARS = 64
#: What ``cryptography`` raises for a damaged encoding, as it parses (lazily, field by field).
PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
#: An owner CA's validity unless told otherwise.
DEFAULT_CA_LIFETIME = datetime.timedelta(days=20 * 365)
#: A device certificate's validity unless told otherwise (never beyond the owner CA's end).
DEFAULT_DEVICE_LIFETIME = datetime.timedelta(days=10 * 365)


def utc(now: datetime.datetime | None) -> datetime.datetime:
    """*now* (a timezone-aware time) in UTC, or the current time; naive times are refused."""
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if now.tzinfo is None:
        raise IdentityError("give the time as an aware datetime (for example with tzinfo=UTC)")
    return now.astimezone(datetime.UTC)


def check_device_id(device_id: object, what: str = "a device id") -> str:
    """*device_id* if it can be a certificate's subject (1 to 64 printable characters); *what*
    names it in the error (an owner name is checked the same way)."""
    if (
        not isinstance(device_id, str)
        or not 1 <= len(device_id) <= MAX_DEVICE_ID_CHARS
        or not device_id.isprintable()
    ):
        raise IdentityError(
            f"{what} must be 1 to {MAX_DEVICE_ID_CHARS} printable characters, not {device_id!r}"
        )
    return device_id


def public_key_of(point: bytes) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of an uncompressed *point* (65 bytes, as IDENTITY answers)."""
    if not isinstance(point, bytes) or len(point) != POINT_BYTES or point[0] != 0x04:
        raise IdentityError(
            f"a device public key is an uncompressed P-256 point: {POINT_BYTES} bytes "
            "starting with 0x04 (the IDENTITY answer)"
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise IdentityError(
            "the device public key is not a point on P-256: read IDENTITY again"
        ) from None


def point_of(key: object) -> bytes:
    """The uncompressed point (65 bytes) of a P-256 public key; :class:`RefusedError` (PROFILE)
    for any other kind of key."""
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise RefusedError(Reason.PROFILE, "the key is not an ECDSA P-256 key")
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def check_signature_encoding(der: bytes, signature: bytes, what: str) -> None:
    """:class:`RefusedError` CORRUPT unless *der* (a signed certificate or request) ends with
    its *signature* as a BIT STRING of whole bytes.

    ``cryptography`` reads a signature BIT STRING's bytes and ignores its unused-bits count, so
    setting that count to 1 (when the last bit is 0, half of all signatures) gives another DER
    encoding, and so another fingerprint, that still verifies: refused here.
    """
    if not der.endswith(core.OctetBitString(signature).dump()):
        raise RefusedError(
            Reason.CORRUPT,
            f"the {what}'s signature is not a BIT STRING of whole bytes: the encoding was altered",
        )


def fingerprint(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER encoding: the fingerprint revocation lists may name."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()


def build_id_extension(build_id: bytes) -> x509.UnrecognizedExtension:
    """The build id extension's value for *build_id* (8 bytes)."""
    if not isinstance(build_id, bytes) or len(build_id) != BUILD_ID_BYTES:
        raise IdentityError(f"a build id is {BUILD_ID_BYTES} bytes (INFO's build id)")
    return x509.UnrecognizedExtension(BUILD_ID_OID, core.OctetString(build_id).dump())


def build_id_of(certificate: x509.Certificate) -> bytes:
    """The build id a device certificate carries; :class:`RefusedError` (PROFILE) if it has none or
    a malformed one."""
    try:
        value = certificate.extensions.get_extension_for_oid(BUILD_ID_OID).value
    except x509.ExtensionNotFound:
        raise RefusedError(Reason.PROFILE, "the certificate has no build id extension") from None
    try:
        build_id = core.OctetString.load(value.value, strict=True).native
    except ValueError:
        build_id = None
    if not isinstance(build_id, bytes) or len(build_id) != BUILD_ID_BYTES:
        raise RefusedError(Reason.PROFILE, "the certificate's build id extension is malformed")
    return build_id
