"""Device certificates: the owner CA certifies a device's public key from its signed request.

Profile (docs/identity.md, "Owner certificates"): subject ``CN=<device id>``, issuer the owner
CA's subject; a random 159-bit serial number; valid from the time of issue for the given
lifetime, never beyond the owner CA's end; the device's P-256 key; basic constraints CA=false
and key usage digitalSignature only, both critical; subject key id (SHA-1 of the key) and
authority key id (the owner CA's); the build id extension (:data:`~.profile.BUILD_ID_OID`,
non-critical); ECDSA with SHA-256.

A transfer (:func:`transfer_device_certificate`) is an issue by the new owner's CA from a fresh
request, refused unless the request carries the device id and public key of the certificate
the device had: the key never changes, only who vouches for it.
"""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from .errors import IdentityError, Reason, RefusedError
from .owner_ca import OwnerCA
from .profile import DEFAULT_DEVICE_LIFETIME, build_id_extension, build_id_of, point_of, utc
from .request import check_device_request

__all__ = ["issue_device_certificate", "transfer_device_certificate"]

_DIGITAL_SIGNATURE_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def issue_device_certificate(
    ca: OwnerCA,
    request: bytes,
    build_id: bytes,
    *,
    device_id: str | None = None,
    point: bytes | None = None,
    lifetime: datetime.timedelta = DEFAULT_DEVICE_LIFETIME,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """The device certificate *ca* issues for the DER PKCS #10 *request*, carrying *build_id*
    (8 bytes), valid from *now* for *lifetime* (cut at the CA's end of validity).

    The request is checked first (:func:`~.request.check_device_request`, with *device_id* and
    *point* when given): :class:`RefusedError` if it does not hold. :class:`IdentityError` if the
    owner CA is not valid at *now* or the lifetime is not positive.
    """
    if lifetime <= datetime.timedelta(0):
        raise IdentityError("a device certificate's lifetime must be positive")
    extension = build_id_extension(build_id)
    checked = check_device_request(request, device_id=device_id, point=point)
    start = utc(now).replace(microsecond=0)
    ca_certificate = ca.certificate
    if not ca_certificate.not_valid_before_utc <= start < ca_certificate.not_valid_after_utc:
        raise IdentityError(
            f"the owner CA {ca.name!r} is not valid at {start.isoformat()} (valid "
            f"{ca_certificate.not_valid_before_utc.isoformat()} to "
            f"{ca_certificate.not_valid_after_utc.isoformat()}): make a new owner CA"
        )
    end = min(start + lifetime, ca_certificate.not_valid_after_utc)
    public = checked.public_key()
    ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(checked.subject)
        .issuer_name(ca_certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_DIGITAL_SIGNATURE_ONLY, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(extension, critical=False)
        .sign(ca.key, hashes.SHA256())
    )


def transfer_device_certificate(
    old: x509.Certificate,
    new_ca: OwnerCA,
    request: bytes,
    *,
    build_id: bytes | None = None,
    lifetime: datetime.timedelta = DEFAULT_DEVICE_LIFETIME,
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """The certificate *new_ca* issues to the device that held *old*, from the device's fresh
    *request* (same device id, same public key: :class:`RefusedError` KEY_MISMATCH otherwise), with
    *old*'s build id unless another *build_id* is given (the device was rebuilt). The caller
    records *old* as revoked in the previous owner's list."""
    names = old.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise RefusedError(Reason.PROFILE, "the old certificate's subject is not one device id")
    return issue_device_certificate(
        new_ca,
        request,
        build_id_of(old) if build_id is None else build_id,
        device_id=str(names[0].value),
        point=point_of(old.public_key()),
        lifetime=lifetime,
        now=now,
    )
