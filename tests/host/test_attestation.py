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
    short = verifier.verify("dev-a", verifier.challenge(), b"short")  # an issued nonce
    assert not short.ok and short.reason.startswith("MAC mismatch")


def test_only_an_issued_nonce_is_accepted(verifier):
    device = SoftDevice(b"A" * 32)
    own = bytes(range(32))  # a nonce the verifier never issued, with the right MAC
    result = verifier.verify("dev-a", own, device.attest(own))
    assert not result.ok and result.reason.startswith("unknown nonce")
    nonce = verifier.issue_nonce("dev-a")
    assert verifier.verify("dev-a", nonce, device.attest(nonce)).ok


def test_a_nonce_issued_for_one_device_does_not_serve_another(verifier):
    nonce = verifier.issue_nonce("dev-a")
    result = verifier.verify("dev-b", nonce, SoftDevice(b"B" * 32).attest(nonce))
    assert not result.ok and result.reason.startswith("nonce issued for 'dev-a'")
    # Unbound (challenge() without a device): any one enrolled device, once.
    nonce = verifier.challenge()
    assert verifier.verify("dev-b", nonce, SoftDevice(b"B" * 32).attest(nonce)).ok


def test_an_expired_nonce_is_refused(tmp_path):
    owner = Ed25519PrivateKey.generate()
    now = [1_000_000.0]
    with Registry(tmp_path / "r.db", bytes(32)) as reg:
        record = EnrollmentRecord(
            "dev-a", "2026-11-24T00:00:00+00:00", {}, HELPER,
            owner.public_key().public_bytes_raw(),
        )  # fmt: skip
        reg.enroll(record, b"A" * 32, owner)
        verifier = Verifier(reg, nonce_lifetime=60, clock=lambda: now[0])
        device = SoftDevice(b"A" * 32)
        late = verifier.issue_nonce("dev-a")
        in_time = verifier.issue_nonce("dev-a")
        now[0] += 60
        assert verifier.verify("dev-a", in_time, device.attest(in_time)).ok  # at the limit
        now[0] += 0.5
        result = verifier.verify("dev-a", late, device.attest(late))
        assert not result.ok and result.reason.startswith("expired nonce")
        assert "valid for 60 s" in result.reason
        # Spent by the refusal: it does not come back as merely expired.
        again = verifier.verify("dev-a", late, device.attest(late))
        assert again.reason.startswith("replayed nonce")
        with pytest.raises(ValueError, match="nonce lifetime must be a positive number"):
            Verifier(reg, nonce_lifetime=0)


def test_a_mac_wrong_in_its_last_bit_or_length_is_refused(verifier):
    """Every bit of the MAC counts, and its length: a check of a prefix would pass these."""
    device = SoftDevice(b"A" * 32)
    for change in (
        lambda mac: mac[:-1] + bytes([mac[-1] ^ 1]),  # the last bit
        lambda mac: mac[:16],  # the first half only
        lambda mac: mac + b"\x00",  # one byte too many
        lambda mac: mac[:-1],  # one byte short
    ):
        nonce = verifier.issue_nonce("dev-a")
        result = verifier.verify("dev-a", nonce, change(device.attest(nonce)))
        assert not result.ok and result.reason.startswith("MAC mismatch")


def test_the_nonce_of_a_failed_attempt_is_spent(verifier):
    """A wrong answer spends the nonce: the right answer to it later is a replay."""
    device = SoftDevice(b"A" * 32)
    nonce = verifier.issue_nonce("dev-a")
    wrong = verifier.verify("dev-a", nonce, SoftDevice(b"B" * 32).attest(nonce))
    assert not wrong.ok and wrong.reason.startswith("MAC mismatch")
    later = verifier.verify("dev-a", nonce, device.attest(nonce))
    assert not later.ok and later.reason == "replayed nonce: it was used before"


def test_replay_is_refused_by_a_second_verifier_and_after_reopening(tmp_path, verifier):
    """Issued and spent nonces live in the registry file, not in one Verifier object."""
    device = SoftDevice(b"A" * 32)
    nonce = verifier.issue_nonce("dev-a")
    mac = device.attest(nonce)
    failed_nonce = verifier.issue_nonce("dev-a")
    assert not verifier.verify("dev-a", failed_nonce, bytes(32)).ok
    with Registry(tmp_path / "r.db", bytes(32)) as second_registry:
        second = Verifier(second_registry)
        assert second.verify("dev-a", nonce, mac).ok  # issued by the first verifier
        assert verifier.verify("dev-a", nonce, mac).reason.startswith("replayed nonce")
        assert second.verify("dev-a", nonce, mac).reason.startswith("replayed nonce")
        retry = second.verify("dev-a", failed_nonce, device.attest(failed_nonce))
        assert retry.reason.startswith("replayed nonce")
    verifier.registry.close()
    with Registry(tmp_path / "r.db", bytes(32)) as reopened:
        third = Verifier(reopened)
        for used in (nonce, failed_nonce):
            result = third.verify("dev-a", used, device.attest(used))
            assert not result.ok and result.reason == "replayed nonce: it was used before"


def test_a_nonce_offered_for_an_unknown_device_is_spent(verifier):
    """A nonce issued for any device and offered with an id that is not enrolled is spent too:
    no refusal leaves an issued nonce usable."""
    device = SoftDevice(b"A" * 32)
    nonce = verifier.issue_nonce()
    unknown = verifier.verify("dev-nobody", nonce, device.attest(nonce))
    assert not unknown.ok
    later = verifier.verify("dev-a", nonce, device.attest(nonce))
    assert not later.ok and later.reason == "replayed nonce: it was used before"


def test_a_bug_in_the_device_code_is_not_a_failed_attestation(verifier):
    """Device and link faults are results; a bug (here a TypeError) keeps its traceback."""

    class Buggy:
        def attest(self, nonce):
            raise TypeError("a bug in the client")

    with pytest.raises(TypeError, match="a bug in the client"):
        verifier.attest("dev-a", Buggy())
