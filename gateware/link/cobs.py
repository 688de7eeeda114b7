"""COBS (Consistent Overhead Byte Stuffing, Cheshire & Baker) decoder and encoder.

COBS removes every zero byte from a frame so that 0x00 can delimit frames on the wire: the
frame is cut into blocks at its zeros (and after 254 non-zero bytes), each block sent as a code
byte (its length plus one) and its non-zero bytes. :mod:`ropuf.spec.framing` holds the byte
codec these blocks agree with (:func:`~ropuf.spec.framing.cobs_encode`,
:func:`~ropuf.spec.framing.cobs_decode`).

The decoder streams: one byte out per byte in, one cycle later. The encoder must know a block's
length before it sends the block's code byte, so it buffers blocks in a ring buffer in block RAM
(a :class:`~amaranth.lib.memory.Memory`): bytes are staged behind a reserved code slot and
committed when the block ends, while committed bytes drain to the output (the arrangement of
Glasgow's COBS encoder). The ring also decouples a fast producer from a slow UART.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["DECODED_BYTE", "FRAME_BYTE", "COBSDecoder", "COBSEncoder", "check_ring_depth"]

#: One beat out of the decoder. A data beat (``end`` low) carries a decoded byte in ``data``.
#: An end beat (``end`` high, ``data`` zero) closes a frame: the delimiter arrived; ``error`` is
#: high on it when the frame's last code byte pointed past the delimiter (bad COBS).
DECODED_BYTE = data.StructLayout({"data": 8, "end": 1, "error": 1})

#: One byte of a frame into the encoder; ``last`` marks the frame's final byte.
FRAME_BYTE = data.StructLayout({"data": 8, "last": 1})

#: Largest COBS block: a 0xFF code byte is followed by 254 non-zero bytes.
_BLOCK = 254


def check_ring_depth(depth: object) -> int:
    """Return *depth* if it can hold an encoder ring, else raise.

    Raises
    ------
    TypeError
        *depth* is not an integer.
    ValueError
        *depth* is not a power of two of at least 256 (a full block, 255 bytes with its code,
        plus the slot that tells a full ring from an empty one).
    """
    if not isinstance(depth, int) or isinstance(depth, bool):
        raise TypeError(f"Ring depth must be an integer, not {depth!r}")
    if depth < 256 or depth & (depth - 1):
        raise ValueError(f"Ring depth must be a power of two of at least 256, not {depth!r}")
    return depth


class COBSDecoder(wiring.Component):
    """Decode a COBS byte stream with 0x00 delimiters into frames, one byte per cycle.

    Frames are separated by 0x00; an empty frame (a delimiter right after a delimiter, or the
    first byte after reset) produces nothing. The decoder starts out between frames, and
    resynchronises at every delimiter whatever came before it.

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Encoded bytes off the wire. ``ready`` is high whenever the output register is empty or
        being emptied (``~o_stream.valid | o_stream.ready``), so a consumer that is always ready
        sees a byte taken every cycle.
    o_stream : Out(stream.Signature(DECODED_BYTE))
        Decoded frames (see :data:`DECODED_BYTE`): the frame's bytes as data beats, then one end
        beat. A beat is valid in the cycle after the input byte that makes it was taken: a data
        byte makes itself; a code byte makes the zero that the previous block implies, if any;
        the delimiter makes the end beat. In a COBS stream a zero inside a frame cannot be told
        from a delimiter: it ends the frame there.
    """

    i_stream: In(stream.Signature(8))
    o_stream: Out(stream.Signature(DECODED_BYTE))

    def elaborate(self, platform):
        m = Module()

        remaining = Signal(8)  # data bytes still to come in the current block
        zero_pending = Signal()  # the current block implies a zero if the frame goes on
        in_frame = Signal()  # a byte of the current frame has been taken

        byte = self.i_stream.payload
        out = self.o_stream
        free = ~out.valid | out.ready
        m.d.comb += self.i_stream.ready.eq(free)

        with m.If(out.ready):
            m.d.sync += out.valid.eq(0)
        with m.If(self.i_stream.valid & free):
            with m.If(byte == 0):
                m.d.sync += [remaining.eq(0), zero_pending.eq(0), in_frame.eq(0)]
                with m.If(in_frame):
                    m.d.sync += [
                        out.valid.eq(1),
                        out.payload.data.eq(0),
                        out.payload.end.eq(1),
                        out.payload.error.eq(remaining != 0),
                    ]
            with m.Elif(remaining == 0):
                m.d.sync += [
                    remaining.eq(byte - 1),
                    zero_pending.eq(byte != 0xFF),
                    in_frame.eq(1),
                ]
                with m.If(zero_pending):
                    m.d.sync += [
                        out.valid.eq(1),
                        out.payload.eq(DECODED_BYTE.const({"data": 0})),
                    ]
            with m.Else():
                m.d.sync += [
                    remaining.eq(remaining - 1),
                    out.valid.eq(1),
                    out.payload.data.eq(byte),
                    out.payload.end.eq(0),
                    out.payload.error.eq(0),
                ]
        return m


class COBSEncoder(wiring.Component):
    """COBS-encode frames and end each with a 0x00 delimiter, through a ring buffer.

    Parameters
    ----------
    depth : int
        Bytes of the ring buffer, a power of two of at least 256 (one iCE40 block RAM holds
        512). Besides the block being built, the ring holds encoded bytes waiting for the
        output: a ring of 512 takes a whole encoded frame of the protocol (at most 268 bytes)
        while the previous one drains.

    Attributes
    ----------
    i_stream : In(stream.Signature(FRAME_BYTE))
        Frame bytes (see :data:`FRAME_BYTE`); a frame has at least one byte, the last with
        ``last`` set. ``ready`` is high while the encoder is taking data and the ring has room
        for the byte; it is low for one cycle after a full block of 254 non-zero bytes and
        after a frame's last byte, and one more after a frame ending in a zero.
    o_stream : Out(stream.Signature(8))
        Encoded bytes, each frame followed by 0x00. A block's bytes appear once the block is
        complete (at a zero, after 254 non-zero bytes, or at the frame's last byte): the code
        byte is valid in the cycle after the block is committed, then one byte per cycle while
        ``ready``. ``valid`` never depends on ``ready``, and the payload holds still while
        ``valid`` waits for ``ready``.

    Raises
    ------
    TypeError, ValueError
        *depth* is not a power of two of at least 256.
    """

    i_stream: In(stream.Signature(FRAME_BYTE))
    o_stream: Out(stream.Signature(8))

    def __init__(self, *, depth: int = 512):
        self._depth = check_ring_depth(depth)
        super().__init__()

    @property
    def depth(self) -> int:
        return self._depth

    def elaborate(self, platform):
        m = Module()

        m.submodules.ring = ring = Memory(shape=8, depth=self._depth, init=[])
        w_port = ring.write_port()
        r_port = ring.read_port(transparent_for=(w_port,))

        # Committed bytes are [r_addr, w_addr); w_addr is the reserved code slot of the block
        # being staged, whose bytes sit at w_addr + 1 .. w_addr + staged - 1.
        w_addr = Signal(range(self._depth))
        r_addr = Signal(range(self._depth))
        staged = Signal(range(_BLOCK + 2), init=1)
        ending = Signal()  # the block being committed is the frame's last
        used = Signal(range(self._depth))
        room = Signal()
        m.d.comb += [
            used.eq(w_addr - r_addr),
            # The next slot to write, and the code slot after it, are not waiting for output.
            room.eq(used + staged < self._depth),
        ]

        def write(addr, value):
            m.d.comb += [w_port.addr.eq(addr), w_port.data.eq(value), w_port.en.eq(1)]

        def commit(code):
            write(w_addr, code)
            m.d.sync += [w_addr.eq(w_addr + staged), staged.eq(1)]

        beat = self.i_stream.payload
        with m.FSM():
            with m.State("DATA"):
                m.d.comb += self.i_stream.ready.eq(room)
                with m.If(self.i_stream.valid & room):
                    with m.If(beat.data == 0):
                        commit(staged)
                        with m.If(beat.last):
                            m.next = "EMPTY_BLOCK"
                    with m.Else():
                        write(w_addr + staged, beat.data)
                        m.d.sync += [staged.eq(staged + 1), ending.eq(beat.last)]
                        with m.If(beat.last | (staged == _BLOCK)):
                            m.next = "COMMIT"
            with m.State("COMMIT"):
                with m.If(room):
                    commit(staged)
                    with m.If(ending):
                        m.next = "DELIMIT"
                    with m.Else():
                        m.next = "DATA"
            with m.State("EMPTY_BLOCK"):
                # The frame ended with a zero: an empty final block (code 0x01) carries it.
                with m.If(room):
                    commit(1)
                    m.next = "DELIMIT"
            with m.State("DELIMIT"):
                with m.If(room):
                    write(w_addr, 0x00)
                    m.d.sync += w_addr.eq(w_addr + 1)
                    m.next = "DATA"

        out = self.o_stream
        m.d.comb += [out.valid.eq(w_addr != r_addr), out.payload.eq(r_port.data)]
        with m.If(out.valid & out.ready):
            m.d.comb += r_port.addr.eq(r_addr + 1)
            m.d.sync += r_addr.eq(r_addr + 1)
        with m.Else():
            m.d.comb += r_port.addr.eq(r_addr)
        return m
