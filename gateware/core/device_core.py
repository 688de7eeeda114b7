"""The device core at frame level: command processor, RO array and key engine, wired.

Framing (COBS, CRC) and the UART wrap around it in the device top; this level takes request
headers and payload bytes and gives response headers and payload bytes, which keeps its tests
fast and lets the same core serve every transport.
"""

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from ropuf.gateware.arbiter.behavioural import ArbiterSimLoadSignature
from ropuf.gateware.arbiter.handler import ArbiterHandler
from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.ro.array import ROArray
from ropuf.gateware.ro.behavioural import SimLoadSignature
from ropuf.spec import identity
from ropuf.spec.device_config import DeviceConfig

from .command_processor import CommandProcessor, frame_members

__all__ = ["DeviceCore"]


class DeviceCore(wiring.Component):
    """Command processor, RO PUF and (with a code) the key engine.

    Parameters
    ----------
    config : DeviceConfig
        The build: variant (see :class:`CommandProcessor`), RO array, clock, and optionally the
        key construction (adds the key engine: LOAD_HELPER, RECONSTRUCT, ATTEST; without it
        those commands are unknown) and a k-XOR arbiter PUF behind ARBITER (``allow_counts``
        in enrollment builds only).
    simulation : bool
        Use the RO array's simulation body and expose its ``sim`` load port.
    ring_placement, arbiter_placement : optional
        Where the FPGA bodies' rings and arbiter chains go (families' defaults when omitted).

    Attributes
    ----------
    i_request, i_payload, o_response, o_payload
        As :class:`CommandProcessor`.
    locked : Out(1)
        High after LOCK.
    sim : In(SimLoadSignature)
        Only with ``simulation=True``.
    arbiter_sim : In(ArbiterSimLoadSignature)
        Only with ``simulation=True`` and an arbiter: loads its die.
    """

    def __init__(
        self,
        config: DeviceConfig,
        *,
        simulation: bool = False,
        ring_placement=None,
        arbiter_placement=None,
    ):
        if not isinstance(config, DeviceConfig):
            raise TypeError(f"Config must be a DeviceConfig, not {config!r}")
        code, arbiter = config.code, config.arbiter
        if arbiter is not None and arbiter.allow_counts and config.variant != "enrollment":
            raise ValueError("Arbiter COUNTS answers are for enrollment builds only")
        self.config = config
        handlers = {}
        if code is not None:
            handlers["key"] = KeyEngine.COMMANDS + (
                KeyEngine.IDENTITY_COMMANDS if config.identity else ()
            )
        if arbiter is not None:
            handlers["arbiter"] = ArbiterHandler.COMMANDS
        self.processor = CommandProcessor(config, handlers=handlers)
        self.engine = (
            None
            if code is None
            else KeyEngine(
                code=code,
                n_ro=config.n_ro,
                count_width=config.count_width,
                soft_width=config.soft_width,
                offsets=config.offsets,
                compact=config.compact_key_path,
                identity=config.identity,
                # GENERIC while unlocked in an enrollment build; never in a deployment one.
                generic_sign=identity.generic_sign_allowed(config.info.mode),
            )
        )
        self.array = ROArray(
            n_ro=config.n_ro,
            stages=config.stages,
            gate_cycles=config.gate_cycles,
            max_edges_per_cycle=config.max_edges_per_cycle,
            soft_width=config.soft_width,
            simulation=simulation,
            ring_placement=ring_placement,
        )
        self.arbiter = (
            None
            if arbiter is None
            else ArbiterHandler(
                n_stages=arbiter.n_stages,
                k=arbiter.k,
                allow_counts=arbiter.allow_counts,
                simulation=simulation,
                placement=arbiter_placement,
            )
        )
        members = frame_members()
        if simulation:
            members["sim"] = In(SimLoadSignature(config.n_ro))
            if arbiter is not None:
                members["arbiter_sim"] = In(
                    ArbiterSimLoadSignature(n_stages=arbiter.n_stages, k=arbiter.k)
                )
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
        users = []
        if processor.variant == "enrollment":
            users.append((processor.ro_pairs, processor.ro_results))
        if self.engine is not None:
            m.submodules.key = engine = self.engine
            wiring.connect(m, processor.h_key, engine.h)
            m.d.comb += processor.key_ready.eq(engine.key_ready)
            users.append((engine.ro_pairs, engine.ro_results))
        if self.arbiter is not None:
            m.submodules.arbiter = self.arbiter
            wiring.connect(m, processor.h_arbiter, self.arbiter.h)
            if "arbiter_sim" in self.signature.members:
                wiring.connect(m, wiring.flipped(self.arbiter_sim), self.arbiter.sim)
        # The processor serves one command at a time, so at most one user of the array is
        # active: requests and ready signals are ORed, results go to both.
        for pairs, results in users:
            with m.If(pairs.valid):
                m.d.comb += array.i_pairs.payload.eq(pairs.payload)
            m.d.comb += [
                pairs.ready.eq(array.i_pairs.ready),
                results.payload.eq(array.o_results.payload),
                results.valid.eq(array.o_results.valid),
            ]
        m.d.comb += [
            array.i_pairs.valid.eq(Cat(pairs.valid for pairs, _ in users).any()),
            array.o_results.ready.eq(Cat(results.ready for _, results in users).any()),
        ]
        return m
