"""The device top: UART, framing, command processor and RO PUF in one design.

UART -> receive FIFO -> :class:`~ropuf.gateware.link.framing.FrameReceiver` ->
:class:`~ropuf.gateware.core.device_core.DeviceCore` ->
:class:`~ropuf.gateware.link.framing.FrameTransmitter` -> UART. The same top serves the simulated
board (``simulation=True``: the RO array's behavioural body, loaded at run time) and the boards
(the platform picks the iCE40 or ECP5 ring body).

The receive FIFO (block RAM) holds more than :data:`~ropuf.spec.framing.RECEIVE_WINDOW` bytes:
requests a host sends while the device is busy wait there, and a host that keeps within the
window never loses a byte. Beyond it the UART drops bytes; each FIFO entry carries a ninth bit,
"bytes were dropped before this one", and the receiver answers the frame that lost them
``OVERRUN`` instead of merging what is left of it with the next.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.link.framing import FrameReceiver, FrameTransmitter
from ropuf.gateware.link.uart import UART, check_divisor
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.framing import RECEIVE_WINDOW

from .device_core import DeviceCore

__all__ = ["DeviceTop"]


class DeviceTop(wiring.Component):
    """A whole ropuf device behind a serial line.

    Parameters
    ----------
    config : DeviceConfig
        The build (see :class:`~ropuf.gateware.core.device_core.DeviceCore`).
    divisor : int
        Clock cycles per UART bit.
    simulation, ring_placement, arbiter_placement
        As :class:`~ropuf.gateware.core.device_core.DeviceCore`.

    Attributes
    ----------
    rx : In(1)
        Serial input (requests).
    tx : Out(1)
        Serial output (responses).
    locked : Out(1)
        High after LOCK (an LED on a board).
    sim, arbiter_sim : In
        The core's simulation load ports, when it has them.
    """

    def __init__(
        self,
        config: DeviceConfig,
        *,
        divisor: int,
        simulation: bool = False,
        ring_placement=None,
        arbiter_placement=None,
    ):
        self._divisor = check_divisor(divisor)
        self.core = DeviceCore(
            config,
            simulation=simulation,
            ring_placement=ring_placement,
            arbiter_placement=arbiter_placement,
        )
        members = {"rx": In(1, init=1), "tx": Out(1, init=1), "locked": Out(1)}
        # The simulation load ports pass straight through from the core.
        for name in ("sim", "arbiter_sim"):
            if name in self.core.signature.members:
                members[name] = self.core.signature.members[name]
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = UART(divisor=self._divisor)
        # SyncFIFOBuffered: a RECEIVE_WINDOW-entry block RAM and its output register.
        m.submodules.fifo = buffer = fifo.SyncFIFOBuffered(width=9, depth=RECEIVE_WINDOW + 1)
        m.submodules.receiver = receiver = FrameReceiver()
        m.submodules.core = core = self.core
        m.submodules.transmitter = transmitter = FrameTransmitter()

        # The UART holds a byte until the FIFO takes it and drops the bytes that arrive
        # meanwhile (an overrun pulse each, one cycle after the drop, while the byte is still
        # held): they came after the held byte, so the flag goes to the byte written next.
        dropped_while_held = Signal()
        flag_next = Signal()
        write = uart.o_stream.valid & buffer.w_stream.ready
        m.d.comb += [
            buffer.w_stream.valid.eq(uart.o_stream.valid),
            buffer.w_stream.payload.eq(Cat(uart.o_stream.payload, flag_next)),
            uart.o_stream.ready.eq(buffer.w_stream.ready),
        ]
        with m.If(write):
            m.d.sync += [flag_next.eq(dropped_while_held | uart.overrun), dropped_while_held.eq(0)]
        with m.Elif(uart.overrun):
            m.d.sync += dropped_while_held.eq(1)
        m.d.comb += [
            receiver.i_stream.valid.eq(buffer.r_stream.valid),
            receiver.i_stream.payload.eq(buffer.r_stream.payload[:8]),
            receiver.lost.eq(buffer.r_stream.payload[8]),
            buffer.r_stream.ready.eq(receiver.i_stream.ready),
        ]
        wiring.connect(m, receiver.o_header, core.i_request)
        wiring.connect(m, receiver.o_payload, core.i_payload)
        wiring.connect(m, core.o_response, transmitter.i_header)
        wiring.connect(m, core.o_payload, transmitter.i_payload)
        wiring.connect(m, transmitter.o_stream, uart.i_stream)
        if "sim" in self.signature.members:
            wiring.connect(m, wiring.flipped(self.sim), core.sim)
        if "arbiter_sim" in self.signature.members:
            wiring.connect(m, wiring.flipped(self.arbiter_sim), core.arbiter_sim)
        m.d.comb += [
            receiver.skip.eq(0),
            uart.rx.eq(self.rx),
            self.tx.eq(uart.tx),
            self.locked.eq(core.locked),
        ]
        return m
