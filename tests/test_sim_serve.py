"""The simulated board on a TCP port, reached with pyserial's socket:// URL."""

import os

import pytest
import serial

from ropuf.sim.board import Condition, SimulatedBoard


def read_exactly(port: serial.Serial, count: int) -> bytes:
    data = port.read(count)
    assert len(data) == count, f"got {len(data)} of {count} bytes before the timeout"
    return data


@pytest.mark.sim
def test_two_boards_at_once_echo_over_tcp():
    with (
        SimulatedBoard(Condition(die_seed=1)) as first,
        SimulatedBoard(Condition(die_seed=2, temperature=85.0)) as second,
    ):
        assert first.url != second.url
        assert first.url.startswith("socket://127.0.0.1:")
        for board in (first, second):
            message = os.urandom(64)
            with serial.serial_for_url(board.url, timeout=20) as port:
                port.write(message)
                assert read_exactly(port, len(message)) == message
        # A second client after the first disconnected is served too.
        with serial.serial_for_url(first.url, timeout=20) as port:
            port.write(b"\x00\xff again")
            assert read_exactly(port, 8) == b"\x00\xff again"
