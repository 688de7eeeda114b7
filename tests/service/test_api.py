"""The verifier service's HTTP API through FastAPI's TestClient: tokens and scopes, challenges
and attestations (single and batch), the owner endpoints, and the JSON of every refusal; on an
SQLite registry and on a real PostgreSQL server (``registry_target``)."""

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from fastapi.testclient import TestClient

from ropuf.host.identity import (
    build_device_request,
    create_owner_ca,
    fingerprint,
    issue_device_certificate,
)
from ropuf.host.registry import EnrollmentRecord, Registry
from ropuf.host.service.app import create_app
from ropuf.host.service.tokens import create_token, hash_token
from ropuf.spec.attestation import attestation_mac

MASTER = bytes(range(32))
KEYS = {"a1": b"1" * 32, "a2": b"2" * 32, "a3": b"3" * 32, "b1": b"4" * 32}


def helper(device_id: str) -> bytes:
    return f"helper data of {device_id}".encode()


def record(device_id: str, owner: Ed25519PrivateKey) -> EnrollmentRecord:
    return EnrollmentRecord(
        device_id, "2026-12-06T00:00:00+00:00", {"n_ro": 8}, helper(device_id),
        owner.public_key().public_bytes_raw(),
    )  # fmt: skip


def hexkey(owner: Ed25519PrivateKey) -> str:
    return owner.public_key().public_bytes_raw().hex()


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service(registry_target):
    alice, bob = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    path = registry_target
    tokens = {}
    with Registry(path, MASTER) as reg:
        for device_id in ("a1", "a2", "a3"):
            reg.enroll(record(device_id, alice), KEYS[device_id], alice)
        reg.enroll(record("b1", bob), KEYS["b1"], bob)
        for name, owner, kind in (
            ("alice", alice, "owner"),
            ("alice_app", alice, "application"),
            ("bob", bob, "owner"),
        ):
            tokens[name] = create_token(reg, hexkey(owner), kind, name)[1]
    clock = Clock()
    with TestClient(create_app(path, MASTER, nonce_lifetime=60, clock=clock)) as client:
        yield {
            "client": client, "tokens": tokens, "alice": alice, "bob": bob, "path": path,
            "clock": clock,
        }  # fmt: skip


def auth(service, name: str) -> dict:
    return {"Authorization": f"Bearer {service['tokens'][name]}"}


def challenge(service, device_id: str, token: str = "alice_app") -> dict:
    answer = service["client"].post(
        "/v1/challenges", json={"device_id": device_id}, headers=auth(service, token)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def answer_of(device_id: str, nonce_hex: str, key: bytes | None = None) -> dict:
    nonce = bytes.fromhex(nonce_hex)
    mac = attestation_mac(key or KEYS[device_id], helper(device_id), nonce)
    return {"device_id": device_id, "nonce": nonce_hex, "mac": mac.hex()}


def post(service, path: str, body: dict, token: str = "alice_app"):
    return service["client"].post(path, json=body, headers=auth(service, token))


def refused(response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == error
    return body["message"]


def test_challenge_then_attestation_then_replay(service):
    issued = challenge(service, "a1")
    assert len(bytes.fromhex(issued["nonce"])) == 32
    assert issued["expires_at"] == service["clock"].now + 60 and issued["lifetime"] == 60
    assert bytes.fromhex(issued["helper_data"]) == helper("a1")
    assert challenge(service, "a1")["nonce"] != issued["nonce"]
    body = answer_of("a1", issued["nonce"])
    first = post(service, "/v1/attestations", body)
    assert first.status_code == 200 and first.json() == {
        "device_id": "a1",
        "ok": True,
        "reason": "ok",
    }
    again = post(service, "/v1/attestations", body).json()
    assert again == {"device_id": "a1", "ok": False, "reason": "replayed nonce: it was used before"}


def test_wrong_mac_unknown_and_expired_nonces_are_verdicts(service):
    issued = challenge(service, "a1")
    wrong = post(service, "/v1/attestations", answer_of("a1", issued["nonce"], KEYS["a2"]))
    assert wrong.json()["reason"] == "MAC mismatch: not the enrolled device"
    unknown = post(service, "/v1/attestations", answer_of("a1", "00" * 32)).json()
    assert not unknown["ok"] and unknown["reason"].startswith("unknown nonce")
    late = challenge(service, "a1")
    service["clock"].now += 61
    expired = post(service, "/v1/attestations", answer_of("a1", late["nonce"])).json()
    assert not expired["ok"] and expired["reason"].startswith("expired nonce")
    # A nonce issued for a2 does not serve a1.
    other = challenge(service, "a2")
    moved = post(service, "/v1/attestations", answer_of("a1", other["nonce"])).json()
    assert moved["reason"] == "nonce issued for 'a2', not for this device"


def test_expired_challenges_are_pruned_on_issue(service):
    challenge(service, "a1")
    service["clock"].now += 120
    challenge(service, "a1")  # prunes the first
    with Registry(service["path"], MASTER) as reg:
        (count,) = reg._db.execute("SELECT COUNT(*) FROM challenges").fetchone()
    assert count == 1


def test_batch(service):
    nonces = [challenge(service, device_id)["nonce"] for device_id in ("a1", "a2", "a3")]
    items = [answer_of(d, n) for d, n in zip(("a1", "a2", "a3"), nonces, strict=True)]
    items[1] = answer_of("a2", nonces[1], KEYS["a1"])  # an impostor
    items.append(items[0])  # a replay inside the batch
    items.append(answer_of("b1", nonces[2]))  # bob's device
    response = post(service, "/v1/attestations/batch", {"attestations": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True, False, False]
    assert results[1]["reason"].startswith("MAC mismatch")
    assert results[3]["reason"].startswith("replayed nonce")
    assert results[4]["reason"] == "device not enrolled under this token's owner"
    message = refused(post(service, "/v1/attestations/batch", {"attestations": []}), 422,
                      "invalid_request")  # fmt: skip
    assert "attestations" in message


def test_tokens_and_scopes(service):
    client = service["client"]
    message = refused(client.post("/v1/challenges", json={"device_id": "a1"}), 401,
                      "unauthorized")  # fmt: skip
    assert "Authorization: Bearer" in message
    bad = {"Authorization": "Bearer ropuf_00000000_" + "A" * 43}
    refused(client.post("/v1/challenges", json={"device_id": "a1"}, headers=bad), 401,
            "unauthorized")  # fmt: skip
    message = refused(client.get("/v1/devices", headers=auth(service, "alice_app")), 403,
                      "forbidden")  # fmt: skip
    assert "needs 'manage'" in message
    # Bob's token does not see alice's device, and learns nothing of it (the same 404).
    for path in ("/v1/devices/a1", "/v1/devices/nothing"):
        refused(client.get(path, headers=auth(service, "bob")), 404, "not_found")
    refused(post(service, "/v1/challenges", {"device_id": "a1"}, "bob"), 404, "not_found")
    issued = challenge(service, "a1")
    stolen = post(service, "/v1/attestations", answer_of("a1", issued["nonce"]), "bob")
    refused(stolen, 404, "not_found")
    assert post(service, "/v1/attestations", answer_of("a1", issued["nonce"])).json()["ok"]
    # A revoked token is refused.
    with Registry(service["path"], MASTER) as reg:
        (app_token,) = [t for t in reg.tokens() if t.label == "alice_app"]
        reg.revoke_token(app_token.token_id, 1.0)
    refused(post(service, "/v1/challenges", {"device_id": "a1"}), 401, "unauthorized")


def test_tokens_are_stored_only_as_hashes(service):
    with Registry(service["path"], MASTER) as reg:
        rows = reg._db.execute("SELECT * FROM tokens").fetchall()
    stored = repr(rows)
    for token in service["tokens"].values():
        assert token.startswith("ropuf_") and token not in stored
        assert token.split("_", 2)[2] not in stored  # nor its secret part (base64url: may hold _)
    assert {row[0] for row in rows} == {hash_token(token) for token in service["tokens"].values()}
    if service["path"].endswith(".db"):  # an SQLite file: not in its bytes either
        data = Path(service["path"]).read_bytes()
        assert not any(token.encode() in data for token in service["tokens"].values())


def test_device_listing_pages_and_one_device(service):
    client = service["client"]
    first = client.get("/v1/devices?limit=2", headers=auth(service, "alice")).json()
    assert [d["device_id"] for d in first["devices"]] == ["a1", "a2"] and first["next"] == "a2"
    rest = client.get("/v1/devices?limit=2&after=a2", headers=auth(service, "alice")).json()
    assert [d["device_id"] for d in rest["devices"]] == ["a3"] and rest["next"] is None
    issued = challenge(service, "a1")
    post(service, "/v1/attestations", answer_of("a1", issued["nonce"], KEYS["a3"]))
    one = client.get("/v1/devices/a1", headers=auth(service, "alice")).json()
    assert one["owner"] == one["enrolled_by"] == hexkey(service["alice"])
    assert one["status"] == "active" and one["revoked_at"] is None
    assert one["puf"] == {"n_ro": 8} and one["helper_bytes"] == len(helper("a1"))
    last = one["last_attestation"]
    assert last["ok"] is False and last["reason"].startswith("MAC mismatch")
    assert last["at"] == service["clock"].now
    refused(client.get("/v1/devices?limit=0", headers=auth(service, "alice")), 422,
            "invalid_request")  # fmt: skip


def test_revoke(service):
    issued = challenge(service, "a2")
    revoked = post(service, "/v1/devices/a2/revoke", {}, "alice")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_at"] == service["clock"].now
    verdict = post(service, "/v1/attestations", answer_of("a2", issued["nonce"])).json()
    assert verdict["reason"] == "revoked device: it no longer attests"
    assert "revoked" in refused(post(service, "/v1/challenges", {"device_id": "a2"}), 409,
                                "refused")  # fmt: skip
    refused(post(service, "/v1/devices/a2/revoke", {}, "alice"), 409, "conflict")
    refused(post(service, "/v1/devices/a2/revoke", {}, "alice_app"), 403, "forbidden")


def test_a_device_certificate_in_the_service_and_its_revocation(service):
    """The owner's view shows the device's certificate; revoking the device revokes it."""
    ca = create_owner_ca("alice's CA")
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )

    def sign(digest: bytes) -> tuple[int, int]:
        return decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))

    certificate = issue_device_certificate(ca, build_device_request("a3", point, sign), b"\x01" * 8)
    with Registry(service["path"], MASTER) as reg:
        reg.add_certificate("a3", certificate, ca.certificate, 5.0)
    client = service["client"]
    assert (
        client.get("/v1/devices/a1", headers=auth(service, "alice")).json()["certificate"] is None
    )
    shown = client.get("/v1/devices/a3", headers=auth(service, "alice")).json()["certificate"]
    assert shown["serial"] == f"{certificate.serial_number:x}"
    assert shown["owner_ca"] == fingerprint(ca.certificate).hex() and shown["revoked_at"] is None
    assert shown["issued_at"] == 5.0 and shown["owner_ca_name"] == "CN=alice's CA"
    assert x509.load_pem_x509_certificate(shown["pem"].encode()) == certificate
    revoked = post(service, "/v1/devices/a3/revoke", {}, "alice").json()
    assert revoked["certificate"]["revoked_at"] == service["clock"].now
    with Registry(service["path"], MASTER) as reg:
        assert reg.certificate_revocations().is_revoked(certificate)


def test_transfer(service):
    bob = hexkey(service["bob"])
    moved = post(service, "/v1/devices/a3/transfer", {"owner": bob.upper()}, "alice")
    assert moved.status_code == 200 and moved.json()["owner"] == bob
    refused(service["client"].get("/v1/devices/a3", headers=auth(service, "alice")), 404,
            "not_found")  # fmt: skip
    issued = challenge(service, "a3", "bob")
    assert post(service, "/v1/attestations", answer_of("a3", issued["nonce"]), "bob").json()["ok"]
    message = refused(post(service, "/v1/devices/b1/transfer", {"owner": "xyz"}, "bob"), 422,
                      "invalid_request")  # fmt: skip
    assert "body.owner" in message


def test_import(service, tmp_path):
    carol = Ed25519PrivateKey.generate()
    with Registry(tmp_path / "other.db", MASTER) as other:
        other.enroll(record("c1", service["alice"]), b"c" * 32, service["alice"])
        other.enroll(record("c2", carol), b"d" * 32, carol)
        export = json.loads(other.export_json())
    mine = {**export, "devices": export["devices"][:1]}
    theirs = {**export, "devices": export["devices"][1:]}
    message = refused(post(service, "/v1/devices/import", theirs, "alice"), 400, "bad_import")
    assert "import only your own devices" in message
    done = post(service, "/v1/devices/import", mine, "alice")
    assert done.status_code == 200 and done.json() == {"imported": ["c1"]}
    issued = challenge(service, "c1")
    ok = post(service, "/v1/attestations", answer_of("c1", issued["nonce"], b"c" * 32)).json()
    assert ok["ok"]
    refused(post(service, "/v1/devices/import", mine, "alice"), 409, "conflict")
    refused(post(service, "/v1/devices/import", {"nothing": 1}, "alice"), 400, "bad_import")


def test_malformed_requests_and_unknown_routes(service):
    malformed = {"device_id": "a1", "nonce": "zz", "mac": "00"}
    message = refused(post(service, "/v1/attestations", malformed), 422, "invalid_request")
    assert "body.nonce" in message
    refused(service["client"].get("/v1/nothing"), 404, "not_found")
    refused(service["client"].get("/v1/challenges"), 405, "method_not_allowed")


def test_no_answer_reveals_a_key(service):
    """Every endpoint's answers, and the OpenAPI schema, hold no device key nor the master
    key (as hex or raw)."""
    client = service["client"]
    issued = challenge(service, "a1")
    texts = [
        json.dumps(issued),
        post(service, "/v1/attestations", answer_of("a1", issued["nonce"])).text,
        client.get("/v1/devices", headers=auth(service, "alice")).text,
        client.get("/v1/devices/a1", headers=auth(service, "alice")).text,
        client.get("/openapi.json").text,
    ]
    secrets = [MASTER, *KEYS.values()]
    for text in texts:
        for secret in secrets:
            assert secret.hex() not in text and secret.decode("latin-1") not in text


def test_openapi_lists_the_endpoints(service):
    schema = service["client"].get("/openapi.json").json()
    assert {
        "/v1/challenges", "/v1/attestations", "/v1/attestations/batch", "/v1/devices",
        "/v1/devices/{device_id}", "/v1/devices/import", "/v1/devices/{device_id}/revoke",
        "/v1/devices/{device_id}/transfer",
    } <= set(schema["paths"])  # fmt: skip
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
