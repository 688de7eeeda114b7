# amaranth: UnusedElaboratable=no
"""The key engine in the device core: LOAD_HELPER, RECONSTRUCT and ATTEST against the model.

A small code (BCH(31, 16, t=3) over 40 candidate pairs) keeps Amaranth's simulator quick; the
engine is generic in the code, and the simulated board runs the full-size one in Verilator.
"""

import random
import zlib
from dataclasses import replace

import numpy as np
import pytest
from amaranth.hdl import Fragment

from ropuf.gateware.core.device_core import DeviceCore
from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.key.record import MemoryMap
from ropuf.host.fuzzy import encode_batch
from ropuf.host.kdf import derive_keys, pack_secret
from ropuf.sim.device_model import DeviceModel
from ropuf.sim.handler_driver import drive_handler
from ropuf.spec import commands
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.code_params import CodeParams
from ropuf.spec.commands import Command, Status
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.helper_data import KCV_BYTES, HelperData
from tests.drivers.core_driver import expected, run

CODE = CodeParams(rep=1, gf_m=5, t=3, n=31, candidate_pairs=40)
N_RO = 96
GATE = 24
NOISE = {"seed": 99, "noise_scale": 3000, "common_scale": 1000}


def make(variant="enrollment"):
    params = DeviceConfig(variant=variant, n_ro=N_RO, gate_cycles=GATE, code=CODE)
    dut = DeviceCore(params, simulation=True)
    assert (dut.array.count_width, dut.array.soft_width) == (params.count_width, params.soft_width)
    rng = random.Random(7)
    # Pair margins of a few percent: well above the noise, so the key reconstructs.
    rates = []
    for _ in range(N_RO // 2):
        base = rng.randrange(10 << 16, 12 << 16)
        sign = rng.choice((-1, 1))
        rates += [base, base + sign * rng.randrange(base // 10, base // 4)]
    model = DeviceModel(params, rates, **NOISE)
    return dut, model, rates


def thresholds_for(rates):
    """Design thresholds for the test die: a third of each pair's expected count difference,
    twice it on every fifth pair, so that subtracting them flips those bits:
    a device that ignored them would fail the key check (the code corrects 3 errors)."""
    expected = [GATE * (rates[2 * i] - rates[2 * i + 1]) >> 16 for i in range(CODE.candidate_pairs)]
    return np.array([2 * e if i % 5 == 0 else e // 3 for i, e in enumerate(expected)])


def enrol(rates, message_seed=1):
    """Helper data and keys for *rates* (noise-free bits after the thresholds; the 31 largest
    corrected margins, balanced enough for a test)."""
    thresholds = thresholds_for(rates)
    expected = np.array(
        [GATE * (rates[2 * i] - rates[2 * i + 1]) >> 16 for i in range(CODE.candidate_pairs)]
    )
    margins = expected - thresholds
    selected = np.sort(np.argsort(-np.abs(margins), kind="stable")[: CODE.selected_bits])
    bits = (margins[selected] > 0).astype(np.uint8)
    rng = np.random.default_rng(message_seed)
    message = rng.integers(0, 2, CODE.k, dtype=np.uint8)
    codeword = encode_batch(message[None, :], CODE)[0]
    mask = np.zeros(CODE.candidate_pairs, np.uint8)
    mask[selected] = 1
    helper = HelperData(
        CODE,
        N_RO,
        tuple(int(b) for b in mask),
        tuple(int(b) for b in bits ^ codeword),
        thresholds=tuple(int(t) for t in thresholds[selected]),
    )
    keys = derive_keys(helper.body(), pack_secret(message))
    helper = replace(helper, kcv=keys.kcv)
    return helper.to_bytes(), keys, message


def load(record, seq=1, chunk=240):
    return [
        (seq + i, Command.LOAD_HELPER, payload, 0)
        for i, payload in enumerate(commands.encode_load_helper(record, chunk))
    ]


def with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "big")


def test_memory_map_and_argument_checks():
    layout = MemoryMap(CODE, N_RO)
    assert layout.record == HelperData.total_length(CODE)
    assert layout.slot("HREC") % 32 == 0 and layout.slot("HREC") >= layout.record
    assert layout.header() == HelperData(CODE, N_RO, *enrol_mask()).body()[:18]
    with pytest.raises(ValueError, match="40 candidate pairs need 80 ROs, the array has 64"):
        KeyEngine(code=CODE, n_ro=64, count_width=16, soft_width=16)
    with pytest.raises(ValueError, match="decodes 16-bit soft values, the array gives 12-bit"):
        KeyEngine(code=CODE, n_ro=N_RO, count_width=16, soft_width=12)


def enrol_mask():
    mask = (1,) * CODE.selected_bits + (0,) * (CODE.candidate_pairs - CODE.selected_bits)
    return mask, (0,) * CODE.selected_bits


def test_enrol_reconstruct_attest_like_the_model_and_the_host_kdf():
    dut, model, rates = make()
    record, keys, _ = enrol(rates)
    nonce_a, nonce_b = bytes(range(32)), bytes(range(100, 132))
    requests = [
        (1, Command.ATTEST, nonce_a, 0),  # no key yet
        *load(record, seq=2, chunk=60),  # two chunks
        (5, Command.RECONSTRUCT, b"", 0),
        (6, Command.INFO, b"", 0),
        (7, Command.ATTEST, nonce_a, 0),
        (8, Command.ATTEST, nonce_b, 0),
        (9, Command.ATTEST, nonce_b[:31], 0),  # a short nonce
        (10, Command.RECONSTRUCT, b"\x00", 0),  # RECONSTRUCT takes no payload
        (11, Command.ATTEST, nonce_a, 0),  # ... and that refusal kept the key
    ]
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    statuses = [status for _, status, _ in got]
    assert statuses == [
        Status.NO_KEY, 0, 0, 0, 0, 0, 0, Status.BAD_PAYLOAD, Status.BAD_PAYLOAD, 0,
    ]  # fmt: skip
    answers = {seq: payload for seq, _, payload in got}
    assert commands.Info.decode(answers[6]).key_ready
    # The MACs are those of the key the host derived at enrollment, not just the model's.
    assert answers[7] == attestation_mac(keys.attestation, record, nonce_a)
    assert answers[8] == attestation_mac(keys.attestation, record, nonce_b)
    assert answers[11] == answers[7]


def test_bad_helper_data_is_refused_and_forgets_the_key():
    dut, model, rates = make()
    record, _, _ = enrol(rates)
    body = record[:-4]
    layout = MemoryMap(CODE, N_RO)
    wrong_header = with_crc(body[:7] + bytes([body[7] + 1]) + body[8:])  # rep 2
    overweight = bytearray(body)
    overweight[layout.mask] |= 0xFF  # more pairs selected than the code has bits
    padding = bytearray(body)
    padding[layout.offset - 1] |= 0x01  # 40 mask bits fill 5 bytes: no padding there
    padding[layout.offset + layout.offset_bytes - 1] |= 0x01  # 31 offset bits: one pad bit
    nonce = bytes(32)
    requests = [
        *load(record, seq=1),
        (3, Command.RECONSTRUCT, b"", 0),
        *load(record[:-1] + bytes([record[-1] ^ 1]), seq=4),  # CRC broken
        (6, Command.INFO, b"", 0),  # loading forgot the key
        (7, Command.RECONSTRUCT, b"", 0),
        (8, Command.ATTEST, nonce, 0),
        *load(wrong_header, seq=9),
        (11, Command.RECONSTRUCT, b"", 0),
        *load(with_crc(bytes(overweight)), seq=12),
        (14, Command.RECONSTRUCT, b"", 0),
        *load(with_crc(bytes(padding)), seq=15),
        (17, Command.RECONSTRUCT, b"", 0),
        (18, Command.LOAD_HELPER, b"\x00", 0),  # no offset
        (19, Command.LOAD_HELPER, (len(record) - 3).to_bytes(2, "little") + b"abcd", 0),
        (20, Command.LOAD_HELPER, (0xFFFF).to_bytes(2, "little") + b"a", 0),
        (21, Command.LOAD_HELPER, len(record).to_bytes(2, "little"), 0),  # empty, at the end
    ]
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    statuses = {seq: status for seq, status, _ in got}
    assert statuses[3] == Status.OK
    answers = {seq: payload for seq, _, payload in got}
    assert not commands.Info.decode(answers[6]).key_ready
    assert statuses[7] == statuses[11] == statuses[14] == statuses[17] == Status.BAD_HELPER
    assert statuses[8] == Status.NO_KEY
    assert statuses[18] == statuses[19] == statuses[20] == Status.BAD_PAYLOAD
    assert statuses[21] == Status.OK


def test_manipulated_code_offset_fails_the_key_check():
    dut, model, rates = make()
    record, _, _ = enrol(rates)
    layout = MemoryMap(CODE, N_RO)
    body = bytearray(record[:-4])
    # Flip eight code-offset bits: beyond what t = 3 corrects, CRC made valid again.
    body[layout.offset] ^= 0xFF
    manipulated = with_crc(bytes(body))
    other_kcv = with_crc(record[: layout.kcv] + bytes(8))
    # One threshold moved by one count: no bit changes, but the key is bound to the record.
    nudged = bytearray(record[:-4])
    nudged[layout.thresholds + 1] ^= 1
    requests = [
        *load(with_crc(bytes(nudged)), seq=12),
        (13, Command.RECONSTRUCT, b"", 0),
        *load(manipulated, seq=1),
        (3, Command.RECONSTRUCT, b"", 0),
        (4, Command.ATTEST, bytes(32), 0),
        *load(other_kcv, seq=5),
        (7, Command.RECONSTRUCT, b"", 0),
        *load(record, seq=8),
        (10, Command.RECONSTRUCT, b"", 0),
        (11, Command.INFO, b"", 0),
    ]
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    statuses = {seq: status for seq, status, _ in got}
    assert statuses[3] == statuses[7] == statuses[13] == Status.KEY_CHECK_FAILED
    assert statuses[4] == Status.NO_KEY
    assert statuses[10] == Status.OK and commands.Info.decode(got[-1][2]).key_ready


def test_fuzz_with_a_key_loaded_never_answers_key_material():
    """Every command code, payload lengths 0..256, random contents, with a key held: the
    answers equal the model's, none carries 4 bytes in a row of a key or the secret, and the
    device still attests afterwards."""
    dut, model, rates = make()
    record, keys, message = enrol(rates)
    secrets = [keys.master, keys.attestation, pack_secret(message)]
    rng = random.Random(5)
    requests = [*load(record, seq=0), (2, Command.RECONSTRUCT, b"", 0)]
    for code in range(256):
        if code in (Command.LOCK, Command.LOAD_HELPER, Command.RECONSTRUCT):
            continue  # these change the state; tested above
        for length in (0, 1, 31, 32, 33, 256):
            payload = bytes(rng.randrange(256) for _ in range(length))
            if code == Command.READ_RO and length > 32:
                payload = payload[:32]  # simulation time; READ_RO is fuzzed in test_device_core
            requests.append((len(requests) & 0xFF, code, payload, 0))
    requests.append((3, Command.ATTEST, bytes(32), 0))
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    assert got[-1][1] == Status.OK
    answered = b"".join(payload for _, _, payload in got)
    for secret in secrets:
        for i in range(len(secret) - 3):
            assert secret[i : i + 4] not in answered


def engine_answers(record: bytes, soft: dict, nonces=(), *, compact=False):
    """(status, payload, cycles from start to done) of RECONSTRUCT and then ATTEST of each
    nonce, on the key engine alone (fast or compact cores) with an RO array that answers at
    once (the array's time is constant)."""
    engine = KeyEngine(code=CODE, n_ro=N_RO, count_width=16, soft_width=16, compact=compact)
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)]
    requests += [(Command.RECONSTRUCT, b""), *((Command.ATTEST, nonce) for nonce in nonces)]
    answers = drive_handler(engine, requests, soft_of_pair=lambda a, b: soft[a])
    return answers[-1 - len(nonces) :]


@pytest.mark.parametrize("compact", [False, True], ids=["fast", "compact"])
def test_reconstruct_and_attest_take_the_same_cycles_whatever_the_secret_and_outcome(compact):
    """On either pair of cores: the MACs are the host's, and RECONSTRUCT (success or key-check
    failure) and ATTEST each take one cycle count whatever the secret or nonce."""
    _, _, rates = make()
    soft = {2 * i: (rates[2 * i] - rates[2 * i + 1]) >> 12 for i in range(CODE.candidate_pairs)}
    first, first_keys, _ = enrol(rates, message_seed=1)
    second, second_keys, _ = enrol(rates, message_seed=2)  # same mask, another secret
    layout = MemoryMap(CODE, N_RO)
    wrong_kcv = with_crc(first[: layout.kcv] + bytes(8))
    nonces = [bytes(32), bytes(range(32)), b"\xff" * 32]
    if compact:
        nonces = nonces[::2]  # Amaranth's simulator is slow with the compact SHA-256
    runs = [engine_answers(record, soft, nonces, compact=compact) for record in (first, second)]
    failing = engine_answers(wrong_kcv, soft, compact=compact)
    assert [status for status, _, _ in runs[0] + runs[1]] == [Status.OK] * 2 * (1 + len(nonces))
    assert failing[0][0] == Status.KEY_CHECK_FAILED
    for record, keys, run_ in zip((first, second), (first_keys, second_keys), runs, strict=True):
        macs = [payload for _, payload, _ in run_[1:]]
        assert macs == [attestation_mac(keys.attestation, record, nonce) for nonce in nonces]
    reconstruct = {runs[0][0][2], runs[1][0][2], failing[0][2]}
    attest = {cycles for run_ in runs for _, _, cycles in run_[1:]}
    assert len(reconstruct) == 1 and len(attest) == 1


def test_single_bit_damage_in_every_crc_and_kcv_byte_is_caught():
    """One flipped bit in any one of the four stored CRC bytes is BAD_HELPER; in any one of the
    eight key-check bytes (CRC made right again) KEY_CHECK_FAILED; the intact record after them
    reconstructs. A check that compared part of a value would pass some of these."""
    dut, model, rates = make()
    record, _, _ = enrol(rates)
    layout = MemoryMap(CODE, N_RO)
    body = record[:-4]
    requests, want = [], {}
    seq = 1
    for index in range(4):  # the stored CRC, big-endian at the end of the record
        damaged = bytearray(record)
        damaged[layout.record - 4 + index] ^= 1 << (2 * index + 1)
        requests += [*load(bytes(damaged), seq=seq), (seq + 3, Command.RECONSTRUCT, b"", 0)]
        want[seq + 3] = Status.BAD_HELPER
        seq += 4
    for index in range(KCV_BYTES):
        damaged = bytearray(body)
        damaged[layout.kcv + index] ^= 1 << (7 - index)
        requests += [
            *load(with_crc(bytes(damaged)), seq=seq),
            (seq + 3, Command.RECONSTRUCT, b"", 0),
        ]
        want[seq + 3] = Status.KEY_CHECK_FAILED
        seq += 4
    requests += [*load(record, seq=seq), (seq + 3, Command.RECONSTRUCT, b"", 0)]
    want[seq + 3] = Status.OK
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    statuses = {answer_seq: status for answer_seq, status, _ in got}
    assert {answer_seq: statuses[answer_seq] for answer_seq in want} == want


def test_the_config_chooses_the_compact_cores():
    config = DeviceConfig(variant="deployment", n_ro=N_RO, gate_cycles=GATE, code=CODE)
    for compact in (False, True):
        core = DeviceCore(replace(config, compact_key_path=compact), simulation=True)
        Fragment.get(core, None)
        assert core.engine.compact == compact
