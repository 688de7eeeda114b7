"""What the certificate library refuses, and why: :class:`IdentityError`, :class:`RefusedError`.

:class:`IdentityError` is bad input (a missing, corrupt or wrongly protected owner CA file, a
value that is not a P-256 point or a device id); its message says what to give instead.
:class:`RefusedError` is a verdict: a certificate, a request or a signature that does not hold, with
its :class:`Reason`, so that a verifier can print, count or record why a device was turned away.
No message carries key material or passphrases.
"""

from enum import StrEnum

from ropuf.spec.errors import RopufError

__all__ = ["IdentityError", "Reason", "RefusedError"]


class IdentityError(RopufError):
    """A file or a value the certificate library cannot use; the message says what to do."""


class Reason(StrEnum):
    """Why a certificate, a request or a signature was refused: one value per kind of refusal."""

    #: Not a DER or PEM certificate (request) at all: damaged in storage or in transit.
    CORRUPT = "corrupt"
    #: Issued by another CA: the issuer name or the authority key id is not the owner CA's.
    OTHER_CA = "other-ca"
    #: Names the owner CA as issuer but its signature does not verify: altered or forged.
    TAMPERED = "tampered"
    #: The certificate (or the owner CA's) is past its end of validity.
    EXPIRED = "expired"
    #: The certificate (or the owner CA's) is not valid yet.
    NOT_YET_VALID = "not-yet-valid"
    #: The owner revoked it (its serial number or its fingerprint is listed).
    REVOKED = "revoked"
    #: Signed correctly, but not a ropuf device certificate or owner CA (key usage, CA flag,
    #: key type, missing extension, subject).
    PROFILE = "profile"
    #: An attestation signature that does not verify under the certificate's key.
    BAD_SIGNATURE = "bad-signature"
    #: A certificate request whose signature does not verify under the key it carries.
    BAD_REQUEST_SIGNATURE = "bad-request-signature"
    #: A request (or certificate) for another key or another device id than expected.
    KEY_MISMATCH = "key-mismatch"


class RefusedError(IdentityError):
    """A certificate, request or signature refused for :attr:`reason`; the message says more."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
