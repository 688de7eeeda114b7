"""A per-process, bounded, in-memory cache of verified enrollment records and their decrypted
attestation keys, so that a verifier does not check an owner signature and decrypt a key on
every attestation (the batch path's cost).

An entry is used only while the database row it came from is unchanged: the caller passes
the row's columns (record, signature, enrolled_at, key blob) on every look-up and a hit needs
all of them equal, so a row changed in the database is checked again as if never seen.
Revocation and ownership are not cached (they are read with every batch). Keys live only in
this process's memory: nothing here is written, logged or shown (``repr`` names no key);
the least recently used entry leaves when the cache is full.
"""

from collections import OrderedDict
from typing import Any

__all__ = ["DEFAULT_CACHE_SIZE", "VerifiedCache"]

#: Devices kept per registry connection (a few KiB each: the record with its helper data).
DEFAULT_CACHE_SIZE = 20_000


class VerifiedCache:
    """Up to *size* entries ``device_id -> (row columns, verified value)``; 0 disables it."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"the cache size must be a whole number >= 0, not {size!r}")
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple, Any]] = OrderedDict()

    def get(self, device_id: str, columns: tuple) -> Any | None:
        """The value stored for *device_id* if it came from exactly these *columns*."""
        entry = self._entries.get(device_id)
        if entry is None or entry[0] != columns:
            return None
        self._entries.move_to_end(device_id)
        return entry[1]

    def put(self, device_id: str, columns: tuple, value: Any) -> None:
        if self.size == 0:
            return
        self._entries[device_id] = (columns, value)
        self._entries.move_to_end(device_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"VerifiedCache({len(self._entries)} of {self.size} devices)"
