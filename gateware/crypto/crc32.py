"""CRC-32 (IEEE 802.3, the one :func:`zlib.crc32` computes), one byte per clock cycle.

The byte step of the reflected CRC register is linear over GF(2) in the register and the byte
together, so each of the 32 next-state bits is the XOR of a fixed set of the 40 input bits. The
sets are derived here from :func:`ropuf.spec.framing.crc32_step`, the protocol's own definition,
so the gateware cannot drift from it.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.spec.framing import CRC32_INIT, CRC32_RESIDUE, crc32_step

__all__ = ["CRC32", "crc32_step_masks"]

_MASK32 = 0xFFFF_FFFF


def crc32_step_masks() -> list[int]:
    """For each bit of the next CRC register, the input bits it is the XOR of.

    Bit *i* of the returned mask of register bit *j* is set when input bit *i* feeds it; input
    bits 0..31 are the register, 32..39 the byte.
    """
    columns = [crc32_step(1 << i, 0) for i in range(32)]
    columns += [crc32_step(0, 1 << i) for i in range(8)]
    return [sum(1 << i for i, column in enumerate(columns) if column >> j & 1) for j in range(32)]


class CRC32(wiring.Component):
    """CRC-32 (IEEE 802.3) of a byte stream, one byte per cycle.

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Bytes to add to the CRC. ``ready`` is always high: a byte is taken in every cycle in
        which ``valid`` is high.
    clear : In(1)
        Start a new CRC: the register returns to its initial value at the next clock edge. When
        a byte is offered in the same cycle, it becomes the first byte of the new CRC.
    value : Out(32)
        The CRC of the bytes taken since the last ``clear`` (or reset), the same number as
        ``zlib.crc32(bytes)``; valid in the cycle after the last byte was taken. Bytes on the
        wire go least significant first.
    check : Out(1)
        High when :attr:`value` equals :data:`~ropuf.spec.framing.CRC32_RESIDUE`: the bytes
        taken end with the little-endian CRC of the bytes before them (a frame checks out).
        Valid with :attr:`value`.
    """

    i_stream: In(stream.Signature(8))
    clear: In(1)
    value: Out(32)
    check: Out(1)

    def elaborate(self, platform):
        m = Module()

        state = Signal(32, init=CRC32_INIT)
        start = Signal(32)
        inputs = Cat(start, self.i_stream.payload)
        step = Signal(32)
        m.d.comb += [
            self.i_stream.ready.eq(1),
            start.eq(Mux(self.clear, CRC32_INIT, state)),
            step.eq(Cat(*(_xor_of(inputs, mask) for mask in crc32_step_masks()))),
            self.value.eq(state ^ _MASK32),
            self.check.eq(state == CRC32_RESIDUE ^ _MASK32),
        ]
        with m.If(self.i_stream.valid):
            m.d.sync += state.eq(step)
        with m.Elif(self.clear):
            m.d.sync += state.eq(CRC32_INIT)
        return m


def _xor_of(bits, mask: int):
    taps = [bits[i] for i in range(len(bits)) if mask >> i & 1]
    return Cat(*taps).xor()
