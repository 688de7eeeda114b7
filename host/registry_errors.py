"""The registry's error, :class:`RegistryError` (re-exported by :mod:`ropuf.host.registry`;
its own module so that the registry's parts raise it without importing the registry)."""

from ropuf.spec.errors import RopufError

__all__ = ["DuplicateDeviceError", "RegistryError"]


class RegistryError(RopufError):
    """The registry cannot do what was asked; the message says why and what to do."""


class DuplicateDeviceError(RegistryError):
    """A device id that is enrolled already (device ids are one name space per registry)."""
