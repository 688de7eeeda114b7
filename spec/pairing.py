"""Rank pairing: which two ring oscillators each key bit compares, chosen at enrollment.

The ROs are grouped in *batches* of ``batch`` neighbouring ROs (batch ``g`` holds ROs
``g * batch .. g * batch + batch - 1``; the board profiles place neighbouring indices in
neighbouring tiles). Enrollment ranks a batch by its averaged counts and pairs rank ``i`` with
rank ``batch - per_batch + i`` for ``i < per_batch``: with ``per_batch = batch / 2`` (rank
split) every RO is used and every pair's two ROs are half a batch apart in rank; with
``per_batch = batch / 4`` the slowest quarter is paired with the fastest quarter (larger gaps,
half the ROs unused). A pair's response bit is 1 when its lower-indexed RO counted more edges.

The pair list is public helper data. It is written in a canonical order that depends only on
which ROs are paired, never on which of the two is faster: each pair as ``(a, b)`` with
``a < b`` (indices local to the batch), a batch's pairs in increasing ``a``, batches in order.
Swapping the counts of a pair's two ROs swaps their ranks, so they are still paired with each
other and every other pair is unchanged: for exchangeable ROs (the same distribution at every
position) the list says nothing about the bits. Spatial gradients break exchangeability; what
they leak is measured in docs/keygen.md.

Both sides read this module: the host chooses and serialises pairs, the gateware and the
models decode the list to measure the same pairs.
"""

from dataclasses import dataclass

import numpy as np

from .checks import check_int

__all__ = ["MAX_BATCH", "RankPairing"]

#: Largest batch (local indices are at most 8 bits).
MAX_BATCH = 256


def _log2(value: int) -> int:
    return value.bit_length() - 1


@dataclass(frozen=True)
class RankPairing:
    """Batches of ``batch`` ROs, ``per_batch`` pairs from each (see the module notes).

    Parameters
    ----------
    batch : int
        ROs per batch, a power of two, 4..256.
    per_batch : int
        Pairs taken from each batch, a power of two, at most ``batch // 2``.

    Raises
    ------
    TypeError, ValueError
        A parameter that is not an integer power of two in range.
    """

    batch: int
    per_batch: int

    def __post_init__(self) -> None:
        check_int("Batch size", self.batch, 4, MAX_BATCH)
        check_int("Pairs per batch", self.per_batch, 1, self.batch // 2)
        for name, value in (("Batch size", self.batch), ("Pairs per batch", self.per_batch)):
            if value & (value - 1):
                raise ValueError(f"{name} must be a power of two, not {value!r}")

    @property
    def index_bits(self) -> int:
        """Bits of a local RO index in the serialised list."""
        return _log2(self.batch)

    @property
    def pair_bits(self) -> int:
        """Bits of one serialised pair ``(a, b)``."""
        return 2 * self.index_bits

    def batches(self, pairs: int) -> int:
        """Batches that *pairs* pairs occupy (``pairs`` must be a multiple of ``per_batch``)."""
        if pairs % self.per_batch:
            raise ValueError(f"{pairs} pairs do not fill whole batches of {self.per_batch} pairs")
        return pairs // self.per_batch

    def ros(self, pairs: int) -> int:
        """ROs that *pairs* pairs consume: every RO of every batch they occupy."""
        return self.batches(pairs) * self.batch

    def list_bytes(self, pairs: int) -> int:
        """Bytes of the serialised list of *pairs* pairs."""
        return (pairs * self.pair_bits + 7) // 8

    def choose(self, counts, pairs: int) -> list[tuple[int, int]]:
        """The pairs an enrollment takes from averaged *counts*, in the canonical order.

        Parameters
        ----------
        counts : array_like of float, shape (n_ro,)
            Each RO's averaged count (or any quantity ranked the same way); ``n_ro`` at least
            :meth:`ros` of *pairs*. Ties are broken by index.
        pairs : int
            Pairs to take, a multiple of ``per_batch``.

        Returns
        -------
        list of (int, int)
            Global RO indices ``(a, b)``, ``a < b``.
        """
        counts = np.asarray(counts, dtype=np.float64)
        need = self.ros(pairs)
        if counts.ndim != 1 or len(counts) < need:
            raise ValueError(f"{pairs} pairs need the counts of {need} ROs, not {counts.shape!r}")
        chosen = []
        for group in range(self.batches(pairs)):
            base = group * self.batch
            order = np.argsort(counts[base : base + self.batch], kind="stable")
            slow, fast = order[: self.per_batch], order[self.batch - self.per_batch :]
            local = sorted((min(s, f), max(s, f)) for s, f in zip(slow, fast, strict=True))
            chosen += [(base + int(a), base + int(b)) for a, b in local]
        return chosen

    def to_local(self, pairs) -> list[tuple[int, int]]:
        """Global pairs as batch-local indices; every pair must lie inside its batch (pair
        ``j`` in batch ``j // per_batch``), which is all a serialised list can express.

        Raises
        ------
        ValueError
            A pair outside its batch, or a count that does not fill whole batches.
        """
        pairs = list(pairs)
        self.batches(len(pairs))
        local = []
        for index, pair in enumerate(pairs):
            group = index // self.per_batch
            base = group * self.batch
            a, b = pair
            if not (base <= a < base + self.batch and base <= b < base + self.batch):
                raise ValueError(
                    f"Pair {index} {pair!r} must be two indices of batch {group} "
                    f"(ROs {base}..{base + self.batch - 1})"
                )
            local.append((a - base, b - base))
        return local

    def check(self, pairs) -> None:
        """Check that *pairs* is a list :meth:`choose` could give: every pair inside its batch,
        ``a < b``, each batch's pairs disjoint and in increasing ``a``. Parsers do not need it
        (a record is bound into the key, and the device measures whatever it lists); enrollment
        and tests do.

        Raises
        ------
        ValueError
            The message names the first pair that breaks a rule.
        """
        local = []
        for index, (a, b) in enumerate(self.to_local(pairs)):
            pair = tuple(pairs[index])
            if a >= b:
                raise ValueError(f"Pair {index} {pair!r} must list its lower index first")
            if index % self.per_batch:
                previous = local[-1]
                if a <= previous[0]:
                    raise ValueError(f"Pair {index} {pair!r} is out of the canonical order")
                used = {ro for p in local[index - index % self.per_batch :] for ro in p}
                if a in used or b in used:
                    raise ValueError(f"Pair {index} {pair!r} reuses an RO of its batch")
            local.append((a, b))

    def to_global(self, local) -> list[tuple[int, int]]:
        """Local pairs (in list order) as global RO indices (no checks)."""
        return [
            (index // self.per_batch * self.batch + a, index // self.per_batch * self.batch + b)
            for index, (a, b) in enumerate(local)
        ]

    def to_bits(self, pairs) -> list[int]:
        """The serialised list: each pair's local ``a`` then ``b``, ``index_bits`` each,
        most significant bit first (every pair inside its batch: :meth:`to_local`)."""
        width = self.index_bits
        return [
            (value >> shift) & 1
            for pair in self.to_local(pairs)
            for value in pair
            for shift in range(width - 1, -1, -1)
        ]

    def from_bits(self, bits, pairs: int) -> list[tuple[int, int]]:
        """Global pairs from the first ``pairs * pair_bits`` serialised bits (as listed: not
        :meth:`check`-ed).

        Raises
        ------
        ValueError
            Too few bits.
        """
        width = self.index_bits
        bits = list(bits)
        if len(bits) < pairs * self.pair_bits:
            raise ValueError(f"{pairs} pairs need {pairs * self.pair_bits} bits, not {len(bits)}")
        values = [
            int("".join(str(bit) for bit in bits[at : at + width]), 2)
            for at in range(0, pairs * self.pair_bits, width)
        ]
        return self.to_global(list(zip(values[::2], values[1::2], strict=True)))
