"""A board's top: the device top with its UART on the board's pins and LOCK on an LED.

:func:`device_top_kwargs` is the one place that maps a board profile to the keyword arguments of
:class:`~ropuf.gateware.core.device_top.DeviceTop`; :func:`board_top` wraps the device for a
platform.
"""

from amaranth.hdl import Module
from amaranth.lib import io, wiring

from ropuf.gateware.core.device_top import DeviceTop

from .profiles import BoardProfile

__all__ = ["BoardTop", "board_top", "device_top_kwargs"]


def device_top_kwargs(profile: BoardProfile, variant: str) -> dict:
    """Keyword arguments of :class:`DeviceTop` for *profile* built as *variant*: the UART
    divisor, the device build (:meth:`BoardProfile.config`) and the ring placement.

    Raises
    ------
    ValueError
        *variant* is not ``"enrollment"`` or ``"deployment"``.
    """
    return {
        "config": profile.config(variant),
        "divisor": profile.divisor,
        "ring_placement": profile.placement,
    }


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
