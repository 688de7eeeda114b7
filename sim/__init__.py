"""Simulation: the silicon model, the Verilator build cache and runner, cocotb testbenches."""
