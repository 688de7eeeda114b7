"""The key path of the simulated board (Verilator, through the UART bit stream): a helper record
made on the host reconstructs on the fabric, attests with the host-derived key, and answers
as the fast model device does; another die fails the key check."""

import numpy as np
import pytest

from ropuf.host.client import DeviceClient
from ropuf.host.keygen import enrol
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.ro_measure import measure_pairs
from ropuf.spec import arbiter_command, commands
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.commands import Command, Status
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
    """LOAD_HELPER, RECONSTRUCT, INFO, ATTEST: (status, payload) of each."""
    return send_all(
        client,
        [
            *((Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)),
            (Command.RECONSTRUCT, b""),
            (Command.INFO, b""),
            (Command.ATTEST, nonce),
        ],
    )


@pytest.mark.sim
def test_reconstruct_and_attest_on_the_simulated_board():
    enrollment = enrolled(DIE)
    record = enrollment.helper.to_bytes()
    nonce = bytes(range(32))
    fast = FastDevice(device_model(Condition(die_seed=DIE)))
    with DeviceClient(fast) as client:
        expected = session(client, record, nonce)
    with SimulatedBoard(Condition(die_seed=DIE)) as board:
        with DeviceClient.open(board.url, timeout=60) as client:
            got = session(client, record, nonce)
    assert got == expected
    *_, (reconstruct, _), (_, info), (attest, mac) = got
    assert reconstruct == Status.OK and commands.Info.decode(info).key_ready
    assert attest == Status.OK
    assert mac == attestation_mac(enrollment.keys.attestation, record, nonce)


@pytest.mark.sim
def test_another_die_fails_the_key_check():
    record = enrolled(DIE).helper.to_bytes()
    with SimulatedBoard(Condition(die_seed=DIE + 1)) as board:
        with DeviceClient.open(board.url, timeout=60) as client:
            got = session(client, record, bytes(32))
    *_, (reconstruct, _), (_, info), (attest, _) = got
    assert reconstruct == Status.KEY_CHECK_FAILED
    assert not commands.Info.decode(info).key_ready
    assert attest == Status.NO_KEY


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
