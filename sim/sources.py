"""Simulated dies as enrollment sources: one per die and operating condition.

A real board is read where it stands; a simulated die can be read at any condition, by
loading a new device for it: the fast model device (:class:`FastModelSource`, milliseconds per
read) or the Verilator device on a TCP port (:class:`SimulatedBoardSource`, a child process per
condition). Both answer bit for bit alike for the same :class:`~ropuf.sim.board.Condition`.
"""

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ropuf.host.client import DeviceClient
from ropuf.spec.errors import InputError

from .board import Condition, SimulatedBoard, device_model
from .fast_device import FastDevice

__all__ = ["FastModelSource", "SimulatedBoardSource", "condition_label", "simulated_sources"]


def condition_label(condition: Condition) -> str:
    """``die 7 at 85 C, 1.14 V`` (``nominal`` supply when no voltage is set)."""
    supply = "nominal" if condition.voltage is None else f"{condition.voltage:g} V"
    return f"die {condition.die_seed} at {condition.temperature:g} C, {supply}"


@dataclass(frozen=True)
class FastModelSource:
    """A simulated die at one condition, answered by the fast model device (a fresh device,
    noise generator at its seed, each time it is opened)."""

    condition: Condition

    @property
    def label(self) -> str:
        return condition_label(self.condition) + " (fast model)"

    def open(self) -> DeviceClient:
        url = f"fast://die-{self.condition.die_seed}"
        return DeviceClient(FastDevice(device_model(self.condition), url=url), timeout=1.0)


@dataclass(frozen=True)
class SimulatedBoardSource:
    """A simulated die at one condition, served by the Verilator device on a TCP port; the
    board runs while the client is open.

    Parameters
    ----------
    condition : Condition
    timeout : float
        Seconds to wait for each answer (RECONSTRUCT takes seconds in simulation).
    """

    condition: Condition
    timeout: float = 120.0

    @property
    def label(self) -> str:
        return condition_label(self.condition) + " (Verilator)"

    @contextlib.contextmanager
    def open(self) -> Iterator[DeviceClient]:
        with (
            SimulatedBoard(self.condition) as board,
            DeviceClient.open(board.url, timeout=self.timeout) as client,
        ):
            yield client


def simulated_sources(
    die_seed: int,
    points: Sequence[tuple[float, float | None]],
    *,
    model: str = "fast",
    noise_seed: int = 1,
) -> list[FastModelSource] | list[SimulatedBoardSource]:
    """Sources for *die_seed* at each ``(temperature, voltage)`` of *points* (voltage None:
    nominal), with noise seeds ``noise_seed, noise_seed + 1, ...``.

    Raises
    ------
    ValueError
        *model* is neither ``"fast"`` nor ``"verilator"``, or *points* is empty.
    """
    if model not in ("fast", "verilator"):
        raise InputError(f"model must be 'fast' or 'verilator', not {model!r}")
    if not points:
        raise InputError("give at least one operating condition")
    kind = FastModelSource if model == "fast" else SimulatedBoardSource
    return [
        kind(Condition(die_seed, float(t), None if v is None else float(v), noise_seed + i))
        for i, (t, v) in enumerate(points)
    ]
