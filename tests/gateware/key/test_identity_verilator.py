"""The key engine's identity in Verilator: IDENTITY and SIGN on a small key path (the code of
test_engine.py) against the reference (:mod:`ropuf.spec.identity`, itself checked against
``cryptography`` and RFC 6979) and the device model, every signature verified with
``cryptography``, and the constant-time test: RECONSTRUCT (success or failure), IDENTITY and
SIGN each take one cycle count whatever the key, the digest or the nonce. SIGN's GENERIC domain:
served by an enrollment build's engine before LOCK, refused LOCKED after it and by a deployment
build's engine (ATTESTATION served by all three)."""

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.key.record import MemoryMap
from ropuf.gateware.ro.array import ResultLayout
from ropuf.sim import harness
from ropuf.sim.device_model import DeviceModel
from ropuf.sim.testbenches.handler import JOB_ENV, write_job
from ropuf.spec import commands, identity
from ropuf.spec.commands import Command, Status
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.identity import SignDomain

from .test_engine import CODE, GATE, N_RO, NOISE, OFFSETS, enrol, make, with_crc

TESTBENCH = "ropuf.sim.testbenches.handler"
DIGESTS = (hashlib.sha256(b"sample").digest(), hashlib.sha256(b"test").digest())
NONCES = (bytes(range(32)), b"\xff" * 32)


def session(record: bytes, digest: bytes, nonce: bytes) -> list[tuple[int, bytes]]:
    """The record, RECONSTRUCT, IDENTITY, SIGN (generic, attestation), the refusals."""
    return [
        *((Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)),
        (Command.RECONSTRUCT, b""),
        (Command.IDENTITY, b""),
        (Command.SIGN, identity.encode_sign_request(SignDomain.GENERIC, digest)),
        (Command.SIGN, identity.encode_sign_request(SignDomain.ATTESTATION, nonce)),
        (Command.SIGN, b"\x07" + digest),  # no such domain
        (Command.SIGN, b"\x02" + digest[:31]),  # short
        (Command.IDENTITY, b"\x00"),  # IDENTITY takes no payload
    ]


def verify(public: bytes, h: bytes, signature: bytes) -> None:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
    key.verify(encode_dss_signature(r, s), h, ec.ECDSA(Prehashed(hashes.SHA256())))


def run_engine(tmp_path, requests, rates, *, generic_sign, name):
    """*requests* answered by the identity's key engine in Verilator (``generic_sign``: an
    enrollment build's): ``(status, payload, cycles)`` each."""
    result = tmp_path / "answers.json"
    soft = ResultLayout(16, 16)["soft"]
    write_job(
        tmp_path / "job.json", requests, rates=rates, shift=12,
        soft_offset=soft.offset, soft_width=soft.shape.width,
    )  # fmt: skip
    engine = KeyEngine(
        code=CODE, n_ro=N_RO, count_width=16, soft_width=16, offsets=OFFSETS, identity=True,
        generic_sign=generic_sign,
    )  # fmt: skip
    harness.run(
        harness.build(engine, name),
        TESTBENCH,
        env={JOB_ENV: str(tmp_path / "job.json"), "ROPUF_RESULT": str(result)},
    )
    return [(status, bytes.fromhex(data), cycles) for status, data, cycles in json.loads(
        result.read_text()
    )]  # fmt: skip


@pytest.mark.sim
def test_identity_and_sign_match_the_reference_in_constant_time(tmp_path):
    _, _, rates = make()
    first, first_keys, _ = enrol(rates, message_seed=1)
    second, second_keys, _ = enrol(rates, message_seed=2)  # another secret: another d
    wrong_kcv = with_crc(first[: MemoryMap(CODE, N_RO).kcv] + bytes(8))
    n_load = len(commands.encode_load_helper(first))
    reconstruct, ident, generic, attest = n_load, n_load + 1, n_load + 2, n_load + 3
    before = [  # no key yet
        (Command.IDENTITY, b""),
        (Command.SIGN, identity.encode_sign_request(SignDomain.GENERIC, DIGESTS[0])),
    ]
    sessions = [
        session(first, DIGESTS[0], NONCES[0]),
        session(second, DIGESTS[1], NONCES[1]),
        session(wrong_kcv, *DIGESTS)[: ident + 1],
    ]
    # After LOCK (the testbench raises the engine's `locked`, as the processor's LOCK does):
    # GENERIC refused at once, ATTESTATION served.
    locked = [
        *session(first, DIGESTS[0], NONCES[0])[: ident + 1],
        (Command.LOCK, b""),
        (Command.SIGN, identity.encode_sign_request(SignDomain.GENERIC, DIGESTS[0])),
        (Command.SIGN, identity.encode_sign_request(SignDomain.ATTESTATION, NONCES[0])),
    ]
    requests = before + [request for s in sessions for request in s] + locked

    answers = run_engine(tmp_path, requests, rates, generic_sign=True, name="key_engine_identity")
    assert len(answers) == len(requests)
    assert [status for status, _, _ in answers[:2]] == [Status.NO_KEY] * 2
    runs, at = [], len(before)
    for s in (*sessions, locked):
        runs.append(answers[at : at + len(s)])
        at += len(s)

    # The reference's answers (the key the host derives from the enrollment's master key),
    # every signature verified with cryptography.
    for record, keys, run, digest, nonce in zip(
        (first, second), (first_keys, second_keys), runs, DIGESTS, NONCES, strict=False
    ):
        statuses = [status for status, _, _ in run]
        assert statuses == [Status.OK] * (n_load + 4) + [Status.BAD_PAYLOAD] * 3
        d = identity.identity_scalar(keys.master)
        public = identity.encode_public_key(identity.public_key(d))
        assert run[ident][1] == public
        for h, (_, signature, _) in (
            (digest, run[generic]),
            (identity.attestation_digest(record, nonce), run[attest]),
        ):
            assert signature == identity.sign(d, h)
            verify(public, h, signature)
    assert runs[0][ident][1] != runs[1][ident][1]
    assert [status for status, _, _ in runs[2][reconstruct:]] == [
        Status.KEY_CHECK_FAILED, Status.NO_KEY
    ]  # fmt: skip
    # Locked: GENERIC refused before any work (a few cycles), ATTESTATION signed as before.
    *_, (lock, _, _), (refused, payload, refused_cycles), attested = runs[3]
    assert (lock, refused, payload) == (Status.OK, Status.LOCKED, b"")
    assert refused_cycles < 2 * identity.SIGN_PAYLOAD_BYTES  # the payload, a byte a cycle
    assert attested[:2] == runs[0][attest][:2]
    # Bit-exact with the device model (the same requests, the same small build).
    params = DeviceConfig(
        variant="enrollment", n_ro=N_RO, gate_cycles=GATE, code=CODE, offsets=OFFSETS,
        identity=True,
    )  # fmt: skip
    model = DeviceModel(params, rates, **NOISE)
    model_answers = [model.handle(code, payload) for code, payload in requests]
    assert [(status, payload) for status, payload, _ in answers] == model_answers

    # Constant time: one count per command whatever the key, digest, nonce or outcome.
    def cycles(index, *which):
        return {runs[w][index][2] for w in which}

    assert len(cycles(reconstruct, 0, 1, 2)) == 1
    assert len(cycles(ident, 0, 1)) == 1
    assert len(cycles(generic, 0, 1)) == 1
    assert len(cycles(attest, 0, 1)) == 1


@pytest.mark.sim
@pytest.mark.slow  # a second Verilator build of the engine with the identity (1-2 min cold)
def test_a_deployment_engine_refuses_generic_and_signs_attestations(tmp_path):
    _, _, rates = make()
    record, keys, _ = enrol(rates, message_seed=1)
    generic = (Command.SIGN, identity.encode_sign_request(SignDomain.GENERIC, DIGESTS[0]))
    requests = [
        generic,  # refused before the key is looked at
        *((Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)),
        (Command.RECONSTRUCT, b""),
        (Command.IDENTITY, b""),
        generic,
        (Command.SIGN, identity.encode_sign_request(SignDomain.ATTESTATION, NONCES[0])),
    ]
    # generic_sign=False: a deployment build's engine.
    answers = [
        (status, payload)
        for status, payload, _ in run_engine(
            tmp_path, requests, rates, generic_sign=False, name="key_engine_identity_deployment"
        )
    ]
    params = DeviceConfig(
        variant="deployment", n_ro=N_RO, gate_cycles=GATE, code=CODE, offsets=OFFSETS,
        identity=True,
    )  # fmt: skip
    model = DeviceModel(params, rates, **NOISE)
    assert answers == [model.handle(code, payload) for code, payload in requests]
    *_, (ident, public), (refused, _), (attested, signature) = answers
    assert answers[0] == (refused, b"") == (Status.LOCKED, b"")
    d = identity.identity_scalar(keys.master)
    assert (ident, public) == (Status.OK, identity.encode_public_key(identity.public_key(d)))
    h = identity.attestation_digest(record, NONCES[0])
    assert (attested, signature) == (Status.OK, identity.sign(d, h))
    verify(public, h, signature)
