"""Key derivation from a corrected PUF response (SHA-256 and HMAC-SHA256 only).

The layout is defined once in :mod:`ropuf.spec.kdf_labels`; this module computes it with
:mod:`hashlib` and :mod:`hmac` so the gateware (SHA-256 and HMAC cores) can be checked
against it.
"""

import hashlib
import hmac
from dataclasses import dataclass

from ropuf.spec.helper_data import KCV_BYTES
from ropuf.spec.kdf_labels import ATTEST_LABEL, KCV_LABEL, master_input

__all__ = ["DerivedKeys", "derive_keys", "expand", "pack_secret"]


def pack_secret(bits) -> bytes:
    """The ``k`` message bits, MSB-first, last byte zero-padded (the key-derivation input)."""
    bits = [int(b) for b in bits]
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit not in (0, 1):
            raise ValueError(f"Secret bit {i} must be 0 or 1, not {bit!r}")
        out[i >> 3] |= bit << (7 - (i & 7))
    return bytes(out)


def expand(master: bytes, label: bytes) -> bytes:
    """HKDF-Expand with one output block: ``HMAC-SHA256(master, label || 0x01)``."""
    return hmac.digest(master, label + b"\x01", "sha256")


@dataclass(frozen=True)
class DerivedKeys:
    """The keys of one device.

    Attributes
    ----------
    master : bytes
        32-byte master key (never stored, never sent).
    kcv : bytes
        8-byte key-check value, stored in the helper data.
    attestation : bytes
        32-byte attestation key.
    """

    master: bytes
    kcv: bytes
    attestation: bytes

    def __repr__(self) -> str:  # keys must not end up in logs by accident
        return f"DerivedKeys(kcv={self.kcv.hex()})"


def derive_keys(helper_body: bytes, secret: bytes) -> DerivedKeys:
    """Master key, key-check value and attestation key from the helper body and the secret.

    Parameters
    ----------
    helper_body : bytes
        :meth:`ropuf.spec.helper_data.HelperData.body`, the record up to the key-check value.
    secret : bytes
        The packed corrected message (:func:`pack_secret`).
    """
    helper_hash = hashlib.sha256(helper_body).digest()
    master = hashlib.sha256(master_input(helper_hash, secret)).digest()
    return DerivedKeys(
        master=master,
        kcv=expand(master, KCV_LABEL)[:KCV_BYTES],
        attestation=expand(master, ATTEST_LABEL),
    )
