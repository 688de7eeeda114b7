"""The device identity: an ECDSA P-256 key pair derived from the master key, and what it signs.

One definition for the gateware (:mod:`ropuf.gateware.key.engine`), the device model and the
host (certificates, signature attestation). Everything here is plain Python over
:mod:`hashlib`, :mod:`hmac` and :mod:`ropuf.spec.p256`; the tests check it against
``cryptography`` (HKDF, deterministic ECDSA) and RFC 6979 appendix A.2.5.

Private key (FIPS 186-5 A.2.1, "key pair generation using extra random bits")::

    T1 = HMAC(K_master, IDENTITY_LABEL || 0x01)
    T2 = HMAC(K_master, T1 || IDENTITY_LABEL || 0x02)
    c  = (T1 || T2)[:40]                 = HKDF-Expand(K_master, IDENTITY_LABEL, 40)
    d = (c mod (n - 1)) + 1            c read as a big-endian integer, 320 bits

Public key: ``Q = d G``, sent by IDENTITY as the uncompressed point ``0x04 || x || y``
(:data:`PUBLIC_KEY_BYTES`).

SIGN takes a domain byte (:class:`SignDomain`) and a 32-byte value, and signs the 32-byte ``h``:

* ``ATTESTATION``: the value is the verifier's nonce, ``h = SHA-256(SIGN_ATTEST_LABEL ||
  SHA-256(record) || nonce)`` (:func:`attestation_digest`), the record being the helper data
  the device reconstructed its key with: a signature binds the enrollment, as the HMAC
  attestation does.
* ``GENERIC``: the value is the digest itself (``h = value``), for what the owner signs with
  the identity: the PKCS#10 request of enrollment and transfer. Served only while
  :func:`generic_sign_allowed` holds for the device's mode (an enrollment build before LOCK);
  a locked enrollment build and every deployment build answer LOCKED at once, before any
  work. Otherwise whoever can send SIGN could sign ``h = attestation_digest(record, nonce)``
  for a record and nonce of their choosing and hold an ATTESTATION-domain signature; an
  unlocked enrollment build gives no more than it gives already (its raw RO counts, the
  secret's source).

SIGN's refusals, in this order: BAD_PAYLOAD (length, then an unknown domain byte), LOCKED
(GENERIC where it is not served), NO_KEY (no reconstructed key); then the signature or FAULT.

The signature is ECDSA with ``z = h`` as a big-endian integer, ``k`` by RFC 6979 (HMAC-SHA256
DRBG, section 3.2, qlen = hlen = 256): ``r || s``, 32 bytes each, big-endian
(:data:`SIGNATURE_BYTES`). The device takes the DRBG's first candidate only: when it is not in
[1, n - 1], or r or s is 0, it answers FAULT instead of drawing the next one (the first
candidate fails with probability about 2^-32; :func:`sign` returns None then).
"""

import enum
import hashlib
import hmac

from . import p256
from .commands import Mode
from .kdf_labels import IDENTITY_LABEL

__all__ = [
    "C_BYTES",
    "DIGEST_BYTES",
    "PUBLIC_KEY_BYTES",
    "SIGNATURE_BYTES",
    "SIGN_ATTEST_LABEL",
    "SIGN_PAYLOAD_BYTES",
    "SignDomain",
    "attestation_digest",
    "decode_public_key",
    "decode_sign_request",
    "encode_public_key",
    "encode_sign_request",
    "generic_sign_allowed",
    "identity_scalar",
    "public_key",
    "rfc6979_nonce",
    "sign",
    "sign_request_digest",
]

#: Bytes of expansion the private key is reduced from (FIPS 186-5 A.2.1: 256 + 64 bits).
C_BYTES = 40
#: Bytes of the value SIGN signs (a SHA-256 digest or a nonce).
DIGEST_BYTES = 32
#: SIGN's payload: the domain byte, then the value.
SIGN_PAYLOAD_BYTES = 1 + DIGEST_BYTES
#: IDENTITY's answer: 0x04 || x || y.
PUBLIC_KEY_BYTES = 65
#: SIGN's answer: r || s.
SIGNATURE_BYTES = 64
#: Domain label of a signature attestation (16 bytes, fixed length: the message layout is fixed).
SIGN_ATTEST_LABEL = b"ropuf sign v1\x00\x00\x00"


class SignDomain(enum.IntEnum):
    """SIGN's first payload byte: what the 32 bytes after it are."""

    ATTESTATION = 0x01  #: a verifier's nonce: the device signs :func:`attestation_digest`
    GENERIC = 0x02  #: a digest the device signs as it is


def generic_sign_allowed(mode: Mode) -> bool:
    """Whether a device in *mode* (INFO's) signs in the GENERIC domain: an unlocked enrollment
    build only (the rule of raw readout). The gateware, the device model and the host (which
    refuses a transfer early) all take it from here."""
    return Mode(mode) == Mode.ENROLLMENT


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def identity_scalar(master: bytes) -> int:
    """The identity private key ``d`` from the 32-byte master key (see the module notes)."""
    if len(master) != 32:
        raise ValueError(f"The master key must be 32 bytes, not {len(master)}")
    t1 = _hmac(master, IDENTITY_LABEL + b"\x01")
    t2 = _hmac(master, t1 + IDENTITY_LABEL + b"\x02")
    c = int.from_bytes((t1 + t2)[:C_BYTES], "big")
    return c % (p256.N - 1) + 1


def public_key(d: int) -> tuple[int, int]:
    """``Q = d G``, affine, for a private key in [1, n)."""
    if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d < p256.N:
        raise ValueError("a P-256 private key must be an int in [1, n)")
    return p256.affine(p256.scalar_mult(d))


def encode_public_key(point: tuple[int, int]) -> bytes:
    """The uncompressed encoding IDENTITY answers: ``0x04 || x || y``."""
    x, y = point
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def decode_public_key(data: bytes) -> tuple[int, int]:
    """``(x, y)`` from IDENTITY's answer; ``ValueError`` if it is not an uncompressed point on
    the curve."""
    if len(data) != PUBLIC_KEY_BYTES or data[0] != 4:
        raise ValueError(
            f"An identity is {PUBLIC_KEY_BYTES} bytes starting with 0x04 (uncompressed point), "
            f"not {len(data)} bytes starting with {data[:1].hex() or 'nothing'}"
        )
    x, y = int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big")
    if not p256.on_curve(x, y):
        raise ValueError("The identity's point is not on P-256: the answer is corrupt")
    return x, y


def attestation_digest(helper_data: bytes, nonce: bytes) -> bytes:
    """``SHA-256(SIGN_ATTEST_LABEL || SHA-256(record) || nonce)``: what the device signs for an
    ATTESTATION request with *nonce*, given the helper data it was loaded with."""
    if len(nonce) != DIGEST_BYTES:
        raise ValueError(f"A nonce must be {DIGEST_BYTES} bytes, not {len(nonce)}")
    return hashlib.sha256(SIGN_ATTEST_LABEL + hashlib.sha256(helper_data).digest() + nonce).digest()


def encode_sign_request(domain: SignDomain, value: bytes) -> bytes:
    """SIGN's payload: the domain byte and the 32-byte nonce or digest."""
    domain = SignDomain(domain)
    if len(value) != DIGEST_BYTES:
        raise ValueError(f"SIGN takes a {DIGEST_BYTES}-byte value, not {len(value)} bytes")
    return bytes([domain]) + value


def decode_sign_request(payload: bytes) -> tuple[SignDomain, bytes]:
    """``(domain, value)`` of a SIGN payload; ``ValueError`` if malformed (BAD_PAYLOAD)."""
    if len(payload) != SIGN_PAYLOAD_BYTES:
        raise ValueError(f"SIGN's payload is {SIGN_PAYLOAD_BYTES} bytes, not {len(payload)}")
    try:
        domain = SignDomain(payload[0])
    except ValueError:
        raise ValueError(f"SIGN's domain byte {payload[0]:#04x} is not a SignDomain") from None
    return domain, bytes(payload[1:])


def sign_request_digest(domain: SignDomain, value: bytes, helper_data: bytes) -> bytes:
    """The 32-byte ``h`` the device signs for a SIGN request (see the module notes)."""
    if SignDomain(domain) == SignDomain.ATTESTATION:
        return attestation_digest(helper_data, value)
    if len(value) != DIGEST_BYTES:
        raise ValueError(f"SIGN takes a {DIGEST_BYTES}-byte value, not {len(value)} bytes")
    return bytes(value)


def rfc6979_nonce(d: int, h: bytes) -> int:
    """RFC 6979's first candidate nonce ``k`` for key *d* and the 32-byte digest *h* (section
    3.2 with HMAC-SHA256, qlen = hlen = 256: steps b to h, one round). It may be 0 or not
    below n; the caller checks (the device answers FAULT then)."""
    if len(h) != DIGEST_BYTES:
        raise ValueError(f"The digest must be {DIGEST_BYTES} bytes, not {len(h)}")
    x = d.to_bytes(32, "big")
    h1 = (int.from_bytes(h, "big") % p256.N).to_bytes(32, "big")  # bits2octets
    v, k = b"\x01" * 32, b"\x00" * 32
    k = _hmac(k, v + b"\x00" + x + h1)
    v = _hmac(k, v)
    k = _hmac(k, v + b"\x01" + x + h1)
    v = _hmac(k, v)
    v = _hmac(k, v)
    return int.from_bytes(v, "big")


def sign(d: int, h: bytes) -> bytes | None:
    """The device's signature ``r || s`` of the 32-byte *h* with key *d* (RFC 6979's first
    nonce); None when the device answers FAULT (that nonce out of range, r or s zero, or the
    verification before release refusing it)."""
    k = rfc6979_nonce(d, h)
    if not 1 <= k < p256.N:
        return None
    rs = p256.ecdsa_sign(d, k, h)
    # The device verifies before release (p256.ecdsa_verify: u1 G + u2 Q, X == r Z), which a
    # correct signature fails only for Q = -G (d = n - 1: G + Q is infinity) or x(k G) = r + n
    # (probability about 2^-128 each); it answers FAULT then, and so does this.
    if rs is None or not p256.ecdsa_verify(public_key(d), h, *rs):
        return None
    return rs[0].to_bytes(32, "big") + rs[1].to_bytes(32, "big")
