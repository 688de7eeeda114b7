"""A testbench's clock, toggled by the simulator's main loop when the build allows it.

cocotb's ``Clock`` toggles its signal through a VPI timer callback and a VPI put on every edge;
in Verilator that costs more than the model's own work per cycle. Verilator builds made by
:func:`ropuf.sim.harness.build` have a main loop that can toggle one top-level port itself, at
the same instants and in the same order with respect to the testbench's writes; :func:`start_clock`
starts it there, and falls back to cocotb's ``Clock`` anywhere else (Icarus, another build, an
odd period).
"""

import ctypes

from cocotb.clock import Clock
from cocotb.simtime import convert

__all__ = ["start_clock"]


def _main_loop_clock():
    try:
        start = ctypes.CDLL(None).ropuf_clock_start  # exported by the simulator executable
    except (OSError, AttributeError):
        return None
    start.argtypes = [ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_int]
    start.restype = ctypes.c_int
    return start


def start_clock(dut, name: str, period_ps: int, *, start_high: bool = False) -> str:
    """Start a 50 % duty clock of *period_ps* on the top-level port *name* of *dut*, now.

    Like ``Clock(getattr(dut, name), period_ps, unit="ps").start(start_high=start_high)``, and
    like it, it runs until the simulation ends. Returns ``"main loop"`` or ``"cocotb"``, which
    of the two toggles it.
    """
    if period_ps % 2 == 0 and (start := _main_loop_clock()) is not None:
        half = convert(period_ps // 2, "ps", to="step")
        if start(name.encode(), half, int(start_high)) == 0:
            return "main loop"
    Clock(getattr(dut, name), period_ps, unit="ps").start(start_high=start_high)
    return "cocotb"
