# amaranth: UnusedElaboratable=no
"""The key engine's FAULT answer (Amaranth's simulator): a P-256 engine whose check fails makes
IDENTITY and SIGN answer FAULT with no payload, and the engine serves the next command.

The P-256 program is replaced for this test (in :mod:`ropuf.gateware.key.identity`'s
namespace) by one whose routines stop at once, but for a failing check (``CHK ONE``) in the
routine under test, so the sequences run in a few thousand cycles; the rest is the engine's.
IDENTITY's check is its own routine's; SIGN's are SCALAR_MULT's (the ladder) and VERIFY's (the
verification before release)."""

import pytest

from ropuf.gateware.crypto.p256_alu import CHK, STOP, Instruction
from ropuf.gateware.crypto.p256_program import ENTRIES, PROGRAM, REGISTER
from ropuf.gateware.key import identity as sequencer
from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.key.record import ANSWER
from ropuf.sim.handler_driver import drive_handler
from ropuf.spec import commands
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.commands import Command, Status
from ropuf.spec.identity import SignDomain, encode_sign_request

from .test_engine import CODE, N_RO, OFFSETS, enrol, make

_ROUTINES = (
    "scalar_mult", "signature", "nonce_check", "derive", "clear", "public", "identity",
    "verify", "check_derive", "check_public",
)  # fmt: skip


def _program(failing=None):
    """Every routine stops at once; *failing* is a failing check (``CHK ONE``)."""
    program = list(PROGRAM)
    for name in _ROUTINES:
        program[ENTRIES[name]] = Instruction(STOP)
    if failing:
        program[ENTRIES[failing]] = Instruction(CHK, a=REGISTER["ONE"])  # ONE != 0: fault
        program[ENTRIES[failing] + 1] = Instruction(STOP)
    return program


def _run(record, rates):
    engine = KeyEngine(
        code=CODE, n_ro=N_RO, count_width=16, soft_width=16, offsets=OFFSETS, identity=True
    )
    nonce = bytes(range(32))
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)]
    requests += [
        (Command.RECONSTRUCT, b""),
        (Command.IDENTITY, b""),
        (Command.SIGN, encode_sign_request(SignDomain.ATTESTATION, nonce)),
        (Command.ATTEST, nonce),
    ]
    answers = drive_handler(engine, requests, soft_of_pair=lambda a, b: (rates[a] - rates[b]) >> 12)
    *_, reconstruct, ident, signature, attest = answers
    assert reconstruct[0] == Status.OK
    return nonce, ident, signature, attest


# (the failing routine, IDENTITY's status, SIGN's): a check at RECONSTRUCT (d or Q computed
# twice and compared; the ladder's own check) refuses both until the next RECONSTRUCT.
CASES = {
    "check_derive": (Status.FAULT, Status.FAULT),
    "check_public": (Status.FAULT, Status.FAULT),
    "scalar_mult": (Status.FAULT, Status.FAULT),
    "identity": (Status.FAULT, Status.OK),
    "verify": (Status.OK, Status.FAULT),
}


@pytest.mark.parametrize("failing", CASES)
def test_a_failed_check_answers_fault_and_nothing_else(monkeypatch, failing):
    monkeypatch.setattr(sequencer, "PROGRAM", _program(failing))
    _, _, rates = make()
    record, keys, _ = enrol(rates)
    nonce, ident, signature, attest = _run(record, rates)
    statuses = (ident[0], signature[0])
    assert statuses == CASES[failing]
    for (status, payload, _), length in ((ident, 65), (signature, 64)):
        assert len(payload) == (0 if status == Status.FAULT else length)
    # The engine is idle again and its key intact: ATTEST answers the host's MAC.
    assert attest[:2] == (Status.OK, attestation_mac(keys.attestation, record, nonce))


def test_a_sequence_cut_short_answers_fault(monkeypatch):
    # A glitch that ends SIGN early (here: a STOP where the first wipe is, k still in RV) finds
    # the fault flag set since the sequence started: FAULT, and nothing of RV leaves.
    compile_steps = sequencer.compile_steps

    def cut(layout, program):
        steps, starts = compile_steps(layout, program)
        wipe = program.entry_number("wipe")
        at = next(
            i
            for i in range(starts["sign"], len(steps))
            if steps[i]["step"] == sequencer.Step.SHA and steps[i]["arg"] == wipe
        )
        steps = [*steps[:at], {"step": sequencer.Step.STOP}, *steps[at + 1 :]]
        return steps, starts

    monkeypatch.setattr(sequencer, "PROGRAM", _program())
    monkeypatch.setattr(sequencer, "compile_steps", cut)
    _, _, rates = make()
    record, _, _ = enrol(rates)
    _, ident, signature, _ = _run(record, rates)
    assert ident[0] == Status.OK
    assert signature[:2] == (Status.FAULT, b"")


def test_only_the_answers_stores_reach_the_answer_buffer():
    # The answer buffer (ANSWER and up, past the memory) is written by the two stores of
    # IDENTITY's and SIGN's answer, of QX and QY only, and no memory address reaches it: a
    # glitched answer address can only read the buffer, which never holds a secret.
    engine = KeyEngine(
        code=CODE, n_ro=N_RO, count_width=16, soft_width=16, offsets=OFFSETS, identity=True
    )
    assert engine.program.depth <= ANSWER
    assert all(op.get("addr", 0) + op.get("length", 0) <= ANSWER for op in engine.program.ops)
    steps, starts = sequencer.compile_steps(engine.map, engine.program)
    reaching = [
        (i, step["reg"], step["addr"])
        for i, step in enumerate(steps)
        if step["step"] == sequencer.Step.STORE and step["addr"] >= ANSWER
    ]
    qx, qy = REGISTER["QX"], REGISTER["QY"]
    assert [(reg, addr) for _, reg, addr in reaching] == [(qx, ANSWER), (qy, ANSWER + 32)] * 2
    assert {i < starts["sign_attest"] for i, _, _ in reaching} == {True, False}
    answers = {i for i, _, _ in reaching}
    moves = (sequencer.Step.LOAD, sequencer.Step.STORE)
    others = [s for i, s in enumerate(steps) if s["step"] in moves and i not in answers]
    assert others and all(s["addr"] + 32 <= ANSWER for s in others)
