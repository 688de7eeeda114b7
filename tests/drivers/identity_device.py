"""A software stand-in for a device's identity (IDENTITY's point, SIGN's signature) and a
fixed clock, for the certificate library's tests (tests/host/test_identity*.py)."""

import datetime
import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from ropuf.spec import p256

#: The tests' "now": certificates are issued and checked against it, not the machine's clock.
T0 = datetime.datetime(2027, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)
BUILD_ID = bytes.fromhex("0123456789abcdef")


class SoftwareDevice:
    """A P-256 key held by ``cryptography``: ``point`` as IDENTITY answers, ``sign`` as SIGN."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def sign(self, digest: bytes) -> tuple[int, int]:
        der = self.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return utils.decode_dss_signature(der)


class ReferenceDevice:
    """A device signing with the repository's own P-256 model (``spec.p256.ecdsa_sign``), a
    random nonce per signature, as the fabric's engine computes it."""

    def __init__(self) -> None:
        self.d = secrets.randbelow(p256.N - 1) + 1
        x, y = p256.affine(p256.scalar_mult(self.d))
        self.point = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")

    def sign(self, digest: bytes) -> tuple[int, int]:
        while True:
            signature = p256.ecdsa_sign(self.d, secrets.randbelow(p256.N - 1) + 1, digest)
            if signature is not None:
                return signature
