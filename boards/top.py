"""A board's top: the device top with its UART on the board's pins and LOCK on an LED.

:func:`device_top_kwargs` is the one place that maps a board profile to the keyword arguments of
:class:`~ropuf.gateware.device_top.DeviceTop`; :func:`board_top` wraps the device for a
platform. Profile fields the device top cannot build yet (the key path, the arbiter PUF) are
passed as soon as its constructor takes them, and :func:`unbuilt_features` names them for the
build report until then.
"""

import inspect

from amaranth.hdl import Module
from amaranth.lib import io, wiring

from ropuf.gateware.device_top import DeviceTop
from ropuf.gateware.ro_array import ROArray

from .profiles import VARIANTS, BoardProfile

__all__ = ["BoardTop", "board_top", "device_top_kwargs", "unbuilt_features"]


def _device_top_takes(name: str) -> bool:
    return name in inspect.signature(DeviceTop).parameters


def device_top_kwargs(profile: BoardProfile, variant: str) -> dict:
    """Keyword arguments of :class:`DeviceTop` for *profile* built as *variant*.

    Raises
    ------
    ValueError
        *variant* is not ``"enrollment"`` or ``"deployment"``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"Variant must be one of {VARIANTS!r}, not {variant!r}")
    kwargs = {
        "divisor": profile.divisor,
        "variant": variant,
        "n_ro": profile.n_ro,
        "stages": profile.stages,
        "gate_cycles": profile.gate_cycles,
        "clock_hz": profile.clock_hz,
    }
    if _device_top_takes("ring_placement"):
        kwargs["ring_placement"] = profile.placement
    if profile.code is not None and _device_top_takes("code"):
        kwargs["code"] = profile.code
    if profile.arbiter_chains and _device_top_takes("arbiter_chains"):
        kwargs["arbiter_chains"] = profile.arbiter_chains
        kwargs["arbiter_stages"] = profile.arbiter_stages
    return kwargs


def unbuilt_features(profile: BoardProfile) -> list[str]:
    """What *profile* asks for that the device top cannot build yet, one phrase each."""
    missing = []
    if profile.code is not None and not _device_top_takes("code"):
        code = profile.code
        missing.append(
            f"key path (BCH({code.n},{code.k},t={code.t}) decoder, SHA-256/HMAC): "
            "the device top has no key path yet"
        )
    if profile.arbiter_chains and not _device_top_takes("arbiter_chains"):
        missing.append(
            f"arbiter PUF ({profile.arbiter_chains} chains x {profile.arbiter_stages} stages): "
            "the device top has no ARBITER command yet"
        )
    return missing


class _PlacedROArray(ROArray):
    """An RO array whose FPGA rings sit where the board profile says.

    Stopgap until :class:`DeviceTop` takes ``ring_placement``: :class:`ROArray` builds its
    rings with the family's default placement, which cannot hold 1,536 rings on the ECP5-85F.
    """

    def __init__(self, *, profile: BoardProfile, **kwargs):
        self._profile = profile
        super().__init__(**kwargs)

    def _bank(self, platform):
        from ropuf.gateware.ro_bank_fpga import FPGARingBank

        return FPGARingBank(ring=self._profile.ring(), n_ro=self.n_ro, count_width=self.count_width)


def _place_rings(device: DeviceTop, profile: BoardProfile) -> None:
    array = device.core.array
    if _device_top_takes("ring_placement") or type(array) is not ROArray:
        return
    placed = _PlacedROArray(
        profile=profile,
        n_ro=array.n_ro,
        stages=array.stages,
        gate_cycles=array.gate_cycles,
        max_edges_per_cycle=array.max_edges_per_cycle,
        soft_width=array.soft_width,
        settle_cycles=array.settle_cycles,
    )
    array._MustUse__silence = True  # replaced before elaboration, never used
    device.core.array = placed


class BoardTop(wiring.Component):
    """The device top on a board: UART 0 to the serial pins, ``locked`` on LED 0.

    Parameters
    ----------
    profile : BoardProfile
        The board.
    variant : str
        ``"enrollment"`` or ``"deployment"``.

    Attributes
    ----------
    device : DeviceTop
        The device, built from :func:`device_top_kwargs`.
    """

    def __init__(self, profile: BoardProfile, variant: str):
        self.profile = profile
        self.variant = variant
        self.device = DeviceTop(**device_top_kwargs(profile, variant))
        _place_rings(self.device, profile)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.device = device = self.device
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx = rx = io.Buffer("i", uart.rx)
        m.submodules.tx = tx = io.Buffer("o", uart.tx)
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += [device.rx.eq(rx.i), tx.o.eq(device.tx), led.o.eq(device.locked)]
        return m


def board_top(profile: BoardProfile, variant: str) -> BoardTop:
    """The design ``ropuf build`` builds for *profile* as *variant*."""
    return BoardTop(profile, variant)
