# amaranth: UnusedElaboratable=no
"""The key engine in the device core: LOAD_HELPER, RECONSTRUCT and ATTEST against the model.

A small code (BCH(26, 11, t=3) over 26 rank pairs of 104 ROs, with design offsets) keeps
Amaranth's simulator quick; the engine is generic in the code, and the simulated board runs the
full-size one in Verilator.
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
from ropuf.spec.pairing import RankPairing
from tests.drivers.core_driver import expected, run

CODE = CodeParams(rep=1, gf_m=5, t=3, n=26, pairing=RankPairing(batch=8, per_batch=2))
N_RO = 104
GATE = 24
NOISE = {"seed": 99, "noise_scale": 3000, "common_scale": 1000}
#: The build's design offsets: as large as the pairs' count differences, so that a device that
#: ignored them would decode other bits (enrol checks that more than t differ).
OFFSETS = tuple(random.Random(3).choices(range(-40, 41), k=N_RO))


def make(variant="enrollment", code=CODE, offsets=OFFSETS):
    params = DeviceConfig(variant=variant, n_ro=N_RO, gate_cycles=GATE, code=code, offsets=offsets)
    dut = DeviceCore(params, simulation=True)
    assert (dut.array.count_width, dut.array.soft_width) == (params.count_width, params.soft_width)
    rng = random.Random(7)
    # Rates a few percent apart: rank pairs are well above the noise, so the key reconstructs.
    rates = [rng.randrange(10 << 16, 12 << 16) for _ in range(N_RO)]
    model = DeviceModel(params, rates, **NOISE)
    return dut, model, rates


def soft_of(rates, a, b):
    """The noise-free soft value of pair (a, b)."""
    return GATE * (rates[a] - rates[b]) >> 16


def enrol(rates, message_seed=1, code=CODE, offsets=OFFSETS):
    """Helper data and keys for *rates*: rank pairs of the noise-free counts less the design
    offsets, bits after the pairs' thresholds ``offsets[a] - offsets[b]``."""
    offsets = np.zeros(N_RO, np.int64) if offsets is None else np.array(offsets)
    counts = np.array([GATE * rate >> 16 for rate in rates])
    pairs = code.pairing.choose(counts - offsets, code.selected_bits)
    soft = np.array([soft_of(rates, a, b) for a, b in pairs])
    thresholds = np.array([offsets[a] - offsets[b] for a, b in pairs])
    bits = (soft - thresholds > 0).astype(np.uint8)
    if any(offsets):
        assert np.sum(bits != (soft > 0)) > code.t  # the offsets matter
    rng = np.random.default_rng(message_seed)
    message = rng.integers(0, 2, code.k, dtype=np.uint8)
    codeword = encode_batch(message[None, :], code)[0]
    helper = HelperData(code, N_RO, tuple(pairs), tuple(int(b) for b in bits ^ codeword))
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
    assert layout.header() == HelperData.from_bytes(enrol([0] * N_RO, offsets=None)[0]).body()[:18]
    with pytest.raises(ValueError, match="pairing uses 104 ROs, the array has 64"):
        KeyEngine(code=CODE, n_ro=64, count_width=16, soft_width=16)
    with pytest.raises(ValueError, match="decodes 16-bit soft values, the array gives 12-bit"):
        KeyEngine(code=CODE, n_ro=N_RO, count_width=16, soft_width=12)


def test_enrol_reconstruct_attest_like_the_model_and_the_host_kdf():
    dut, model, rates = make()
    record, keys, _ = enrol(rates)
    nonce_a, nonce_b = bytes(range(32)), bytes(range(100, 132))
    requests = [
        (1, Command.ATTEST, nonce_a, 0),  # no key yet
        *load(record, seq=2, chunk=30),  # two chunks
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
    flags = with_crc(body[:15] + bytes([body[15] ^ 1]) + body[16:])  # a reserved flag set
    list_padding = bytearray(body)
    list_padding[layout.offset - 1] |= 0x01  # 26 x 6 list bits: four pad bits
    padding = bytearray(body)
    padding[layout.offset + layout.offset_bytes - 1] |= 0x01  # 26 offset bits: six pad bits
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
        *load(with_crc(bytes(list_padding)), seq=12),
        (14, Command.RECONSTRUCT, b"", 0),
        *load(with_crc(bytes(padding)), seq=15),
        (17, Command.RECONSTRUCT, b"", 0),
        (18, Command.LOAD_HELPER, b"\x00", 0),  # no offset
        (19, Command.LOAD_HELPER, (len(record) - 3).to_bytes(2, "little") + b"abcd", 0),
        (20, Command.LOAD_HELPER, (0xFFFF).to_bytes(2, "little") + b"a", 0),
        (21, Command.LOAD_HELPER, len(record).to_bytes(2, "little"), 0),  # empty, at the end
        *load(flags, seq=22),
        (24, Command.RECONSTRUCT, b"", 0),
    ]
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    statuses = {seq: status for seq, status, _ in got}
    assert statuses[3] == Status.OK
    answers = {seq: payload for seq, _, payload in got}
    assert not commands.Info.decode(answers[6]).key_ready
    assert statuses[7] == statuses[11] == statuses[14] == statuses[17] == Status.BAD_HELPER
    assert statuses[24] == Status.BAD_HELPER
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
    # The pair list: the first pair's members swapped (every bit of it flips), and the first
    # pair made (a, a); both are still pairs of batch 0, so only the key check can tell.
    helper = HelperData.from_bytes(record)
    pairs = list(helper.pairs)
    swapped = replace(helper, pairs=((pairs[0][1], pairs[0][0]), *pairs[1:])).to_bytes()
    same = replace(helper, pairs=((pairs[0][0], pairs[0][0]), *pairs[1:])).to_bytes()
    requests = [
        *load(swapped, seq=20),
        (23, Command.RECONSTRUCT, b"", 0),
        *load(same, seq=24),
        (27, Command.RECONSTRUCT, b"", 0),
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
    assert statuses[3] == statuses[7] == Status.KEY_CHECK_FAILED
    assert statuses[23] == statuses[27] == Status.KEY_CHECK_FAILED
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


def engine_answers(record: bytes, rates, nonces=(), *, compact=False):
    """(status, payload, cycles from start to done) of RECONSTRUCT and then ATTEST of each
    nonce, on the key engine alone (fast or compact cores) with an RO array that answers at
    once (the array's time is constant)."""
    engine = KeyEngine(
        code=CODE, n_ro=N_RO, count_width=16, soft_width=16, compact=compact, offsets=OFFSETS
    )
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)]
    requests += [(Command.RECONSTRUCT, b""), *((Command.ATTEST, nonce) for nonce in nonces)]
    answers = drive_handler(engine, requests, soft_of_pair=lambda a, b: (rates[a] - rates[b]) >> 12)
    return answers[-1 - len(nonces) :]


@pytest.mark.parametrize("compact", [False, True], ids=["fast", "compact"])
def test_reconstruct_and_attest_take_the_same_cycles_whatever_the_secret_and_outcome(compact):
    """On either pair of cores: the MACs are the host's, and RECONSTRUCT (success or key-check
    failure) and ATTEST each take one cycle count whatever the secret or nonce."""
    _, _, rates = make()
    first, first_keys, _ = enrol(rates, message_seed=1)
    second, second_keys, _ = enrol(rates, message_seed=2)  # same pairs, another secret
    layout = MemoryMap(CODE, N_RO)
    wrong_kcv = with_crc(first[: layout.kcv] + bytes(8))
    nonces = [bytes(32), bytes(range(32)), b"\xff" * 32]
    if compact:
        nonces = nonces[::2]  # Amaranth's simulator is slow with the compact SHA-256
    runs = [engine_answers(record, rates, nonces, compact=compact) for record in (first, second)]
    failing = engine_answers(wrong_kcv, rates, compact=compact)
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


def test_a_build_without_design_offsets_reconstructs_like_the_model():
    """Without offsets the engine has no ROM and feeds the raw soft values (here a rank split:
    every RO of a batch used)."""
    code = CodeParams(rep=1, gf_m=5, t=3, n=24, pairing=RankPairing(batch=8, per_batch=4))
    dut, model, rates = make(code=code, offsets=None)
    record, keys, _ = enrol(rates, code=code, offsets=None)
    assert len(record) == HelperData.total_length(code) == MemoryMap(code, N_RO).kcv + 12
    nonce = bytes(range(32))
    requests = [
        *load(record, seq=1),
        (3, Command.RECONSTRUCT, b"", 0),
        (4, Command.ATTEST, nonce, 0),
    ]
    got = run(dut, rates, requests, **NOISE)
    assert got == expected(model, requests)
    assert [status for _, status, _ in got] == [0, 0, 0]
    assert got[-1][2] == attestation_mac(keys.attestation, record, nonce)


def test_the_config_chooses_the_compact_cores():
    config = DeviceConfig(variant="deployment", n_ro=N_RO, gate_cycles=GATE, code=CODE)
    for compact in (False, True):
        core = DeviceCore(replace(config, compact_key_path=compact), simulation=True)
        Fragment.get(core, None)
        assert core.engine.compact == compact
