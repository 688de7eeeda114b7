"""CRC-32 of a byte stream, one bit a cycle: :data:`ropuf.spec.crc.CRC32` at a fraction of the area.

:class:`SerialCRC32` takes a byte in eight cycles and feeds it, least significant bit first (the
order of the reflected CRC-32), to Amaranth's bit-serial :class:`~amaranth.lib.crc.Processor` of
the same algorithm (``CRC32.algorithm(data_width=1)``): a 32-bit Galois shift register. On the
iCE40UP5K that is 32 flip-flops and a few LUTs, where the byte-wide processor
(``CRC32.create()``) takes 105 to 122 LUTs. The frame receiver and transmitter
(:mod:`ropuf.gateware.link.framing`) and the key engine's record check
(:class:`ropuf.gateware.key.record.RecordCheck`) use it; none needs more than a byte every eight
cycles (a UART byte takes ten bit times).

The byte is not copied: it must stay on ``i_stream.payload`` while it is offered, which the
stream rules guarantee (a payload holds until ``ready``). The timing depends only on when bytes
are offered, never on their values.
"""

from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.spec.crc import CRC32

__all__ = ["BYTE_CYCLES", "SerialCRC32"]

#: Cycles a byte is offered before it is taken (``i_stream.ready`` rises in the last one).
BYTE_CYCLES = 8


class SerialCRC32(wiring.Component):
    """CRC-32 (:data:`ropuf.spec.crc.CRC32`, what :func:`zlib.crc32` computes) of the bytes
    taken since ``start``, a bit per cycle.

    Attributes
    ----------
    start : In(1)
        Restart at the initial value, at the next clock edge: a synchronous set of the CRC
        register (free in the flip-flops). Assert it only between bytes, never with
        ``i_stream.valid``.
    i_stream : In(stream.Signature(8))
        The bytes. Each cycle with ``valid`` feeds one bit, a cycle without pauses; ``ready``
        is high in the eighth cycle a byte is offered (consecutive or not). ``ready`` does not
        depend on ``valid``. A byte withdrawn part-way (``valid`` low, then another payload) is
        not allowed by the stream rules and would mix its bits.
    crc : Out(32)
        The CRC of the bytes taken so far (``zlib.crc32`` of them), from the cycle after the
        last one was taken. Mid-byte it holds a partial value.
    match_detected : Out(1)
        The bytes taken end in their own CRC (little-endian): the CRC over all of them is
        :data:`ropuf.spec.crc.CRC32_RESIDUE`. Valid when no byte is part-way in.
    """

    start: In(1)
    i_stream: In(stream.Signature(8))
    crc: Out(32)
    match_detected: Out(1)

    def elaborate(self, platform):
        m = Module()
        # The processor's own start would put a multiplexer before every register bit; its
        # reset (the initial value, all ones) is a flip-flop's synchronous set instead, which
        # leaves a LUT only at each of the polynomial's 14 taps.
        processor = CRC32.algorithm(data_width=1).create()
        m.submodules.processor = ResetInserter(self.start)(processor)
        bit = Signal(range(BYTE_CYCLES))  # the bit of the offered byte fed this cycle

        m.d.comb += [
            self.i_stream.ready.eq(bit == BYTE_CYCLES - 1),
            processor.valid.eq(self.i_stream.valid),
            processor.data.eq(self.i_stream.payload.bit_select(bit, 1)),
            self.crc.eq(processor.crc),
            self.match_detected.eq(processor.match_detected),
        ]
        with m.If(self.i_stream.valid):
            m.d.sync += bit.eq(bit + 1)  # wraps to 0 as the byte is taken
        return m
