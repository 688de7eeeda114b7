"""The key engine: LOAD_HELPER, RECONSTRUCT and ATTEST on the fabric (and IDENTITY, SIGN).

It serves three commands for the command processor (:mod:`ropuf.gateware.core.handler`) with one
byte memory, one SHA-256 core, the BCH decoder and the RO array, and keeps every secret inside:
the secret message, the master key and the attestation key live in the memory's slots and
never reach a port; only the key-check result and MACs leave.

Its parts: :mod:`.record` (the memory map and the record check), :mod:`.sha_program` (the SHA-256
message program), :mod:`.program_runner` (runs that program on the SHA-256 core: the HMAC and
derivation sequencing), the BCH decoder (:mod:`.decoder`); this module is the state machine
that runs them.

RECONSTRUCT runs in three phases:

1. **Validate** the record byte by byte (:class:`.record.RecordCheck`). Anything wrong
   answers BAD_HELPER.
2. **Measure and decode**: walk the pair list (:mod:`ropuf.spec.pairing`: two batch-local
   RO indices a pair, read a bit at a time); measure each pair and feed its soft value (less
   the pair's design threshold ``offsets[a] - offsets[b]``, saturated, when the build holds
   design offsets: a ROM beside the memory) with the pair's code-offset bit to the decoder.
3. **Derive** with the SHA-256 program (:mod:`.sha_program`), which the program runner runs on
   the memory's ports; it is the same whatever the data, so its cycle count is constant.

ATTEST writes the nonce into its slot and runs the program's attestation part.

With the identity (``identity=True``; :mod:`.identity`, :mod:`ropuf.spec.identity`),
RECONSTRUCT's derivation also expands the identity key's 40 bytes, which the identity
sequencer reduces to d on the P-256 engine and keeps in the IDKEY slot (cleared when the key
check fails); IDENTITY computes ``d G`` and SIGN an RFC 6979 signature, each answered from the
memory once the sequencer has cleared every secret (or FAULT, with no payload, when the P-256
engine's self-check failed). SIGN's GENERIC domain is served only by an engine told so
(``generic_sign``: an enrollment build's) while the command processor's ``locked`` is low;
otherwise it answers LOCKED as soon as the domain byte arrives
(:func:`ropuf.spec.identity.generic_sign_allowed`).

The runner keeps no copy of a digest or of the secret: it reads the SHA-256 core's digest and the
decoder's message a byte at a time where they are held (``digest_shift``; ``message_shift`` and
the decoder's ``o_result.payload.byte``: the compact decoder keeps the message in block RAM),
and takes them (``ready``) with the last byte it needs. Either pair of cores serves: the fast
ones (:class:`~ropuf.gateware.crypto.sha256.SHA256`, :class:`.decoder.BCHDecoder`) or, for the
iCE40UP5K, the compact ones (:class:`~ropuf.gateware.crypto.sha256_compact.SHA256Compact`,
:class:`.decoder_compact.CompactBCHDecoder`), same interface, more cycles, less area: for
BCH(192, 136, t=7), 1,868 placed UP5K logic cells against 3,564, RECONSTRUCT 30,540 cycles
against 12,397 and ATTEST 4,936 against 969 (benchmarks/bench_key_engine.py).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.core.handler import HandlerSignature
from ropuf.gateware.ro.array import PairLayout, ResultLayout, saturated
from ropuf.spec import attestation, identity
from ropuf.spec.code_params import CodeParams
from ropuf.spec.commands import Command, Status

from .decoder import BCHDecoder
from .decoder_compact import CompactBCHDecoder
from .identity import SEQUENCES, IdentitySequencer
from .program_runner import ProgramRunner
from .record import ANSWER, ANSWER_BYTES, MemoryMap, RecordCheck
from .sha_program import compile_program

__all__ = ["KeyEngine"]


class KeyEngine(wiring.Component):
    """LOAD_HELPER, RECONSTRUCT and ATTEST (see the module notes).

    Parameters
    ----------
    code : CodeParams
        The key construction this build supports (helper data for another is BAD_HELPER).
    n_ro : int
        RO count; the code's pairing must fit (``n_ro >= code.ros``).
    count_width, soft_width : int
        The RO array's result widths; ``soft_width`` must equal ``code.soft_width``.
    offsets : tuple of int, optional
        The build's design offset of each RO
        (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`); None: none (no ROM).
    compact : bool
        Build on the compact SHA-256 core and BCH decoder (the iCE40UP5K's) instead of the fast
        ones. The answers are the same; the cycle counts differ, and stay constant.
    identity : bool
        Serve IDENTITY and SIGN too (:data:`IDENTITY_COMMANDS`): the identity sequencer and
        the P-256 engine.
    generic_sign : bool
        Sign in SIGN's GENERIC domain while ``h.locked`` is low (an enrollment build:
        :func:`ropuf.spec.identity.generic_sign_allowed` of the build's mode); False (the
        default, and a deployment build's): GENERIC always answers LOCKED.

    Attributes
    ----------
    h : In(HandlerSignature())
        The command processor's port for LOAD_HELPER, RECONSTRUCT, ATTEST (and IDENTITY,
        SIGN).
    key_ready : Out(1)
        A reconstructed key is held (INFO reports it).
    ro_pairs : Out(stream.Signature(PairLayout))
    ro_results : In(stream.Signature(ResultLayout))
        The RO array, used during RECONSTRUCT only.

    Raises
    ------
    ValueError
        The code does not fit the array, the soft widths differ, the secret does not fit a
        32-byte slot, the record, slots and program constants do not fit the memory (1 KiB;
        2 KiB with the identity), or *offsets* has not one entry per RO.
    TypeError
        *code* is not a :class:`~ropuf.spec.code_params.CodeParams`.
    """

    COMMANDS = (Command.LOAD_HELPER, Command.RECONSTRUCT, Command.ATTEST)
    #: What a build with the identity serves besides :data:`COMMANDS`.
    IDENTITY_COMMANDS = (Command.IDENTITY, Command.SIGN)

    def __init__(
        self, *, code: CodeParams, n_ro: int, count_width: int, soft_width: int,
        compact: bool = False, offsets=None, identity: bool = False, generic_sign: bool = False,
    ):  # fmt: skip
        if not isinstance(code, CodeParams):
            raise TypeError(f"code must be a CodeParams, not {code!r}")
        if n_ro < code.ros:
            raise ValueError(f"The code's pairing uses {code.ros} ROs, the array has {n_ro}")
        if soft_width != code.soft_width:
            raise ValueError(
                f"The code decodes {code.soft_width}-bit soft values, the array gives "
                f"{soft_width}-bit ones"
            )
        if code.message_bytes > 32:
            raise ValueError(f"A {code.k}-bit secret does not fit a 32-byte slot")
        self.identity = bool(identity)
        self.generic_sign = bool(generic_sign)
        self.map = MemoryMap(code, n_ro, identity=self.identity)
        self.program = compile_program(self.map)
        # 1 KiB (two iCE40 block RAMs); the identity's builds (ECP5: 2 KiB in one DP16KD) up
        # to the answer buffer's addresses.
        limit = ANSWER if self.identity else 1024
        if self.program.depth > limit:
            raise ValueError(
                f"A {self.map.record}-byte record does not fit the {limit // 1024} KiB memory"
            )
        if offsets is not None and len(offsets) != n_ro:
            raise ValueError(f"{len(offsets)} design offsets for {n_ro} ROs")
        self._code = code
        self.compact = bool(compact)
        self._offsets = None if offsets is None else tuple(offsets)
        super().__init__(
            {
                "h": In(HandlerSignature()),
                "key_ready": Out(1),
                "ro_pairs": Out(stream.Signature(PairLayout)),
                "ro_results": In(stream.Signature(ResultLayout(count_width, soft_width))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        mm = self.map
        code = self._code
        h = self.h

        program = self.program
        m.submodules.mem = mem = memory.Memory(
            shape=8, depth=program.depth, init=[*bytes(program.rom_base), *program.rom]
        )
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=())
        if self.compact:
            m.submodules.decoder = decoder = CompactBCHDecoder(code)
        else:
            m.submodules.decoder = decoder = BCHDecoder(code)
        m.submodules.check = check = RecordCheck(mm)
        # The derivation and attestation programs on the SHA-256 core (the `hmac` block).
        m.submodules.hmac = runner = ProgramRunner(program, compact=self.compact)
        wiring.connect(m, decoder.o_result, runner.secret)
        m.d.comb += [decoder.message_shift.eq(runner.secret_shift), runner.read_data.eq(rd.data)]
        if self.identity:
            m.submodules.identity = seq = IdentitySequencer(mm, program)
            m.d.comb += [seq.read_data.eq(rd.data), seq.sha_done.eq(runner.done)]
            # IDENTITY's and SIGN's answer: its own 64 bytes, written by the sequencer's stores
            # at ANSWER and up (never the memory), the only source of their answer.
            m.submodules.answer = answer_mem = memory.Memory(shape=8, depth=ANSWER_BYTES, init=[])
            answer_wr = answer_mem.write_port()
            answer_rd = answer_mem.read_port(transparent_for=())
            to_answer = seq.write_addr >= ANSWER
            sign_domain = Signal(8)

        status = Signal(8)
        mac_out = Signal()  # the answer carries the MAC (ATTEST)
        # IDENTITY's or SIGN's answer bytes (0 on FAULT); only with the identity, so a build
        # without it keeps its logic.
        answer_length = Signal(range(identity.PUBLIC_KEY_BYTES + 1)) if self.identity else 0
        done = Signal()
        key_ready = Signal()

        def answer(code):
            # The command is done with status *code* (no answer payload).
            return [status.eq(code), done.eq(1)]

        def finish_if(condition, code):
            # In an FSM state: when *condition* holds, answer *code* and go idle; the m.Else()
            # of what the state does otherwise.
            with m.If(condition):
                m.d.sync += answer(code)
                m.next = "IDLE"
            return m.Else()

        m.d.comb += [
            h.status.eq(status),
            h.out_length.eq(Mux(mac_out, attestation.MAC_BYTES, answer_length)),
            h.done.eq(done),
            self.key_ready.eq(key_ready),
        ]

        # Byte counter of the current step: the record, the program's messages, a LOAD_HELPER
        # payload once LOAD_CHECK has found it fits the record.
        index = Signal(range(max(program.depth, mm.record + 2) + 1))
        address = Signal(16)  # LOAD_HELPER write address
        pairing = code.pairing
        width = pairing.index_bits
        selected = Signal(range(code.selected_bits + 1))  # the pair being read
        bit = Signal(range(code.selected_bits * pairing.pair_bits + 1))  # pair-list bit
        pair_bit = Signal(range(pairing.pair_bits))  # bit of the current pair
        pair = Signal(pairing.pair_bits)  # a (high half) then b, shifted in MSB first
        # Batch-local indices to global ones: batch and pair counts are powers of two.
        group = selected[(pairing.per_batch.bit_length() - 1) :]
        pair_a, pair_b = Signal(range(mm.n_ro)), Signal(range(mm.n_ro))
        m.d.comb += [pair_a.eq(Cat(pair[width:], group)), pair_b.eq(Cat(pair[:width], group))]
        offset_bit = Signal()
        soft = Signal(signed(code.soft_width))
        offsets = self._offsets
        if offsets is not None:
            threshold = Signal(signed(16))  # offsets[a] - offsets[b]
            offset_a = Signal(signed(16))
            m.submodules.offsets = offset_rom = memory.Memory(
                shape=signed(16), depth=len(offsets), init=offsets
            )
            rom_rd = offset_rom.read_port(transparent_for=())
        m.d.comb += rd.addr.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                # Refusals leave the rest of a payload here: take and drop it.
                m.d.comb += h.payload.ready.eq(1)
                with m.If(h.start):
                    m.d.sync += [done.eq(0), mac_out.eq(0), index.eq(0)]
                    if self.identity:
                        m.d.sync += answer_length.eq(0)
                    with m.If(h.code == Command.LOAD_HELPER):
                        with m.If(h.length < 2):
                            m.d.sync += answer(Status.BAD_PAYLOAD)
                        with m.Else():
                            m.next = "LOAD_OFFSET"
                    with m.Elif(h.code == Command.RECONSTRUCT):
                        with m.If(h.length != 0):
                            m.d.sync += answer(Status.BAD_PAYLOAD)
                        with m.Else():
                            m.d.comb += check.clear.eq(1)
                            m.d.sync += key_ready.eq(0)
                            m.next = "VALIDATE_READ"
                    with m.Elif(h.code == Command.ATTEST) if self.identity else m.Else():
                        with m.If(h.length != attestation.NONCE_BYTES):
                            m.d.sync += answer(Status.BAD_PAYLOAD)
                        with m.Elif(~key_ready):
                            m.d.sync += answer(Status.NO_KEY)
                        with m.Else():
                            m.next = "NONCE"
                    if self.identity:
                        with m.Elif(h.code == Command.IDENTITY):
                            with m.If(h.length != 0):
                                m.d.sync += answer(Status.BAD_PAYLOAD)
                            with m.Elif(~key_ready):
                                m.d.sync += answer(Status.NO_KEY)
                            with m.Else():
                                m.d.comb += [
                                    seq.start.eq(1),
                                    seq.entry.eq(SEQUENCES.index("identity")),
                                ]
                                m.next = "IDENTITY"
                        with m.Elif(h.code == Command.SIGN):
                            with m.If(h.length != identity.SIGN_PAYLOAD_BYTES):
                                m.d.sync += answer(Status.BAD_PAYLOAD)
                            with m.Else():
                                m.next = "SIGN_DOMAIN"

            # LOAD_HELPER: offset (2 bytes, little-endian), then data written from there.
            with m.State("LOAD_OFFSET"):
                m.d.comb += h.payload.ready.eq(1)
                with m.If(h.payload.valid):
                    m.d.sync += [
                        address.eq(Cat(address[8:], h.payload.payload)),
                        index.eq(index + 1),
                    ]
                    with m.If(index == 1):
                        m.next = "LOAD_CHECK"
            with m.State("LOAD_CHECK"):
                with finish_if(address + h.length - 2 > mm.record, Status.BAD_PAYLOAD):
                    m.d.sync += [key_ready.eq(0), index.eq(2)]
                    m.next = "LOAD_DATA"
            with m.State("LOAD_DATA"):
                # LOAD_CHECK found h.length <= the record + 2: `index` holds it.
                with finish_if(index == h.length[: len(index)], Status.OK):
                    m.d.comb += [
                        h.payload.ready.eq(1),
                        wr.addr.eq(address),
                        wr.data.eq(h.payload.payload),
                        wr.en.eq(h.payload.valid),
                    ]
                    with m.If(h.payload.valid):
                        m.d.sync += [address.eq(address + 1), index.eq(index + 1)]

            # RECONSTRUCT, phase 1: validate the record, a byte every two cycles, or nine when
            # the CRC covers it (the read port holds the byte while the check takes its bits).
            with m.State("VALIDATE_READ"):
                m.d.comb += rd.addr.eq(index)
                m.next = "VALIDATE_CHECK"
            with m.State("VALIDATE_CHECK"):
                m.d.comb += rd.addr.eq(index)
                m.d.comb += [check.valid.eq(1), check.index.eq(index), check.byte.eq(rd.data)]
                with m.If(check.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == mm.record - 1):
                        m.next = "VALIDATE_DONE"
                    with m.Else():
                        m.next = "VALIDATE_READ"
            with m.State("VALIDATE_DONE"):
                with finish_if(~check.ok, Status.BAD_HELPER):
                    m.d.sync += [selected.eq(0), bit.eq(0), pair_bit.eq(0)]
                    m.next = "PAIR_READ"

            # Phase 2: measure the listed pairs, feed the decoder.
            with m.State("PAIR_READ"):
                m.d.comb += rd.addr.eq(mm.pairs + bit[3:])
                with m.If(selected == code.selected_bits):
                    m.d.comb += runner.start.eq(1)
                    m.next = "RUN"
                with m.Else():
                    m.next = "PAIR_BIT"
            with m.State("PAIR_BIT"):
                list_byte = Signal(8)
                m.d.comb += list_byte.eq(rd.data)
                m.d.sync += [
                    pair.eq(Cat(list_byte.bit_select(~bit[:3], 1), pair)),
                    bit.eq(bit + 1),
                    pair_bit.eq(pair_bit + 1),
                ]
                with m.If(pair_bit == pairing.pair_bits - 1):
                    m.d.sync += pair_bit.eq(0)
                    m.d.comb += rd.addr.eq(mm.offset + selected[3:])
                    m.next = "OFFSET_BIT"
                with m.Else():
                    m.d.comb += rd.addr.eq(mm.pairs + (bit + 1)[3:])
                    m.next = "PAIR_BIT"
            with m.State("OFFSET_BIT"):
                # Then the design offsets of a and b from the ROM, one read each.
                offset_byte = Signal(8)
                m.d.comb += offset_byte.eq(rd.data)
                m.d.sync += offset_bit.eq(offset_byte.bit_select(~selected[:3], 1))
                if offsets is None:
                    m.next = "ISSUE"
                else:
                    m.d.comb += rom_rd.addr.eq(pair_a)
                    m.next = "OFFSET_A"
            if offsets is not None:
                with m.State("OFFSET_A"):
                    m.d.comb += rom_rd.addr.eq(pair_b)
                    m.d.sync += offset_a.eq(rom_rd.data)
                    m.next = "OFFSET_B"
                with m.State("OFFSET_B"):
                    m.d.sync += threshold.eq(offset_a - rom_rd.data)
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [
                    self.ro_pairs.valid.eq(1),
                    self.ro_pairs.payload.a.eq(pair_a),
                    self.ro_pairs.payload.b.eq(pair_b),
                ]
                with m.If(self.ro_pairs.ready):
                    m.next = "RESULT"
            with m.State("RESULT"):
                m.d.comb += [self.ro_results.ready.eq(1)]
                with m.If(self.ro_results.valid):
                    m.d.sync += soft.eq(self.ro_results.payload.soft)
                    m.next = "FEED"
            with m.State("FEED"):
                corrected = soft
                if offsets is not None:
                    # soft - threshold, saturated to the soft width
                    # (spec.helper_data.corrected_soft).
                    difference = Signal(signed(max(code.soft_width, 16) + 1))
                    m.d.comb += difference.eq(soft - threshold)
                    corrected = saturated(m, difference, code.soft_width, name="corrected")
                m.d.comb += [
                    decoder.i_bits.valid.eq(1),
                    decoder.i_bits.payload.soft.eq(corrected),
                    decoder.i_bits.payload.offset.eq(offset_bit),
                ]
                with m.If(decoder.i_bits.ready):
                    m.d.sync += selected.eq(selected + 1)
                    m.next = "PAIR_READ"

            # ATTEST: the nonce into its slot, then the program from its entry.
            with m.State("NONCE"):
                with m.If(index == attestation.NONCE_BYTES):
                    m.d.comb += [
                        runner.start.eq(1),
                        runner.entry.eq(program.entry_number("attest")),
                    ]
                    m.d.sync += index.eq(0)
                    m.next = "RUN"
                with m.Else():
                    m.d.comb += [
                        h.payload.ready.eq(1),
                        wr.addr.eq(mm.slot("NONCE") + index),
                        wr.data.eq(h.payload.payload),
                        wr.en.eq(h.payload.valid),
                    ]
                    with m.If(h.payload.valid):
                        m.d.sync += index.eq(index + 1)

            # Phase 3 and ATTEST: the program, on the memory's ports.
            with m.State("RUN"):
                m.d.comb += [
                    rd.addr.eq(runner.read_addr),
                    wr.addr.eq(runner.write_addr),
                    wr.data.eq(runner.write_data),
                    wr.en.eq(runner.write_en),
                ]
                reconstructed = [
                    key_ready.eq(runner.ok),
                    status.eq(Mux(runner.ok, Status.OK, Status.KEY_CHECK_FAILED)),
                    done.eq(1),
                ]
                with m.If(runner.done):
                    with m.If(h.code == Command.ATTEST):
                        m.d.sync += [
                            status.eq(Status.OK),
                            mac_out.eq(1),
                            done.eq(1),
                        ]
                        m.next = "MAC"
                    with m.Else():
                        if self.identity:
                            # The identity key from the expansion the derivation left (always,
                            # so RECONSTRUCT's cycles do not depend on the key check).
                            m.d.comb += [
                                seq.start.eq(1),
                                seq.entry.eq(SEQUENCES.index("derive")),
                            ]
                            m.next = "IDENTITY"
                        else:
                            m.d.sync += reconstructed
                            m.next = "IDLE"

            if self.identity:
                # SIGN: the domain byte (refusals in spec.identity's order: unknown domain,
                # GENERIC where it is not served, no key), then the value into NONCE
                # (attestation) or H1. IDLE drops the rest of a refused payload.
                generic_allowed = ~h.locked if self.generic_sign else Const(0, 1)
                with m.State("SIGN_DOMAIN"):
                    m.d.comb += h.payload.ready.eq(1)
                    with m.If(h.payload.valid):
                        m.d.sync += [sign_domain.eq(h.payload.payload), index.eq(0)]
                        generic = h.payload.payload == identity.SignDomain.GENERIC
                        valid = (h.payload.payload == identity.SignDomain.ATTESTATION) | generic
                        with m.If(~valid):
                            m.d.sync += answer(Status.BAD_PAYLOAD)
                            m.next = "IDLE"
                        with m.Elif(generic & ~generic_allowed):
                            m.d.sync += answer(Status.LOCKED)
                            m.next = "IDLE"
                        with m.Elif(~key_ready):
                            m.d.sync += answer(Status.NO_KEY)
                            m.next = "IDLE"
                        with m.Else():
                            m.next = "SIGN_VALUE"
                with m.State("SIGN_VALUE"):
                    attest = sign_domain == identity.SignDomain.ATTESTATION
                    with m.If(index == identity.DIGEST_BYTES):
                        entry = Mux(attest, SEQUENCES.index("sign_attest"), SEQUENCES.index("sign"))
                        m.d.comb += [seq.start.eq(1), seq.entry.eq(entry)]
                        m.d.sync += index.eq(0)
                        m.next = "IDENTITY"
                    with m.Else():
                        base = Mux(attest, mm.slot("NONCE"), mm.slot("H1"))
                        m.d.comb += [
                            h.payload.ready.eq(1),
                            wr.addr.eq(base + index),
                            wr.data.eq(h.payload.payload),
                            wr.en.eq(h.payload.valid),
                        ]
                        with m.If(h.payload.valid):
                            m.d.sync += index.eq(index + 1)

                # The sequencer runs; the program runner has the memory while it says so.
                with m.State("IDENTITY"):
                    with m.If(seq.sha_busy):
                        m.d.comb += [
                            runner.start.eq(seq.sha_start),
                            runner.entry.eq(seq.sha_entry),
                            rd.addr.eq(runner.read_addr),
                            wr.addr.eq(runner.write_addr),
                            wr.data.eq(runner.write_data),
                            wr.en.eq(runner.write_en),
                        ]
                    with m.Else():
                        m.d.comb += [
                            rd.addr.eq(seq.read_addr),
                            wr.addr.eq(seq.write_addr),
                            wr.data.eq(seq.write_data),
                            wr.en.eq(seq.write_en & ~to_answer),
                            answer_wr.addr.eq(seq.write_addr[: ANSWER_BYTES.bit_length() - 1]),
                            answer_wr.data.eq(seq.write_data),
                            answer_wr.en.eq(seq.write_en & to_answer),
                        ]
                    with m.If(seq.done):
                        m.d.sync += index.eq(0)
                        with m.If(h.code == Command.RECONSTRUCT):
                            m.d.sync += reconstructed
                            m.next = "IDLE"
                        with m.Else():
                            length = Mux(
                                h.code == Command.IDENTITY,
                                identity.PUBLIC_KEY_BYTES,
                                identity.SIGNATURE_BYTES,
                            )
                            m.d.sync += [
                                status.eq(Mux(seq.fault, Status.FAULT, Status.OK)),
                                answer_length.eq(Mux(seq.fault, 0, length)),
                                done.eq(1),
                            ]
                            with m.If(seq.fault):
                                m.next = "IDLE"
                            with m.Else():
                                m.next = "ANSWER"

                # The answer from the answer buffer (x, y or r, s); IDENTITY's starts with 0x04.
                with m.State("ANSWER"):
                    prefix = h.code == Command.IDENTITY
                    answer_phase = Signal()
                    m.d.comb += answer_rd.addr.eq(index - prefix)
                    with m.If(answer_phase == 0):
                        m.d.sync += answer_phase.eq(1)
                    with m.Else():
                        m.d.comb += [
                            h.response.valid.eq(1),
                            h.response.payload.eq(Mux(prefix & (index == 0), 0x04, answer_rd.data)),
                        ]
                        with m.If(h.response.ready):
                            m.d.sync += [answer_phase.eq(0), index.eq(index + 1)]
                            with m.If(index == answer_length - 1):
                                m.next = "IDLE"

            with m.State("MAC"):
                m.d.comb += [
                    h.response.valid.eq(runner.o_mac.valid),
                    h.response.payload.eq(runner.o_mac.payload),
                    runner.o_mac.ready.eq(h.response.ready),
                ]
                with m.If(h.response.valid & h.response.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == attestation.MAC_BYTES - 1):
                        m.next = "IDLE"
        return m
