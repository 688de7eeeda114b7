"""The ARBITER command: challenges for the arbiter PUF in, answers out. One definition for the
gateware (:mod:`ropuf.gateware.arbiter.handler`), the Python model
(:mod:`ropuf.sim.arbiter_device`) and the host (:mod:`ropuf.host.crp`).

Request payload (multi-byte fields little-endian)::

    byte 0      form     0 = MAJORITY, 1 = COUNTS
    byte 1      votes    evaluations per challenge, 1..255 (odd for MAJORITY)
    then        N challenges of challenge_bytes(n) bytes each, 1 <= N <= max_challenges(n)

A challenge is the little-endian bytes of the challenge integer, bit ``j`` for stage ``j``:
exactly the rows of the packed arrays of :mod:`ropuf.sim.arbiter_model`. Bits past stage
``n - 1`` in the last byte must be zero. For 64 stages a challenge is 8 bytes and a request
holds up to 31 of them (250 payload bytes).

Answer payload (status OK):

* MAJORITY: ``ceil(N / 8)`` bytes; bit ``i % 8`` of byte ``i // 8`` is the majority of the
  ``votes`` evaluations of challenge ``i`` (1 when more than half answered 1); unused bits 0.
* COUNTS: ``N`` bytes, the number of evaluations of challenge ``i`` that answered 1.

The device evaluates challenge 0 ``votes`` times, then challenge 1, and so on; the noise
generator of the simulation body advances by one evaluation each time.

Why the device votes, and why COUNTS is restricted
--------------------------------------------------
The device votes, and by default answers only the majority. Majority voting on the device
costs no link bandwidth (one answer bit per challenge whatever ``votes``) and makes each answer
more reliable. More importantly, a majority answer hides how close a challenge is to the
decision boundary, which the count of ones reveals: that soft information is what reliability
attacks on XOR arbiter PUFs (Becker, CHES 2015) learn each chain from. COUNTS therefore exists
only in builds made with ``allow_counts`` (enrollment builds), and only until LOCK, like raw RO
counts: the verifier uses it at enrolment to measure each challenge's reliability and keep
only stable CRPs. Everywhere else a COUNTS request is refused: BAD_PAYLOAD in a build without
it, LOCKED in a locked build. A device cannot stop anyone from sending the same challenge
again in new requests, which also leaks reliability, more slowly; hence the one-time CRP rule
of ``docs/arbiter-puf.md``.

Refusals (status BAD_PAYLOAD unless said otherwise) evaluate nothing, so they leave the noise
generator where it was:

* a length that is not ``2 + N * challenge_bytes(n)`` with ``1 <= N <= max_challenges(n)``;
* a form other than 0 or 1; COUNTS in a build without ``allow_counts``;
* ``votes`` of 0, or even with MAJORITY (a tie has no majority);
* a challenge with bits set past its last stage;
* COUNTS while the device is locked: LOCKED (checked after everything above).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from .checks import check_int
from .commands import Status
from .errors import RopufError
from .framing import MAX_PAYLOAD

__all__ = [
    "HEADER_BYTES",
    "MAX_VOTES",
    "ArbiterConfig",
    "ArbiterRequest",
    "ArbiterRequestError",
    "Form",
    "challenge_bytes",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "max_challenges",
    "response_length",
]

#: Request bytes before the challenges: form, votes.
HEADER_BYTES = 2
#: Most evaluations per challenge (a count fits one byte).
MAX_VOTES = 255
#: Limits of the arbiter PUF (the same as :mod:`ropuf.spec.arbiter_behavioural`'s).
_MAX_STAGES = 256
_MAX_CHAINS = 8


class Form(enum.IntEnum):
    """What the device answers per challenge."""

    MAJORITY = 0  #: one bit: the majority of the evaluations
    COUNTS = 1  #: one byte: how many evaluations answered 1 (enrollment builds, unlocked)


def challenge_bytes(n_stages: int) -> int:
    """Bytes of one challenge of *n_stages* bits."""
    return (check_int("Stage count", n_stages, 1, _MAX_STAGES) + 7) // 8


def max_challenges(n_stages: int) -> int:
    """Most challenges one request carries (31 for 64 stages)."""
    return (MAX_PAYLOAD - HEADER_BYTES) // challenge_bytes(n_stages)


def response_length(form: Form, count: int) -> int:
    """Answer bytes for *count* challenges in *form*."""
    return count if form == Form.COUNTS else (count + 7) // 8


@dataclass(frozen=True)
class ArbiterConfig:
    """What a build's ARBITER command is: the PUF's size and whether COUNTS is offered.

    Gateware and model are both built from it, and a build passes it to the command
    processor's ``features`` so that it enters the build id.

    Attributes
    ----------
    n_stages : int
        Stages per chain, 1..256.
    k : int
        Chains XORed, 1..8.
    allow_counts : bool
        COUNTS answers (until LOCK): for enrollment builds only.

    Raises
    ------
    TypeError, ValueError
        A field has the wrong type or is out of range; the message quotes it.
    """

    n_stages: int = 64
    k: int = 1
    allow_counts: bool = False

    def __post_init__(self) -> None:
        check_int("Stage count", self.n_stages, 1, _MAX_STAGES)
        check_int("Chain count", self.k, 1, _MAX_CHAINS)
        if not isinstance(self.allow_counts, bool):
            raise TypeError(f"allow_counts must be a bool, not {self.allow_counts!r}")

    @property
    def challenge_bytes(self) -> int:
        return challenge_bytes(self.n_stages)

    @property
    def max_challenges(self) -> int:
        return max_challenges(self.n_stages)


@dataclass(frozen=True)
class ArbiterRequest:
    """A well-formed ARBITER request: form, votes and the challenges as integers."""

    form: Form
    votes: int
    challenges: tuple[int, ...]


class ArbiterRequestError(RopufError, ValueError):
    """An ARBITER request the device refuses.

    Attributes
    ----------
    status : Status
        What the device answers (BAD_PAYLOAD or LOCKED).
    """

    def __init__(self, status: Status, reason: str):
        self.status = status
        super().__init__(reason)


def _check_votes(form: int, votes: int) -> str | None:
    if not 1 <= votes <= MAX_VOTES:
        return f"votes must be in 1..{MAX_VOTES}, not {votes}"
    if form == Form.MAJORITY and votes % 2 == 0:
        return f"a majority needs an odd number of votes, not {votes}"
    return None


def decode_request(
    payload: bytes, config: ArbiterConfig, *, locked: bool = False
) -> ArbiterRequest:
    """Parse an ARBITER request as the device does.

    Raises
    ------
    ArbiterRequestError
        The device refuses it; ``status`` is its answer (see the module notes for the rules).
    """
    width = config.challenge_bytes
    body = len(payload) - HEADER_BYTES
    count = body // width if body >= 0 else 0
    if body < width or body % width or count > config.max_challenges:
        raise ArbiterRequestError(
            Status.BAD_PAYLOAD,
            f"an ARBITER payload is 2 bytes and 1..{config.max_challenges} challenges of "
            f"{width} bytes, not {len(payload)} bytes",
        )
    form, votes = payload[0], payload[1]
    if form not in (Form.MAJORITY, Form.COUNTS):
        raise ArbiterRequestError(Status.BAD_PAYLOAD, f"unknown ARBITER form {form}")
    if form == Form.COUNTS and not config.allow_counts:
        raise ArbiterRequestError(Status.BAD_PAYLOAD, "this build does not answer COUNTS")
    if problem := _check_votes(form, votes):
        raise ArbiterRequestError(Status.BAD_PAYLOAD, problem)
    challenges = tuple(
        int.from_bytes(payload[HEADER_BYTES + i * width : HEADER_BYTES + (i + 1) * width], "little")
        for i in range(count)
    )
    for index, challenge in enumerate(challenges):
        if challenge >> config.n_stages:
            raise ArbiterRequestError(
                Status.BAD_PAYLOAD,
                f"challenge {index} has bits set past stage {config.n_stages - 1}",
            )
    if form == Form.COUNTS and locked:
        raise ArbiterRequestError(Status.LOCKED, "COUNTS is refused once the device is locked")
    return ArbiterRequest(Form(form), votes, challenges)


def encode_request(
    challenges: Sequence[int], *, n_stages: int, votes: int = 1, form: Form = Form.MAJORITY
) -> bytes:
    """The ARBITER payload asking *votes* evaluations of each of *challenges*.

    Raises
    ------
    ValueError
        No challenge or more than :func:`max_challenges`, a challenge that does not fit
        *n_stages* bits, or votes that do not suit the form.
    """
    width = challenge_bytes(n_stages)
    limit = max_challenges(n_stages)
    if not 1 <= len(challenges) <= limit:
        raise ValueError(f"An ARBITER request takes 1..{limit} challenges, not {len(challenges)}")
    form = Form(form)
    if problem := _check_votes(form, votes):
        raise ValueError(f"Cannot encode the request: {problem}")
    out = bytearray((form, votes))
    for challenge in challenges:
        if not 0 <= challenge < 2**n_stages:
            raise ValueError(f"Challenge {challenge!r} does not fit {n_stages} bits")
        out += int(challenge).to_bytes(width, "little")
    return bytes(out)


def encode_response(form: Form, values: Sequence[int]) -> bytes:
    """The answer payload for one value per challenge (a majority bit, or a count)."""
    if Form(form) == Form.COUNTS:
        return bytes(values)
    out = bytearray(response_length(form, len(values)))
    for index, bit in enumerate(values):
        out[index // 8] |= (bit & 1) << (index % 8)
    return bytes(out)


def decode_response(payload: bytes, *, form: Form, count: int) -> list[int]:
    """Parse the answer to a request of *count* challenges in *form*.

    Raises
    ------
    ValueError
        The answer has the wrong length, or padding bits set (not an ARBITER answer).
    """
    expected = response_length(form, count)
    if len(payload) != expected:
        raise ValueError(
            f"An ARBITER answer for {count} challenges ({Form(form).name}) has {expected} "
            f"bytes, not {len(payload)}"
        )
    if Form(form) == Form.COUNTS:
        return list(payload)
    bits = int.from_bytes(payload, "little")
    if bits >> count:
        raise ValueError(f"An ARBITER answer for {count} challenges has padding bits set")
    return [(bits >> index) & 1 for index in range(count)]
