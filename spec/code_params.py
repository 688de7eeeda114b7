"""Parameters of the key-generation code: one definition for host and gateware.

The construction (docs/keygen.md): enrollment selects the most reliable response bits
(balanced: as many ones as zeros) out of ``candidate_pairs`` measured pairs; the selected bits
carry a code-offset of a concatenated code, an inner repetition code of length ``rep`` decoded
with soft decisions and an outer binary BCH code over GF(2^gf_m), shortened to ``n`` bits,
correcting ``t`` errors and carrying ``k`` secret bits.
"""

from dataclasses import dataclass, field

from .bch_code import PRIMITIVE_POLYNOMIALS, BCHCode, bch_code
from .checks import check_int

__all__ = ["CHOSEN", "MAX_REP", "CodeParams"]

#: Longest inner repetition code the format and the decoder accept.
MAX_REP = 15


@dataclass(frozen=True)
class CodeParams:
    """Code and selection parameters of one key construction.

    Parameters
    ----------
    rep : int
        Inner repetition length, 1..15 (1: no repetition, each selected bit is a code bit).
    gf_m : int
        Degree of the BCH field GF(2^gf_m), a key of
        :data:`~ropuf.spec.bch_code.PRIMITIVE_POLYNOMIALS`.
    t : int
        Errors the BCH code corrects per block.
    n : int
        Length of the shortened BCH code in bits.
    candidate_pairs : int
        Response bits measured at enrollment, of which ``n * rep`` are selected (the rest are
        masked). Every candidate counts as a consumed response bit.
    soft_width : int
        Width of the signed soft values (RO count differences) the decoder takes, 2..32; as
        ``soft_width`` of :class:`~ropuf.gateware.ro.array.ROArray`.

    Attributes
    ----------
    code : BCHCode
        The outer code.
    k : int
        Secret (message) bits, the BCH dimension.
    selected_bits : int
        ``n * rep``, response bits that carry the code offset.

    Raises
    ------
    TypeError, ValueError
        A parameter has the wrong type, is out of range, or names a BCH code that does not
        exist; the message quotes it.
    """

    rep: int
    gf_m: int
    t: int
    n: int
    candidate_pairs: int
    soft_width: int = 16
    code: BCHCode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_int("Repetition length", self.rep, 1, MAX_REP)
        if not isinstance(self.gf_m, int) or isinstance(self.gf_m, bool):
            raise TypeError(f"Field degree must be an integer, not {self.gf_m!r}")
        if self.gf_m not in PRIMITIVE_POLYNOMIALS:
            raise ValueError(
                f"Field degree must be one of {sorted(PRIMITIVE_POLYNOMIALS)}, not {self.gf_m!r}"
            )
        check_int("Error capability t", self.t, 1, (1 << self.gf_m) // 2)
        check_int("Code length n", self.n, 2, (1 << self.gf_m) - 1)
        check_int("Soft value width", self.soft_width, 2, 32)
        object.__setattr__(self, "code", bch_code(self.gf_m, self.t, self.n))
        check_int("Candidate pairs", self.candidate_pairs, self.selected_bits, 65535)

    @property
    def k(self) -> int:
        return self.code.k

    @property
    def selected_bits(self) -> int:
        return self.n * self.rep

    @property
    def message_bytes(self) -> int:
        """Bytes of the packed secret (``ceil(k / 8)``), the key-derivation input."""
        return (self.k + 7) // 8


#: The construction chosen in docs/keygen.md for the BENCHMARKS soft model at 15 %: 760 pairs
#: measured, the 242 most reliable kept (balanced), no repetition, BCH(242, 134, t=14) over
#: GF(2^8) (the (255, 147) code shortened by 13). Key failure 7.1e-10 +- 0.2e-10 at 15 %.
CHOSEN = CodeParams(rep=1, gf_m=8, t=14, n=242, candidate_pairs=760)
