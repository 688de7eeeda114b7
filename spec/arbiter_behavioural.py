"""The behavioural arbiter PUF of the simulation body: its fixed-point format and noise.

In simulation an arbiter chain is not a race between two wires but the additive delay model
evaluated in integers. Chain *l* has ``n + 1`` signed weights of :data:`WEIGHT_BITS` bits,
loaded at run time (one Verilator build serves every die and condition): ``w[l][i]`` for
stage ``i < n`` is the stage's delay difference, ``w[l][n]`` the arbiter's own offset (the
*bias*). For an ``n``-bit challenge ``c`` (bit ``j`` of the challenge integer drives stage
``j``, stage 0 nearest the launch flip-flop) one evaluation of chain *l* is::

    parity[i] = c[i] ^ c[i + 1] ^ ... ^ c[n - 1]            (the parity feature, as a bit)
    delta     = sum over i < n of (-w[l][i] if parity[i] else +w[l][i]) + w[l][n] + noise[l]
    chain[l]  = 1 if delta > 0 else 0                        (a tie, delta == 0, answers 0)
    response  = chain[0] ^ chain[1] ^ ... ^ chain[k - 1]

which is ``delta = w . Phi(c)`` with the usual parity features ``Phi_i = prod_{j >= i}
(1 - 2 c_j)`` and ``Phi_n = 1``. The tie rule is the one the metrics use for RO pairs
("not greater" is 0); with continuous weights a tie has probability zero, with integers it can
happen and the gateware and the model resolve it the same way.

The noise is made on chip by the xorshift32 generator of :mod:`ropuf.spec.ro_behavioural` (same
step, same seed handling), seeded at run time. Each evaluation draws :data:`DRAWS_PER_CHAIN`
numbers per chain, chain 0 first; the sum of their top 16 bits, centred, is an Irwin-Hall
approximation of a Gaussian (it is bounded at about 3.46 sigma), multiplied by the run-time
``noise_scale`` and shifted right (arithmetic, so a floor) by :data:`NOISE_SHIFT`. The
generator advances by ``k * DRAWS_PER_CHAIN`` steps per evaluation whatever the scale, so a
scale of zero gives noise-free answers from the same sequence. This module is the single
definition of that arithmetic: the gateware is generated from these constants and the Python
models (:mod:`ropuf.sim.arbiter_model`) compute with these functions, so they agree bit for
bit.
"""

from collections.abc import Iterable, Sequence

from .ro_behavioural import (
    DEFAULT_SEED,
    scale_for_sigma,
    seed_state,
    summed_draws_sigma,
    xorshift32,
)

__all__ = [
    "DEFAULT_SEED",
    "DRAWS_PER_CHAIN",
    "MAX_CHAINS",
    "MAX_STAGES",
    "NOISE_CENTRE",
    "NOISE_SCALE_BITS",
    "NOISE_SHIFT",
    "WEIGHT_BITS",
    "check_weights",
    "delay_sum",
    "delta_width",
    "evaluate",
    "evaluate_many",
    "noise_offsets",
    "noise_scale_for",
    "noise_sigma_units",
    "parity_bits",
    "seed_state",
    "xorshift32",
]

#: Width of a signed weight (a stage's delay difference, or the bias), in weight units.
WEIGHT_BITS = 16
#: Uniform draws summed per chain and evaluation (Irwin-Hall with n = 4).
DRAWS_PER_CHAIN = 4
#: Mean of the sum of DRAWS_PER_CHAIN 16-bit uniforms, subtracted to centre the noise on zero.
NOISE_CENTRE = DRAWS_PER_CHAIN * 0xFFFF // 2
#: Width of the run-time noise scale (unsigned).
NOISE_SCALE_BITS = 16
#: Right shift applied after scaling: one scale step is 2**-16 of the centred sum.
NOISE_SHIFT = 16
#: Most stages a chain may have (the widths below are sized for it).
MAX_STAGES = 256
#: Most chains an XOR arbiter PUF may have.
MAX_CHAINS = 8

_WEIGHT_MIN = -(2 ** (WEIGHT_BITS - 1))
_WEIGHT_MAX = 2 ** (WEIGHT_BITS - 1) - 1
#: Largest magnitude of one chain's noise offset: (2 * 0xFFFF) * (2**16 - 1) >> 16.
_NOISE_MAX = (DRAWS_PER_CHAIN * 0xFFFF - NOISE_CENTRE) * (2**NOISE_SCALE_BITS - 1) >> NOISE_SHIFT


def delta_width(n_stages: int) -> int:
    """Width of a signed register that holds any ``delta`` of an *n_stages* chain, noise included.

    ``n_stages + 1`` weights of at most ``2**(WEIGHT_BITS - 1)`` in magnitude plus the largest
    noise offset; one more bit for the sign.
    """
    bound = (n_stages + 1) * 2 ** (WEIGHT_BITS - 1) + _NOISE_MAX
    return bound.bit_length() + 1


def check_weights(weights: Sequence[Sequence[int]], n_stages: int) -> list[list[int]]:
    """Return *weights* as a list of lists of int if they fit an *n_stages* simulation body.

    Raises
    ------
    ValueError
        No chain or more than :data:`MAX_CHAINS`, a chain without ``n_stages + 1`` weights, a
        weight that is not an integer or does not fit :data:`WEIGHT_BITS` signed bits.
    """
    chains = [list(chain) for chain in weights]
    if not 1 <= len(chains) <= MAX_CHAINS:
        raise ValueError(f"Expected 1..{MAX_CHAINS} chains of weights, got {len(chains)}")
    checked = []
    for index, chain in enumerate(chains):
        if len(chain) != n_stages + 1:
            raise ValueError(
                f"Chain {index} has {len(chain)} weights; an {n_stages}-stage chain needs "
                f"{n_stages + 1} (one per stage and the bias)"
            )
        row = []
        for weight in chain:
            if isinstance(weight, bool) or not hasattr(weight, "__index__"):
                raise ValueError(f"Chain {index} has a non-integer weight {weight!r}")
            value = int(weight)
            if not _WEIGHT_MIN <= value <= _WEIGHT_MAX:
                raise ValueError(
                    f"Chain {index} weight {value!r} does not fit {WEIGHT_BITS} signed bits"
                )
            row.append(value)
        checked.append(row)
    return checked


def parity_bits(challenge: int, n_stages: int) -> list[int]:
    """The parity feature of every stage as a bit: ``c[i] ^ ... ^ c[n - 1]`` for ``i < n``.

    A 1 means the stage's weight enters with a minus sign (``Phi_i = -1``).

    Raises
    ------
    ValueError
        *challenge* is negative or wider than *n_stages* bits.
    """
    if not 0 <= challenge < 2**n_stages:
        raise ValueError(f"Challenge {challenge!r} does not fit {n_stages} bits")
    bits = [0] * n_stages
    parity = 0
    for stage in reversed(range(n_stages)):
        parity ^= (challenge >> stage) & 1
        bits[stage] = parity
    return bits


def delay_sum(chain_weights: Sequence[int], challenge: int) -> int:
    """Noise-free ``delta`` of a chain: each ``w[i]`` signed by its parity bit, plus the bias."""
    n_stages = len(chain_weights) - 1
    total = chain_weights[n_stages]
    bits = parity_bits(challenge, n_stages)
    for weight, bit in zip(chain_weights[:n_stages], bits, strict=True):
        total += -weight if bit else weight
    return total


def noise_offsets(state: int, k: int, noise_scale: int) -> tuple[list[int], int]:
    """Draw the noise of one evaluation: one offset per chain, chain 0 first.

    Returns
    -------
    (offsets, state) : tuple
        The signed offset of each chain, in weight units, and the generator state afterwards.
    """
    offsets = []
    for _ in range(k):
        total = 0
        for _ in range(DRAWS_PER_CHAIN):
            state = xorshift32(state)
            total += state >> 16
        offsets.append(((total - NOISE_CENTRE) * noise_scale) >> NOISE_SHIFT)
    return offsets, state


def evaluate(
    weights: Sequence[Sequence[int]], challenge: int, state: int, noise_scale: int
) -> tuple[int, list[int], int]:
    """One evaluation of a k-chain XOR arbiter PUF, as the simulation body computes it.

    Parameters
    ----------
    weights : sequence of sequences of int
        ``k`` chains of ``n + 1`` weights (stages, then the bias), as loaded.
    challenge : int
        The ``n``-bit challenge, bit ``j`` for stage ``j``.
    state : int
        Generator state before the evaluation (see :func:`seed_state`).
    noise_scale : int
        The run-time noise scale, as loaded.

    Returns
    -------
    (bit, chains, state) : tuple
        The response (XOR of the chain bits), each chain's bit and the generator state after.
    """
    offsets, state = noise_offsets(state, len(weights), noise_scale)
    chains = [
        int(delay_sum(chain, challenge) + offset > 0)
        for chain, offset in zip(weights, offsets, strict=True)
    ]
    bit = 0
    for chain_bit in chains:
        bit ^= chain_bit
    return bit, chains, state


def evaluate_many(
    weights: Sequence[Sequence[int]],
    challenges: Iterable[int],
    *,
    seed: int,
    noise_scale: int,
    state: int | None = None,
) -> tuple[list[tuple[int, list[int]]], int]:
    """Evaluations of *challenges* in order: ``[(bit, chains), ...]`` and the final state.

    *seed* is the noise seed as loaded (ignored when *state*, a state returned by an earlier
    call, is given). The weights are checked with :func:`check_weights`.
    """
    n_stages = len(weights[0]) - 1 if len(weights) else 0
    checked = check_weights(weights, n_stages)
    if state is None:
        state = seed_state(seed)
    results = []
    for challenge in challenges:
        bit, chains, state = evaluate(checked, challenge, state, noise_scale)
        results.append((bit, chains))
    return results, state


def noise_sigma_units(noise_scale: int) -> float:
    """Standard deviation of one chain's noise offset for *noise_scale*, in weight units."""
    return summed_draws_sigma(DRAWS_PER_CHAIN, noise_scale, NOISE_SHIFT)


def noise_scale_for(sigma_units: float) -> int:
    """The noise scale whose offsets have standard deviation *sigma_units* weight units
    (errors as :func:`~ropuf.spec.ro_behavioural.scale_for_sigma` says: use a smaller weight
    unit)."""
    step = noise_sigma_units(1)
    return scale_for_sigma(
        sigma_units, step, NOISE_SCALE_BITS, unit="weight units", advice="use a smaller weight unit"
    )
