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

from ropuf.spec.arbiter_command import ArbiterConfig
from ropuf.spec.code_params import CodeParams

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
    variant : str
        ``"enrollment"`` or ``"deployment"``.
    n_ro, stages, gate_cycles, max_edges_per_cycle, soft_width, clock_hz
        As :class:`~ropuf.gateware.device_core.DeviceCore`.
    simulation : bool
        Use the RO array's simulation body and expose its ``sim`` load port.
    code : CodeParams, optional
        The key construction (adds the key engine; see
        :class:`~ropuf.gateware.device_core.DeviceCore`).
    ring_placement, arbiter_placement : optional
        Where the FPGA bodies' rings and arbiter chains go (families' defaults when omitted).
    arbiter : ArbiterConfig, optional
        A k-XOR arbiter PUF behind ARBITER (as the device core).

    Attributes
    ----------
    rx : In(1)
        Serial input (requests).
    tx : Out(1)
        Serial output (responses).
    locked : Out(1)
        High after LOCK (an LED on a board).
    sim : In(SimLoadSignature)
        Only with ``simulation=True``.
    """

    def __init__(
        self,
        *,
        divisor: int,
        variant: str,
        n_ro: int,
        stages: int = 5,
        gate_cycles: int = 4096,
        max_edges_per_cycle: float = 32.0,
        soft_width: int = 16,
        clock_hz: int = 12_000_000,
        simulation: bool = False,
        code: CodeParams | None = None,
        arbiter: ArbiterConfig | None = None,
        ring_placement=None,
        arbiter_placement=None,
    ):
        self._divisor = check_divisor(divisor)
        self.core = DeviceCore(
            variant=variant,
            n_ro=n_ro,
            stages=stages,
            gate_cycles=gate_cycles,
            max_edges_per_cycle=max_edges_per_cycle,
            soft_width=soft_width,
            clock_hz=clock_hz,
            simulation=simulation,
            code=code,
            arbiter=arbiter,
            ring_placement=ring_placement,
            arbiter_placement=arbiter_placement,
        )
        members = {"rx": In(1, init=1), "tx": Out(1, init=1), "locked": Out(1)}
        if simulation:
            from .ro_bank_sim import SimLoadSignature

            members["sim"] = In(SimLoadSignature(n_ro))
            if "arbiter_sim" in self.core.signature.members:
                members["arbiter_sim"] = self.core.signature.members["arbiter_sim"]
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
