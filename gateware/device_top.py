"""The device top: UART, framing, command processor and RO PUF in one design.

UART -> FIFO -> :class:`~ropuf.gateware.framing.FrameReceiver` ->
:class:`~ropuf.gateware.device_core.DeviceCore` ->
:class:`~ropuf.gateware.framing.FrameTransmitter` -> UART. The same top serves the simulated
board (``simulation=True``: the RO array's behavioural body, loaded at run time) and the boards
(the platform picks the iCE40 or ECP5 ring body).
"""

from amaranth.hdl import Module
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from .device_core import DeviceCore
from .framing import FrameReceiver, FrameTransmitter
from .uart import UART, check_divisor

__all__ = ["DeviceTop"]


class DeviceTop(wiring.Component):
    """A whole ropuf device behind a serial line.

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit.
    **core
        Every other keyword argument goes to :class:`~ropuf.gateware.device_core.DeviceCore`
        (variant, RO geometry, clock, ``simulation``, ``code``, ``arbiter``, placements).

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

    def __init__(self, *, divisor: int, **core):
        self._divisor = check_divisor(divisor)
        self.core = DeviceCore(**core)
        members = {"rx": In(1, init=1), "tx": Out(1, init=1), "locked": Out(1)}
        # The simulation load ports pass straight through from the core.
        for name in ("sim", "arbiter_sim"):
            if name in self.core.signature.members:
                members[name] = self.core.signature.members[name]
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = UART(divisor=self._divisor)
        m.submodules.fifo = buffer = fifo.SyncFIFOBuffered(width=8, depth=16)
        m.submodules.receiver = receiver = FrameReceiver()
        m.submodules.core = core = self.core
        m.submodules.transmitter = transmitter = FrameTransmitter()

        wiring.connect(m, uart.o_stream, buffer.w_stream)
        wiring.connect(m, buffer.r_stream, receiver.i_stream)
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
