"""Argument checks shared by every constructor, gateware or host (messages quote the value)."""

__all__ = ["check_int"]


def check_int(
    name: str, value: object, minimum: int, maximum: int | None = None, *, unit: str = ""
) -> int:
    """Return *value* if it is an integer in *minimum*..*maximum* (no upper bound when
    *maximum* is None; *unit* follows the bound in that message).

    Raises
    ------
    TypeError
        *value* is not an integer (``bool`` included).
    ValueError
        *value* is out of range.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if maximum is None:
        if value < minimum:
            raise ValueError(f"{name} must be at least {minimum}{unit}, not {value!r}")
    elif not minimum <= value <= maximum:
        raise ValueError(f"{name} must be in {minimum}..{maximum}, not {value!r}")
    return value
