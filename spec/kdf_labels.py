"""Key-derivation labels and the exact byte layout of the master-key input.

Both the host (:mod:`ropuf.host.kdf`) and the gateware (SHA-256 and HMAC-SHA256 cores) derive
keys from these definitions; docs/keygen.md gives the same layout.

Master key (one SHA-256 over a byte string the gateware can stream)::

    K_master = SHA-256( MASTER_LABEL                  15 bytes, b"ropuf master v1"
                        || 0x00                        1 byte, ends the label
                        || SHA-256(helper body)        32 bytes (body: the record up to the KCV)
                        || secret                      ceil(k / 8) bytes )

``secret`` is the decoded BCH message: the ``k`` corrected message bits in codeword order, packed
MSB-first, the last byte zero-padded. It stands for the corrected response: given the (bound)
helper data, the corrected response and the message determine each other.

Derived keys (HKDF-Expand, RFC 5869, with PRK = K_master, info = label, one block)::

    T(label) = HMAC-SHA256(K_master, label || 0x01)
    KCV            = T(KCV_LABEL)[:8]        (stored in the helper data)
    attestation key = T(ATTEST_LABEL)        (32 bytes, never leaves the device)

The identity key reads 40 bytes of HKDF-Expand with IDENTITY_LABEL (two blocks; see
:mod:`ropuf.spec.identity`).
"""

__all__ = ["ATTEST_LABEL", "IDENTITY_LABEL", "KCV_LABEL", "MASTER_LABEL", "master_input"]

MASTER_LABEL = b"ropuf master v1"
KCV_LABEL = b"ropuf kcv"
ATTEST_LABEL = b"ropuf attest"
IDENTITY_LABEL = b"ropuf identity"


def master_input(helper_body_hash: bytes, secret: bytes) -> bytes:
    """The byte string whose SHA-256 is the master key (see the module notes)."""
    if len(helper_body_hash) != 32:
        raise ValueError(f"Helper hash must be 32 bytes, not {len(helper_body_hash)!r}")
    return MASTER_LABEL + b"\x00" + helper_body_hash + secret
