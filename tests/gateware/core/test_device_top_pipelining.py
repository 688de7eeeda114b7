"""Requests sent back to back through the device top's UART, in Verilator, against the model.

docs/protocol.md promises one answer per request to a host that keeps at most
``RECEIVE_WINDOW`` bytes of requests unanswered, and an ``OVERRUN`` answer, never a silent
merge, for a frame that lost bytes beyond it. A small device top (16 ROs, a 256-cycle gate, so
that a READ_RO of 32 pairs keeps the core busy for about 100 byte times on the line) runs the
bursts of ``cocotb_pipelined``.
"""

import json
import random

import pytest

from ropuf.gateware.core.device_top import DeviceTop
from ropuf.sim import harness
from ropuf.sim.device_model import DeviceModel
from ropuf.spec import commands
from ropuf.spec.commands import Command
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.framing import (
    RECEIVE_WINDOW,
    FrameSplitter,
    Status,
    decode_frame,
    encode_frame,
)

DIVISOR = 8
N_RO = 16
GATE = 256
NOISE = {"seed": 7, "noise_scale": 20000, "common_scale": 9000}
PAIRS = [(i % N_RO, (i * 5 + 3) % N_RO) for i in range(commands.MAX_READ_RO_PAIRS)]


CONFIG = DeviceConfig(variant="enrollment", n_ro=N_RO, gate_cycles=GATE)


def _design():
    return DeviceTop(CONFIG, divisor=DIVISOR, simulation=True)


def _model(dut, rates):
    array = dut.core.array
    assert (array.count_width, array.soft_width) == (CONFIG.count_width, CONFIG.soft_width)
    return DeviceModel(CONFIG, rates, **NOISE)


def _info(seq):
    return (seq, Command.INFO, b"")


def _read_ro(seq):
    return (seq, Command.READ_RO, commands.encode_read_ro_request(PAIRS))


def _wire(requests):
    return b"".join(encode_frame(*request) for request in requests)


@pytest.mark.sim
def test_pipelined_requests_through_the_uart(tmp_path):
    dut = _design()
    rng = random.Random(3)
    rates = [rng.randrange(10 << 16, 12 << 16) for _ in range(N_RO)]
    model = _model(dut, rates)

    back_to_back = [_info(seq) for seq in range(1, 41)]  # 440 bytes
    behind_read_ro = [_read_ro(1), *(_info(seq) for seq in range(2, 6))]
    flood = [_read_ro(1), *(_info(seq) for seq in range(2, 102))]  # 1,251 bytes
    after = [_info(77)]
    bursts = [back_to_back, behind_read_ro, flood, after]
    assert len(_wire(back_to_back)) <= RECEIVE_WINDOW
    assert len(_wire(behind_read_ro)) <= RECEIVE_WINDOW < len(_wire(flood))

    settings = {
        "rates": rates,
        **NOISE,
        "divisor": DIVISOR,
        "quiet_cycles": 3 * GATE * commands.MAX_READ_RO_PAIRS // 2,
        # The last burst starts with a flush: it ends a frame the flood may have left open.
        "bursts": [_wire(burst).hex() for burst in bursts[:-1]] + ["00" + _wire(after).hex()],
    }
    (tmp_path / "in.json").write_text(json.dumps(settings))
    build = harness.build(dut, f"device_top_pipelined_d{DIVISOR}")
    harness.run(
        build,
        "tests.drivers.cocotb_pipelined",
        env={
            "ROPUF_PIPELINED": str(tmp_path / "in.json"),
            "ROPUF_PIPELINED_OUT": str(tmp_path / "out.json"),
        },
    )
    raw = json.loads((tmp_path / "out.json").read_text())["answers"]
    answers = [
        [decode_frame(frame) for frame in FrameSplitter().feed(bytes.fromhex(hex_answers))]
        for hex_answers in raw
    ]

    def served(request):
        seq, code, payload = request
        status, answer = model.handle(code, payload)
        return (seq, status, answer)

    def seen(frames):
        return [(frame.seq, frame.code, frame.payload) for frame in frames]

    # Within the window: every request answered, in order, as the model answers it.
    assert seen(answers[0]) == [served(request) for request in back_to_back]
    assert seen(answers[1]) == [served(request) for request in behind_read_ro]

    # Beyond it: each answer is the model's answer to a request, in order, or OVERRUN (seq 0);
    # a request that got no answer is followed by an OVERRUN before the next answered one. The
    # flood's last frame may have lost its delimiter: the flush after it ends it (OVERRUN).
    flood_answers = answers[2] + answers[3][:-1]
    by_seq = {request[0]: request for request in flood}
    answered, overrun_since, lost_unmarked = [], True, []
    next_index = 0
    for frame in flood_answers:
        if frame.code == Status.OVERRUN:
            assert (frame.seq, frame.payload) == (0, b"")
            overrun_since = True
            continue
        assert frame.code == Status.OK and frame.seq in by_seq, (
            f"an answer that is neither a request's nor OVERRUN: {frame}"
        )
        request = by_seq[frame.seq]
        index = flood.index(request)
        assert index >= next_index, f"answer to seq {frame.seq} out of order"
        if index > next_index and not overrun_since:
            lost_unmarked.append(flood[next_index:index])
        assert seen([frame]) == [served(request)]
        answered.append(frame.seq)
        next_index, overrun_since = index + 1, False
    assert not lost_unmarked, f"requests lost without an OVERRUN: {lost_unmarked}"
    assert next_index == len(flood) or overrun_since
    codes = [frame.code for frame in flood_answers]
    assert answered[0] == 1 and Status.OVERRUN in codes
    assert set(codes) == {Status.OK, Status.OVERRUN}  # no merged frame failing its CRC

    # And the device serves the next request as usual.
    assert seen(answers[3][-1:]) == [served(request) for request in after]
