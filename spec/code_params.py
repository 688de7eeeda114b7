"""Parameters of the key-generation code: one definition for host and gateware.

The construction (docs/keygen.md): enrollment pairs ring oscillators by rank inside batches of
neighbours (:class:`~ropuf.spec.pairing.RankPairing`), ``n * rep`` pairs; their response bits
carry a code-offset of a concatenated code, an inner repetition code of length ``rep`` decoded
with soft decisions and an outer binary BCH code over GF(2^gf_m), shortened to ``n`` bits,
correcting ``t`` errors and carrying ``k`` secret bits. The design's systematic part of each
RO's count (its *design offset*) is not part of the construction: it is design data, held by
the build (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`).
"""

from dataclasses import dataclass, field

from .bch_code import PRIMITIVE_POLYNOMIALS, BCHCode, bch_code
from .checks import check_int
from .pairing import RankPairing

__all__ = [
    "CHOSEN",
    "CONSTRUCTIONS",
    "ICE40",
    "MAX_REP",
    "OTHER_CONSTRUCTION",
    "CodeParams",
    "construction_id",
]

#: Longest inner repetition code the format and the decoder accept.
MAX_REP = 15


@dataclass(frozen=True)
class CodeParams:
    """Code and selection parameters of one key construction.

    Parameters
    ----------
    rep : int
        Inner repetition length, 1..15 (1: no repetition, each pair's bit is a code bit).
    gf_m : int
        Degree of the BCH field GF(2^gf_m), a key of
        :data:`~ropuf.spec.bch_code.PRIMITIVE_POLYNOMIALS`.
    t : int
        Errors the BCH code corrects per block.
    n : int
        Length of the shortened BCH code in bits.
    pairing : RankPairing
        How enrollment pairs the ROs; ``n * rep`` must fill whole batches.
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
        ``n * rep``, the pairs (response bits) that carry the code offset.
    ros : int
        ROs the key consumes: every RO of every batch the pairs occupy.

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
    pairing: RankPairing
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
        if not isinstance(self.pairing, RankPairing):
            raise TypeError(f"pairing must be a RankPairing, not {self.pairing!r}")
        self.pairing.batches(self.selected_bits)

    @property
    def k(self) -> int:
        return self.code.k

    @property
    def selected_bits(self) -> int:
        return self.n * self.rep

    @property
    def ros(self) -> int:
        return self.pairing.ros(self.selected_bits)

    @property
    def message_bytes(self) -> int:
        """Bytes of the packed secret (``ceil(k / 8)``), the key-derivation input."""
        return (self.k + 7) // 8


#: The ECP5 boards' construction (docs/keygen.md, "Rank pairing"): batches of 64 neighbouring
#: ROs, the slowest quarter of each paired with its fastest quarter (16 pairs a batch), 208 pairs
#: from 832 ROs, BCH(208, 140, t=9) over GF(2^8) (the (255, 187) code shortened by 47). Sized
#: for the BENCHMARKS soft model at 15 %: key failure 7.1e-13 on average, 7.1e-11 at the 99.9th
#: percentile of 4,000 devices.
CHOSEN = CodeParams(rep=1, gf_m=8, t=9, n=208, pairing=RankPairing(batch=64, per_batch=16))

#: The iCEBreaker's construction (docs/keygen.md, "Rank pairing"): batches of 64, rank split
#: (32 pairs a batch, every RO used), 192 pairs from 384 ROs, BCH(192, 136, t=7) over GF(2^8);
#: a 342-byte record. Sized on the silicon model at its worst corner with the coefficient
#: spreads doubled: 1.1e-10 on average.
ICE40 = CodeParams(rep=1, gf_m=8, t=7, n=192, pairing=RankPairing(batch=64, per_batch=32))

#: The published key constructions by the number INFO reports (0: no key path), so that a host
#: enrols a device with the construction its build decodes.
CONSTRUCTIONS: dict[int, CodeParams] = {1: CHOSEN, 2: ICE40}
#: What INFO reports for a construction of no published number (tests' small codes).
OTHER_CONSTRUCTION = 0xFF


def construction_id(code: CodeParams | None) -> int:
    """INFO's construction number of *code* (0 for None)."""
    if code is None:
        return 0
    return next((n for n, c in CONSTRUCTIONS.items() if c == code), OTHER_CONSTRUCTION)
