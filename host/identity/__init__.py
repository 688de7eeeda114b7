"""A device's public-key identity on the host: owner CA, certificate requests, certificates.

The device derives an ECDSA P-256 key pair from its PUF key and reports the public half
(IDENTITY); the owner certifies it (docs/identity.md, "Owner certificates"):

* :mod:`.owner_ca`: the owner CA, its key and self-signed certificate, and their PEM files;
* :mod:`.request`: the PKCS #10 request the device signs (built with ``asn1crypto``, checked
  with ``cryptography``);
* :mod:`.issue`: the device certificate the owner CA issues from it, and transfers;
* :mod:`.revocation`, :mod:`.verify`: the verifier's side: revocation list, chain checks,
  signature attestation;
* :mod:`.export`: PEM chains for ``openssl verify`` and certificate files;
* :mod:`.profile`: object identifiers, lifetimes, the device key's encoding;
* :mod:`.errors`: :class:`IdentityError` and :class:`RefusedError` with its :class:`Reason`.
"""

from .errors import IdentityError, Reason, RefusedError
from .export import chain_pem, load_certificate, read_certificate_file, write_chain
from .issue import issue_device_certificate, transfer_device_certificate
from .owner_ca import OwnerCA, create_owner_ca, load_owner_ca, write_owner_ca
from .profile import BUILD_ID_OID, POINT_BYTES, ROPUF_ARC, build_id_of, fingerprint, point_of
from .request import DeviceSigner, build_device_request, check_device_request
from .revocation import Revocations
from .verify import (
    NO_REVOCATIONS,
    CertificateVerifier,
    VerifiedDevice,
    verify_device_certificate,
    verify_signature,
)

__all__ = [
    "BUILD_ID_OID",
    "NO_REVOCATIONS",
    "POINT_BYTES",
    "ROPUF_ARC",
    "CertificateVerifier",
    "DeviceSigner",
    "IdentityError",
    "OwnerCA",
    "Reason",
    "RefusedError",
    "Revocations",
    "VerifiedDevice",
    "build_device_request",
    "build_id_of",
    "chain_pem",
    "check_device_request",
    "create_owner_ca",
    "fingerprint",
    "issue_device_certificate",
    "load_certificate",
    "load_owner_ca",
    "point_of",
    "read_certificate_file",
    "transfer_device_certificate",
    "verify_device_certificate",
    "verify_signature",
    "write_chain",
    "write_owner_ca",
]
