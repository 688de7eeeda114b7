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
from ropuf.sim.handler_driver import drive_handler
from ropuf.spec import commands
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.commands import Command, Status
from ropuf.spec.identity import SignDomain, encode_sign_request

from .test_engine import CODE, N_RO, OFFSETS, enrol, make

_QUICK = ("scalar_mult", "signature", "nonce_check", "derive", "clear", "public", "identity")


@pytest.mark.parametrize("failing", ["scalar_mult", "verify"])
def test_a_failed_check_answers_fault_and_nothing_else(monkeypatch, failing):
    program = list(PROGRAM)
    for name in (*_QUICK, "verify"):
        program[ENTRIES[name]] = Instruction(STOP)
    for name in (failing, "identity"):
        program[ENTRIES[name]] = Instruction(CHK, a=REGISTER["ONE"])  # ONE != 0: fault
        program[ENTRIES[name] + 1] = Instruction(STOP)
    monkeypatch.setattr(sequencer, "PROGRAM", program)
    _, _, rates = make()
    record, keys, _ = enrol(rates)
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
    assert [(status, payload) for status, payload, _ in (ident, signature)] == [
        (Status.FAULT, b"")
    ] * 2
    # The engine is idle again and its key intact: ATTEST answers the host's MAC.
    assert attest[:2] == (Status.OK, attestation_mac(keys.attestation, record, nonce))
