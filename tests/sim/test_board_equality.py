"""The Verilator board against the fast model device, answer for answer: several dies at
several temperatures and supplies, the RO readout, the arbiter PUF, and malformed frames.

The fast model device is sold as bit-identical to the board; these tests hold it to that over
the conditions the fleet and enrollment runs use, not only one die at one point. One Verilator
build serves every die (the die loads at run time), so each condition costs one board start.
"""

import numpy as np
import pytest

from ropuf.host.client import DeviceClient
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import arbiter_command, framing
from ropuf.spec.arbiter_command import Form
from ropuf.spec.commands import Command, Status, decode_read_ro_response, encode_read_ro_request
from ropuf.spec.ro_pairs import neighbour_pairs
from tests.drivers.board_session import send_all


def _frame(body: bytes) -> bytes:
    """*body* with its CRC, COBS-encoded and delimited (a header of any content)."""
    return framing.cobs_encode(body + framing.crc32(body).to_bytes(4, "little")) + b"\x00"


def _header(version, seq, code, length) -> bytes:
    return bytes([version, seq, code]) + length.to_bytes(2, "little")


_LONG = framing.pack_frame(42, Command.INFO, bytes(range(1, 251)))
_OVERLONG = framing.cobs_encode(_LONG + _LONG[5:120]) + b"\x00"

#: Malformed (and boundary) wire bytes, one case each: lengths, CRC, COBS, version.
MALFORMED = {
    "truncated-unreadable": framing.cobs_encode(b"\x01\x05") + b"\x00",
    "truncated-readable": framing.cobs_encode(framing.pack_frame(3, Command.INFO)[:7]) + b"\x00",
    "bad-crc": framing.encode_frame(4, Command.INFO)[:-2] + b"\xc8\x00",
    "bad-crc-in-header": bytes([4, 1, 5 ^ 0x20]) + framing.encode_frame(5, Command.INFO)[3:],
    "bad-version": _frame(_header(2, 6, Command.INFO, 0)),
    "version-0": _frame(_header(0, 7, Command.INFO, 0)),
    "length-field-above-max": _frame(_header(1, 8, Command.INFO, 300) + bytes(10)),
    "length-mismatch-short": _frame(_header(1, 9, Command.INFO, 5) + b"0123456789"),
    "length-mismatch-long": _frame(_header(1, 10, Command.INFO, 12) + b"0123"),
    "bad-cobs": b"\x05\x01\x02\x00",
    "bad-cobs-after-valid-block": b"\x03\x01\x02\x09\x01\x00",
    "zero-inside": framing.encode_frame(11, Command.INFO)[:4]
    + b"\x00"
    + framing.encode_frame(11, Command.INFO)[4:],
    "max-frame": framing.encode_frame(12, Command.INFO, bytes(range(256))),
    "one-byte-over-buffer": _frame(_header(1, 13, Command.INFO, 257) + bytes(257)),
    "overlong": _OVERLONG,
    "overlong-bad-cobs": _OVERLONG[:-1] + b"\xfe\x01\x00",
    "overlong-then-good": _OVERLONG + framing.encode_frame(14, Command.INFO),
    "noise-then-good": b"\x13\x37\xfe" + b"\x00" + framing.encode_frame(15, Command.INFO),
}


def _answers(transport, wire: bytes, timeout: float) -> list[bytes]:
    """Send *wire* and return the encoded answers to its frames (one per non-empty frame)."""
    owed = len(framing.FrameSplitter(limit=1 << 20).feed(wire))
    transport.send(wire)
    answers = [transport.receive(timeout) for _ in range(owed)]
    assert None not in answers, "the device owes an answer"
    return answers


#: Conditions: three dies, each at a cold/low and a hot/high corner or at nominal.
CONDITIONS = [
    Condition(die_seed=5, temperature=-20.0, voltage=1.14, noise_seed=2),
    Condition(die_seed=5, temperature=85.0, voltage=1.26, noise_seed=3),
    Condition(die_seed=23, temperature=0.0, voltage=1.20, noise_seed=7),
    Condition(die_seed=42, temperature=70.0, voltage=None, noise_seed=1),
]


def _session(client: DeviceClient) -> list:
    """INFO, READ_RO (valid and invalid pairs, noise state carried over), ARBITER majority and
    counts, a refused ARBITER, LOCK and the refusals after it: (status, payload) of each."""
    rng = np.random.default_rng(31)
    challenges = [int(c) for c in rng.integers(0, 2**63, 31, dtype=np.int64)]
    pairs = [*neighbour_pairs(SIM_DEVICE.n_ro)[100:128], (7, 7), (1, SIM_DEVICE.n_ro + 3)]
    requests = [
        (Command.INFO, b""),
        (Command.READ_RO, encode_read_ro_request(pairs)),
        (Command.READ_RO, encode_read_ro_request(pairs[:4])),
        (Command.ARBITER, arbiter_command.encode_request(challenges, n_stages=64, votes=7)),
        (
            Command.ARBITER,
            arbiter_command.encode_request(
                challenges[:12], n_stages=64, votes=11, form=Form.COUNTS
            ),
        ),
        (Command.ARBITER, b"\x00\x03"),
        (Command.LOCK, b""),
        (Command.INFO, b""),
        (Command.READ_RO, encode_read_ro_request(pairs[:1])),
        (
            Command.ARBITER,
            arbiter_command.encode_request(challenges[:2], n_stages=64, votes=3, form=Form.COUNTS),
        ),
        (Command.ARBITER, arbiter_command.encode_request(challenges[:5], n_stages=64, votes=3)),
    ]
    return send_all(client, requests)


@pytest.mark.sim
@pytest.mark.parametrize(
    "condition", CONDITIONS, ids=lambda c: f"die{c.die_seed}-{c.temperature:g}C-{c.voltage}V"
)
def test_board_equals_fast_model_across_dies_and_conditions(condition):
    with DeviceClient(FastDevice(device_model(condition)), timeout=1) as fast:
        expected = _session(fast)
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=60) as device:
        got = _session(device)
    assert got == expected
    statuses = [status for status, _ in got]
    assert statuses == [0, 0, 0, 0, 0, Status.BAD_PAYLOAD, 0, 0, Status.LOCKED, Status.LOCKED, 0]
    # Sanity of what was compared: counts near the nominal 17,000, scaled by the corner.
    counts = [a for a, *_ in decode_read_ro_response(got[1][1])]
    assert all(10_000 < a < 25_000 for a in counts[:-2])


@pytest.mark.sim
def test_board_answers_malformed_frames_like_the_fast_model():
    condition = CONDITIONS[2]
    fast = FastDevice(device_model(condition))
    expected = {name: _answers(fast, wire, 0) for name, wire in MALFORMED.items()}
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=60) as device:
        got = {name: _answers(device.transport, wire, 60) for name, wire in MALFORMED.items()}
        assert device.info() == DeviceClient(fast).info()  # and it still serves
    decoded = {}
    for name, answers in got.items():
        assert answers == expected[name], name
        frames = []
        for raw in answers:
            frame = framing.decode_frame(raw)
            frames.append(
                (frame.seq, framing.Status(frame.code).name if frame.code < 16 else frame.code)
            )
        decoded[name] = frames
    # Every fault kind was exercised, with the sequence number the rules give it.
    assert decoded["overlong"] == [(42, "OVERSIZE")]
    assert decoded["overlong-bad-cobs"] == [(0, "BAD_COBS")]
    assert decoded["truncated-readable"] == [(3, "TRUNCATED")]
    assert decoded["truncated-unreadable"] == [(0, "TRUNCATED")]
    assert decoded["bad-version"] == [(6, "BAD_VERSION")]
    assert decoded["length-field-above-max"] == [(8, "OVERSIZE")]
    assert decoded["length-mismatch-short"] == [(9, "LENGTH_MISMATCH")]
    assert decoded["bad-crc"] == [(4, "BAD_CRC")]
    assert decoded["one-byte-over-buffer"] == [(13, "OVERSIZE")]
    assert decoded["max-frame"] == [(12, Status.BAD_PAYLOAD)]
    assert decoded["overlong-then-good"][1][0] == 14 and decoded["noise-then-good"][1][0] == 15
