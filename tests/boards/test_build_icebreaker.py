# amaranth: UnusedElaboratable=no
"""``ropuf build`` of the iCEBreaker deployment variant with the key path: bitstream, fit,
timing, ring placement.

One build serves every test (module fixture); it lands in the build cache
(``$ROPUF_CACHE_DIR/boards`` or ``~/.cache/ropuf/boards``), so a rerun with unchanged inputs
reuses it. The ring check reads nextpnr's placed netlist itself rather than trusting the
build's own check.
"""

import json
import re

import pytest

from ropuf.boards import build
from ropuf.boards.profiles import PROFILES

pytestmark = pytest.mark.build

BOARD = "icebreaker"
VARIANT = "deployment"
PROFILE = PROFILES[BOARD]


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> build.BoardBuild:
    return build.build_board(BOARD, VARIANT, out=tmp_path_factory.mktemp("out"))


def test_bitstream_exists(result):
    data = result.bitstream.read_bytes()
    assert result.bitstream.name == "top.bin"
    assert b"\x7e\xaa\x99\x7e" in data[:64]  # the iCE40 configuration sync word
    assert len(data) > 100_000  # an UP5K image is about 104 kB
    assert (result.out / "top.bin").read_bytes() == data


def test_timing_passes(result):
    system = result.report["fmax"]["system"]
    assert system["required_mhz"] == PROFILE.clock_hz / 1e6
    assert system["achieved_mhz"] >= system["required_mhz"]
    nextpnr = json.loads((result.directory / "report.json").read_text())["fmax"]
    assert nextpnr[system["net"]]["achieved"] == system["achieved_mhz"]


def test_every_ring_lut_is_on_its_requested_bel(result):
    netlist = json.loads((result.directory / "placed.json").read_text())
    placed = {}
    for module in netlist["modules"].values():
        for name, cell in module["cells"].items():
            match = re.search(r"\bro(\d+)_lut(\d+)_LC$", name)
            if match:
                placed[int(match[1]), int(match[2])] = cell["attributes"]["NEXTPNR_BEL"]
    ring = PROFILE.ring()
    expected = {(i, k): bel for i in range(PROFILE.n_ro) for k, bel in enumerate(ring.bels(i))}
    assert placed == expected
    shapes = {tuple(bel.split("/")[-1] for bel in ring.bels(i)) for i in range(PROFILE.n_ro)}
    assert shapes == {tuple(f"lc{stage}" for stage in range(PROFILE.stages))}


def test_report_is_written_and_consistent(result):
    report = json.loads((result.out / "report.json").read_text())
    assert report == result.report
    assert (result.out / "report.txt").read_text() == build.format_report(report) + "\n"
    assert report["board"] == BOARD and report["variant"] == VARIANT
    assert report["blocks"]["PUF"]["luts"] >= PROFILE.n_ro * PROFILE.stages
    cells = report["total"]["cells"]
    assert cells["type"] == "ICESTORM_LC" and cells["available"] == 5280
    assert 0 < cells["used"] <= cells["available"]
    # The key path's budget on the UP5K (issue 15): at most 5,000 of the 5,280 cells, leaving
    # the placer room; the enrollment build (READ_RO on top) keeps it too (docs/boards.md).
    assert cells["used"] <= 5000
    assert report["total"]["brams"]["available"] == 30
    # The whole key path is in: the ICE40 construction on the compact cores.
    code = PROFILE.code
    assert PROFILE.compact_key_path and code is not None
    key_path = (
        f"key path: BCH({code.n},{code.k},t={code.t}) over {code.selected_bits} rank pairs of "
        f"{code.ros} ROs, SHA-256/HMAC"
    )
    assert report["features"] == [key_path]
    assert report["blocks"]["decoder"]["luts"] > 0 and report["blocks"]["SHA-256"]["luts"] > 0
    assert re.fullmatch(r"[0-9a-f]{16}", report["build_id"])  # INFO's 8-byte build id


def test_unchanged_inputs_come_from_the_cache(result, tmp_path):
    again = build.build_board(BOARD, VARIANT, out=tmp_path)
    assert again.cached
    assert again.directory == result.directory
    assert again.report == result.report
    assert (tmp_path / "top.bin").read_bytes() == result.bitstream.read_bytes()
