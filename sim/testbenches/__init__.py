"""cocotb testbenches (each module is run inside the simulator by ropuf.sim.harness.run)."""
