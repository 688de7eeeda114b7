# amaranth: UnusedElaboratable=no
"""The identity on the key engine: cycles of IDENTITY and SIGN, and what it adds to RECONSTRUCT.

Usage::

    .venv/bin/python benchmarks/bench_identity.py

The key engine of the ULX3S boards (``CHOSEN``, 832 ROs) with the identity, alone in Verilator
(the cocotb testbench ``ropuf.sim.testbenches.handler``, an RO array stand-in that answers at
once): a record enrolled from synthetic reads, LOAD_HELPER, RECONSTRUCT, IDENTITY, SIGN in both
domains, for two records (two keys, two digests each). The answers are checked against the
reference (:mod:`ropuf.spec.identity`) and ``cryptography``; the cycles are each command's
(from ``start`` to ``done``, the same for both keys: the constant-time test is
tests/gateware/key/test_identity_verilator.py) and ms at 25 MHz (ULX3S) and 12 MHz.
RECONSTRUCT without the identity comes from Amaranth's simulator (bench_key_engine.py's way).
About a minute with a cold Verilator build.

Figures (CHOSEN, identity revision 2): RECONSTRUCT 1,738,603 cycles (69.5 ms at 25 MHz)
against 13,637 without the identity (d and Q = d G each computed twice and compared, G + Q);
IDENTITY 1,008 (the kept Q); SIGN 1,693,859 generic and 1,694,243 attestation (67.8 ms at
25 MHz, 141.2 ms at 12 MHz: k G, r and s, the DRBG's second run and VERIFY).
"""

import json
import tempfile
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.ro.array import ResultLayout
from ropuf.host.keygen import enrol
from ropuf.sim import harness
from ropuf.sim.handler_driver import drive_handler
from ropuf.sim.testbenches.handler import JOB_ENV, write_job
from ropuf.spec import commands, identity
from ropuf.spec.code_params import CHOSEN
from ropuf.spec.commands import Command, Status
from ropuf.spec.identity import SignDomain

N_RO = CHOSEN.ros
CLOCKS_MHZ = (25, 12)


def engine(with_identity: bool) -> KeyEngine:
    # An enrollment build's engine (unlocked): it serves the generic domain measured here.
    return KeyEngine(
        code=CHOSEN, n_ro=N_RO, count_width=16, soft_width=16, identity=with_identity,
        generic_sign=with_identity,
    )  # fmt: skip


def stand_in(seed: int):
    """A record and keys enrolled from synthetic reads of well-separated pairs, and the
    counts the RO array stand-in answers (the enrolled means: the key reconstructs)."""
    rng = np.random.default_rng(seed)
    means = rng.permutation(np.arange(N_RO)) * 16 + 1000
    reads = means + rng.integers(-3, 4, (8, N_RO))
    enrollment = enrol(reads, CHOSEN, n_ro=N_RO)
    return enrollment.helper.to_bytes(), enrollment.keys, means


def session(record: bytes, digest: bytes, nonce: bytes) -> list:
    return [
        *((Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)),
        (Command.RECONSTRUCT, b""),
        (Command.IDENTITY, b""),
        (Command.SIGN, identity.encode_sign_request(SignDomain.GENERIC, digest)),
        (Command.SIGN, identity.encode_sign_request(SignDomain.ATTESTATION, nonce)),
    ]


def main() -> None:
    figures: dict[str, set[int]] = {}
    build = harness.build(engine(True), "key_engine_identity_chosen")
    for seed in (5, 6):
        record, keys, means = stand_in(seed)
        digest, nonce = bytes([seed]) * 32, bytes([seed + 100]) * 32
        requests = session(record, digest, nonce)
        with tempfile.TemporaryDirectory() as tmp:
            soft = ResultLayout(16, 16)["soft"]
            write_job(
                Path(tmp) / "job.json", requests, rates=[int(m) for m in means], shift=0,
                soft_offset=soft.offset, soft_width=soft.shape.width,
            )  # fmt: skip
            result = Path(tmp) / "answers.json"
            harness.run(
                build,
                "ropuf.sim.testbenches.handler",
                env={JOB_ENV: str(Path(tmp) / "job.json"), "ROPUF_RESULT": str(result)},
            )
            answers = json.loads(result.read_text())
        *_, reconstruct, ident, generic, attest = answers
        assert all(a[0] == Status.OK for a in answers), "the stand-in record must reconstruct"
        d = identity.identity_scalar(keys.master)
        public = identity.encode_public_key(identity.public_key(d))
        assert bytes.fromhex(ident[1]) == public
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
        for h, answer in (
            (digest, generic),
            (identity.attestation_digest(record, nonce), attest),
        ):
            signature = bytes.fromhex(answer[1])
            assert signature == identity.sign(d, h)
            r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
            key.verify(encode_dss_signature(r, s), h, ec.ECDSA(Prehashed(hashes.SHA256())))
        for name, answer in (
            ("RECONSTRUCT", reconstruct),
            ("IDENTITY", ident),
            ("SIGN generic", generic),
            ("SIGN attestation", attest),
        ):
            figures.setdefault(name, set()).add(answer[2])
    record, _, means = stand_in(5)
    plain = [(Command.LOAD_HELPER, c) for c in commands.encode_load_helper(record)]
    *_, (status, _, without) = drive_handler(
        engine(False),
        [*plain, (Command.RECONSTRUCT, b"")],
        soft_of_pair=lambda a, b: int(means[a] - means[b]),
    )
    assert status == Status.OK
    print(
        f"Key engine with the identity, CHOSEN, {N_RO} ROs, RO array answering at once; "
        "cycles (two keys, equal for both):"
    )
    for name, counts in figures.items():
        assert len(counts) == 1, f"{name} took {sorted(counts)} cycles: not constant"
        cycles = counts.pop()
        times = "  ".join(f"{cycles / (mhz * 1e3):7.2f} ms at {mhz} MHz" for mhz in CLOCKS_MHZ)
        print(f"  {name:<18}{cycles:>10,} cycles  {times}")
        if name == "RECONSTRUCT":
            extra = cycles - without
            print(f"  {'  without identity':<18}{without:>10,} cycles  (the identity adds "
                  f"{extra:,}: {extra / 25e3:.2f} ms at 25 MHz)")  # fmt: skip


if __name__ == "__main__":
    main()
