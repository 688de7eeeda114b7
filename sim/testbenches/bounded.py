"""Waits on the design with a bound: a stuck design fails the test instead of hanging the run.

Every testbench waits on the design through these (or counts cycles in its own loop and fails at
a bound): the bound is in clock cycles, set from what the design promises (its latency) with
room to spare, and the failure names what the design did not do.
"""

from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, RisingEdge, SimTimeoutError, Trigger, with_timeout

from ropuf.spec.errors import RopufError

__all__ = ["DesignTimeoutError", "check_progress", "wait_bounded", "wait_high"]


class DesignTimeoutError(RopufError, AssertionError):
    """The design did not do what the testbench waited for within the bound."""


def _stuck(what: str, cycles: int) -> DesignTimeoutError:
    return DesignTimeoutError(
        f"the design did not {what} within {cycles} clock cycles: it is stuck, or slower than "
        "the testbench's bound (raise the bound only if the design's latency grew)"
    )


async def wait_bounded(trigger: Trigger, *, cycles: int, clock_ps: int, what: str):
    """Await *trigger*; raise :class:`DesignTimeoutError` naming *what* when *cycles* clock
    cycles of *clock_ps* pass first."""
    try:
        return await with_timeout(trigger, cycles * clock_ps, "ps")
    except SimTimeoutError:
        raise _stuck(what, cycles) from None


async def wait_high(signal, clk, *, cycles: int, clock_ps: int, what: str) -> None:
    """At a falling edge of *clk*: return at the first falling edge where *signal* is high (now,
    if it is), or raise :class:`DesignTimeoutError` after *cycles* cycles.

    The level is read at falling edges only: a rise of a combinational *signal* that falls again
    in the same time step (a glitch, which Icarus reports and Verilator does not) is not taken
    for a handshake.
    """
    deadline = get_sim_time("ps") + cycles * clock_ps
    while not int(signal.value):
        remaining = deadline - get_sim_time("ps")
        if remaining <= 0:
            raise _stuck(what, cycles)
        try:
            await with_timeout(RisingEdge(signal), remaining, "ps")
        except SimTimeoutError:
            raise _stuck(what, cycles) from None
        await FallingEdge(clk)


def check_progress(idle_cycles: int, bound: int, what: str) -> None:
    """For a testbench's own cycle loop: raise :class:`DesignTimeoutError` when the loop has gone
    *bound* cycles without the design doing *what*."""
    if idle_cycles > bound:
        raise _stuck(what, bound)
