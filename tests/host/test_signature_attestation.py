"""Owner certificates wired to the device and the registry, and signature attestation: enrolment
with an owner CA on the fast model device (IDENTITY, a request the device signs, the
certificate in the registry), a verifier from the registry and one from a certificate export
holding no secret, each refusal with its reason, revocation and transfer."""

import base64
import json
import time
from dataclasses import replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.certificate_export import CertificateDirectory, export_certificates
from ropuf.host.client import DeviceClient, DeviceLockedError
from ropuf.host.device_identity import transfer_device
from ropuf.host.enrollment import enroll_device
from ropuf.host.identity import (
    IdentityError,
    build_id_of,
    create_owner_ca,
    fingerprint,
    point_of,
    verify_device_certificate,
)
from ropuf.host.registry import SCHEMA_VERSION, Registry, RegistryError
from ropuf.host.signature_attestation import (
    MemoryChallenges,
    RegistryEvidence,
    SignatureVerifier,
)
from ropuf.sim.board import Condition, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.sources import FastModelSource
from ropuf.spec.commands import Mode
from ropuf.spec.identity import SignDomain

from .test_enrollment import ClientSource

DIE = 7
OWNER_A = create_owner_ca("owner A")
OWNER_B = create_owner_ca("owner B")


def source(die=DIE, board="ulx3s"):
    return FastModelSource(Condition(die, 25.0, None, 1, board=board))


@pytest.fixture
def registry(registry_target):
    """A registry (SQLite, PostgreSQL) with die 7 enrolled and certified by owner A."""
    with Registry(registry_target, b"\x11" * 32) as registry:
        report = enroll_device(
            "die-7",
            [source()],
            registry,
            Ed25519PrivateKey.generate(),
            reads=3,
            thresholds=source().condition.config.offsets,
            owner_ca=OWNER_A,
        )
        assert report.identity is True
        yield registry


def test_enrollment_certifies_the_device_key(registry):
    stored = registry.certificate("die-7")
    assert stored.revoked_at is None and stored.ca == OWNER_A.certificate
    with source().open() as client:
        client.load_helper(registry.record("die-7").helper_data)
        client.reconstruct()
        identity = client.identity()
        build_id = client.info().build_id
    device = verify_device_certificate(stored.certificate, OWNER_A.certificate)
    assert device.device_id == "die-7"
    assert device.point == identity == point_of(stored.certificate.public_key())
    assert build_id_of(stored.certificate) == build_id
    assert registry.schema_version() == SCHEMA_VERSION == 7


def test_a_build_without_identity_enrols_without_certificate(tmp_path):
    icebreaker = source(board="icebreaker")
    with Registry(tmp_path / "r.db", b"\x11" * 32) as registry:
        report = enroll_device(
            "ice-7",
            [icebreaker],
            registry,
            Ed25519PrivateKey.generate(),
            reads=3,
            thresholds=icebreaker.condition.config.offsets,
            owner_ca=OWNER_A,
        )
        assert report.identity is False and report.certificate is None
        assert registry.certificate("ice-7") is None
        assert registry.devices() == ["ice-7"]


def attest(verifier, die=DIE):
    with source(die).open() as client:
        return verifier.attest_enrolled("die-7", client)


def test_registry_verifier_attests_and_refuses_an_impostor(registry):
    verifier = SignatureVerifier(OWNER_A.certificate, RegistryEvidence(registry), registry)
    assert attest(verifier).ok
    assert registry.device_state("die-7").last_attestation.ok
    impostor = attest(verifier, die=8)
    assert not impostor.ok and "KEY_CHECK_FAILED" in impostor.reason


@pytest.fixture
def export(registry, tmp_path):
    folder = tmp_path / "certs"
    assert export_certificates(registry, folder) == ["die-7"]
    return folder


def test_a_verifier_holding_only_certificates_attests(export, registry):
    names = sorted(path.name for path in export.iterdir())
    ca_file = f"owner-ca-{fingerprint(OWNER_A.certificate).hex()[:16]}.pem"
    assert names == sorted(["die-7.pem", "die-7.helper", ca_file, "revoked.json"])
    for path in export.iterdir():
        assert b"PRIVATE KEY" not in path.read_bytes()
    assert (export / "die-7.helper").read_bytes() == registry.record("die-7").helper_data
    verifier = SignatureVerifier(
        OWNER_A.certificate, CertificateDirectory(export), MemoryChallenges()
    )
    result = attest(verifier)
    assert result.ok, result.reason


def _sign(verifier, nonce):
    with source().open() as client:
        client.load_helper(verifier.evidence.evidence("die-7").helper_data)
        client.reconstruct()
        return client.sign(SignDomain.ATTESTATION, nonce)


def test_a_signature_over_another_nonce_and_a_replay_are_refused(export):
    verifier = SignatureVerifier(
        OWNER_A.certificate, CertificateDirectory(export), MemoryChallenges()
    )
    first, second = verifier.issue_nonce("die-7"), verifier.issue_nonce("die-7")
    other = verifier.verify("die-7", first, _sign(verifier, second))
    assert not other.ok and other.reason.startswith("bad-signature")
    signature = _sign(verifier, second)
    assert verifier.verify("die-7", second, signature).ok
    replay = verifier.verify("die-7", second, signature)
    assert not replay.ok and replay.reason.startswith("replayed nonce")
    unknown = verifier.verify("die-7", bytes(32), signature)
    assert not unknown.ok and unknown.reason.startswith("unknown nonce")


def test_a_tampered_certificate_is_refused(export):
    chain = export / "die-7.pem"
    certificate = x509.load_pem_x509_certificate(chain.read_bytes())
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert der.count(b"die-7") == 1
    forged = x509.load_der_x509_certificate(der.replace(b"die-7", b"die-8"))
    chain.write_bytes(
        forged.public_bytes(serialization.Encoding.PEM)
        + OWNER_A.certificate.public_bytes(serialization.Encoding.PEM)
    )
    verifier = SignatureVerifier(
        OWNER_A.certificate, CertificateDirectory(export), MemoryChallenges()
    )
    result = attest(verifier)
    assert not result.ok and result.reason.startswith("tampered"), result.reason


def test_a_certificate_from_another_owner_ca_is_refused(export):
    verifier = SignatureVerifier(
        OWNER_B.certificate, CertificateDirectory(export), MemoryChallenges()
    )
    result = attest(verifier)
    assert not result.ok and result.reason.startswith("other-ca"), result.reason


def test_a_revoked_device_is_refused(registry, tmp_path):
    registry.revoke("die-7", time.time())
    stored = registry.certificate("die-7")
    assert stored.revoked_at is not None
    verifier = SignatureVerifier(OWNER_A.certificate, RegistryEvidence(registry), registry)
    result = attest(verifier)
    assert not result.ok and result.reason.startswith("revoked"), result.reason
    logged = registry.device_state("die-7").last_attestation
    assert not logged.ok and logged.reason == result.reason
    folder = tmp_path / "after"
    export_certificates(registry, folder)
    listed = json.loads((folder / "revoked.json").read_text())
    # By fingerprint only: a serial is unique under one owner CA, not in the registry.
    assert listed == {"serials": [], "fingerprints": [fingerprint(stored.certificate).hex()]}
    offline = SignatureVerifier(
        OWNER_A.certificate, CertificateDirectory(folder), MemoryChallenges()
    )
    result = attest(offline)
    assert not result.ok and result.reason.startswith("revoked"), result.reason


def test_transfer_certifies_the_same_key_and_revokes_the_old_certificate(registry):
    old = registry.certificate("die-7")
    with source().open() as client:
        new = transfer_device(registry, "die-7", client, OWNER_B)
    assert point_of(new.public_key()) == point_of(old.certificate.public_key())
    assert build_id_of(new) == build_id_of(old.certificate)
    history = registry.certificates("die-7")
    assert [entry.certificate for entry in history] == [old.certificate, new]
    assert history[0].revoked_at is not None and history[1].revoked_at is None
    assert registry.certificate_revocations().is_revoked(old.certificate)
    new_owner = SignatureVerifier(OWNER_B.certificate, RegistryEvidence(registry), registry)
    assert attest(new_owner).ok
    old_owner = SignatureVerifier(OWNER_A.certificate, RegistryEvidence(registry), registry)
    result = attest(old_owner)
    assert not result.ok and result.reason.startswith("other-ca"), result.reason
    # The old certificate, offered by itself, is refused as revoked.
    refused = old_owner.certificates
    with pytest.raises(IdentityError, match=r"^revoked"):
        refused.verify(old.certificate, revocations=registry.certificate_revocations())


def test_transfer_refuses_another_device_key(registry, tmp_path):
    with source(die=8).open() as client, pytest.raises(Exception, match="KEY_CHECK_FAILED"):
        transfer_device(registry, "die-7", client, OWNER_B)
    registry.revoke("die-7", time.time())
    with source().open() as client, pytest.raises(RegistryError, match="revoked"):
        transfer_device(registry, "die-7", client, OWNER_B)
    assert len(registry.certificates("die-7")) == 1


def test_enrollment_certifies_before_it_locks(tmp_path):
    """The request is signed (GENERIC) before LOCK, which ends generic signing."""
    with Registry(tmp_path / "r.db", b"\x11" * 32) as registry, source().open() as client:
        report = enroll_device(
            "die-7", [ClientSource(client)], registry, Ed25519PrivateKey.generate(), reads=3,
            thresholds=source().condition.config.offsets, owner_ca=OWNER_A, lock=True,
        )  # fmt: skip
        assert report.locked and report.identity is True
        assert client.info().mode == Mode.LOCKED
        assert registry.certificate("die-7").certificate == report.certificate


@pytest.mark.parametrize("build", ["locked", "deployment"])
def test_transfer_needs_the_unlocked_enrollment_build(registry, build):
    """A locked enrollment build or a deployment build signs no request: the transfer fails
    with what to do, nothing is stored and the old certificate stays live."""
    before = registry.certificates("die-7")
    if build == "locked":
        client = source().open()
        client.lock()
    else:
        deployment = replace(source().condition.config, variant="deployment")
        client = DeviceClient(FastDevice(device_model(source().condition, deployment)))
    with client:
        with pytest.raises(DeviceLockedError, match="the device's enrollment build before LOCK"):
            transfer_device(registry, "die-7", client, OWNER_B)
        assert registry.certificates("die-7") == before
        assert registry.certificate("die-7").revoked_at is None
        # The device refuses as the host's early check says: GENERIC answers LOCKED.
        client.load_helper(registry.record("die-7").helper_data)
        client.reconstruct()
        with pytest.raises(DeviceLockedError, match=r"SIGN: .*status 0x12 LOCKED"):
            client.sign(SignDomain.GENERIC, bytes(32))


def test_a_device_without_certificate_is_named(tmp_path, registry):
    verifier = SignatureVerifier(OWNER_A.certificate, RegistryEvidence(registry), registry)
    result = verifier.attest_enrolled("nobody", None)
    assert not result.ok and "no certificate" in result.reason
    with pytest.raises(IdentityError, match="not a folder"):
        CertificateDirectory(tmp_path / "missing")


def test_the_memory_book_spends_a_nonce_once():
    book = MemoryChallenges()
    book.add_challenge(b"n" * 32, "d", 1.0, 2.0)
    assert book.spend_challenge(b"n" * 32, 1.5).spent_at is None
    assert book.spend_challenge(b"n" * 32, 1.6).spent_at == 1.5
    with pytest.raises(IdentityError):
        book.add_challenge(b"n" * 32, "d", 1.0, 2.0)


def test_export_refuses_what_cannot_be_a_file_and_a_damaged_list(registry, export):
    (export / "revoked.json").write_text("[1, 2]")
    with pytest.raises(IdentityError, match="is not a revocation list"):
        CertificateDirectory(export).revocations()
    with pytest.raises(IdentityError, match="no certificate for device 'die-9'"):
        CertificateDirectory(export).evidence("die-9")
    for name in ("../die-7", ".hidden", "owner-ca-x", "revoked"):
        with pytest.raises(IdentityError, match="cannot name a file"):
            CertificateDirectory(export).evidence(name)


def test_a_certificate_for_a_device_not_enrolled_is_refused(registry):
    stored = registry.certificate("die-7")
    with pytest.raises(RegistryError, match="'die-9' is not enrolled"):
        registry.add_certificate("die-9", stored.certificate, stored.ca, 1.0)
    with pytest.raises(RegistryError, match="already has certificate serial"):
        registry.add_certificate("die-7", stored.certificate, stored.ca, 1.0)
    assert [entry.revoked_at for entry in registry.certificates("die-7")] == [None]


def test_the_json_export_carries_the_certificates(registry, tmp_path):
    with source().open() as client:
        transfer_device(registry, "die-7", client, OWNER_B)
    text = registry.export_json()
    with Registry(tmp_path / "copy.db", b"\x11" * 32) as copy:
        assert copy.import_json(text) == ["die-7"]
        assert copy.certificates("die-7") == registry.certificates("die-7")
        assert copy.certificate_revocations() == registry.certificate_revocations()
        verifier = SignatureVerifier(OWNER_B.certificate, RegistryEvidence(copy), copy)
        assert attest(verifier).ok
    document = json.loads(text)
    entry = document["devices"][0]["certificates"][1]
    der = bytearray(base64.b64decode(entry["der"]))
    der[-10] ^= 1  # inside the signature
    entry["der"] = base64.b64encode(bytes(der)).decode()
    with Registry(tmp_path / "other.db", b"\x11" * 32) as other:
        with pytest.raises(RegistryError, match="does not verify under the owner CA"):
            other.import_json(json.dumps(document))
        assert other.devices() == []


def test_a_revoked_serial_of_another_owner_ca_revokes_nothing(registry):
    # An import can bring another CA's revoked certificate with this one's serial number: the
    # registry's revocation list names certificates by fingerprint, so it revokes only itself.
    live = registry.certificate("die-7").certificate
    revocations = registry.certificate_revocations()
    assert revocations.serials == frozenset() and not revocations.is_revoked(live)
    registry.revoke("die-7", time.time())
    revocations = registry.certificate_revocations()
    assert revocations.serials == frozenset() and revocations.is_revoked(live)


def test_the_json_export_keeps_a_device_revoked(registry, tmp_path):
    registry.revoke("die-7", 1234.5)
    text = registry.export_json()
    with Registry(tmp_path / "copy.db", b"\x11" * 32) as copy:
        assert copy.import_json(text) == ["die-7"]
        assert copy.device_state("die-7").revoked_at == 1234.5
        verifier = SignatureVerifier(OWNER_A.certificate, RegistryEvidence(copy), copy)
        result = attest(verifier)
        assert not result.ok and result.reason.startswith("revoked"), result.reason


def test_two_live_certificates_in_an_export_are_a_registry_error(registry, tmp_path):
    document = json.loads(registry.export_json())
    certificates = document["devices"][0]["certificates"]
    certificates.append(dict(certificates[0]))  # the same certificate twice, both live
    with Registry(tmp_path / "copy.db", b"\x11" * 32) as copy:
        with pytest.raises(RegistryError, match="two live certificates"):
            copy.import_json(json.dumps(document))
        assert copy.devices() == []
