"""The key path of the simulated board (Verilator, through the UART bit stream): a helper record
made on the host reconstructs on the fabric, attests with the host-derived key, reports the
identity the host derives and signs with it (RFC 6979, verified with cryptography), and answers
as the fast model device does; another die fails the key check. SIGN's GENERIC domain is
served before LOCK and refused (LOCKED) after it, ATTESTATION in both."""

import hashlib

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from ropuf.host.client import DeviceClient, DeviceLockedError
from ropuf.host.keygen import enrol
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.ro_measure import measure_pairs
from ropuf.spec import arbiter_command, commands, identity
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.commands import Command, Status
from ropuf.spec.identity import SignDomain
from tests.drivers.board_session import send_all

CODE = SIM_DEVICE.code
DIE = 4


def enrolled(die_seed: int, reads: int = 12):
    """Enrol *die_seed* from the model's reads (fast; the board is the same die)."""
    model = device_model(Condition(die_seed=die_seed))
    pairs = [(2 * i, 2 * i + 1) for i in range(CODE.ros // 2)]
    counts, state = [], None
    for _ in range(reads):
        results, state = measure_pairs(
            model.rates,
            pairs,
            model.config,
            seed=1234,
            noise_scale=model.noise_scale,
            common_scale=model.common_scale,
            state=state,
        )
        counts.append([count for r in results for count in (r.count_a, r.count_b)])
    # The design offsets the board's build holds: the fabric takes the bits less them.
    return enrol(np.array(counts), CODE, n_ro=SIM_DEVICE.n_ro, offsets=SIM_DEVICE.offsets)


def session(client, record: bytes, nonce: bytes) -> list:
    """LOAD_HELPER, RECONSTRUCT, INFO, ATTEST, IDENTITY, SIGN (attestation): (status, payload)
    of each."""
    return send_all(
        client,
        [
            *((Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)),
            (Command.RECONSTRUCT, b""),
            (Command.INFO, b""),
            (Command.ATTEST, nonce),
            (Command.IDENTITY, b""),
            (Command.SIGN, identity.encode_sign_request(SignDomain.ATTESTATION, nonce)),
        ],
    )


def verify(public: bytes, h: bytes, signature: bytes) -> None:
    """*signature* (r || s) of the digest *h* verifies under *public* with cryptography."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
    key.verify(encode_dss_signature(r, s), h, ec.ECDSA(Prehashed(hashes.SHA256())))


@pytest.mark.sim
def test_reconstruct_and_attest_on_the_simulated_board():
    enrollment = enrolled(DIE)
    record = enrollment.helper.to_bytes()
    nonce = bytes(range(32))
    fast = FastDevice(device_model(Condition(die_seed=DIE)))
    with DeviceClient(fast) as client:
        expected = session(client, record, nonce)
    digest = hashlib.sha256(b"a generic message").digest()
    with SimulatedBoard(Condition(die_seed=DIE)) as board:
        with DeviceClient.open(board.url, timeout=60) as client:
            got = session(client, record, nonce)
            # The client's methods (`ropuf sim serve` in Verilator answers them).
            public = client.identity()
            generic = client.sign(SignDomain.GENERIC, digest)
            client.lock()
            with pytest.raises(DeviceLockedError, match=r"before LOCK.*status 0x12 LOCKED"):
                client.sign(SignDomain.GENERIC, digest)
            locked = client.sign(SignDomain.ATTESTATION, nonce)
    assert got == expected
    *_, (reconstruct, _), (_, info), (attest, mac), (ident, point), (sign, signature) = got
    assert reconstruct == Status.OK and commands.Info.decode(info).key_ready
    assert attest == Status.OK
    assert mac == attestation_mac(enrollment.keys.attestation, record, nonce)
    # The identity: the key the host derives from the enrollment's master key, RFC 6979
    # signatures that cryptography verifies.
    d = identity.identity_scalar(enrollment.keys.master)
    assert (ident, point) == (Status.OK, identity.encode_public_key(identity.public_key(d)))
    assert public == point
    h = identity.attestation_digest(record, nonce)
    assert (sign, signature) == (Status.OK, identity.sign(d, h)) == (Status.OK, locked)
    verify(public, h, signature)
    assert generic == identity.sign(d, digest)
    verify(public, digest, generic)


@pytest.mark.sim
def test_another_die_fails_the_key_check():
    record = enrolled(DIE).helper.to_bytes()
    with SimulatedBoard(Condition(die_seed=DIE + 1)) as board:
        with DeviceClient.open(board.url, timeout=60) as client:
            got = session(client, record, bytes(32))
    *_, (reconstruct, _), (_, info), (attest, _), (ident, _), (sign, _) = got
    assert reconstruct == Status.KEY_CHECK_FAILED
    assert not commands.Info.decode(info).key_ready
    assert attest == ident == sign == Status.NO_KEY


@pytest.mark.sim
def test_arbiter_over_the_link_answers_like_the_fast_model():
    """ARBITER through the UART on the Verilator board: majorities and counts equal the fast
    model device's for the same die and noise seed; COUNTS is refused after LOCK."""
    config = SIM_DEVICE.arbiter
    rng = np.random.default_rng(9)
    challenges = [int(c) for c in rng.integers(0, 2**63, 31, dtype=np.int64)]
    requests = [
        (Command.ARBITER, arbiter_command.encode_request(challenges, n_stages=64, votes=5)),
        (
            Command.ARBITER,
            arbiter_command.encode_request(
                challenges[:8], n_stages=64, votes=9, form=arbiter_command.Form.COUNTS
            ),
        ),
        (Command.ARBITER, b"\x00"),  # truncated
        (Command.LOCK, b""),
        (
            Command.ARBITER,
            arbiter_command.encode_request(
                challenges[:2], n_stages=64, votes=3, form=arbiter_command.Form.COUNTS
            ),
        ),
    ]

    condition = Condition(die_seed=DIE)
    with DeviceClient(FastDevice(device_model(condition))) as client:
        expected = send_all(client, requests)
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=60) as client:
        got = send_all(client, requests)
    assert got == expected
    assert [status for status, _ in got] == [0, 0, Status.BAD_PAYLOAD, 0, Status.LOCKED]
    assert config.k == 4
    majority = arbiter_command.decode_response(
        got[0][1], form=arbiter_command.Form.MAJORITY, count=31
    )
    assert 5 <= sum(majority) <= 26  # a 4-XOR PUF answers both ways
