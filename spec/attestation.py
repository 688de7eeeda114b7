"""The attestation message: what the device MACs, byte for byte (gateware and verifier agree).

``MAC = HMAC-SHA256(attestation_key, ATTEST_LABEL || context || nonce)`` where ``context`` is the
SHA-256 of the helper data the device reconstructed its key with (so an answer is bound to that
enrollment) and ``nonce`` is the verifier's fresh 32 random bytes.
"""

import hashlib
import hmac

__all__ = ["ATTEST_LABEL", "MAC_BYTES", "NONCE_BYTES", "attestation_mac", "attestation_message"]

#: Domain label of an attestation (fixed length, so the message layout is fixed).
ATTEST_LABEL = b"ropuf attest v1\x00"
#: Bytes of a verifier nonce.
NONCE_BYTES = 32
#: Bytes of the MAC.
MAC_BYTES = 32


def attestation_message(helper_data: bytes, nonce: bytes) -> bytes:
    """The exact bytes the device MACs for *nonce*, given the helper data it was loaded with."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"A nonce must be {NONCE_BYTES} bytes, not {len(nonce)}")
    return ATTEST_LABEL + hashlib.sha256(helper_data).digest() + nonce


def attestation_mac(key: bytes, helper_data: bytes, nonce: bytes) -> bytes:
    """HMAC-SHA256 of :func:`attestation_message` under *key*."""
    return hmac.new(key, attestation_message(helper_data, nonce), hashlib.sha256).digest()
