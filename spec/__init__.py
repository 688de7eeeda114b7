"""Definitions that gateware and host must agree on, written once in plain Python.

Nothing here imports Amaranth, cocotb or the host libraries: the gateware generator reads these
constants and functions to build hardware, the host and the models read them to talk to it.
"""
