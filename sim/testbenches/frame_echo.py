"""cocotb testbench of :class:`~ropuf.gateware.link.frame_echo.FrameEcho`, through the serial pins.

Requests are made with :mod:`ropuf.spec.framing` (good ones with
:func:`~ropuf.spec.framing.encode_frame`, malformed ones by :func:`error_cases`), driven bit by
bit on ``rx``; ``tx`` is decoded by sampling mid-bit, cut into frames with
:class:`~ropuf.spec.framing.FrameSplitter` and checked against :func:`expected_responses`, the
device's behaviour as the spec defines it. Parameters arrive as environment variables (see
:class:`Params`). When ``ROPUF_RESULT`` names a folder, the tests write their figures there as
JSON (``<test name>.json``).

This module also makes the cases and the expected responses for the Amaranth-simulator unit
tests, so that both take them from one place.
"""

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from ropuf.sim.uart_model import frame_bits
from ropuf.spec.framing import (
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Frame,
    FrameSplitter,
    FramingError,
    Status,
    cobs_encode,
    crc32,
    decode_frame,
    encode_frame,
)

#: What a frame echo answers: OK, or a framing status (the frame was faulty).
FRAME_STATUSES = frozenset({Status.OK} | {status for status in Status if status.is_framing})

__all__ = [
    "FRAME_STATUSES",
    "Params",
    "error_cases",
    "expected_responses",
    "good_frame",
    "raw_frame",
    "split_frames",
    "wire",
]

#: Clock period in ps (12 MHz, as on the iCEBreaker; two equal halves).
CLOCK_PS = 83_334


def raw_frame(
    seq: int,
    code: int,
    payload: bytes,
    *,
    version: int = PROTOCOL_VERSION,
    length: int | None = None,
    crc_flip: int = 0,
) -> bytes:
    """A frame before COBS, with any field wrong on request: the *version* byte, the *length*
    field (default: the payload's), and the CRC XORed with *crc_flip*."""
    field = len(payload) if length is None else length
    body = bytes([version, seq, code]) + field.to_bytes(2, "little") + payload
    return body + (crc32(body) ^ crc_flip).to_bytes(4, "little")


def wire(raw: bytes) -> bytes:
    """*raw* COBS-encoded and delimited, as it goes on the wire."""
    return cobs_encode(raw) + b"\x00"


def good_frame(rng: random.Random, length: int) -> bytes:
    """A valid request with a random sequence number, code and *length*-byte payload (zero
    bytes in some payloads, none in others, so COBS blocks of every length occur)."""
    zeros = rng.choice([0.0, 0.05, 0.5])
    payload = bytes(0 if rng.random() < zeros else rng.randrange(1, 256) for _ in range(length))
    return encode_frame(rng.randrange(256), rng.randrange(256), payload)


def error_cases(rng: random.Random, *, max_payload: int = MAX_PAYLOAD) -> list[tuple[str, bytes]]:
    """One or more requests of every malformed kind, each as it goes on the wire, with a name.

    Every framing status occurs; junk and a zero inside a frame (which the wire cuts into two
    frames) too. Each case ends with a delimiter, so the cases may be sent in any order.
    """
    seq = rng.randrange(1, 256)
    payload = rng.randbytes(rng.randrange(1, max(2, max_payload)))
    good = raw_frame(seq, 0x42, payload)
    encoded = cobs_encode(good)
    return [
        ("bad CRC", wire(raw_frame(seq, 7, payload, crc_flip=1 << rng.randrange(32)))),
        ("payload byte flipped", wire(good[:6] + bytes([good[6] ^ 0x10]) + good[7:])),
        ("truncated to 3 bytes", wire(good[:3])),
        ("truncated to 6 bytes", wire(good[:6])),
        ("truncated to nothing", wire(b"")),
        ("length field too large", wire(raw_frame(seq, 1, payload, length=len(payload) + 1))),
        ("length field too small", wire(raw_frame(seq, 1, payload, length=len(payload) - 1))),
        ("length field oversize", wire(raw_frame(seq, 2, b"\x01\x02", length=max_payload + 1))),
        ("length field 0xFFFF", wire(raw_frame(seq, 2, b"", length=0xFFFF))),
        ("longer than the buffer", wire(raw_frame(seq, 3, rng.randbytes(max_payload + 40)))),
        ("version 0", wire(raw_frame(seq, 4, payload, version=0))),
        ("version 2", wire(raw_frame(seq, 4, payload, version=PROTOCOL_VERSION + 1))),
        # Several faults at once: the first in the spec's order is reported.
        ("bad CRC and version 0", wire(raw_frame(seq, 5, payload, version=0, crc_flip=4))),
        ("bad CRC and length", wire(raw_frame(seq, 5, payload, length=3000, crc_flip=4))),
        ("version 2 and length", wire(raw_frame(seq, 5, payload, version=2, length=3000))),
        ("truncated, version 0", wire(raw_frame(seq, 5, b"", version=0)[:7])),
        (
            "longer than the buffer, bad CRC",
            wire(raw_frame(seq, 3, rng.randbytes(max_payload + 10), crc_flip=1)),
        ),
        ("code points past the end", encoded[:-1] + b"\x00"),
        ("zero inside", encoded[:4] + b"\x00" + encoded[4:] + b"\x00"),
        ("junk", bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40))) + b"\x00"),
        ("empty frames", b"\x00\x00"),
    ]


def split_frames(stream: bytes) -> list[bytes]:
    """Every complete non-empty frame of *stream*, however long (the device's view)."""
    return FrameSplitter(limit=max(1, len(stream))).feed(stream)


def expected_responses(stream: bytes, *, max_payload: int = MAX_PAYLOAD) -> list[Frame]:
    """What the echo device answers to *stream*, frame by frame: the payload of each valid
    request with status ``OK``, and for each malformed one its status and no payload."""
    responses = []
    for chunk in split_frames(stream):
        try:
            request = decode_frame(chunk, max_payload=max_payload)
        except FramingError as error:
            responses.append(Frame(error.seq, error.status, b""))
        else:
            responses.append(Frame(request.seq, Status.OK, request.payload))
    return responses


@dataclass(frozen=True)
class Params:
    """Testbench parameters, from ``ROPUF_FRAME_DIVISOR`` (the build's UART divisor),
    ``ROPUF_FRAME_COUNT`` (frames of the back-to-back test) and ``ROPUF_FRAME_SEED``."""

    divisor: int
    count: int
    seed: int

    @classmethod
    def from_env(cls) -> "Params":
        return cls(
            divisor=int(os.environ.get("ROPUF_FRAME_DIVISOR", "4")),
            count=int(os.environ.get("ROPUF_FRAME_COUNT", "12")),
            seed=int(os.environ.get("ROPUF_FRAME_SEED", "1")),
        )


def _cycle() -> int:
    return round(get_sim_time("ps") / CLOCK_PS)


class TB:
    """Owns the clock and reset of the echo device, drives ``rx`` and decodes ``tx``.

    Attributes
    ----------
    responses : list of (bytes, int, int)
        Each response frame off ``tx`` (its bytes with the delimiter), the cycle its first start
        bit began and the cycle its delimiter's stop bit ended.
    """

    def __init__(self, dut, divisor: int):
        self.dut = dut
        self.divisor = divisor
        self.splitter = FrameSplitter()
        self.responses: list[tuple[bytes, int, int]] = []
        self.delimiters = 0
        self.frame_errors = 0
        self.overruns = 0
        self._frame_start: int | None = None

    async def start(self) -> None:
        dut = self.dut
        dut.rx.value = 1
        dut.rst.value = 1
        Clock(dut.clk, CLOCK_PS, unit="ps").start(start_high=False)
        await ClockCycles(dut.clk, 4, rising=False)
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2 * self.divisor, rising=False)
        cocotb.start_soon(self._monitor())
        cocotb.start_soon(self._count(dut.frame_error, "frame_errors"))
        cocotb.start_soon(self._count(dut.overrun, "overruns"))

    async def send(self, data: bytes) -> None:
        """Drive *data* on ``rx`` back to back, changing the line on falling clock edges."""
        for byte in data:
            for bit in frame_bits(byte):
                self.dut.rx.value = bit
                await ClockCycles(self.dut.clk, self.divisor, rising=False)

    async def _monitor(self) -> None:
        dut, divisor = self.dut, self.divisor
        while True:
            await FallingEdge(dut.tx)
            start = _cycle()
            await ClockCycles(dut.clk, divisor // 2, rising=False)
            if dut.tx.value != 0:
                continue
            bits = []
            for _ in range(9):
                await ClockCycles(dut.clk, divisor, rising=False)
                bits.append(int(dut.tx.value))
            assert bits[8] == 1, "the device sent a byte with a low stop bit"
            if self._frame_start is None:
                self._frame_start = start
            byte = sum(bit << i for i, bit in enumerate(bits[:8]))
            for frame in self.splitter.feed([byte]):
                end = start + 10 * divisor
                self.responses.append((frame, self._frame_start, end))
            if byte == 0:
                self.delimiters += 1
                self._frame_start = None

    async def _count(self, signal, attribute: str) -> None:
        while True:
            await RisingEdge(signal)
            setattr(self, attribute, getattr(self, attribute) + 1)

    async def wait_for(self, count: int, *, timeout_cycles: int) -> None:
        """Until *count* responses have come, or fail after *timeout_cycles* without one."""
        waited = 0
        seen = len(self.responses)
        while len(self.responses) < count:
            await ClockCycles(self.dut.clk, 10 * self.divisor, rising=False)
            waited = 0 if len(self.responses) > seen else waited + 10 * self.divisor
            seen = len(self.responses)
            assert waited < timeout_cycles, (
                f"no response for {timeout_cycles} cycles: {len(self.responses)} of {count} came"
            )


def _check(tb: TB, expected: list[Frame], names: list[str]) -> None:
    responses = tb.responses
    assert len(responses) == len(expected), f"{len(responses)} responses, {len(expected)} expected"
    # No empty frame and nothing overlong either: every delimiter ended one response.
    assert tb.delimiters == len(responses) and tb.splitter.discarded == 0
    for (frame, _, _), want, name in zip(responses, expected, names, strict=True):
        got = decode_frame(frame)
        assert got == want, f"{name}: got {got}, expected {want}"
        assert frame == encode_frame(want.seq, want.code, want.payload), f"{name}: bytes differ"


def _write_result(name: str, figures: dict) -> None:
    if folder := os.environ.get("ROPUF_RESULT"):
        (Path(folder) / f"{name}.json").write_text(json.dumps(figures))


@cocotb.test()
async def echo_one_at_a_time(dut):
    """Valid requests of every payload length class, each sent after the previous response:
    each is echoed exactly. Records the latency (end of the request's last stop bit to the
    response's first start bit) and the cycles each round trip spends beyond its bits on the
    wire."""
    params = Params.from_env()
    rng = random.Random(params.seed)
    tb = TB(dut, params.divisor)
    await tb.start()
    lengths = [0, 1, 2, 17, 253, 254, 255, MAX_PAYLOAD, rng.randrange(3, 250)]
    requests, latencies, overheads = [], [], []
    for index, length in enumerate(lengths):
        request = good_frame(rng, length)
        requests.append(request)
        started = _cycle()
        await tb.send(request)
        sent = _cycle()
        await tb.wait_for(index + 1, timeout_cycles=400 * 10 * params.divisor)
        response, first, last = tb.responses[index]
        latencies.append(first - sent)
        wire_cycles = 10 * params.divisor * (len(request) + len(response))
        overheads.append(last - started - wire_cycles)
    expected = expected_responses(b"".join(requests))
    _check(tb, expected, [f"{length}-byte payload" for length in lengths])
    assert tb.overruns == 0 and tb.frame_errors == 0
    _write_result(
        "echo_one_at_a_time",
        {"lengths": lengths, "latency_cycles": latencies, "overhead_cycles": overheads},
    )


@cocotb.test()
async def errors_then_good(dut):
    """Every malformed kind, one at a time: each gets its error response (or none, for empty
    frames), and a valid request after them all is still echoed."""
    params = Params.from_env()
    rng = random.Random(params.seed + 1)
    tb = TB(dut, params.divisor)
    await tb.start()
    cases = [*error_cases(rng), ("good after the errors", good_frame(rng, 40))]
    names, stream = [], b""
    for name, request in cases:
        stream += request
        expected = expected_responses(stream)
        names += [name] * (len(expected) - len(names))
        await tb.send(request)
        if len(expected) > len(tb.responses):
            await tb.wait_for(len(expected), timeout_cycles=400 * 10 * params.divisor)
        else:  # nothing is due: make sure nothing comes
            await ClockCycles(dut.clk, 40 * 10 * params.divisor, rising=False)
    assert {frame.code for frame in expected} >= FRAME_STATUSES - {Status.OVERRUN}, (
        "a status did not occur"
    )
    _check(tb, expected, names)
    assert tb.overruns == 0 and tb.frame_errors == 0


@cocotb.test()
async def back_to_back(dut):
    """Valid and malformed requests and junk, sent without a pause: every response comes, in
    order, with no UART overrun. Records the throughput."""
    params = Params.from_env()
    rng = random.Random(params.seed + 2)
    tb = TB(dut, params.divisor)
    await tb.start()
    errors = error_cases(rng)
    names, stream = [], b""
    for index in range(params.count):
        if index % 4 == 3:
            name, request = errors[rng.randrange(len(errors))]
        else:
            length = rng.choice([0, MAX_PAYLOAD, rng.randrange(MAX_PAYLOAD)])
            name, request = f"request {index}", good_frame(rng, length)
        stream += request
        names += [name] * (len(expected_responses(stream)) - len(names))
    expected = expected_responses(stream)

    wall_start, started = time.perf_counter(), _cycle()
    await tb.send(stream)
    await tb.wait_for(len(expected), timeout_cycles=400 * 10 * params.divisor)
    wall, cycles = time.perf_counter() - wall_start, _cycle() - started

    _check(tb, expected, names)
    assert tb.overruns == 0 and tb.frame_errors == 0
    requests = [decode_frame(frame) for frame in split_frames(stream) if _valid(frame)]
    _write_result(
        "back_to_back",
        {
            "divisor": params.divisor,
            "frames": len(expected),
            "valid_requests": len(requests),
            "payload_bytes": sum(len(request.payload) for request in requests),
            "request_bytes": len(stream),
            "response_bytes": sum(len(frame) for frame, _, _ in tb.responses),
            "cycles": cycles,
            "wall_seconds": wall,
        },
    )


def _valid(frame: bytes) -> bool:
    try:
        decode_frame(frame)
    except FramingError:
        return False
    return True
