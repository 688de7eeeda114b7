"""The xorshift32 step as an Amaranth expression: the on-chip noise of the simulation bodies.

Its Python twin is :func:`ropuf.spec.ro_behavioural.xorshift32`; both simulation bodies (RO and
arbiter) draw their noise with it, so their Python models reproduce the draws exactly.
"""

__all__ = ["xorshift32"]


def xorshift32(value):
    """One step of Marsaglia's xorshift32 (13, 17, 5) on a 32-bit value."""
    value = value ^ (value << 13)[:32]
    value = value ^ (value >> 17)
    return value ^ (value << 5)[:32]
