"""One device build's configuration: what the gateware, the model and INFO are all made from.

:class:`DeviceConfig` is the one description of a device build. The device core and top
(:mod:`ropuf.gateware.core`), the Python device model and the fast model device
(:mod:`ropuf.sim.device_model`, :mod:`ropuf.sim.fast_device`), the board profiles
(:mod:`ropuf.boards.profiles`) and the simulated board (:mod:`ropuf.sim.board`) all take one;
what follows from it (the counter width, INFO's answer, the build id) is computed here, once.
"""

import hashlib
import math
from dataclasses import dataclass
from functools import cached_property

from .arbiter_command import ArbiterConfig
from .code_params import CodeParams, construction_id
from .commands import BUILD_FIGURES, DESIGN_VERSION, Info, Mode
from .helper_data import HelperData

__all__ = ["MAX_COUNT_WIDTH", "OFFSET_LIMIT", "VARIANTS", "DeviceConfig", "count_width_for"]

#: Build variants: an enrollment build can send raw RO counts (until LOCK); a deployment build
#: has no raw-readout logic at all.
VARIANTS = ("enrollment", "deployment")

#: Widest RO count READ_RO carries (3 bytes per count).
MAX_COUNT_WIDTH = 24

#: Design offsets are integers in -OFFSET_LIMIT .. OFFSET_LIMIT, so that a pair's threshold
#: (the difference of two) is a signed 16-bit number.
OFFSET_LIMIT = 2**14 - 1


def count_width_for(gate_cycles: int, max_edges_per_cycle: float) -> int:
    """Counter width that holds ``gate_cycles * max_edges_per_cycle`` edges without overflow."""
    return max(1, math.ceil(gate_cycles * max_edges_per_cycle)).bit_length()


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """A device build: variant, RO array, clock, and the optional key path and arbiter PUF.

    Parameters
    ----------
    variant : str
        ``"enrollment"`` (raw readout until LOCK) or ``"deployment"`` (no raw-readout logic).
    n_ro : int
        Ring oscillators.
    stages : int
        LUTs per ring.
    gate_cycles : int
        Gate window per measurement, in system clock cycles.
    max_edges_per_cycle : float
        Highest edge rate of any ring (sets the counter width).
    soft_width : int
        Bits of a pair's soft value (saturated count difference).
    clock_hz : int
        System clock, reported by INFO.
    code : CodeParams, optional
        The key construction (LOAD_HELPER, RECONSTRUCT, ATTEST); None: no key path.
    arbiter : ArbiterConfig, optional
        The k-XOR arbiter PUF behind ARBITER; None: no arbiter.
    offsets : tuple of int, optional
        The design offset of each RO (``n_ro`` integers within :data:`OFFSET_LIMIT`, in counts
        over ``gate_cycles``): the systematic part of its count that every die of the design
        shares, from a characterisation (:mod:`ropuf.host.design_offsets`). The key engine
        subtracts ``offsets[a] - offsets[b]`` from a pair's soft value before the sign. None:
        all zero (a design not characterised yet).
    compact_key_path : bool
        Build the key path on the compact SHA-256 core and BCH decoder (the iCE40UP5K's; see
        :class:`ropuf.gateware.key.engine.KeyEngine`): same answers, more cycles, about half
        the area. Needs a *code*. Part of the build id only when set, so the builds without it
        keep theirs.
    identity : bool
        The public-key identity (:mod:`ropuf.spec.identity`): IDENTITY and SIGN on the P-256
        engine beside the key path. Needs a *code*. Part of the build id only when set, as
        *compact_key_path*; INFO has no feature field, so a host learns it from the build id
        (or from IDENTITY answering UNKNOWN_COMMAND).

    Raises
    ------
    ValueError
        An unknown variant, counts wider than READ_RO carries, offsets of the wrong count or
        range, or a compact key path or an identity without a key path.
    """

    variant: str
    n_ro: int
    stages: int = 5
    gate_cycles: int = 4096
    max_edges_per_cycle: float = 32.0
    soft_width: int = 16
    clock_hz: int = 12_000_000
    code: CodeParams | None = None
    arbiter: ArbiterConfig | None = None
    offsets: tuple[int, ...] | None = None
    compact_key_path: bool = False
    identity: bool = False

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"Variant must be one of {VARIANTS!r}, not {self.variant!r}")
        if self.offsets is not None:
            offsets = tuple(self.offsets)
            if len(offsets) != self.n_ro or any(
                isinstance(o, bool) or int(o) != o or abs(o) > OFFSET_LIMIT for o in offsets
            ):
                raise ValueError(
                    f"Design offsets must be {self.n_ro} integers within +-{OFFSET_LIMIT}"
                )
            object.__setattr__(self, "offsets", tuple(int(o) for o in offsets))
        if self.count_width > MAX_COUNT_WIDTH:
            raise ValueError(
                f"READ_RO carries {MAX_COUNT_WIDTH}-bit counts, not {self.count_width!r}-bit "
                "ones: shorten gate_cycles"
            )
        if self.compact_key_path and self.code is None:
            raise ValueError("A compact key path needs a key path: give the code")
        if self.identity and self.code is None:
            raise ValueError(
                "An identity needs a key path (its key is the master key's): give the code"
            )

    @cached_property
    def count_width(self) -> int:
        """Bits of each RO counter (from the gate window and the highest edge rate)."""
        return count_width_for(self.gate_cycles, self.max_edges_per_cycle)

    @property
    def mode(self) -> Mode:
        """INFO's mode of a freshly configured build."""
        return Mode.ENROLLMENT if self.variant == "enrollment" else Mode.DEPLOYMENT

    @property
    def helper_length(self) -> int:
        """Bytes of this build's helper-data record (0 without a key path)."""
        return 0 if self.code is None else HelperData.total_length(self.code)

    def threshold(self, a: int, b: int) -> int:
        """The design threshold of pair ``(a, b)``: ``offsets[a] - offsets[b]`` (0 without
        offsets); what the key engine subtracts from the pair's soft value."""
        if self.offsets is None:
            return 0
        return self.offsets[a] - self.offsets[b]

    @cached_property
    def build_id(self) -> bytes:
        """The 8-byte build id INFO reports: a hash of the design version and the
        configuration, so a host can tell builds apart. The one place it is computed."""
        features = tuple(part for part in (self.code, self.arbiter) if part is not None)
        if self.offsets is not None:
            features += (hashlib.sha256(repr(self.offsets).encode()).hexdigest(),)
        figures = tuple(getattr(self, name) for name in BUILD_FIGURES)
        config = (self.variant, *figures, *features)
        if self.compact_key_path:
            config += ("compact key path",)
        if self.identity:
            # Revision 2: SIGN verifies before release, GENERIC only on an unlocked enrollment
            # build (a certificate's build id tells an owner which identity a device runs).
            config += ("identity", 2)
        return hashlib.sha256(repr(("ropuf", DESIGN_VERSION, config)).encode()).digest()[:8]

    @cached_property
    def info(self) -> Info:
        """What a freshly configured build answers to INFO (unlocked, no key)."""
        return Info(
            design_version=DESIGN_VERSION,
            mode=self.mode,
            key_ready=False,
            n_ro=self.n_ro,
            stages=self.stages,
            count_width=self.count_width,
            soft_width=self.soft_width,
            gate_cycles=self.gate_cycles,
            clock_hz=self.clock_hz,
            build_id=self.build_id,
            construction=construction_id(self.code),
        )
