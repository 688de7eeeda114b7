"""Challenge-response pairs (CRPs) from an arbiter PUF, through the ARBITER command.

The functions here send challenges in batches of as many as fit one frame
(:func:`ropuf.spec.arbiter_command.max_challenges`: 31 for 64 stages) and return one answer
per challenge, in order. *device* is anything that sends requests:

* a :class:`~ropuf.host.client.DeviceClient` (its ``request(code, payload)`` returns the
  payload of an OK answer and raises :class:`~ropuf.host.client.DeviceError` otherwise), over a
  board, a simulated board or the fast model device;
* a callable ``(code, payload) -> (status, payload)``, or an object whose ``handle`` method is
  one, such as :class:`ropuf.sim.arbiter_device.ArbiterDevice` or the whole device model (a
  status other than OK raises :class:`CRPError`).

Challenges are packed as in :mod:`ropuf.sim.arbiter_model`: a ``uint8`` array of shape
``(count, ceil(n_stages / 8))``, the little-endian bytes of each challenge.

Majority voting happens in two places: the device votes over ``votes`` evaluations of each
challenge within a request (:func:`collect_crps`), and the host can vote over ``repeats``
separate requests (:func:`collect_voted`), which works on any build. :func:`collect_counts`
gets the number of ones out of ``votes`` evaluations, from which the host measures each
challenge's reliability; devices answer it only in enrollment builds before LOCK.
"""

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ropuf.spec import arbiter_command
from ropuf.spec.arbiter_command import Form
from ropuf.spec.commands import Command, Status
from ropuf.spec.errors import RopufError

__all__ = [
    "CRPError",
    "collect_counts",
    "collect_crps",
    "collect_voted",
    "evaluate",
    "requester",
]

#: Sends one request and returns the payload of its OK answer (raising otherwise).
Requester = Callable[[int, bytes], bytes]


class CRPError(RopufError):
    """CRPs could not be collected: a refused request or an answer that does not parse."""


def requester(device: object) -> Requester:
    """A function that sends one request to *device* (see the module notes) and returns the
    payload of its OK answer.

    Raises
    ------
    TypeError
        *device* has no ``request`` method and is not callable.
    """
    request = getattr(device, "request", None)
    if callable(request):
        return request
    handle = getattr(device, "handle", device)
    if not callable(handle):
        raise TypeError(
            "device must have a request(code, payload) method, or be (or have a handle method "
            f"that is) a callable (code, payload) -> (status, payload), not {device!r}"
        )

    def send(code: int, payload: bytes) -> bytes:
        status, answer = handle(code, payload)
        if status != Status.OK:
            try:
                name = Status(status).name
            except ValueError:
                name = "?"
            raise CRPError(
                f"ARBITER: the device answered status 0x{status:02x} {name}; check the form, "
                "the votes and that the build's stage count matches the challenges"
            )
        return answer

    return send


def _packed(challenges: npt.ArrayLike, n_stages: int) -> np.ndarray:
    array = np.asarray(challenges)
    width = arbiter_command.challenge_bytes(n_stages)
    if array.ndim != 2 or array.shape[1] != width or array.dtype != np.uint8:
        raise ValueError(
            f"Challenges of {n_stages} stages must be a uint8 array of shape (count, {width}), "
            f"not {array.dtype} of shape {array.shape!r}"
        )
    return array


def evaluate(
    device: object,
    challenges: npt.ArrayLike,
    *,
    n_stages: int,
    votes: int = 1,
    form: Form = Form.MAJORITY,
) -> np.ndarray:
    """One answer per challenge, in order: the majority bit, or (COUNTS) the number of ones.

    Parameters
    ----------
    device
        What sends the requests (see the module notes).
    challenges : numpy.ndarray of uint8, shape (count, challenge bytes)
        Packed challenges; sent in batches of :func:`~ropuf.spec.arbiter_command.max_challenges`.
    n_stages : int
        The device's stages per chain.
    votes : int
        Evaluations per challenge on the device (odd for MAJORITY).
    form : Form
        MAJORITY or COUNTS.

    Returns
    -------
    numpy.ndarray of int64, shape (count,)

    Raises
    ------
    ValueError
        Challenges of the wrong shape or width, or votes that do not suit the form.
    CRPError, DeviceError, ProtocolError
        The device refused a request or its answer does not parse.
    """
    packed = _packed(challenges, n_stages)
    send = requester(device)
    step = arbiter_command.max_challenges(n_stages)
    out = np.empty(len(packed), dtype=np.int64)
    for start in range(0, len(packed), step):
        batch = [int.from_bytes(row.tobytes(), "little") for row in packed[start : start + step]]
        payload = arbiter_command.encode_request(batch, n_stages=n_stages, votes=votes, form=form)
        answer = send(Command.ARBITER, payload)
        try:
            values = arbiter_command.decode_response(answer, form=form, count=len(batch))
        except ValueError as exc:
            raise CRPError(f"ARBITER answer does not parse ({exc}): not a ropuf device?") from None
        out[start : start + len(batch)] = values
    return out


def collect_crps(
    device: object, challenges: npt.ArrayLike, *, n_stages: int, votes: int = 1
) -> np.ndarray:
    """Response bits (``uint8``), each the device's majority of *votes* (odd) evaluations."""
    return evaluate(device, challenges, n_stages=n_stages, votes=votes).astype(np.uint8)


def collect_counts(
    device: object, challenges: npt.ArrayLike, *, n_stages: int, votes: int
) -> np.ndarray:
    """How many of *votes* evaluations of each challenge answered 1 (COUNTS: enrollment
    builds before LOCK; others refuse with BAD_PAYLOAD or LOCKED)."""
    return evaluate(device, challenges, n_stages=n_stages, votes=votes, form=Form.COUNTS)


def collect_voted(
    device: object,
    challenges: npt.ArrayLike,
    *,
    n_stages: int,
    repeats: int,
    votes: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Majority on the host over *repeats* (odd) passes over all challenges, each answer
    itself the device's majority of *votes* evaluations. Works on any build.

    Returns
    -------
    (bits, ones) : tuple of numpy.ndarray
        The host's majority (``uint8``) and how many passes answered 1 (``int64``), per
        challenge.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1 or repeats % 2 == 0:
        raise ValueError(f"Host voting needs an odd number of repeats, not {repeats!r}")
    ones = np.zeros(len(_packed(challenges, n_stages)), dtype=np.int64)
    for _ in range(repeats):
        ones += collect_crps(device, challenges, n_stages=n_stages, votes=votes)
    return (2 * ones > repeats).astype(np.uint8), ones
