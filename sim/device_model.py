"""Python reference of the device core's command semantics: what every command answers.

The gateware is checked against it, and it is the heart of the fast model device, which
answers the same requests without a simulator.
"""

import struct
from dataclasses import dataclass, replace

from ropuf.spec import commands, ro_sim
from ropuf.spec.commands import Command, Mode, Status

from .ro_measure import MeasureConfig, measure_pairs

__all__ = ["DeviceModel", "DeviceParams"]


@dataclass(frozen=True)
class DeviceParams:
    """A device build's parameters (as :class:`~ropuf.gateware.device_core.DeviceCore` takes)."""

    variant: str
    n_ro: int
    stages: int
    count_width: int
    soft_width: int
    gate_cycles: int
    clock_hz: int


class DeviceModel:
    """The answers of one device: a build, a loaded die and a noise state.

    Parameters
    ----------
    params : DeviceParams
        The build.
    rates : sequence of int
        The die's edge rates as loaded into the simulation body.
    seed, noise_scale, common_scale : int
        The noise generator's seed and scales as loaded.
    """

    def __init__(
        self, params: DeviceParams, rates, *, seed: int, noise_scale: int, common_scale: int
    ):
        self.params = params
        self.rates = [int(r) for r in rates]
        self.noise_scale = noise_scale
        self.common_scale = common_scale
        self.state = ro_sim.seed_state(seed)
        self.locked = False
        self.config = MeasureConfig(
            params.n_ro, params.gate_cycles, params.count_width, params.soft_width
        )
        self._info = commands.Info.of_build(
            params.variant,
            params.n_ro,
            params.stages,
            params.count_width,
            params.soft_width,
            params.gate_cycles,
            params.clock_hz,
        )

    def info(self) -> commands.Info:
        """What INFO answers now."""
        return replace(self._info, mode=Mode.LOCKED) if self.locked else self._info

    def handle(self, code: int, payload: bytes) -> tuple[int, bytes]:
        """The (status, payload) answer to one CRC-checked request."""
        enrollment = self.params.variant == "enrollment"
        if code == Command.INFO:
            if payload:
                return Status.BAD_PAYLOAD, b""
            return Status.OK, self.info().encode()
        if code == Command.LOCK:
            if payload:
                return Status.BAD_PAYLOAD, b""
            if enrollment:
                self.locked = True
            return Status.OK, b""
        if code == Command.READ_RO and enrollment:
            if self.locked:
                return Status.LOCKED, b""
            if not payload or len(payload) % 4 or len(payload) > 4 * commands.MAX_READ_RO_PAIRS:
                return Status.BAD_PAYLOAD, b""
            pairs = [struct.unpack_from("<HH", payload, i) for i in range(0, len(payload), 4)]
            results, self.state = measure_pairs(
                self.rates,
                pairs,
                self.config,
                seed=0,
                noise_scale=self.noise_scale,
                common_scale=self.common_scale,
                state=self.state,
            )
            return Status.OK, commands.encode_read_ro_response(
                [(r.count_a, r.count_b, r.overflow, r.invalid) for r in results]
            )
        return Status.UNKNOWN_COMMAND, b""
