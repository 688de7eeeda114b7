"""The root of every error ropuf raises on purpose: :class:`RopufError`.

Each package's errors derive from it (``ropuf.host.registry.RegistryError``,
``ropuf.boards.build.BoardError``, ...), so a caller can tell an error ropuf reports (bad input,
a device that refused, a tool that is missing: the message says what to do) from a bug (any
other exception, which keeps its traceback). The ``ropuf`` command line prints a
:class:`RopufError` as one line and exits 1; anything else propagates.

Some errors keep a standard base beside it where callers catch them by that base: the errors
of bad input values are also :class:`ValueError` (:class:`InputError` and the data-format
errors), the simulation failures seen by tests and cocotb are also :class:`AssertionError`.
"""

__all__ = ["InputError", "RopufError"]


class RopufError(Exception):
    """An error ropuf reports on purpose; its message says what went wrong and what to do."""


class InputError(RopufError, ValueError):
    """A value given from outside (a command-line argument, a setting, a name) is not one ropuf
    accepts; the message quotes it and says what to give instead."""
