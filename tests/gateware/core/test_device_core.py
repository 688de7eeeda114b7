# amaranth: UnusedElaboratable=no
"""The device core (command processor + RO array) against the Python device model."""

import random

import pytest
from amaranth.back import rtlil

from ropuf.gateware.core.device_core import DeviceCore
from ropuf.sim.device_model import DeviceModel
from ropuf.spec import commands
from ropuf.spec.commands import Command, Mode, Status
from ropuf.spec.device_config import DeviceConfig
from tests.drivers.core_driver import expected, run

N_RO = 16
GATE = 24


def make(variant: str):
    params = DeviceConfig(variant=variant, n_ro=N_RO, gate_cycles=GATE)
    dut = DeviceCore(params, simulation=True)
    assert (dut.array.count_width, dut.array.soft_width) == (params.count_width, params.soft_width)
    rng = random.Random(variant)
    rates = [rng.randrange(10 << 16, 12 << 16) for _ in range(N_RO)]
    model = DeviceModel(params, rates, seed=99, noise_scale=20000, common_scale=9000)
    return dut, model, rates


def test_enrollment_build_answers_like_the_model():
    dut, model, rates = make("enrollment")
    pairs = [(0, 1), (2, 3), (15, 14), (4, 4), (0, 16), (7, 8)]
    requests = [
        (1, Command.INFO, b"", 0),
        (2, Command.READ_RO, commands.encode_read_ro_request(pairs), 0),
        (3, Command.READ_RO, b"\x00\x00\x01", 0),  # not a whole pair
        (4, Command.READ_RO, b"", 0),
        (5, 0x7F, b"junk", 0),  # unknown command, payload still consumed
        (6, Command.INFO, b"", 0xE1),  # a framing error passed through with its status
        (7, Command.INFO, b"x", 0),
        (8, Command.READ_RO, commands.encode_read_ro_request([(9, 10)] * 32), 0),
        (9, Command.LOCK, b"", 0),
        (10, Command.READ_RO, commands.encode_read_ro_request([(0, 1)]), 0),
        (11, Command.INFO, b"", 0),
    ]
    got = run(dut, rates, requests)
    assert got == expected(model, requests)
    statuses = [status for _, status, _ in got]
    assert statuses == [0, 0, 0x11, 0x11, 0x10, 0xE1, 0x11, 0, 0, Status.LOCKED, 0]
    assert commands.Info.decode(got[0][2]).mode == Mode.ENROLLMENT
    assert commands.Info.decode(got[-1][2]).mode == Mode.LOCKED
    counts = commands.decode_read_ro_response(got[1][2])
    assert [invalid for *_, invalid in counts] == [0, 0, 0, 1, 1, 0]


def test_deployment_build_has_no_raw_readout():
    dut, model, rates = make("deployment")
    requests = [
        (1, Command.READ_RO, commands.encode_read_ro_request([(0, 1)]), 0),
        (2, Command.INFO, b"", 0),
        (3, Command.LOCK, b"", 0),
    ]
    got = run(dut, rates, requests)
    assert got == expected(model, requests)
    assert got[0][1] == Status.UNKNOWN_COMMAND
    assert commands.Info.decode(got[1][2]).mode == Mode.DEPLOYMENT


def test_deployment_netlist_has_no_read_ro_logic():
    enrollment = rtlil.convert(
        DeviceCore(DeviceConfig(variant="enrollment", n_ro=N_RO), simulation=True)
    )
    deployment = rtlil.convert(
        DeviceCore(DeviceConfig(variant="deployment", n_ro=N_RO), simulation=True)
    )
    assert "read_ro" in enrollment and "ro_results" in enrollment
    assert "read_ro" not in deployment and "ro_results" not in deployment
    # The processor of a deployment build has no port for RO results: counts cannot reach it.
    processor = next(part for part in deployment.split("\nmodule ") if ".processor" in part[:80])
    assert "count" not in processor and "ro_pairs" not in processor


def test_bad_variant_and_count_width():
    with pytest.raises(ValueError, match=r"Variant must be one of .*, not 'debug'"):
        DeviceCore(DeviceConfig(variant="debug", n_ro=4), simulation=True)
    with pytest.raises(ValueError, match="READ_RO carries 24-bit counts, not 26-bit ones"):
        DeviceCore(DeviceConfig(variant="enrollment", n_ro=4, gate_cycles=2**20), simulation=True)


def test_every_command_code_and_length_is_answered_like_the_model():
    """Fuzz: all 256 codes, payload lengths from empty to the maximum, random contents.

    The core answers each request exactly as the model does (status and payload), consumes
    every payload, and still answers INFO at the end: no code or length wedges it.
    """
    dut, model, rates = make("enrollment")
    rng = random.Random(2026)
    requests = []
    for code in range(256):
        if code == Command.LOCK:
            continue  # locking is tested above; here it would turn READ_RO off for the rest
        for length in (0, 1, 4, 12, 256):
            payload = bytes(rng.randrange(256) for _ in range(length))
            if code == Command.READ_RO and length > 12:
                payload = payload[:128]  # keep simulation time sane; 32 pairs is the maximum
            requests.append((len(requests) & 0xFF, code, payload, 0))
    requests.append((7, Command.INFO, b"", 0))
    got = run(dut, rates, requests)
    assert got == expected(model, requests)
    assert got[-1][1] == Status.OK and commands.Info.decode(got[-1][2]).n_ro == N_RO


@pytest.mark.parametrize("variant", ["enrollment", "deployment"])
def test_generic_sign_follows_the_variant_and_the_lock(variant):
    """The core tells its key engine which builds sign GENERIC and when it is locked: an
    enrollment build refuses GENERIC (LOCKED) after LOCK, a deployment build always, before
    the key is looked at; ATTESTATION gets past the refusal (NO_KEY: there is no key here; the
    signatures themselves are test_identity_verilator.py's). Like the model, request by
    request."""
    from ropuf.spec.identity import SignDomain, encode_sign_request

    from ..key.test_engine import CODE, OFFSETS
    from ..key.test_engine import N_RO as KEY_RO

    params = DeviceConfig(
        variant=variant, n_ro=KEY_RO, gate_cycles=GATE, code=CODE, offsets=OFFSETS, identity=True
    )
    dut = DeviceCore(params, simulation=True)
    rates = [10 << 16] * KEY_RO
    model = DeviceModel(params, rates, seed=99, noise_scale=20000, common_scale=9000)
    generic = encode_sign_request(SignDomain.GENERIC, bytes(32))
    attestation = encode_sign_request(SignDomain.ATTESTATION, bytes(32))
    requests = [
        (1, Command.SIGN, generic, 0),
        (2, Command.SIGN, attestation, 0),
        (3, Command.LOCK, b"", 0),
        (4, Command.SIGN, generic, 0),
        (5, Command.SIGN, attestation, 0),
        (6, Command.SIGN, b"\x07" + bytes(32), 0),  # an unknown domain: a bad payload first
    ]
    got = run(dut, rates, requests)
    assert got == expected(model, requests)
    before = Status.NO_KEY if variant == "enrollment" else Status.LOCKED
    assert [status for _, status, _ in got] == [
        before, Status.NO_KEY, Status.OK, Status.LOCKED, Status.NO_KEY, Status.BAD_PAYLOAD
    ]  # fmt: skip
