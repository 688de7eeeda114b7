"""Helper-data record: round trip, and every kind of damage caught before decoding."""

import struct
import zlib

import pytest

from ropuf.spec.code_params import CHOSEN, ICE40, CodeParams
from ropuf.spec.helper_data import HEADER, HelperData, HelperDataError, corrected_soft
from ropuf.spec.pairing import RankPairing

PAIRS = tuple(CHOSEN.pairing.choose([(i * 7919) % 1999 for i in range(832)], 208))


def record() -> HelperData:
    offset = tuple((i * 7) % 3 % 2 for i in range(CHOSEN.selected_bits))
    return HelperData(CHOSEN, 2048, PAIRS, offset, bytes(range(8)))


def recrc(data: bytes) -> bytes:
    return data[:-4] + struct.pack(">I", zlib.crc32(data[:-4]))


def test_round_trip_and_size():
    helper = record()
    data = helper.to_bytes()
    assert len(data) == HelperData.total_length(CHOSEN) == 18 + 312 + 26 + 8 + 4 == 368
    assert helper.bits == 8 * len(data)
    assert HelperData.from_bytes(data) == helper
    assert helper.body() == data[: -(8 + 4)]
    assert helper.pairs == PAIRS and len(PAIRS) == CHOSEN.selected_bits
    CHOSEN.pairing.check(PAIRS)


def test_the_ice40_record_fits_384_bytes():
    pairs = ICE40.pairing.choose([(i * 7919) % 1999 for i in range(384)], 192)
    helper = HelperData(ICE40, 384, pairs, (1, 0) * 96)
    data = helper.to_bytes()
    assert len(data) == 18 + 288 + 24 + 8 + 4 == 342 <= 384
    assert HelperData.from_bytes(data) == helper
    with pytest.raises(HelperDataError, match="does not hold the 384 ROs"):
        HelperData(ICE40, 320, pairs, (1, 0) * 96)


def test_corrected_soft_saturates_like_the_array():
    assert corrected_soft(100, 30, 16) == 70
    assert corrected_soft(-32767, 32767, 16) == -32767
    assert corrected_soft(32767, -32768, 16) == 32767
    assert corrected_soft(5, 5, 16) == 0


#: CHOSEN's list (208 x 12 bits) and offset (208 bits) have no padding, so the padding test uses
#: a code whose fields have some (below).
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[:10], r"truncated: 10 bytes, the header alone has 18"),
        (lambda d: d[:-1], r"truncated: 367 bytes of the 368 its header states"),
        (lambda d: d + b"\0", r"1 bytes after the 368"),
        (lambda d: b"XPHD" + d[4:], r"Not helper data: magic b'XPHD'"),
        (
            lambda d: d[:4] + b"\x04" + d[5:],
            r"Unsupported helper-data version 4; this reader knows 3$",
        ),
        (
            lambda d: d[:4] + b"\x02" + d[5:],
            r"version 2; this reader knows 3: it holds neighbour pairs.*enrol the device again",
        ),
        (lambda d: d[:60] + bytes([d[60] ^ 1]) + d[61:], r"CRC mismatch"),
        (
            lambda d: recrc(d[:9] + b"\x00" + d[10:]),
            r"parameters out of range: Error capability t must",
        ),
        (
            lambda d: recrc(d[:7] + b"\x10" + d[8:]),
            r"parameters out of range: Repetition length must be in 1\.\.15, not 16",
        ),
        (lambda d: recrc(d[:12] + b"\x09" + d[13:]), r"parameters out of range: batch 2\*\*9"),
        (lambda d: recrc(d[:13] + b"\x06" + d[14:]), r"Pairs per batch must be in 1\.\.32"),
        (
            lambda d: recrc(d[:16] + b"\x00\x10" + d[18:]),
            r"RO count 16 does not hold the 832 ROs the pairing uses",
        ),
        (lambda d: recrc(d[:15] + b"\x01" + d[16:]), r"Unknown helper-data flags 0x01"),
        (lambda d: recrc(d[:13] + b"\x05" + d[14:]), r"208 pairs do not fill whole batches of 32"),
        (lambda d: recrc(d[:12] + b"\x05" + d[13:]), r"Helper-data length 368 does not match"),
    ],
)
def test_damage_is_caught(damage, message):
    with pytest.raises(HelperDataError, match=message):
        HelperData.from_bytes(damage(record().to_bytes()))


def test_padding_bits_are_refused():
    code = CodeParams(rep=1, gf_m=5, t=3, n=26, pairing=RankPairing(batch=8, per_batch=2))
    pairs = code.pairing.choose(list(range(104)), 26)
    data = HelperData(code, 104, pairs, (1,) * 26).to_bytes()
    pair_end, offset_end = 18 + 20 - 1, 18 + 20 + 4 - 1  # 156 list bits, 26 offset bits
    for at, name in ((pair_end, "pair list"), (offset_end, "code offset")):
        with pytest.raises(HelperDataError, match=f"{name} has padding bits set"):
            HelperData.from_bytes(recrc(data[:at] + bytes([data[at] | 1]) + data[at + 1 :]))


def test_fields_are_checked():
    with pytest.raises(HelperDataError, match="code offset must be 208 bits"):
        HelperData(CHOSEN, 2048, PAIRS, (0,) * 10)
    with pytest.raises(HelperDataError, match=r"key-check value must be 8 bytes"):
        HelperData(CHOSEN, 2048, PAIRS, record().offset, b"123")
    with pytest.raises(HelperDataError, match="pair list must hold 208 pairs, not 207"):
        HelperData(CHOSEN, 2048, PAIRS[1:], record().offset)
    with pytest.raises(HelperDataError, match=r"Pair 16 \(0, 1\) must be two indices of batch 1"):
        HelperData(CHOSEN, 2048, (*PAIRS[:16], (0, 1), *PAIRS[17:]), record().offset)
    with pytest.raises(HelperDataError, match="must be bytes, not str"):
        HelperData.from_bytes("RPHD")
    assert HEADER.size == 18


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rep": 0}, ValueError, r"Repetition length must be in 1\.\.15, not 0"),
        ({"gf_m": 3}, ValueError, r"Field degree must be one of \[4, .*\], not 3"),
        ({"gf_m": 8.0}, TypeError, r"Field degree must be an integer, not 8\.0"),
        ({"n": 50}, ValueError, r"Code length n must be in 109\.\.255 for m=8, t=14, not 50"),
        ({"n": 241}, ValueError, r"241 pairs do not fill whole batches of 2"),
        ({"pairing": (64, 32)}, TypeError, r"pairing must be a RankPairing"),
        ({"soft_width": 1}, ValueError, r"Soft value width must be in 2\.\.32, not 1"),
    ],
)
def test_code_params_are_checked(kwargs, error, message):
    base = {"rep": 1, "gf_m": 8, "t": 14, "n": 242, "pairing": RankPairing(batch=4, per_batch=2)}
    with pytest.raises(error, match=message):
        CodeParams(**(base | kwargs))
