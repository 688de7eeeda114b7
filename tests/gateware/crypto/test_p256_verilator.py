"""The P-256 engine with its program in Verilator: k * G against ``cryptography`` for edge and
random scalars, ECDSA signatures (RFC 6979 A.2.5's, a NIST SigGen vector's, a random one) that
``cryptography`` verifies, the cycle counts, the same for every scalar, key and digest (the
constant-time test), the read port hiding the secrets, CLEAR, the fault flag."""

import hashlib
import json
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from ropuf.gateware.crypto.p256_alu import P256ALU
from ropuf.gateware.crypto.p256_program import (
    CLEAR_CYCLES,
    ENTRIES,
    INIT,
    PROGRAM,
    PUBLIC_CYCLES,
    READABLE,
    REGISTER,
    SCALAR_MULT_CYCLES,
    SIG_R,
    SIG_S,
    SIGNATURE_CYCLES,
    VERIFY_CYCLES,
)
from ropuf.sim import harness
from ropuf.sim.testbenches.p256 import CASES_ENV, write_cases
from ropuf.spec.p256 import N, ecdsa_sign

from .test_p256_program import RFC6979_KEY, RFC6979_SAMPLE, nist_siggen_p256_sha256, public_point

TESTBENCH = "ropuf.sim.testbenches.p256"


def scalar_mult_run(k):
    expected = public_point(k)
    return {
        "entry": ENTRIES["scalar_mult"],
        "cycles": SCALAR_MULT_CYCLES,
        "load": {REGISTER["K"]: k},
        "expect": {REGISTER["QX"]: expected[0], REGISTER["QY"]: expected[1]},
    }


def engine():
    return P256ALU(PROGRAM, INIT, readable=READABLE)


def signature_runs(d, k, digest, r, s):
    """k * G, the signature (expecting r, s; K, D, H read as 0), CLEAR (the results then 0)."""
    return [
        scalar_mult_run(k),
        {
            "entry": ENTRIES["signature"],
            "cycles": SIGNATURE_CYCLES,
            "load": {REGISTER["D"]: d, REGISTER["H"]: int.from_bytes(digest)},
            "expect": {SIG_R: r, SIG_S: s, REGISTER["K"]: 0, REGISTER["D"]: 0, REGISTER["H"]: 0},
        },
        {
            "entry": ENTRIES["clear"],
            "cycles": CLEAR_CYCLES,
            "load": {},
            "expect": {SIG_R: 0, SIG_S: 0},
        },
    ]


def verified_runs(d, k, digest, r, s, *, corrupt_s=False):
    """RECONSTRUCT's d G and PUBLIC, then the signature and VERIFY with K2, D2, H2 loaded
    again (as the identity sequencer runs them); *corrupt_s* changes s before VERIFY, which
    must then set the flag and hide r, s."""
    z = int.from_bytes(digest)
    public = {**scalar_mult_run(d), "expect": {}}
    keep = {  # D2: RECONSTRUCT's check_derive leaves d there, PUBLIC compares K with it
        "entry": ENTRIES["public"],
        "cycles": PUBLIC_CYCLES,
        "load": {REGISTER["D2"]: d},
        "expect": {},
    }
    mult, signature, _ = signature_runs(d, k, digest, r, s)
    again = {REGISTER["K2"]: k, REGISTER["D2"]: d, REGISTER["H2"]: z}
    if corrupt_s:
        again[SIG_S] = s ^ (1 << 17)
    verify = {
        "entry": ENTRIES["verify"],
        "cycles": VERIFY_CYCLES,
        "load": again,
        "expect": {SIG_R: 0, SIG_S: 0} if corrupt_s else {SIG_R: r, SIG_S: s},
        "fault": int(corrupt_s),
    }
    return [public, keep, mult, signature, verify]


@pytest.mark.sim
def test_scalar_mult_and_signature_verilator(tmp_path):
    rng = random.Random(256)
    scalars = [1, 2, N - 1, rng.randrange(1, N)]
    cases = [{"name": f"k*G #{i}", "runs": [scalar_mult_run(k)]} for i, k in enumerate(scalars)]

    digest = hashlib.sha256(b"sample").digest()
    sample = (RFC6979_SAMPLE["r"], RFC6979_SAMPLE["s"])
    assert ecdsa_sign(RFC6979_KEY, RFC6979_SAMPLE["k"], digest) == sample
    runs = signature_runs(RFC6979_KEY, RFC6979_SAMPLE["k"], digest, *sample)
    cases.append({"name": "RFC 6979 A.2.5 sample", "runs": runs})
    nist = nist_siggen_p256_sha256()[0]
    runs = signature_runs(nist["d"], nist["k"], nist["digest"], nist["R"], nist["S"])
    cases.append({"name": "FIPS 186-3 SigGen P-256 SHA-256 #0", "runs": runs})
    d, k, other = rng.randrange(1, N), rng.randrange(1, N), rng.randbytes(32)
    random_signature = ecdsa_sign(d, k, other)
    cases.append({"name": "random", "runs": signature_runs(d, k, other, *random_signature)})
    # Faults: x corrupted between the routines (r no longer matches the x R the engine kept):
    # the flag is set and r, s read as 0. K = 0: the point at infinity fails the curve check.
    x, _ = public_point(k)
    faulty = signature_runs(d, k, other, 0, 0)
    faulty[0] = {**faulty[0], "expect": {}}
    faulty[1] = {**faulty[1], "load": {**faulty[1]["load"], REGISTER["QX"]: x ^ 4}, "fault": 1}
    faulty[2] = {**faulty[2], "fault": 1}
    cases.append({"name": "x corrupted", "runs": faulty})
    # Verification before release (VERIFY): the good signature passes, a changed s does not.
    for corrupt in (False, True):
        runs = verified_runs(d, k, other, *random_signature, corrupt_s=corrupt)
        cases.append({"name": f"verified, s {'changed' if corrupt else 'good'}", "runs": runs})
    infinity = {**scalar_mult_run(1), "load": {REGISTER["K"]: 0}, "fault": 1}
    cases.append({"name": "k = 0", "runs": [{**infinity, "expect": {REGISTER["QX"]: 0}}]})
    write_cases(tmp_path / "cases.json", cases)
    build = harness.build(engine(), "p256_engine")
    result_file = tmp_path / "result.json"
    result = harness.run(
        build,
        TESTBENCH,
        env={CASES_ENV: str(tmp_path / "cases.json"), "ROPUF_RESULT": str(result_file)},
    )
    assert result.tests == 1
    figures = json.loads(result_file.read_text())
    # Constant time: every scalar multiplication took the same cycles (the testbench also
    # compared each with the routine's count).
    mults = [f["cycles"] for f in figures if f["run"] == 0]
    assert len(mults) == len(cases) and len(set(mults)) == 1
    mults = [f["cycles"] for f in figures if f["run"] == 2 and "verified" in f["case"]]
    assert mults == [SCALAR_MULT_CYCLES] * 2
    signatures = [f["cycles"] for f in figures if f["run"] == 1 and "verified" not in f["case"]]
    assert len(signatures) == 4 and len(set(signatures)) == 1
    verifications = [f["cycles"] for f in figures if f["run"] == 4]
    assert verifications == [VERIFY_CYCLES] * 2

    # The signatures the engine computed verify with cryptography.
    for key, message, (r, s) in ((RFC6979_KEY, digest, sample), (d, other, random_signature)):
        public = ec.derive_private_key(key, ec.SECP256R1()).public_key()
        public.verify(encode_dss_signature(r, s), message, ec.ECDSA(Prehashed(hashes.SHA256())))
