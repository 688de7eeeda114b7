"""The simulated iCEBreaker (``ropuf sim serve --board icebreaker``): its design (384 ROs, the
ICE40 construction, the compact key path) in Verilator, enrolled and attested through the host
like a real board, answering as the fast model device does, and refusing another die and a
manipulated pair list."""

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.client import DeviceClient, DeviceError
from ropuf.host.enrollment import SerialSource, enroll_device
from ropuf.host.registry import Registry
from ropuf.sim.board import SIM_ICEBREAKER, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import commands
from ropuf.spec.code_params import ICE40
from ropuf.spec.commands import Command, Status
from ropuf.spec.helper_data import HelperData
from ropuf.spec.ro_pairs import neighbour_pairs
from tests.drivers.board_session import send_all

DIE = 6


def session(client, record: bytes) -> list:
    """INFO, a READ_RO, LOAD_HELPER, RECONSTRUCT, ATTEST: (status, payload) of each."""
    return send_all(
        client,
        [
            (Command.INFO, b""),
            (Command.READ_RO, commands.encode_read_ro_request(neighbour_pairs(384)[:32])),
            *((Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)),
            (Command.RECONSTRUCT, b""),
            (Command.ATTEST, bytes(range(32))),
        ],
    )


@pytest.mark.sim
def test_the_simulated_icebreaker_enrols_attests_and_equals_the_fast_model(tmp_path):
    condition = Condition(die_seed=DIE, board="icebreaker", noise_seed=4)
    master = bytes(range(32))
    owner = Ed25519PrivateKey.generate()
    with (
        SimulatedBoard(condition, timeout=120) as board,
        Registry(tmp_path / "registry.db", master) as registry,
    ):
        source = SerialSource(board.url, timeout=120)
        # The construction comes from INFO (ICE40) and the offsets are the build's.
        report = enroll_device(
            "ice-6", [source], registry, owner, reads=4, thresholds=SIM_ICEBREAKER.offsets
        )
        record = registry.record("ice-6").helper_data
        helper = HelperData.from_bytes(record)
        assert helper.params == ICE40 and len(record) == report.helper_bytes == 342
        verifier = Verifier(registry)
        with source.open() as client:
            assert client.info().construction == 2
            result = verifier.attest_enrolled("ice-6", client)
            assert result.ok, result.reason
            # A manipulated pair list (pair 0's members swapped, CRC right) never gives a key.
            pairs = list(helper.pairs)
            swapped = replace(helper, pairs=((pairs[0][1], pairs[0][0]), *pairs[1:]))
            for chunk in commands.encode_load_helper(swapped.to_bytes()):
                client.request(Command.LOAD_HELPER, chunk)
            with pytest.raises(DeviceError) as refused:
                client.request(Command.RECONSTRUCT)
            assert refused.value.status == Status.KEY_CHECK_FAILED
        # The Verilator board and the fast model answer alike (the noise state differs after
        # the enrollment, so both start from a fresh board).
    fresh = Condition(die_seed=DIE, board="icebreaker", noise_seed=9)
    with DeviceClient(FastDevice(device_model(fresh)), timeout=1) as fast:
        expected = session(fast, record)
    with (
        SimulatedBoard(fresh, timeout=120) as board,
        DeviceClient.open(board.url, timeout=120) as device,
    ):
        got = session(device, record)
    assert got == expected
    assert [status for status, _ in got][-2:] == [Status.OK, Status.OK]
    # Another die with this record fails its key check.
    other = Condition(die_seed=DIE + 1, board="icebreaker")
    with (
        SimulatedBoard(other, timeout=120) as board,
        DeviceClient.open(board.url, timeout=120) as device,
    ):
        got = session(device, record)
    assert [status for status, _ in got][-2:] == [Status.KEY_CHECK_FAILED, Status.NO_KEY]
