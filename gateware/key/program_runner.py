"""The program runner: the key engine's HMAC and key-derivation sequencing, with its SHA-256 core.

It runs the engine's SHA-256 message program (:mod:`.sha_program`, compiled from the memory
map) on one SHA-256 core: it feeds the core memory bytes and HMAC key pads, moves digests and the
decoder's message into the engine's memory, compares the key-check value, and, for ATTEST,
offers the MAC a byte at a time. The engine owns the memory and lends the runner its read and
write ports while the program runs.

The program lives in block RAM and is read one cycle after ``pc`` changes: every operation
starts with one fetch cycle, the same whatever the data. No operation branches on data; the
runner's cycle count for a program is fixed by the program and by when the SHA-256 core and the
decoder answer, which do not depend on the data either.

With the compact SHA-256 core (:class:`~ropuf.gateware.crypto.sha256_compact.SHA256Compact`) this
block is what the iCE40UP5K spends on SHA-256 with HMAC (the ``SHA-256`` row of the build
report): benchmarks/bench_key_engine.py prints its cells.
"""

from amaranth.hdl import Array, Const, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.crypto.sha256 import SHA256
from ropuf.gateware.crypto.sha256_compact import SHA256Compact
from ropuf.spec import attestation

from .decoder import ResultLayout
from .sha_program import IPAD, OPAD, Op, OpLayout, Program

__all__ = ["ProgramRunner"]


class ProgramRunner(wiring.Component):
    """Run one of the program's entries: the derivation, the attestation program or (with the
    identity) one of the identity's.

    Parameters
    ----------
    program : Program
        The compiled program (:func:`~ropuf.gateware.key.sha_program.compile_program`).
    compact : bool
        Build on the compact SHA-256 core (the iCE40UP5K's) instead of the fast one.

    Attributes
    ----------
    start : In(1)
        Start the program (a cycle's pulse while idle) from the entry ``entry`` names in that
        cycle (:meth:`~ropuf.gateware.key.sha_program.Program.entry_number`; 0: the derivation).
    entry : In(range(len(program.entries)))
    done : Out(1)
        High for the cycle the program reaches STOP. After the attestation program, the MAC
        follows on ``o_mac``.
    ok : Out(1)
        With ``done`` after the derivation: the decoder succeeded and the key-check value
        matched (the program then kept the attestation key).
    read_addr : Out(11)
    read_data : In(8)
        The engine memory's read port (synchronous: data one cycle after the address).
    write_addr : Out(11)
    write_data : Out(8)
    write_en : Out(1)
        Its write port.
    secret : In(stream.Signature(ResultLayout))
    secret_shift : Out(1)
        The BCH decoder's result and ``message_shift``: SECRET waits for it and reads the
        message a byte at a time; the last byte taken takes the result.
    o_mac : Out(stream.Signature(8))
        After the attestation program, the MAC's :data:`~ropuf.spec.attestation.MAC_BYTES`
        bytes, then idle again.
    """

    def __init__(self, program: Program, *, compact: bool = False):
        if not isinstance(program, Program):
            raise TypeError(f"program must be a compiled Program, not {program!r}")
        self.program = program
        self.compact = bool(compact)
        super().__init__(
            {
                "start": In(1),
                "entry": In(range(len(program.entries))),
                "done": Out(1),
                "ok": Out(1),
                "read_addr": Out(11),
                "read_data": In(8),
                "write_addr": Out(11),
                "write_data": Out(8),
                "write_en": Out(1),
                "secret": In(stream.Signature(ResultLayout)),
                "secret_shift": Out(1),
                "o_mac": Out(stream.Signature(8)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        program = self.program
        ops = program.ops
        if self.compact:
            # Every message the program hashes comes from the memory (2 KiB at most): 11
            # length bits.
            m.submodules.sha = sha = SHA256Compact(length_bits=11)
        else:
            m.submodules.sha = sha = SHA256()

        entries = Array(Const(address, range(len(ops))) for address in program.entries.values())
        m.submodules.ops = op_rom = memory.Memory(
            shape=OpLayout,
            depth=len(ops),
            init=[OpLayout.const(op) for op in ops],
            attrs={"rom_style": "block", "ram_style": "block"},
        )
        op_read = op_rom.read_port(transparent_for=())
        pc = Signal(range(len(ops)))
        op = Signal(OpLayout)
        m.d.comb += [op_read.addr.eq(pc), op.eq(op_read.data)]
        fetched = Signal()
        phase = Signal()
        index = Signal(11)  # byte of the current operation
        failed = Signal()  # decoder failure
        mismatch = Signal()  # key-check mismatch
        m.d.comb += self.ok.eq(~failed & ~mismatch)

        # The byte the program reads: the digest's or the decoder message's next byte, where
        # the core holds it; `take_byte` moves the held value on a byte, `release` takes it.
        from_decoder = Signal()
        take_byte = Signal()
        release = Signal()
        top = Signal(8)
        m.d.comb += [
            top.eq(Mux(from_decoder, self.secret.payload.byte, sha.o_digest.payload[-8:])),
            sha.digest_shift.eq(take_byte & ~from_decoder),
            self.secret_shift.eq(take_byte & from_decoder),
            sha.o_digest.ready.eq(release & ~from_decoder),
            self.secret.ready.eq(release & from_decoder),
        ]
        rd = self.read_data

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [
                        pc.eq(entries[self.entry]),
                        phase.eq(0),
                        index.eq(0),
                        fetched.eq(0),
                    ]
                    m.next = "RUN"

            with m.State("RUN"):
                last_byte = index == op.length - 1
                step = [index.eq(index + 1)]
                advance = [index.eq(0), pc.eq(pc + 1), phase.eq(0), fetched.eq(0)]
                m.d.comb += self.read_addr.eq(op.addr + index)
                with m.If(~fetched):
                    m.d.sync += fetched.eq(1)
                with m.Else(), m.Switch(op.op):
                    with m.Case(Op.MEM, Op.KEYPAD):
                        # Phase 0 addresses the byte, phase 1 offers it to the hash core.
                        byte = Signal(8)
                        with m.If(op.op == Op.MEM):
                            m.d.comb += byte.eq(rd)
                        with m.Else():
                            pad = Mux(op.opad, OPAD, IPAD)
                            m.d.comb += byte.eq(Mux(index < 32, rd, 0) ^ pad)
                        with m.If(phase == 0):
                            m.d.sync += phase.eq(1)
                        with m.Else():
                            m.d.comb += [
                                sha.i_stream.valid.eq(1),
                                sha.i_stream.payload.data.eq(byte),
                                sha.i_stream.payload.last.eq(op.last & last_byte),
                            ]
                            with m.If(sha.i_stream.ready):
                                with m.If(last_byte):
                                    m.d.sync += advance
                                with m.Else():
                                    m.d.sync += [*step, phase.eq(0)]
                    with m.Case(Op.DIGEST):
                        with m.If(sha.o_digest.valid):
                            m.d.sync += [from_decoder.eq(0), *advance]
                    with m.Case(Op.SECRET):
                        with m.If(self.secret.valid):
                            m.d.sync += [
                                from_decoder.eq(1),
                                failed.eq(self.secret.payload.failed),
                                mismatch.eq(0),
                                *advance,
                            ]
                    with m.Case(Op.WRITE, Op.ZERO, Op.ZERO_IF_BAD):
                        m.d.comb += [
                            self.write_addr.eq(op.addr + index),
                            self.write_data.eq(Mux(op.op == Op.WRITE, top, 0)),
                            self.write_en.eq((op.op != Op.ZERO_IF_BAD) | failed | mismatch),
                        ]
                        m.d.sync += step
                        with m.If(op.op == Op.WRITE):
                            m.d.comb += [take_byte.eq(1), release.eq(last_byte)]
                        with m.If(last_byte):
                            m.d.sync += advance
                    with m.Case(Op.CHECK):
                        with m.If(phase == 0):
                            m.d.sync += phase.eq(1)
                        with m.Else():
                            with m.If(rd != top):
                                m.d.sync += mismatch.eq(1)
                            m.d.comb += [take_byte.eq(1), release.eq(last_byte)]
                            m.d.sync += [phase.eq(0), *step]
                            with m.If(last_byte):
                                m.d.sync += advance
                    with m.Case(Op.STOP):
                        m.d.comb += self.done.eq(1)
                        m.d.sync += index.eq(0)
                        # The attestation program ends with its MAC in the core.
                        with m.If(pc == len(ops) - 1):
                            m.next = "MAC"
                        with m.Else():
                            m.next = "IDLE"

            with m.State("MAC"):
                m.d.comb += [self.o_mac.valid.eq(1), self.o_mac.payload.eq(top)]
                with m.If(self.o_mac.ready):
                    m.d.comb += take_byte.eq(1)
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == attestation.MAC_BYTES - 1):
                        m.d.comb += release.eq(1)
                        m.next = "IDLE"
        return m
