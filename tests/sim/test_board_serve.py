"""Simulated boards on TCP ports, reached with pyserial's socket:// URL, several at once."""

import json
import time

import pytest

from ropuf.host.client import DeviceClient
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard
from ropuf.spec import framing
from ropuf.spec.commands import Command, Info
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


@pytest.mark.sim
def test_board_pauses_between_requests_and_resumes(tmp_path, monkeypatch):
    """With every request answered the board waits for the host without simulating; a frame
    that arrives in pieces, a pause between them, is still one request; the figures it keeps
    (ROPUF_SERVE_STATS) count what it did."""
    stats = tmp_path / "board.json"
    monkeypatch.setenv("ROPUF_SERVE_STATS", str(stats))
    with SimulatedBoard(Condition(die_seed=3)) as board:
        with DeviceClient.open(board.url, timeout=30) as client:
            first = client.info()
            time.sleep(1.2)  # longer than one blocking wait of the idle board
            frame = framing.encode_frame(7, Command.INFO)
            client.transport.send(frame[:5])
            time.sleep(0.7)  # the device holds half a frame; nothing is owed yet
            client.transport.send(frame[5:])
            answer = framing.decode_frame(client.transport.receive(30))
            assert answer.seq == 7 and answer.code == framing.Status.OK
            assert Info.decode(answer.payload) == first
        figures = json.loads(stats.read_text())
    assert figures["requests"] == figures["answers"] == 2
    assert figures["bytes_in"] == 2 * len(frame) + 1  # the client's request: 0x00 first
    assert figures["cycles"] > 0 and figures["paused_seconds"] > 0
