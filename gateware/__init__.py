"""Amaranth gateware of the ropuf root of trust: every block is a ``wiring.Component``."""
