"""Load an arbiter PUF's die into a device's ``arbiter_sim`` port (simulated board)."""

import os

from cocotb.triggers import FallingEdge

__all__ = ["load_arbiter"]


async def load_arbiter(dut) -> None:
    """Weights, noise seed and scale of the die named by the environment (``ROPUF_DIE_SEED``,
    ``ROPUF_TEMPERATURE``, ``ROPUF_VOLTAGE``, ``ROPUF_NOISE_SEED``, ``ROPUF_ARBITER_STAGES``,
    ``ROPUF_ARBITER_K``), one weight per cycle; nothing if the design has no arbiter."""
    if not hasattr(dut, "arbiter_sim__weight_we"):
        return
    # Imported here: only a design with an arbiter needs the model (numpy) in the simulator.
    from ropuf.sim.arbiter_model import ArbiterDie, sim_load

    voltage = os.environ.get("ROPUF_VOLTAGE")
    die = ArbiterDie(
        int(os.environ.get("ROPUF_DIE_SEED", "0")),
        int(os.environ["ROPUF_ARBITER_STAGES"]),
        int(os.environ["ROPUF_ARBITER_K"]),
    )
    load = sim_load(
        die, float(os.environ.get("ROPUF_TEMPERATURE", "25")), float(voltage) if voltage else None
    )
    dut.arbiter_sim__weight_we.value = 1
    for addr, weight in enumerate(load.weights.reshape(-1)):
        dut.arbiter_sim__weight_addr.value = addr
        dut.arbiter_sim__weight_data.value = int(weight) & 0xFFFF
        await FallingEdge(dut.clk)
    dut.arbiter_sim__weight_we.value = 0
    dut.arbiter_sim__seed.value = int(os.environ.get("ROPUF_NOISE_SEED", "1"))
    dut.arbiter_sim__noise_scale.value = load.noise_scale
    dut.arbiter_sim__seed_we.value = 1
    await FallingEdge(dut.clk)
    dut.arbiter_sim__seed_we.value = 0
