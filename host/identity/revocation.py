"""An owner's revocation list: the serial numbers and fingerprints of certificates it withdrew.

A verifier refuses a device certificate (REVOKED) whose serial number or SHA-256 fingerprint
(:func:`~.profile.fingerprint`) is listed. Serial numbers are the owner CA's own (random 159-bit
numbers, so one list per owner CA); fingerprints name one certificate exactly. Revoking a
certificate (:meth:`Revocations.revoke`) lists both. The list is a value: the registry keeps it
and hands the current one to each verification.
"""

from dataclasses import dataclass

from cryptography import x509

from .errors import IdentityError
from .profile import fingerprint

__all__ = ["Revocations"]

_FINGERPRINT_BYTES = 32


@dataclass(frozen=True)
class Revocations:
    """Revoked *serials* (integers) and *fingerprints* (32-byte SHA-256 of the DER)."""

    serials: frozenset[int] = frozenset()
    fingerprints: frozenset[bytes] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "serials", frozenset(self.serials))
        object.__setattr__(self, "fingerprints", frozenset(self.fingerprints))
        if not all(type(serial) is int and serial > 0 for serial in self.serials):
            raise IdentityError("revoked serial numbers are positive integers")
        if not all(
            isinstance(value, bytes) and len(value) == _FINGERPRINT_BYTES
            for value in self.fingerprints
        ):
            raise IdentityError(
                f"revoked fingerprints are {_FINGERPRINT_BYTES}-byte SHA-256 digests of the DER"
            )

    def revoke(self, certificate: x509.Certificate) -> "Revocations":
        """This list with *certificate*'s serial number and fingerprint added."""
        return Revocations(
            self.serials | {certificate.serial_number},
            self.fingerprints | {fingerprint(certificate)},
        )

    def is_revoked(self, certificate: x509.Certificate) -> bool:
        """Whether *certificate*'s serial number or fingerprint is listed."""
        return (
            certificate.serial_number in self.serials
            or fingerprint(certificate) in self.fingerprints
        )
