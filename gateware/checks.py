"""Argument checks shared by the gateware constructors (messages quote the bad value)."""

from operator import attrgetter

from ropuf.spec.checks import check_int

__all__ = ["check_body_choice", "check_int", "parameter"]


def parameter(name: str) -> property:
    """A read-only attribute *name*: the constructor's checked argument, kept as ``_name``."""
    return property(attrgetter(f"_{name}"))


def check_body_choice(simulation: bool, platform: object, *, name: str, parts: str) -> None:
    """Check that a PUF's body fits the platform: the simulation body only without a platform,
    an FPGA body only with one. *name* is the PUF ("RO array"), *parts* what it lacks ("rings").

    Raises
    ------
    ValueError
        The simulation body asked for on an FPGA platform, or no platform for an FPGA body.
    """
    if simulation and platform is not None:
        raise ValueError(
            f"The simulation body of the {name} cannot be built for {platform!r}: "
            "construct it with simulation=False"
        )
    if not simulation and platform is None:
        raise ValueError(
            f"An {name} without a platform has no {parts}: construct it with "
            "simulation=True to simulate it"
        )
