"""The frame echo device in Verilator through the cocotb harness: requests from the spec's
encoder through the real UART bit stream, responses decoded with the spec's decoder."""

import json

import pytest

from ropuf.gateware.crypto.crc32 import BYTE_CYCLES
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
    # request bits plus about one response (the last one, sent after its request), which may
    # wait for a full COBS block (254 bytes) built at the CRC's eight cycles a byte: at this
    # divisor that is longer than the line needs for the bytes before it.
    figures = json.loads((tmp_path / "back_to_back.json").read_text())
    bit_cycles = 10 * DIVISOR
    assert figures["valid_requests"] >= 12
    block_cycles = 254 * BYTE_CYCLES
    assert figures["cycles"] < (figures["request_bytes"] + 300) * bit_cycles + block_cycles
    # One at a time, a response starts a few cycles after its request has arrived, whatever
    # the payload length: the status byte of an OK response is 0x00, which ends the first COBS
    # block inside the header, so the encoder never waits for the payload before sending; it
    # waits only for the CRC to take the first three header bytes (eight cycles each).
    single = json.loads((tmp_path / "echo_one_at_a_time.json").read_text())
    assert len(set(single["latency_cycles"])) == 1
    assert max(single["latency_cycles"]) <= 2 * DIVISOR + 10 + 3 * BYTE_CYCLES
