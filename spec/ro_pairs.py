"""Pair lists: which two ring oscillators each response bit compares.

A pair ``(a, b)`` gives response bit 1 when RO *a* counted more edges than RO *b*. Pair lists come
from helper data (chosen at enrollment) or from the default pairing, disjoint neighbours
``(2i, 2i + 1)``. Both the gateware generator and the host validate lists with
:func:`check_pairs`.
"""

from collections.abc import Iterable

__all__ = ["PAIR_INDEX_BITS", "check_pairs", "neighbour_pairs"]

#: Width of an RO index in a pair request (and in helper data); wider than any array we build,
#: so an index past the end can be represented, and rejected.
PAIR_INDEX_BITS = 16


def neighbour_pairs(n_ro: int) -> list[tuple[int, int]]:
    """The default pairing: disjoint neighbours ``(0, 1), (2, 3), ...`` (``n_ro // 2`` pairs)."""
    if not isinstance(n_ro, int) or n_ro < 2:
        raise ValueError(f"RO count must be an integer of at least 2, not {n_ro!r}")
    return [(2 * i, 2 * i + 1) for i in range(n_ro // 2)]


def check_pairs(pairs: Iterable[tuple[int, int]], n_ro: int) -> list[tuple[int, int]]:
    """Return *pairs* as a list of ``(a, b)`` tuples if every pair is valid for *n_ro* ROs.

    Raises
    ------
    ValueError
        The list is empty, a pair does not have two integer members, names an RO that does not
        exist, or compares an RO with itself. The message names the pair and its position.
    """
    checked = []
    for index, pair in enumerate(pairs):
        try:
            a, b = pair
        except (TypeError, ValueError):
            raise ValueError(f"Pair {index} must be two RO indices, not {pair!r}") from None
        for ro in (a, b):
            if not isinstance(ro, int) or isinstance(ro, bool):
                raise ValueError(f"Pair {index} {pair!r} has a non-integer RO index {ro!r}")
            if not 0 <= ro < n_ro:
                raise ValueError(
                    f"Pair {index} {pair!r} names RO {ro!r}, but the array has ROs 0..{n_ro - 1}"
                )
        if a == b:
            raise ValueError(f"Pair {index} {pair!r} compares RO {a!r} with itself")
        checked.append((a, b))
    if not checked:
        raise ValueError("A pair list must hold at least one pair")
    return checked
