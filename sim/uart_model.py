"""Reference model of an 8N1 UART line, cycle by cycle: what the gateware is checked against."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["Decoded", "decode", "encode", "frame_bits"]


def frame_bits(byte: int, *, stop: int = 1) -> list[int]:
    """The ten line levels of one frame: start bit 0, eight data bits LSB first, stop bit."""
    if not 0 <= byte <= 0xFF:
        raise ValueError(f"A UART byte must be in 0..255, not {byte!r}")
    return [0, *((byte >> i) & 1 for i in range(8)), stop]


def encode(data: Iterable[int], divisor: int, *, bad_stop: Iterable[int] = ()) -> list[int]:
    """Line level per clock cycle for *data* sent back to back; frames whose index is in
    *bad_stop* get a low stop bit (followed by one idle bit so the receiver resynchronises)."""
    bad = set(bad_stop)
    levels: list[int] = []
    for index, byte in enumerate(data):
        for bit in frame_bits(byte, stop=0 if index in bad else 1):
            levels += [bit] * divisor
        if index in bad:
            levels += [1] * divisor
    return levels


@dataclass
class Decoded:
    """What a receiver makes of a line: the bytes, and the indices (in cycles) of bad frames."""

    data: bytearray = field(default_factory=bytearray)
    frame_errors: list[int] = field(default_factory=list)


def decode(levels: Sequence[int], divisor: int) -> Decoded:
    """Decode a line sampled once per clock cycle, sampling each bit at its middle.

    A frame with a low stop bit is reported in ``frame_errors`` (by the cycle of its start bit)
    and not added to ``data``; decoding then waits for the line to go high.
    """
    out = Decoded()
    t = 0
    n = len(levels)
    while t < n:
        if levels[t]:
            t += 1
            continue
        start = t
        mid = start + divisor // 2
        if mid + 9 * divisor >= n:
            break  # an incomplete frame at the end of the capture
        if levels[mid]:
            t = mid + 1  # a glitch
            continue
        bits = [levels[mid + (i + 1) * divisor] for i in range(8)]
        stop = levels[mid + 9 * divisor]
        if stop:
            out.data.append(sum(bit << i for i, bit in enumerate(bits)))
            t = mid + 9 * divisor
        else:
            out.frame_errors.append(start)
            t = mid + 9 * divisor
            while t < n and not levels[t]:
                t += 1
    return out
