"""Frame receiver and transmitter: the packet protocol of :mod:`ropuf.spec.framing` in gateware.

:class:`FrameReceiver` sits behind the UART receiver: it decodes COBS, buffers one whole frame,
checks it (CRC, version, length) and hands a command processor a request header and then the
payload. :class:`FrameTransmitter` sits before the UART transmitter: it takes a response header
and payload, appends the CRC, COBS-encodes the frame and ends it with the delimiter. Both check
and build frames from the constants of :mod:`ropuf.spec.framing`, so they agree with the host's
:func:`~ropuf.spec.framing.encode_frame` and :func:`~ropuf.spec.framing.decode_frame` byte for
byte; the order in which malformed frames are classified is the one documented there.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ropuf.gateware.crypto.crc32 import SerialCRC32
from ropuf.spec.framing import (
    CRC_SIZE,
    DELIMITER,
    HEADER_SIZE,
    MAX_PAYLOAD,
    MIN_FRAME,
    PROTOCOL_VERSION,
    Status,
    check_max_payload,
    frame_size,
)

from .cobs import COBSDecoder, COBSEncoder, check_ring_depth

__all__ = ["REQUEST_HEADER", "RESPONSE_HEADER", "FrameReceiver", "FrameTransmitter"]

#: A received frame, as the command processor sees it. ``status`` is ``Status.OK`` for a frame
#: that passed every check, else the framing error (then ``code`` and ``length`` are 0). ``seq``
#: is the request's sequence number, or 0 when the frame was too short to hold a header or its
#: COBS was bad: what the response must carry. ``length`` is the payload length (0..256).
REQUEST_HEADER = data.StructLayout(
    {"seq": 8, "code": 8, "length": range(MAX_PAYLOAD + 1), "status": 8}
)

#: A response to send: sequence number, status (``Status.OK``, a framing error, or a command
#: status) and payload length. A length above ``MAX_PAYLOAD`` is sent as given (the host will
#: reject the frame as oversized).
RESPONSE_HEADER = data.StructLayout({"seq": 8, "status": 8, "length": range(MAX_PAYLOAD + 1)})


class FrameReceiver(wiring.Component):
    """Receive, buffer and check one frame at a time.

    Bytes go through a :class:`~ropuf.gateware.link.cobs.COBSDecoder` into a buffer (a block RAM
    of ``frame_size(max_payload)`` bytes), through a bit-serial CRC
    (:class:`~ropuf.gateware.crypto.crc32.SerialCRC32`),
    and the header bytes into registers. At the delimiter the frame is classified, in the order of
    :mod:`ropuf.spec.framing`: bytes lost on the line (``lost``), bad COBS, longer than the
    buffer (its excess bytes were discarded up to the delimiter), truncated, bad CRC, wrong
    version, length field above *max_payload*, length mismatch. An empty frame (two delimiters
    in a row) is ignored, unless bytes were lost in it.

    Parameters
    ----------
    max_payload : int
        Payload bytes the buffer holds, 0..256 (:data:`~ropuf.spec.framing.MAX_PAYLOAD`, the
        default). A request with a longer payload is answered ``OVERSIZE``, as
        ``decode_frame(..., max_payload=max_payload)`` says.

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Bytes off the wire (from the UART receiver), delimiters included. Taken one per eight
        cycles while a frame is being received (the CRC takes a bit a cycle; a UART byte takes
        ten bit times, each many cycles), a delimiter in one. After a delimiter at most one
        more byte is taken (it waits in the decoder); then ``ready`` stays low until the frame
        has been handed over (header taken, payload taken or skipped). The receiver holds one
        frame: bytes that arrive meanwhile wait upstream, so put a FIFO between the UART and
        the receiver if the host may send before the response (see ``FrameEcho``).
    o_header : Out(stream.Signature(REQUEST_HEADER))
        One header per non-empty frame (see :data:`REQUEST_HEADER`); ``valid`` rises two
        cycles after the delimiter was taken from ``i_stream`` and stays until ``ready``.
    o_payload : Out(stream.Signature(8))
        The payload of a frame whose header said ``OK`` and a non-zero length, replayed from
        the buffer after the header was taken: exactly ``length`` bytes, one per cycle while
        ``ready``, the first valid in the cycle after the header transfer.
    skip : In(1)
        Drop the rest of the payload (the consumer needs no more of it): sampled in the cycle
        of the header transfer and in every cycle of the payload; the receiver then takes the
        next frame's bytes from the next cycle on. ``o_payload.valid`` falls without a transfer.
        Hold low if the consumer takes every byte.
    lost : In(1)
        Qualifies an ``i_stream`` beat: bytes were dropped on the line before this one (the
        UART overran). The frame the byte belongs to (for a delimiter, the frame it ends) is
        answered ``OVERRUN`` with sequence number 0, even when it is empty: frames lost whole
        are merged into it, and the host learns of the loss. While an empty frame's
        ``OVERRUN`` waits for the header port, ``i_stream.ready`` is low. Hold low if nothing
        drops bytes.

    Raises
    ------
    TypeError, ValueError
        *max_payload* is not an integer in 0..256.
    """

    i_stream: In(stream.Signature(8))
    o_header: Out(stream.Signature(REQUEST_HEADER))
    o_payload: Out(stream.Signature(8))
    skip: In(1)
    lost: In(1)

    def __init__(self, *, max_payload: int = MAX_PAYLOAD):
        self._max_payload = check_max_payload(max_payload)
        super().__init__()

    @property
    def max_payload(self) -> int:
        return self._max_payload

    def elaborate(self, platform):
        m = Module()
        buffer_bytes = frame_size(self._max_payload)

        m.submodules.decoder = decoder = COBSDecoder()
        m.submodules.crc = crc = SerialCRC32()
        m.submodules.buffer = buffer = Memory(shape=8, depth=buffer_bytes, init=[])
        w_port = buffer.write_port()
        r_port = buffer.read_port()

        count = Signal(range(buffer_bytes + 1))  # bytes of the frame stored so far
        overflow = Signal()  # the frame was longer than the buffer
        version = Signal(8)
        seq = Signal(8)
        code = Signal(8)
        length = Signal(16)  # the length field as received
        last_addr = Signal(range(buffer_bytes))  # buffer address of the last payload byte
        addr = Signal(range(buffer_bytes))  # buffer address of the payload byte offered

        beat = decoder.o_stream
        header = self.o_header.payload
        m.d.comb += [
            w_port.addr.eq(count),
            w_port.data.eq(beat.payload.data),
            crc.i_stream.payload.eq(beat.payload.data),
            self.o_payload.payload.eq(r_port.data),
        ]

        def respond(status, *, seq_value=seq):
            m.d.sync += [
                header.status.eq(status),
                header.seq.eq(seq_value),
                header.code.eq(0),
                header.length.eq(0),
            ]

        # Lost bytes, tracked on the input side (the decoder drops code bytes and empty frames,
        # so the flag cannot ride through it): the frame being taken lost bytes, a byte other
        # than a delimiter was taken since the last one, and the two verdicts that wait for the
        # FSM: the next end beat ends a frame that lost bytes, or an empty one did.
        lost_in_frame = Signal()
        in_frame = Signal()
        overrun_end = Signal()
        overrun_empty = Signal()
        # While an empty frame's OVERRUN waits, take nothing: the decoder keeps no trace of
        # empty frames, so another one would be merged with it.
        m.d.comb += [
            decoder.i_stream.payload.eq(self.i_stream.payload),
            decoder.i_stream.valid.eq(self.i_stream.valid & ~overrun_empty),
            self.i_stream.ready.eq(decoder.i_stream.ready & ~overrun_empty),
        ]

        with m.FSM():
            with m.State("RECEIVE"):
                # A frame byte is taken when the CRC has taken its eight bits; an end beat at once.
                byte_offered = beat.valid & ~beat.payload.end & ~overrun_empty
                m.d.comb += [
                    crc.i_stream.valid.eq(byte_offered),
                    beat.ready.eq(~overrun_empty & (beat.payload.end | crc.i_stream.ready)),
                ]
                with m.If(overrun_empty):
                    # An empty frame lost bytes (maybe whole frames): answer it before the
                    # next frame's bytes, which wait in the decoder.
                    m.d.sync += overrun_empty.eq(0)
                    respond(Status.OVERRUN, seq_value=0)
                    m.next = "HEADER"
                with m.If(byte_offered & crc.i_stream.ready):
                    with m.If(count == buffer_bytes):
                        m.d.sync += overflow.eq(1)
                    with m.Else():
                        m.d.comb += w_port.en.eq(1)
                        m.d.sync += count.eq(count + 1)
                    with m.Switch(count):
                        for index, field in enumerate([version, seq, code, length[:8]]):
                            with m.Case(index):
                                m.d.sync += field.eq(beat.payload.data)
                        with m.Case(4):
                            m.d.sync += length[8:].eq(beat.payload.data)
                with m.If(beat.valid & beat.payload.end & ~overrun_empty):
                    m.d.comb += crc.start.eq(1)
                    m.d.sync += [count.eq(0), overflow.eq(0), overrun_end.eq(0)]
                    m.d.sync += last_addr.eq(length + HEADER_SIZE - 1)
                    readable = count >= HEADER_SIZE
                    with m.If(overrun_end):
                        respond(Status.OVERRUN, seq_value=0)
                    with m.Elif(beat.payload.error):
                        respond(Status.BAD_COBS, seq_value=0)
                    with m.Elif(overflow):
                        respond(Status.OVERSIZE)
                    with m.Elif(count < MIN_FRAME):
                        respond(Status.TRUNCATED, seq_value=Mux(readable, seq, 0))
                    with m.Elif(~crc.match_detected):
                        respond(Status.BAD_CRC)
                    with m.Elif(version != PROTOCOL_VERSION):
                        respond(Status.BAD_VERSION)
                    with m.Elif(length > self._max_payload):
                        respond(Status.OVERSIZE)
                    with m.Elif(length + MIN_FRAME != count):
                        respond(Status.LENGTH_MISMATCH)
                    with m.Else():
                        m.d.sync += [
                            header.status.eq(Status.OK),
                            header.seq.eq(seq),
                            header.code.eq(code),
                            header.length.eq(length),
                        ]
                    m.next = "HEADER"
            with m.State("HEADER"):
                m.d.comb += [self.o_header.valid.eq(1), r_port.addr.eq(HEADER_SIZE)]
                m.d.sync += addr.eq(HEADER_SIZE)
                with m.If(self.o_header.ready):
                    with m.If((header.length == 0) | self.skip):
                        m.next = "RECEIVE"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                # The read port is one cycle ahead: it reads the next byte while one is taken.
                taken = self.o_payload.ready
                m.d.comb += [
                    self.o_payload.valid.eq(1),
                    r_port.addr.eq(addr + taken),
                ]
                m.d.sync += addr.eq(addr + taken)
                with m.If(self.skip | (taken & (addr == last_addr))):
                    m.next = "RECEIVE"

        # After the FSM, so that a verdict set here wins over one cleared there in the same
        # cycle. A delimiter's end beat leaves the decoder in the cycle after the delimiter was
        # taken, or later if the FSM is busy; either way no other end beat comes between.
        with m.If(self.i_stream.valid & self.i_stream.ready):
            with m.If(self.i_stream.payload == DELIMITER):
                m.d.sync += [lost_in_frame.eq(0), in_frame.eq(0)]
                with m.If(lost_in_frame | self.lost):
                    with m.If(in_frame):
                        m.d.sync += overrun_end.eq(1)
                    with m.Else():
                        m.d.sync += overrun_empty.eq(1)
            with m.Else():
                m.d.sync += [in_frame.eq(1), lost_in_frame.eq(lost_in_frame | self.lost)]
        return m


class FrameTransmitter(wiring.Component):
    """Build, check-sum and COBS-encode response frames.

    The header bytes (version, sequence number, status, length) and then the payload go through
    a bit-serial CRC (:class:`~ropuf.gateware.crypto.crc32.SerialCRC32`, eight cycles a byte)
    into a :class:`~ropuf.gateware.link.cobs.COBSEncoder`, followed by the four CRC bytes; the
    encoder's ring buffer lets the frame be built at one byte per eight cycles (faster than any
    UART sends it) while the UART sends it at its own pace.

    Parameters
    ----------
    depth : int
        Bytes of the encoder's ring buffer (see :class:`~ropuf.gateware.link.cobs.COBSEncoder`).

    Attributes
    ----------
    i_header : In(stream.Signature(RESPONSE_HEADER))
        One header per response (see :data:`RESPONSE_HEADER`). ``ready`` is high while no
        response is being built; a header is taken in one cycle.
    i_payload : In(stream.Signature(8))
        Exactly ``length`` payload bytes after each header, taken one per eight cycles while
        the encoder has room, the first in the 48th cycle after the header transfer (after the
        header bytes' 40). Bytes offered while no payload is due are left waiting.
    o_stream : Out(stream.Signature(8))
        The encoded frame and its 0x00 delimiter, to the UART transmitter.

    Notes
    -----
    With the payload offered at full rate and room in the ring, a response of ``L`` payload
    bytes takes ``1 + 8 (5 + L) + 4`` cycles from its header transfer to the next header
    transfer, plus one per full COBS block (254 non-zero bytes) that is not the frame's last
    and is committed after its last header or payload byte (the encoder's other commits, and
    the closing of the frame before, fall within a byte's eight cycles). The first byte leaves
    once the first COBS block is complete: at the first zero byte of the frame, which in an
    ``OK`` response is the status byte, so the UART starts sending within a few tens of cycles
    of the header transfer.

    Raises
    ------
    TypeError, ValueError
        *depth* is not a power of two of at least 256.
    """

    i_header: In(stream.Signature(RESPONSE_HEADER))
    i_payload: In(stream.Signature(8))
    o_stream: Out(stream.Signature(8))

    def __init__(self, *, depth: int = 512):
        self._depth = check_ring_depth(depth)
        super().__init__()

    def elaborate(self, platform):
        m = Module()

        m.submodules.crc = crc = SerialCRC32()
        m.submodules.encoder = encoder = COBSEncoder(depth=self._depth)
        wiring.connect(m, encoder.o_stream, wiring.flipped(self.o_stream))

        response = Signal(RESPONSE_HEADER)
        index = Signal(range(MAX_PAYLOAD + 1))  # byte of the current section

        enc = encoder.i_stream
        sent = enc.valid & enc.ready
        # A header or payload byte goes to the CRC first, a bit a cycle; the encoder is offered
        # it in the CRC's last cycle, and both take it together (the CRC's last bit waits for
        # the encoder's room).
        offered = Signal()  # a header or payload byte is on enc.payload.data
        m.d.comb += [
            crc.i_stream.payload.eq(enc.payload.data),
            crc.i_stream.valid.eq(offered & (~crc.i_stream.ready | enc.ready)),
        ]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i_header.ready.eq(1)
                with m.If(self.i_header.valid):
                    m.d.comb += crc.start.eq(1)
                    m.d.sync += [response.eq(self.i_header.payload), index.eq(0)]
                    m.next = "HEADER"
            with m.State("HEADER"):
                fields = [
                    PROTOCOL_VERSION,
                    response.seq,
                    response.status,
                    response.length.as_unsigned()[:8],
                    response.length.as_unsigned()[8:],
                ]
                m.d.comb += [offered.eq(1), enc.valid.eq(crc.i_stream.ready)]
                with m.Switch(index):
                    for position, value in enumerate(fields):
                        with m.Case(position):
                            m.d.comb += enc.payload.data.eq(value)
                with m.If(sent):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == HEADER_SIZE - 1):
                        m.d.sync += index.eq(0)
                        with m.If(response.length == 0):
                            m.next = "CRC"
                        with m.Else():
                            m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [
                    offered.eq(self.i_payload.valid),
                    enc.valid.eq(self.i_payload.valid & crc.i_stream.ready),
                    enc.payload.data.eq(self.i_payload.payload),
                    self.i_payload.ready.eq(enc.ready & crc.i_stream.ready),
                ]
                with m.If(sent):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == response.length - 1):
                        m.d.sync += index.eq(0)
                        m.next = "CRC"
            with m.State("CRC"):
                # The CRC covers every byte fed so far; it goes out least significant first.
                m.d.comb += [
                    enc.valid.eq(1),
                    enc.payload.data.eq(crc.crc.word_select(index[:2], 8)),
                    enc.payload.last.eq(index == CRC_SIZE - 1),
                ]
                with m.If(sent):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == CRC_SIZE - 1):
                        m.next = "IDLE"
        return m
