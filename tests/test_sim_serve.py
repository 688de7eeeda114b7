"""Simulated boards on TCP ports, reached with pyserial's socket:// URL, several at once."""

import pytest

from ropuf.host.client import DeviceClient
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard
from ropuf.spec.ro_pairs import neighbour_pairs


@pytest.mark.sim
def test_two_boards_at_once_are_two_dies():
    pairs = neighbour_pairs(64)
    with (
        SimulatedBoard(Condition(die_seed=1)) as first,
        SimulatedBoard(Condition(die_seed=2, temperature=85.0)) as second,
    ):
        assert first.url != second.url and first.url.startswith("socket://127.0.0.1:")
        responses = []
        for board in (first, second):
            with DeviceClient.open(board.url, timeout=30) as client:
                assert client.info().n_ro == SIM_DEVICE.n_ro
                counts = client.read_ro(pairs)
                responses.append([int(a > b) for a, b, *_ in counts])
        # Different dies give different responses (about half the bits differ).
        differing = sum(x != y for x, y in zip(*responses, strict=True))
        assert 8 <= differing <= 24
        # A second client, after the first disconnected, is served too.
        with DeviceClient.open(first.url, timeout=30) as client:
            assert client.info().n_ro == SIM_DEVICE.n_ro
