"""Modeling attack on (XOR) arbiter PUFs: logistic regression on the parity features, by Rprop.

This is the attack of Rührmair et al., "Modeling Attacks on Physical Unclonable Functions"
(CCS 2010), written in numpy. A k-XOR arbiter PUF answers the XOR of the signs of ``k`` linear
functions ``w_l . Phi(c)`` of the parity features (:func:`ropuf.sim.arbiter_model.parity_features`).
In +-1 notation an XOR is a product, so the model is

.. math::

    P(r = 1 \\mid c) = \\sigma\\Bigl(\\prod_{l=1}^{k} w_l \\cdot \\Phi(c)\\Bigr)

(for even ``k`` the learned weights simply take the opposite sign of one chain). The attack
minimises the cross-entropy of that model over the observed CRPs with iRprop-, the resilient
back-propagation variant of Igel and Hüsken, which follows only the sign of each partial
derivative and so copes with the badly scaled landscape of a product of linear forms. For
``k > 1`` the landscape has many poor local minima; like the paper, the attack restarts from
fresh random weights until a model predicts a held-out part of the CRPs well.

Everything is deterministic for a given seed. Library code: nothing here prints.
"""

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ropuf.spec.errors import RopufError

__all__ = [
    "AttackError",
    "AttackResult",
    "RpropConfig",
    "accuracy",
    "fit_xor_arbiter",
    "predict",
]


class AttackError(RopufError, ValueError):
    """The CRPs or the attack settings given to the modeling attack are unusable."""


@dataclass(frozen=True)
class RpropConfig:
    """Settings of one Rprop run (iRprop-).

    Attributes
    ----------
    max_iterations : int
        Gradient steps at most per restart.
    initial_step, min_step, max_step : float
        Per-weight step sizes: start, floor and ceiling.
    increase, decrease : float
        Step multipliers when a partial derivative keeps or flips its sign.
    tolerance : float
        Stop a restart when the loss improved by less than this (relative) over
        ``patience`` iterations.
    patience : int
        Window of iterations for ``tolerance``.
    """

    max_iterations: int = 600
    initial_step: float = 0.02
    min_step: float = 1e-6
    max_step: float = 5.0
    increase: float = 1.2
    decrease: float = 0.5
    tolerance: float = 1e-4
    patience: int = 20


@dataclass(frozen=True)
class AttackResult:
    """The model an attack produced and what it cost.

    Attributes
    ----------
    weights : numpy.ndarray, shape (k, n_features)
        One weight vector per chain (up to the sign ambiguities of the product).
    train_accuracy : float
        Fraction of the training CRPs the model predicts.
    validation_accuracy : float
        Fraction of the held-out CRPs (the attacker's own, not the test set) it predicts.
    restarts : int
        Restarts run (1 for a first-time success).
    iterations : int
        Rprop iterations over all restarts.
    seconds : float
        Wall time of the fit.
    """

    weights: np.ndarray
    train_accuracy: float
    validation_accuracy: float
    restarts: int
    iterations: int
    seconds: float


def _check(features: npt.ArrayLike, bits: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    phi = np.asarray(features)
    if phi.ndim != 2 or not np.issubdtype(phi.dtype, np.floating):
        raise AttackError(
            f"features must be a float array of shape (count, n_features), not {phi.dtype} "
            f"of shape {phi.shape!r}"
        )
    r = np.asarray(bits)
    if r.shape != (phi.shape[0],):
        raise AttackError(f"bits must have shape ({phi.shape[0]},), not {r.shape!r}")
    integral = np.issubdtype(r.dtype, np.integer) or r.dtype == np.bool_
    if not integral or np.any((r != 0) & (r != 1)):
        raise AttackError("bits must hold only 0 and 1")
    return phi, r.astype(phi.dtype)


#: Rows per matrix product. OpenBLAS runs a product on several threads once it is big enough
#: (about 2**18 multiply-adds), and on a two-core machine with other work running those threads
#: wait on each other: a 200,000 x 65 x 5 product then takes seconds instead of milliseconds.
#: Products of 512 rows stay on one thread and cost a few percent more than one big product.
_BLOCK_ROWS = 512


def _linear(phi: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``phi @ weights.T`` (shape ``(count, k)``), in blocks of rows."""
    out = np.empty((phi.shape[0], weights.shape[0]), dtype=np.result_type(phi, weights))
    transposed = weights.T
    for start in range(0, phi.shape[0], _BLOCK_ROWS):
        out[start : start + _BLOCK_ROWS] = phi[start : start + _BLOCK_ROWS] @ transposed
    return out


def _project(coefficients: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``coefficients.T @ phi`` (shape ``(k, n_features)``), in blocks of rows."""
    out = np.zeros((coefficients.shape[1], phi.shape[1]), dtype=np.result_type(phi, coefficients))
    for start in range(0, phi.shape[0], _BLOCK_ROWS):
        block = slice(start, start + _BLOCK_ROWS)
        out += coefficients[block].T @ phi[block]
    return out


def _logits(weights: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    linear = _linear(phi, weights)
    return linear, np.prod(linear, axis=1)


def predict(weights: npt.ArrayLike, features: npt.ArrayLike) -> np.ndarray:
    """Predicted response bits (``uint8``) of a model for the given parity features."""
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    phi = np.asarray(features)
    if phi.ndim != 2 or phi.shape[1] != w.shape[1]:
        raise AttackError(
            f"features of shape {phi.shape!r} do not match weights of shape {w.shape!r}"
        )
    _, z = _logits(w.astype(phi.dtype, copy=False), phi)
    return (z > 0).astype(np.uint8)


def accuracy(weights: npt.ArrayLike, features: npt.ArrayLike, bits: npt.ArrayLike) -> float:
    """Fraction of *bits* the model predicts."""
    phi, r = _check(features, bits)
    return float(np.mean(predict(weights, phi) == r.astype(np.uint8)))


def _loss_and_gradient(
    weights: np.ndarray, phi: np.ndarray, r: np.ndarray
) -> tuple[float, np.ndarray]:
    linear, z = _logits(weights, phi)
    # Cross-entropy of sigma(z) against r, and its derivative with respect to z.
    loss = float(np.mean(np.logaddexp(0.0, z) - r * z))
    dz = (0.5 * (1.0 + np.tanh(0.5 * z)) - r) / phi.shape[0]
    k = weights.shape[0]
    if k == 1:
        others = np.ones_like(linear)
    else:
        # prod over m != l without dividing: prefix products times suffix products.
        prefix = np.ones_like(linear)
        suffix = np.ones_like(linear)
        for index in range(1, k):
            prefix[:, index] = prefix[:, index - 1] * linear[:, index - 1]
            suffix[:, k - 1 - index] = suffix[:, k - index] * linear[:, k - index]
        others = prefix * suffix
    gradient = _project(others * dz[:, None], phi)  # (k, n_features)
    return loss, gradient


def _rprop(
    weights: np.ndarray, phi: np.ndarray, r: np.ndarray, config: RpropConfig
) -> tuple[np.ndarray, int]:
    steps = np.full(weights.shape, config.initial_step, dtype=weights.dtype)
    previous = np.zeros_like(weights)
    history: list[float] = []
    iterations = 0
    while iterations < config.max_iterations:
        iterations += 1
        loss, gradient = _loss_and_gradient(weights, phi, r)
        history.append(loss)
        if len(history) > config.patience:
            old = history[-1 - config.patience]
            if old - loss <= config.tolerance * max(abs(old), 1e-12):
                break
        same = gradient * previous
        steps = np.where(same > 0, np.minimum(steps * config.increase, config.max_step), steps)
        steps = np.where(same < 0, np.maximum(steps * config.decrease, config.min_step), steps)
        gradient = np.where(same < 0, 0.0, gradient)
        weights = weights - np.sign(gradient) * steps
        previous = gradient
    return weights, iterations


def fit_xor_arbiter(
    features: npt.ArrayLike,
    bits: npt.ArrayLike,
    k: int,
    *,
    seed: int,
    restarts: int = 1,
    validation_fraction: float = 0.1,
    success_accuracy: float = 0.85,
    config: RpropConfig | None = None,
) -> AttackResult:
    """Learn a k-XOR arbiter PUF from CRPs by logistic regression on the parity features.

    Parameters
    ----------
    features : numpy.ndarray of float, shape (count, n_stages + 1)
        Parity features of the challenges (float32 halves the time of float64).
    bits : array_like of {0, 1}, shape (count,)
        The observed responses.
    k : int
        Chains of the model, 1..8.
    seed : int
        Seeds the split into training and validation CRPs and the initial weights.
    restarts : int
        Most random restarts; the attack stops at the first model whose validation accuracy
        reaches *success_accuracy* and otherwise keeps the best.
    validation_fraction : float
        Part of the CRPs held out to judge restarts (0 uses the training CRPs themselves).
    success_accuracy : float
        Validation accuracy that ends the restarts.
    config : RpropConfig, optional
        Optimiser settings.

    Raises
    ------
    AttackError
        The arrays have the wrong shape or content, or a setting is out of range.
    """
    phi, r = _check(features, bits)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 8:
        raise AttackError(f"k must be an integer in 1..8, not {k!r}")
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 1:
        raise AttackError(f"restarts must be a positive integer, not {restarts!r}")
    if not 0.0 <= validation_fraction < 1.0:
        raise AttackError(f"validation_fraction must be in [0, 1), not {validation_fraction!r}")
    config = config or RpropConfig()
    started = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence([seed, k, phi.shape[0]]))
    order = rng.permutation(phi.shape[0])
    held = round(validation_fraction * phi.shape[0])
    train, valid = order[held:], order[:held]
    if train.size == 0:
        raise AttackError(f"{phi.shape[0]} CRPs leave none to train on")
    phi_train, r_train = phi[train], r[train]
    phi_valid, r_valid = (phi[valid], r[valid]) if held else (phi_train, r_train)

    best = None
    total_iterations = 0
    runs = 0
    while runs < restarts:
        runs += 1
        # Each chain's linear form starts at about unit size, so the product is not saturated.
        initial = rng.standard_normal((k, phi.shape[1])) / np.sqrt(phi.shape[1])
        weights, iterations = _rprop(initial.astype(phi.dtype), phi_train, r_train, config)
        total_iterations += iterations
        score = accuracy(weights, phi_valid, r_valid.astype(np.uint8))
        if best is None or score > best[1]:
            best = (weights, score)
        if score >= success_accuracy:
            break
    weights, score = best
    return AttackResult(
        weights=weights.astype(np.float64),
        train_accuracy=accuracy(weights, phi_train, r_train.astype(np.uint8)),
        validation_accuracy=score,
        restarts=runs,
        iterations=total_iterations,
        seconds=time.perf_counter() - started,
    )
