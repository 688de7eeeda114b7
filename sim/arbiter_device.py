"""Python model of the ARBITER handler: what the gateware answers, bit for bit.

:class:`ArbiterDevice` holds a build's :class:`~ropuf.spec.arbiter_command.ArbiterConfig`, the
weights loaded into the simulation body and the noise generator's state, and answers ARBITER
requests exactly as :class:`ropuf.gateware.arbiter.handler.ArbiterHandler` does (the tests
compare them request by request). The device model of the whole core hands it ARBITER
requests; alone it is a fast stand-in for the handler, thousands of times faster than
simulating the gateware.
"""

import numpy as np

from ropuf.spec import arbiter_behavioural, arbiter_command
from ropuf.spec.arbiter_command import ArbiterConfig, ArbiterRequestError, Form
from ropuf.spec.commands import Command, Status

from .arbiter_model import ArbiterDie, challenges_from_ints, gateware_responses, sim_load

__all__ = ["ArbiterDevice"]


class ArbiterDevice:
    """The ARBITER answers of one build with one loaded die.

    Parameters
    ----------
    config : ArbiterConfig
        The build (stages, chains, whether COUNTS is offered).
    weights : array_like of int, shape (k, n_stages + 1)
        The weights as loaded through the ``sim`` port (see
        :func:`ropuf.sim.arbiter_model.sim_load`).
    seed, noise_scale : int
        The noise seed and scale as loaded.

    Attributes
    ----------
    state : int
        The noise generator's state: it advances by one evaluation per vote, as on the device.

    Raises
    ------
    ValueError
        Weights that do not fit the build or the simulation body, or a noise scale out of range.
    """

    def __init__(self, config: ArbiterConfig, weights, *, seed: int, noise_scale: int):
        if not isinstance(config, ArbiterConfig):
            raise TypeError(f"config must be an ArbiterConfig, not {config!r}")
        checked = arbiter_behavioural.check_weights(np.asarray(weights).tolist(), config.n_stages)
        if len(checked) != config.k:
            raise ValueError(f"The build has {config.k} chains, the weights {len(checked)}")
        if not 0 <= noise_scale < 2**arbiter_behavioural.NOISE_SCALE_BITS:
            bits = arbiter_behavioural.NOISE_SCALE_BITS
            raise ValueError(f"Noise scale must fit {bits} bits, not {noise_scale!r}")
        self.config = config
        self.weights = np.array(checked, dtype=np.int64)
        self.noise_scale = noise_scale
        self.state = arbiter_behavioural.seed_state(seed)

    @classmethod
    def for_die(
        cls,
        die: ArbiterDie,
        *,
        allow_counts: bool = False,
        temperature: float = 25.0,
        voltage: float | None = None,
        seed: int = 1,
    ) -> "ArbiterDevice":
        """The device that stands for *die* at an operating point (weights from ``sim_load``)."""
        load = sim_load(die, temperature, voltage)
        config = ArbiterConfig(n_stages=die.n_stages, k=die.k, allow_counts=allow_counts)
        return cls(config, load.weights, seed=seed, noise_scale=load.noise_scale)

    def counts(self, challenges: np.ndarray, votes: int) -> np.ndarray:
        """Ones among *votes* evaluations of each packed challenge, evaluated in the device's
        order (challenge 0 *votes* times, then challenge 1, ...); advances the noise state."""
        repeated = np.repeat(challenges, votes, axis=0)
        bits, _, self.state = gateware_responses(
            self.weights, repeated, seed=0, noise_scale=self.noise_scale, state=self.state
        )
        return bits.reshape(len(challenges), votes).sum(axis=1, dtype=np.int64)

    def handle(self, code: int, payload: bytes, *, locked: bool = False) -> tuple[int, bytes]:
        """The (status, payload) answer to one ARBITER request (any other code is unknown).

        *locked* is the device's lock state (COUNTS is refused while locked).
        """
        if code != Command.ARBITER:
            return Status.UNKNOWN_COMMAND, b""
        try:
            request = arbiter_command.decode_request(payload, self.config, locked=locked)
        except ArbiterRequestError as refusal:
            return refusal.status, b""
        packed = challenges_from_ints(list(request.challenges), self.config.n_stages)
        ones = self.counts(packed, request.votes)
        if request.form == Form.COUNTS:
            values = ones.tolist()
        else:
            values = (2 * ones > request.votes).astype(int).tolist()
        return Status.OK, arbiter_command.encode_response(request.form, values)
