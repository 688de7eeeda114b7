"""The command processor: answers CRC-checked request frames (see :mod:`ropuf.spec.commands`).

It sits between the frame receiver and the frame transmitter. Each request header comes with
its payload bytes; the processor always consumes exactly the payload (so the receiver moves on
to the next frame whatever the command), then answers with one response header and exactly the
payload length that header names.

Variants: an *enrollment* build has the READ_RO logic (raw counts out, until LOCK); a
*deployment* build has none at all, so no command, mode or fault can make it send raw counts:
READ_RO is an unknown command there.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.link.framing import REQUEST_HEADER, RESPONSE_HEADER
from ropuf.gateware.ro.array import PairLayout, ResultLayout
from ropuf.spec import commands
from ropuf.spec.commands import Command, Mode, Status
from ropuf.spec.device_config import DeviceConfig

from .handler import HandlerSignature

__all__ = ["CommandProcessor", "RequestLayout", "ResponseLayout", "frame_members"]

#: A request as the frame receiver presents it: status is OK or a framing error.
RequestLayout = REQUEST_HEADER
#: A response header as the frame transmitter takes it.
ResponseLayout = RESPONSE_HEADER


def frame_members() -> dict:
    """The frame-level ports of the command processor, which the device core offers too:
    requests and their payload in, answers and their payload out, and ``locked``."""
    return {
        "i_request": In(stream.Signature(RequestLayout)),
        "i_payload": In(stream.Signature(8)),
        "o_response": Out(stream.Signature(ResponseLayout)),
        "o_payload": Out(stream.Signature(8)),
        "locked": Out(1),
    }


class CommandProcessor(wiring.Component):
    """Dispatch requests, answer INFO, READ_RO (enrollment builds) and LOCK; hand the rest to
    handlers (:mod:`ropuf.gateware.core.handler`).

    Parameters
    ----------
    config : DeviceConfig
        The build: variant (an enrollment build has READ_RO, a deployment build none of its
        logic), the RO array's geometry and the clock reported by INFO, and the build id.
    handlers : dict of str to tuple of int, optional
        Handler ports to create: name -> the command codes that handler serves. A port
        ``h_<name>`` (:class:`~ropuf.gateware.core.handler.HandlerSignature`) appears for each.

    Attributes
    ----------
    i_request : In(stream.Signature(RequestLayout))
        One header per received frame.
    i_payload : In(stream.Signature(8))
        Exactly ``length`` payload bytes after each header.
    o_response : Out(stream.Signature(ResponseLayout))
        One header per request.
    o_payload : Out(stream.Signature(8))
        Exactly ``length`` bytes after each response header.
    ro_pairs : Out(stream.Signature(PairLayout))
        Enrollment builds only: pairs to measure.
    ro_results : In(stream.Signature(ResultLayout))
        Enrollment builds only: their results.
    locked : Out(1)
        High after LOCK until reset (reconfiguration).
    key_ready : In(1)
        INFO's key-ready flag (a key engine drives it).
    h_<name> : Out(HandlerSignature())
        One per entry of *handlers*.

    Raises
    ------
    TypeError
        *config* is not a :class:`~ropuf.spec.device_config.DeviceConfig`.
    ValueError
        Two handlers serve one command, or a handler serves INFO, READ_RO or LOCK.
    """

    def __init__(self, config: DeviceConfig, *, handlers: dict[str, tuple[int, ...]] | None = None):
        if not isinstance(config, DeviceConfig):
            raise TypeError(f"Config must be a DeviceConfig, not {config!r}")
        self._config = config
        self._handlers = dict(handlers or {})
        served = [code for codes in self._handlers.values() for code in codes]
        own = {Command.INFO, Command.LOCK, Command.READ_RO}
        if len(set(served)) != len(served) or own & set(served):
            raise ValueError(f"Handlers {self._handlers!r} serve a command twice")
        self._info = config.info
        self.build_id = config.build_id
        members = {
            **frame_members(),
            "key_ready": In(1),
        }
        for name in self._handlers:
            members[f"h_{name}"] = Out(HandlerSignature())
        if config.variant == "enrollment":
            members["ro_pairs"] = Out(stream.Signature(PairLayout))
            members["ro_results"] = In(
                stream.Signature(ResultLayout(config.count_width, config.soft_width))
            )
        super().__init__(members)

    @property
    def config(self) -> DeviceConfig:
        return self._config

    @property
    def variant(self) -> str:
        return self._config.variant

    @property
    def info(self) -> commands.Info:
        """The INFO answer of this build while unlocked and without a key."""
        return self._info

    def elaborate(self, platform):
        m = Module()
        enrollment = self._config.variant == "enrollment"

        seq = Signal(8)
        code = Signal(8)
        length = Signal(16)
        status = Signal(8)
        out_length = Signal(16)
        drained = Signal(16)
        sent = Signal(16)
        # What the answer's payload bytes come from: 0 none, 1 INFO, 2 READ_RO, 3.. a handler.
        source = Signal(range(3 + len(self._handlers)))
        locked = Signal()
        m.d.comb += self.locked.eq(locked)

        info_bytes = self._info.encode()
        info_rom = Array(Const(byte, 8) for byte in info_bytes)
        mode = Mux(locked, Mode.LOCKED, self._info.mode) if enrollment else self._info.mode
        info_byte = Signal(8)
        m.d.comb += info_byte.eq(info_rom[sent[: (len(info_bytes) - 1).bit_length()]])
        with m.If(sent == 2):
            m.d.comb += info_byte.eq(mode)
        with m.If(sent == 3):
            m.d.comb += info_byte.eq(self.key_ready)
        handlers = {name: getattr(self, f"h_{name}") for name in self._handlers}
        for port in handlers.values():
            m.d.comb += [port.code.eq(code), port.length.eq(length), port.locked.eq(locked)]

        if enrollment:
            m.submodules.read_ro_pairs = pair_mem = memory.Memory(
                shape=32, depth=commands.MAX_READ_RO_PAIRS, init=[]
            )
            pair_write = pair_mem.write_port()
            # A synchronous read port, so the pair list sits in block RAM (an asynchronous one
            # becomes about a thousand flip-flops): the pair is read a cycle ahead.
            pair_read = pair_mem.read_port()
            read_ro_count = Signal(range(commands.MAX_READ_RO_PAIRS + 1))
            read_ro_index = Signal(range(commands.MAX_READ_RO_PAIRS + 1))
            read_ro_byte = Signal(range(commands.READ_RO_RESULT_BYTES))
            read_ro_result = Signal(48 + 8)
            pair_shift = Signal(32)
            m.d.comb += [
                pair_write.addr.eq(drained[2:]),
                pair_write.data.eq(Cat(pair_shift[8:], self.i_payload.payload)),
                pair_read.addr.eq(read_ro_index),
                self.ro_pairs.payload.eq(pair_read.data),
            ]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i_request.ready.eq(1)
                with m.If(self.i_request.valid):
                    request = self.i_request.payload
                    m.d.sync += [
                        seq.eq(request.seq),
                        code.eq(request.code),
                        length.eq(request.length),
                        status.eq(request.status),
                        drained.eq(0),
                        sent.eq(0),
                        out_length.eq(0),
                        source.eq(0),
                    ]
                    m.next = "DISPATCH"
            with m.State("DISPATCH"):
                with m.If(status != Status.OK):
                    m.next = "DRAIN"  # a framing error: answer with its status
                with m.Elif(code == Command.INFO):
                    with m.If(length == 0):
                        m.d.sync += [out_length.eq(len(info_bytes)), source.eq(1)]
                    with m.Else():
                        m.d.sync += status.eq(Status.BAD_PAYLOAD)
                    m.next = "DRAIN"
                with m.Elif(code == Command.LOCK):
                    with m.If(length == 0):
                        if enrollment:
                            m.d.sync += locked.eq(1)
                    with m.Else():
                        m.d.sync += status.eq(Status.BAD_PAYLOAD)
                    m.next = "DRAIN"
                if enrollment:
                    with m.Elif(code == Command.READ_RO):
                        with m.If(locked):
                            m.d.sync += status.eq(Status.LOCKED)
                            m.next = "DRAIN"
                        with m.Elif(
                            (length == 0)
                            | (length[:2] != 0)
                            | (length > 4 * commands.MAX_READ_RO_PAIRS)
                        ):
                            m.d.sync += status.eq(Status.BAD_PAYLOAD)
                            m.next = "DRAIN"
                        with m.Else():
                            m.d.sync += [
                                read_ro_count.eq(length[2:]),
                                read_ro_index.eq(0),
                                out_length.eq(length[2:] * commands.READ_RO_RESULT_BYTES),
                                source.eq(2),
                            ]
                            m.next = "READ_RO_LOAD"
                for name, codes in self._handlers.items():
                    with m.Elif(Cat(code == c for c in codes).any()):
                        m.d.comb += handlers[name].start.eq(1)
                        m.next = f"{name.upper()}_REQUEST"
                with m.Else():
                    m.d.sync += status.eq(Status.UNKNOWN_COMMAND)
                    m.next = "DRAIN"

            with m.State("DRAIN"):
                m.d.comb += self.i_payload.ready.eq(drained != length)
                with m.If(drained == length):
                    m.next = "HEADER"
                with m.Elif(self.i_payload.valid):
                    m.d.sync += drained.eq(drained + 1)

            if enrollment:
                with m.State("READ_RO_LOAD"):
                    # Payload bytes a_lo, a_hi, b_lo, b_hi per pair: shift in, write on the 4th.
                    m.d.comb += self.i_payload.ready.eq(drained != length)
                    with m.If(drained == length):
                        m.next = "HEADER"
                    with m.Elif(self.i_payload.valid):
                        m.d.sync += [
                            drained.eq(drained + 1),
                            pair_shift.eq(Cat(pair_shift[8:], self.i_payload.payload)),
                        ]
                        m.d.comb += pair_write.en.eq(drained[:2] == 3)

            for name, port in handlers.items():
                with m.State(f"{name.upper()}_REQUEST"):
                    # Forward the payload; once it is all taken and the handler has its answer,
                    # send the header with the handler's status and length.
                    m.d.comb += [
                        port.payload.valid.eq(self.i_payload.valid & (drained != length)),
                        port.payload.payload.eq(self.i_payload.payload),
                        self.i_payload.ready.eq(port.payload.ready & (drained != length)),
                    ]
                    with m.If(self.i_payload.valid & port.payload.ready & (drained != length)):
                        m.d.sync += drained.eq(drained + 1)
                    with m.If((drained == length) & port.done):
                        m.d.sync += [
                            status.eq(port.status),
                            out_length.eq(port.out_length),
                            source.eq(3 + list(handlers).index(name)),
                        ]
                        m.next = "HEADER"
                with m.State(f"{name.upper()}_RESPONSE"):
                    m.d.comb += [
                        self.o_payload.valid.eq(port.response.valid),
                        self.o_payload.payload.eq(port.response.payload),
                        port.response.ready.eq(self.o_payload.ready),
                    ]
                    with m.If(self.o_payload.valid & self.o_payload.ready):
                        m.d.sync += sent.eq(sent + 1)
                        with m.If(sent == out_length - 1):
                            m.next = "IDLE"

            with m.State("HEADER"):
                m.d.comb += [
                    self.o_response.valid.eq(1),
                    self.o_response.payload.seq.eq(seq),
                    self.o_response.payload.status.eq(status),
                    self.o_response.payload.length.eq(out_length),
                ]
                with m.If(self.o_response.ready):
                    with m.If(out_length == 0):
                        m.next = "IDLE"
                    with m.Elif(source == 1):
                        m.next = "INFO"
                    for index, name in enumerate(handlers):
                        with m.Elif(source == 3 + index):
                            m.next = f"{name.upper()}_RESPONSE"
                    with m.Else():
                        m.next = "READ_RO_ISSUE" if enrollment else "IDLE"

            with m.State("INFO"):
                m.d.comb += [self.o_payload.valid.eq(1), self.o_payload.payload.eq(info_byte)]
                with m.If(self.o_payload.ready):
                    m.d.sync += sent.eq(sent + 1)
                    with m.If(sent == out_length - 1):
                        m.next = "IDLE"

            if enrollment:
                with m.State("READ_RO_FETCH"):
                    m.next = "READ_RO_ISSUE"  # the next pair's read port output settles
                with m.State("READ_RO_ISSUE"):
                    m.d.comb += self.ro_pairs.valid.eq(1)
                    with m.If(self.ro_pairs.ready):
                        m.next = "READ_RO_WAIT"
                with m.State("READ_RO_WAIT"):
                    m.d.comb += self.ro_results.ready.eq(1)
                    with m.If(self.ro_results.valid):
                        result = self.ro_results.payload
                        count_a = Signal(24)
                        count_b = Signal(24)
                        m.d.comb += [count_a.eq(result.count_a), count_b.eq(result.count_b)]
                        m.d.sync += [
                            read_ro_result.eq(
                                Cat(count_a, count_b, result.overflow, result.invalid)
                            ),
                            read_ro_byte.eq(0),
                        ]
                        m.next = "READ_RO_SEND"
                with m.State("READ_RO_SEND"):
                    m.d.comb += [
                        self.o_payload.valid.eq(1),
                        self.o_payload.payload.eq(read_ro_result.word_select(read_ro_byte, 8)),
                    ]
                    with m.If(self.o_payload.ready):
                        m.d.sync += read_ro_byte.eq(read_ro_byte + 1)
                        with m.If(read_ro_byte == commands.READ_RO_RESULT_BYTES - 1):
                            m.d.sync += read_ro_index.eq(read_ro_index + 1)
                            with m.If(read_ro_index == read_ro_count - 1):
                                m.next = "IDLE"
                            with m.Else():
                                m.next = "READ_RO_FETCH"

        return m
