"""The device core at frame level: command processor and RO array, wired.

Framing (COBS, CRC) and the UART wrap around it in the device top; this level takes request
headers and payload bytes and gives response headers and payload bytes, which keeps its tests
fast and lets the same core serve every transport.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .command_processor import CommandProcessor, RequestLayout, ResponseLayout
from .ro_array import ROArray, count_width_for

__all__ = ["DeviceCore"]


class DeviceCore(wiring.Component):
    """Command processor plus RO PUF.

    Parameters
    ----------
    variant : str
        ``"enrollment"`` or ``"deployment"`` (see :class:`CommandProcessor`).
    n_ro, stages, gate_cycles, max_edges_per_cycle, soft_width : int
        RO array parameters (see :class:`~ropuf.gateware.ro_array.ROArray`).
    clock_hz : int
        System clock, reported by INFO.
    simulation : bool
        Use the RO array's simulation body and expose its ``sim`` load port.

    Attributes
    ----------
    i_request, i_payload, o_response, o_payload
        As :class:`CommandProcessor`.
    locked : Out(1)
        High after LOCK.
    sim : In(SimLoadSignature)
        Only with ``simulation=True``.
    """

    def __init__(
        self,
        *,
        variant: str,
        n_ro: int,
        stages: int = 5,
        gate_cycles: int = 4096,
        max_edges_per_cycle: float = 32.0,
        soft_width: int = 16,
        clock_hz: int = 12_000_000,
        simulation: bool = False,
    ):
        # The processor checks the variant and the count width first, before anything is built.
        self.processor = CommandProcessor(
            variant=variant,
            n_ro=n_ro,
            stages=stages,
            count_width=count_width_for(gate_cycles, max_edges_per_cycle),
            soft_width=soft_width,
            gate_cycles=gate_cycles,
            clock_hz=clock_hz,
        )
        self.array = ROArray(
            n_ro=n_ro,
            stages=stages,
            gate_cycles=gate_cycles,
            max_edges_per_cycle=max_edges_per_cycle,
            soft_width=soft_width,
            simulation=simulation,
        )
        members = {
            "i_request": In(stream.Signature(RequestLayout)),
            "i_payload": In(stream.Signature(8)),
            "o_response": Out(stream.Signature(ResponseLayout)),
            "o_payload": Out(stream.Signature(8)),
            "locked": Out(1),
        }
        if simulation:
            from .ro_bank_sim import SimLoadSignature

            members["sim"] = In(SimLoadSignature(n_ro))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.processor = processor = self.processor
        m.submodules.ro = array = self.array
        wiring.connect(m, wiring.flipped(self.i_request), processor.i_request)
        wiring.connect(m, wiring.flipped(self.i_payload), processor.i_payload)
        wiring.connect(m, processor.o_response, wiring.flipped(self.o_response))
        wiring.connect(m, processor.o_payload, wiring.flipped(self.o_payload))
        m.d.comb += [self.locked.eq(processor.locked), array.enable.eq(1)]
        if "sim" in self.signature.members:
            wiring.connect(m, wiring.flipped(self.sim), array.sim)
        if processor.variant == "enrollment":
            wiring.connect(m, processor.ro_pairs, array.i_pairs)
            wiring.connect(m, array.o_results, processor.ro_results)
        return m
