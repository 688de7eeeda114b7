"""Helper-data record: round trip, and every kind of damage caught before decoding."""

import struct
import zlib

import pytest

from ropuf.spec.code_params import CHOSEN, CodeParams
from ropuf.spec.helper_data import HEADER, HelperData, HelperDataError, corrected_soft


def record() -> HelperData:
    mask = tuple(int(i % 3 != 0) for i in range(CHOSEN.candidate_pairs))
    ones = [i for i, b in enumerate(mask) if b][CHOSEN.selected_bits :]
    mask = tuple(0 if i in set(ones) else b for i, b in enumerate(mask))
    offset = tuple((i * 7) % 3 % 2 for i in range(CHOSEN.selected_bits))
    thresholds = tuple((i * 37) % 200 - 100 for i in range(CHOSEN.selected_bits - 2))
    thresholds += (-32768, 32767)  # the whole signed 16-bit range
    return HelperData(CHOSEN, 2048, mask, offset, bytes(range(8)), thresholds)


def recrc(data: bytes) -> bytes:
    return data[:-4] + struct.pack(">I", zlib.crc32(data[:-4]))


def test_round_trip_and_size():
    helper = record()
    data = helper.to_bytes()
    assert len(data) == HelperData.total_length(CHOSEN) == 18 + 95 + 31 + 2 * 242 + 8 + 4
    assert helper.bits == 8 * len(data)
    assert HelperData.from_bytes(data) == helper
    assert helper.body() == data[: -(8 + 4)]
    assert helper.pairs()[0] == (2, 3) and len(helper.pairs()) == CHOSEN.selected_bits


def test_thresholds_default_to_zero_and_are_checked():
    helper = record()
    plain = HelperData(CHOSEN, 2048, helper.mask, helper.offset)
    assert plain.thresholds == (0,) * CHOSEN.selected_bits
    with pytest.raises(HelperDataError, match="242 signed 16-bit integers"):
        HelperData(CHOSEN, 2048, helper.mask, helper.offset, thresholds=(0,) * 241)
    with pytest.raises(HelperDataError, match="242 signed 16-bit integers"):
        HelperData(CHOSEN, 2048, helper.mask, helper.offset, thresholds=(2**15,) * 242)


def test_corrected_soft_saturates_like_the_array():
    assert corrected_soft(100, 30, 16) == 70
    assert corrected_soft(-32767, 32767, 16) == -32767
    assert corrected_soft(32767, -32768, 16) == 32767
    assert corrected_soft(5, 5, 16) == 0


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[:10], r"truncated: 10 bytes, the header alone has 18"),
        (lambda d: d[:-1], r"truncated: 639 bytes of the 640 its header states"),
        (lambda d: d + b"\0", r"1 bytes after the 640"),
        (lambda d: b"XPHD" + d[4:], r"Not helper data: magic b'XPHD'"),
        (
            lambda d: d[:4] + b"\x01" + d[5:],
            r"Unsupported helper-data version 1; this reader knows 2",
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
        (lambda d: recrc(d[:15] + b"\x07" + d[16:]), r"Unknown pairing scheme 7"),
        (
            lambda d: recrc(d[:16] + b"\x00\x10" + d[18:]),
            r"RO count 16 does not hold 760 neighbour pairs",
        ),
        (lambda d: recrc(d[:143] + bytes([d[143] | 1]) + d[144:]), r"code offset has padding"),
        (
            lambda d: recrc(d[:18] + b"\xff" + d[19:]),
            r"mask selects 24[0-9] pairs, the code needs 242",
        ),
    ],
)
def test_damage_is_caught(damage, message):
    with pytest.raises(HelperDataError, match=message):
        HelperData.from_bytes(damage(record().to_bytes()))


def test_fields_are_checked():
    with pytest.raises(HelperDataError, match="code offset must be 242 bits"):
        HelperData(CHOSEN, 2048, record().mask, (0,) * 10)
    with pytest.raises(HelperDataError, match=r"key-check value must be 8 bytes"):
        HelperData(CHOSEN, 2048, record().mask, record().offset, b"123")
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
        ({"candidate_pairs": 100}, ValueError, r"Candidate pairs must be in 242\.\.65535, not 100"),
        ({"soft_width": 1}, ValueError, r"Soft value width must be in 2\.\.32, not 1"),
    ],
)
def test_code_params_are_checked(kwargs, error, message):
    base = {"rep": 1, "gf_m": 8, "t": 14, "n": 242, "candidate_pairs": 760}
    with pytest.raises(error, match=message):
        CodeParams(**(base | kwargs))
