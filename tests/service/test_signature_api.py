"""Signature attestation through the service's HTTP API (TestClient; SQLite and PostgreSQL):
a device's ECDSA signature of the attestation digest (``cryptography`` signs it, the reference)
checked against its certificate under an owner CA of the service's configuration, the nonce
spent as for a MAC, revocation, and the refusals of malformed answers."""

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from fastapi.testclient import TestClient

from ropuf.host.identity import build_device_request, create_owner_ca, issue_device_certificate
from ropuf.host.registry import EnrollmentRecord, Registry
from ropuf.host.service.app import create_app
from ropuf.host.service.signatures import NO_TRUSTED_CA
from ropuf.host.service.tokens import create_token
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.identity import attestation_digest

MASTER = bytes(range(32))
MAC_KEY = b"k" * 32
#: Devices: "signer" certified by the trusted CA, "plain" with no certificate, "stranger"
#: certified by a CA the service does not trust.
DEVICES = ("signer", "plain", "stranger")


def helper(device_id: str) -> bytes:
    return f"helper data of {device_id}".encode()


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def ecdsa(key: ec.EllipticCurvePrivateKey, digest: bytes) -> tuple[int, int]:
    return decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))


def certify(registry: Registry, device_id: str, ca) -> ec.EllipticCurvePrivateKey:
    """A device key, certified by *ca* as *device_id* and stored in *registry*."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    request = build_device_request(device_id, point, lambda digest: ecdsa(key, digest))
    certificate = issue_device_certificate(ca, request, b"\x01" * 8)
    registry.add_certificate(device_id, certificate, ca.certificate, 5.0)
    return key


@pytest.fixture(scope="module")
def cas():
    return create_owner_ca("trusted CA"), create_owner_ca("other CA")


def make_service(path: str, cas, trusted):
    owner = Ed25519PrivateKey.generate()
    keys = {}
    with Registry(path, MASTER) as registry:
        for device_id in DEVICES:
            record = EnrollmentRecord(
                device_id, "2026-12-06T00:00:00+00:00", {"n_ro": 8}, helper(device_id),
                owner.public_key().public_bytes_raw(),
            )  # fmt: skip
            registry.enroll(record, MAC_KEY, owner)
        keys["signer"] = certify(registry, "signer", cas[0])
        keys["stranger"] = certify(registry, "stranger", cas[1])
        owner_hex = owner.public_key().public_bytes_raw().hex()
        tokens = {kind: create_token(registry, owner_hex, kind, kind)[1]
                  for kind in ("owner", "application")}  # fmt: skip
    clock = Clock()
    app = create_app(path, MASTER, nonce_lifetime=60, clock=clock, trusted_cas=trusted)
    return app, keys, tokens, clock


@pytest.fixture
def service(registry_target, cas):
    app, keys, tokens, clock = make_service(registry_target, cas, [cas[0].certificate])
    with TestClient(app) as client:
        yield {"client": client, "keys": keys, "tokens": tokens, "clock": clock}


def post(service, path: str, body: dict, kind: str = "application"):
    headers = {"Authorization": f"Bearer {service['tokens'][kind]}"}
    return service["client"].post(path, json=body, headers=headers)


def challenge(service, device_id: str) -> dict:
    answer = post(service, "/v1/challenges", {"device_id": device_id})
    assert answer.status_code == 201, answer.text
    return answer.json()


def signed(key, device_id: str, nonce_hex: str, *, signed_nonce: str | None = None) -> dict:
    """The answer of *device_id* to *nonce_hex*: its signature of the attestation digest (of
    *signed_nonce*, another nonce, when given)."""
    digest = attestation_digest(helper(device_id), bytes.fromhex(signed_nonce or nonce_hex))
    r, s = ecdsa(key, digest)
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return {"device_id": device_id, "nonce": nonce_hex, "signature": signature.hex()}


def verdict(response) -> tuple[bool, str]:
    assert response.status_code == 200, response.text
    body = response.json()
    return body["ok"], body["reason"]


def test_a_good_signature_is_accepted_once(service):
    issued = challenge(service, "signer")
    assert issued["methods"] == ["hmac", "signature"]
    body = signed(service["keys"]["signer"], "signer", issued["nonce"])
    assert verdict(post(service, "/v1/attestations", body)) == (True, "ok")
    assert verdict(post(service, "/v1/attestations", body)) == (
        False, "replayed nonce: it was used before",
    )  # fmt: skip
    device = service["client"].get(
        "/v1/devices/signer", headers={"Authorization": f"Bearer {service['tokens']['owner']}"}
    )
    assert device.json()["last_attestation"] == {
        "at": service["clock"].now, "ok": False, "reason": "replayed nonce: it was used before",
    }  # fmt: skip


def test_another_nonces_signature_is_refused(service):
    first, second = challenge(service, "signer"), challenge(service, "signer")
    body = signed(service["keys"]["signer"], "signer", second["nonce"],
                  signed_nonce=first["nonce"])  # fmt: skip
    ok, reason = verdict(post(service, "/v1/attestations", body))
    assert not ok and reason.startswith("bad-signature: the signature does not verify")
    # The refused answer spent the second nonce: its good signature comes too late.
    good = signed(service["keys"]["signer"], "signer", second["nonce"])
    assert verdict(post(service, "/v1/attestations", good))[1].startswith("replayed nonce")
    # A signature by another device's key (certified, but not this device's) is refused too.
    third = challenge(service, "signer")
    forged = signed(service["keys"]["stranger"], "signer", third["nonce"])
    ok, reason = verdict(post(service, "/v1/attestations", forged))
    assert not ok and reason.startswith("bad-signature: the signature does not verify")


def test_a_revoked_device_is_refused(service):
    issued = challenge(service, "signer")
    body = signed(service["keys"]["signer"], "signer", issued["nonce"])
    assert post(service, "/v1/devices/signer/revoke", {}, "owner").status_code == 200
    assert verdict(post(service, "/v1/attestations", body)) == (
        False, "revoked device: it no longer attests",
    )  # fmt: skip
    refused = post(service, "/v1/challenges", {"device_id": "signer"})
    assert refused.status_code == 409 and "revoked" in refused.json()["message"]


def test_a_device_without_a_usable_certificate_is_refused(service):
    issued = challenge(service, "plain")
    assert issued["methods"] == ["hmac"]
    key = ec.generate_private_key(ec.SECP256R1())
    ok, reason = verdict(post(service, "/v1/attestations", signed(key, "plain", issued["nonce"])))
    assert not ok and "device 'plain' has no certificate" in reason
    assert "attest it with --method hmac" in reason
    # Its nonce is spent: its MAC after the refusal is a replay.
    mac = attestation_mac(MAC_KEY, helper("plain"), bytes.fromhex(issued["nonce"])).hex()
    again = {"device_id": "plain", "nonce": issued["nonce"], "mac": mac}
    assert verdict(post(service, "/v1/attestations", again))[1].startswith("replayed nonce")
    # A certificate from an owner CA the service was not configured with is refused.
    other = challenge(service, "stranger")
    assert other["methods"] == ["hmac"]
    body = signed(service["keys"]["stranger"], "stranger", other["nonce"])
    ok, reason = verdict(post(service, "/v1/attestations", body))
    assert not ok and reason.startswith("other-ca")


def test_exactly_one_of_mac_and_signature(service):
    issued = challenge(service, "signer")
    body = signed(service["keys"]["signer"], "signer", issued["nonce"])
    for wrong, what in (({**body, "mac": "00" * 32}, "both"), ({**body, "signature": None},
                                                               "neither")):  # fmt: skip
        response = post(service, "/v1/attestations", wrong)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid_request"
        message = response.json()["message"]
        assert "give exactly one of mac (HMAC attestation) and signature" in message
        assert message.endswith(f"not {what}")
    short = post(service, "/v1/attestations", {**body, "signature": body["signature"][:-2]})
    assert short.status_code == 422 and "signature" in short.json()["message"]
    batch = post(service, "/v1/attestations/batch", {"attestations": [{**body, "mac": "00"}]})
    assert batch.status_code == 422 and "exactly one" in batch.json()["message"]
    # None of these spent the nonce.
    assert verdict(post(service, "/v1/attestations", body)) == (True, "ok")


def test_a_batch_of_macs_and_signatures(service):
    key = service["keys"]["signer"]
    one, two, three = (challenge(service, "signer")["nonce"] for _ in range(3))
    plain = challenge(service, "plain")["nonce"]
    mac = attestation_mac(MAC_KEY, helper("signer"), bytes.fromhex(two)).hex()
    answers = [
        signed(key, "signer", one),
        {"device_id": "signer", "nonce": two, "mac": mac},
        signed(key, "signer", two),  # the nonce the MAC spent: a replay
        signed(key, "signer", three, signed_nonce=one),
        {"device_id": "plain", "nonce": plain,
         "mac": attestation_mac(MAC_KEY, helper("plain"), bytes.fromhex(plain)).hex()},
    ]  # fmt: skip
    response = post(service, "/v1/attestations/batch", {"attestations": answers})
    assert response.status_code == 200, response.text
    results = [(r["ok"], r["reason"].split(":")[0]) for r in response.json()["results"]]
    assert results == [
        (True, "ok"), (True, "ok"), (False, "replayed nonce"), (False, "bad-signature"),
        (True, "ok"),
    ]  # fmt: skip


@pytest.mark.parametrize("registry_target", ["sqlite"], indirect=True)
def test_a_service_that_trusts_no_owner_ca(registry_target, cas):
    app, keys, tokens, _clock = make_service(registry_target, cas, [])
    with TestClient(app) as client:
        service = {"client": client, "tokens": tokens}
        issued = challenge(service, "signer")
        assert issued["methods"] == ["hmac"]
        body = signed(keys["signer"], "signer", issued["nonce"])
        refused = post(service, "/v1/attestations", body)
        assert refused.status_code == 409
        assert refused.json() == {"error": "refused", "message": NO_TRUSTED_CA}
        batch = post(service, "/v1/attestations/batch", {"attestations": [body]})
        assert batch.json()["results"] == [{"device_id": "signer", "ok": False,
                                            "reason": NO_TRUSTED_CA}]  # fmt: skip
        # Not a verdict: the nonce is not spent, and its MAC still attests.
        mac = attestation_mac(MAC_KEY, helper("signer"), bytes.fromhex(issued["nonce"])).hex()
        answer = {"device_id": "signer", "nonce": issued["nonce"], "mac": mac}
        assert verdict(post(service, "/v1/attestations", answer)) == (True, "ok")
