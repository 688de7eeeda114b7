"""The frame echo device in Verilator through the cocotb harness: requests from the spec's
encoder through the real UART bit stream, responses decoded with the spec's decoder."""

import json

import pytest

from ropuf.gateware.link.frame_echo import FrameEcho
from ropuf.sim import harness

TESTBENCH = "ropuf.sim.testbenches.frame_echo"
DIVISOR = 4


@pytest.mark.sim
def test_frame_echo_verilator(tmp_path):
    build = harness.build(FrameEcho(divisor=DIVISOR), f"frame_echo_d{DIVISOR}")
    result = harness.run(
        build,
        TESTBENCH,
        env={
            "ROPUF_FRAME_DIVISOR": str(DIVISOR),
            "ROPUF_FRAME_COUNT": "16",
            "ROPUF_RESULT": str(tmp_path),
        },
        seed=3,
    )
    assert result.tests == 3
    # Back to back, the responses kept pace with the requests: the whole exchange took the
    # request bits plus about one response (the last one, sent after its request).
    figures = json.loads((tmp_path / "back_to_back.json").read_text())
    bit_cycles = 10 * DIVISOR
    assert figures["valid_requests"] >= 12
    assert figures["cycles"] < (figures["request_bytes"] + 300) * bit_cycles
    # One at a time, a response starts a few cycles after its request has arrived, whatever
    # the payload length: the status byte of an OK response is 0x00, which ends the first COBS
    # block inside the header, so the encoder never waits for the payload before sending.
    single = json.loads((tmp_path / "echo_one_at_a_time.json").read_text())
    assert max(single["latency_cycles"]) <= 2 * DIVISOR + 10
