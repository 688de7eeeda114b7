"""The device's certificate request: PKCS #10 built with ``asn1crypto``, signed by the device.

The host builds the CertificationRequestInfo (RFC 2986: version 0, subject ``CN=<device id>``,
the device's P-256 public key as IDENTITY reports it, no attributes), hashes its DER encoding
with SHA-256, and hands the digest to a ``sign(digest) -> (r, s)`` callable: the device's SIGN
command (the generic domain, which signs the digest as given), or a software key in tests. The
request carries ``ecdsa-with-SHA256`` and the signature as DER ``ECDSA-Sig-Value``.

:func:`check_device_request` reads a request back with ``cryptography`` and refuses it unless its
signature verifies under the key it carries, that key is P-256, and (when told) the key and the
device id are the expected ones: a request a device signs proves it holds the private key.
"""

import hashlib
from collections.abc import Callable

from asn1crypto import algos, csr, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID

from ropuf.spec.p256 import N

from .errors import IdentityError, Reason, RefusedError
from .profile import (
    PARSE_ERRORS,
    check_device_id,
    check_signature_encoding,
    point_of,
    public_key_of,
)

__all__ = ["DeviceSigner", "build_device_request", "check_device_request", "request_info"]

#: A device's signing operation: a 32-byte SHA-256 digest in, ECDSA ``(r, s)`` out.
DeviceSigner = Callable[[bytes], tuple[int, int]]


def request_info(device_id: str, point: bytes) -> csr.CertificationRequestInfo:
    """The CertificationRequestInfo for *device_id* and its public key *point* (65 bytes)."""
    check_device_id(device_id)
    public_key_of(point)  # a point on P-256, or IdentityError
    return csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": asn1_x509.Name.build({"common_name": device_id}),
            "subject_pk_info": keys.PublicKeyInfo(
                {
                    "algorithm": keys.PublicKeyAlgorithm(
                        {
                            "algorithm": "ec",
                            "parameters": keys.ECDomainParameters("named", "secp256r1"),
                        }
                    ),
                    "public_key": point,
                }
            ),
            "attributes": csr.CRIAttributes([]),
        }
    )


def build_device_request(device_id: str, point: bytes, sign: DeviceSigner) -> bytes:
    """A DER PKCS #10 request for *device_id* with public key *point*, signed by *sign* (the
    device) over SHA-256 of the request info, and checked before it is returned.

    Raises
    ------
    IdentityError
        A bad device id or point, or *sign* did not return two integers in [1, n).
    RefusedError
        The signature does not verify under *point* (BAD_REQUEST_SIGNATURE): the device that
        signed holds another key than the one it reported.
    """
    info = request_info(device_id, point)
    digest = hashlib.sha256(info.dump()).digest()
    signature = sign(digest)
    if (
        not isinstance(signature, tuple)
        or len(signature) != 2
        or not all(type(value) is int and 1 <= value < N for value in signature)
    ):
        raise IdentityError("the device's signature must be two integers r, s in [1, n)")
    r, s = signature
    request = csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": algos.DSASignature({"r": r, "s": s}).dump(),
        }
    )
    der = request.dump()
    check_device_request(der, device_id=device_id, point=point)
    return der


def check_device_request(
    der: bytes, device_id: str | None = None, point: bytes | None = None
) -> x509.CertificateSigningRequest:
    """The request *der* as ``cryptography`` reads it, once it holds as a ropuf device request.

    Raises
    ------
    RefusedError
        CORRUPT (not a DER request), PROFILE (not a P-256 key, not exactly one common name,
        another signature algorithm), BAD_REQUEST_SIGNATURE (the signature does not verify
        under the request's own key), KEY_MISMATCH (another device id or key than *device_id*
        or *point*, when given).
    """
    try:
        request = x509.load_der_x509_csr(der)
        names = request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        key = request.public_key()
        algorithm = request.signature_algorithm_oid
    except PARSE_ERRORS:
        raise RefusedError(Reason.CORRUPT, "not a DER PKCS #10 certificate request") from None
    check_signature_encoding(der, request.signature, "request")
    request_point = point_of(key)
    if algorithm != x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise RefusedError(Reason.PROFILE, "the request is not signed with ECDSA and SHA-256")
    if len(names) != 1 or len(request.subject) != 1:
        raise RefusedError(Reason.PROFILE, "the request's subject is not one common name")
    if not request.is_signature_valid:
        raise RefusedError(
            Reason.BAD_REQUEST_SIGNATURE,
            "the request's signature does not verify under its public key: the signer does "
            "not hold that key",
        )
    if device_id is not None and names[0].value != device_id:
        raise RefusedError(
            Reason.KEY_MISMATCH, f"the request is for device {names[0].value!r}, not {device_id!r}"
        )
    if point is not None and request_point != point:
        raise RefusedError(
            Reason.KEY_MISMATCH, "the request carries another public key than the device's"
        )
    return request
