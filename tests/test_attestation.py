"""The attestation verifier against software attesters with known keys."""

import hashlib
import hmac as hmac_module

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.registry import EnrollmentRecord, Registry
from ropuf.spec.attestation import ATTEST_LABEL, attestation_mac, attestation_message

HELPER = b"helper data of dev-a"


class SoftDevice:
    def __init__(self, key: bytes, helper: bytes = HELPER):
        self.key = key
        self.helper = helper
        self.seen = []

    def attest(self, nonce: bytes) -> bytes:
        self.seen.append(nonce)
        return attestation_mac(self.key, self.helper, nonce)


@pytest.fixture
def verifier(tmp_path):
    owner = Ed25519PrivateKey.generate()
    reg = Registry(tmp_path / "r.db", bytes(32))
    for device_id, key in (("dev-a", b"A" * 32), ("dev-b", b"B" * 32)):
        record = EnrollmentRecord(
            device_id,
            "2026-11-24T00:00:00+00:00",
            {},
            HELPER,
            owner.public_key().public_bytes_raw(),
        )
        reg.enroll(record, key, owner)
    yield Verifier(reg)
    reg.close()


def test_message_layout():
    nonce = bytes(range(32))
    message = attestation_message(HELPER, nonce)
    assert message == ATTEST_LABEL + hashlib.sha256(HELPER).digest() + nonce
    assert len(message) == 16 + 32 + 32
    expected = hmac_module.new(b"k" * 32, message, hashlib.sha256).digest()
    assert attestation_mac(b"k" * 32, HELPER, nonce) == expected
    with pytest.raises(ValueError, match="A nonce must be 32 bytes, not 31"):
        attestation_message(HELPER, bytes(31))


def test_enrolled_device_passes_with_fresh_nonces(verifier):
    device = SoftDevice(b"A" * 32)
    results = [verifier.attest("dev-a", device) for _ in range(3)]
    assert all(r.ok and r.reason == "ok" for r in results)
    assert len(set(device.seen)) == 3 and all(len(n) == 32 for n in device.seen)


def test_other_die_fails(verifier):
    result = verifier.attest("dev-a", SoftDevice(b"B" * 32))
    assert not result.ok and result.reason.startswith("MAC mismatch")


def test_replayed_nonce_is_rejected(verifier):
    device = SoftDevice(b"A" * 32)
    nonce = verifier.challenge()
    mac = device.attest(nonce)
    assert verifier.verify("dev-a", nonce, mac).ok
    replay = verifier.verify("dev-a", nonce, mac)
    assert not replay.ok and replay.reason.startswith("replayed nonce")


def test_many_devices_and_failures(verifier):
    class Broken:
        def attest(self, nonce):
            raise TimeoutError("no answer within 2 s")

    results = verifier.attest_many(
        {"dev-a": SoftDevice(b"A" * 32), "dev-b": Broken(), "dev-x": SoftDevice(b"X" * 32)}
    )
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].reason == "device error: no answer within 2 s"
    assert "'dev-x' is not enrolled" in results[2].reason
    short = verifier.verify("dev-a", bytes(32), b"short")
    assert not short.ok and short.reason.startswith("MAC mismatch")
