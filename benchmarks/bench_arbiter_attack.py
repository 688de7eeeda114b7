"""Modeling attack on k-XOR arbiter PUFs: prediction accuracy and attack time against CRPs.

Usage::

    .venv/bin/python benchmarks/bench_arbiter_attack.py [build/arbiter_attack.png]

For k = 1..5 chains of 64 stages, one simulated die each (``ropuf.sim.arbiter_model``, default
parameters), the attacker collects CRPs as anyone on the link sees them, one noisy evaluation
per challenge at 25 C, and fits the product-of-linear-models logistic regression
(``ropuf.host.arbiter_attack``, Rprop, up to 4 random restarts for k > 1). Accuracy is
measured on 10,000 fresh challenges against the die's noise-free answers. Prints one row per
(k, CRPs), then the fewest CRPs that reached 95 % and 98 % for each k, and writes a two-panel
PNG (accuracy and fit time against CRPs). The grid stops at 200,000 CRPs so that the whole run
takes a few minutes on two cores; a k that reaches neither mark by then needs more than that.
Everything is seeded: the same run gives the same table (times apart).
"""

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from ropuf.host.arbiter_attack import accuracy, fit_xor_arbiter
from ropuf.sim.arbiter_model import ArbiterDie, parity_features, random_challenges

N_STAGES = 64
KS = (1, 2, 3, 4, 5)
CRPS = (500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
RESTARTS = 4
TEST_CRPS = 10_000
MARKS = (0.95, 0.98)


def run_point(die: ArbiterDie, count: int, test: tuple[np.ndarray, np.ndarray]) -> dict:
    """Fit on *count* noisy CRPs of *die*; accuracy on the held-out noise-free *test* set."""
    challenges = random_challenges(count, N_STAGES, rng=count + 7 * die.k)
    features = parity_features(challenges, N_STAGES, np.float32)
    bits = die.responses(challenges, rng=count + 11 * die.k)
    restarts = 1 if die.k == 1 else RESTARTS
    model = fit_xor_arbiter(features, bits, die.k, seed=die.k, restarts=restarts)
    return {
        "k": die.k,
        "crps": count,
        "accuracy": accuracy(model.weights, *test),
        "seconds": model.seconds,
        "restarts": model.restarts,
        "iterations": model.iterations,
    }


def plot(rows: list[dict], path: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k in KS:
        points = [row for row in rows if row["k"] == k]
        crps = [row["crps"] for row in points]
        left.plot(crps, [100 * row["accuracy"] for row in points], "o-", label=f"k = {k}")
        right.plot(crps, [row["seconds"] for row in points], "o-", label=f"k = {k}")
    for mark in MARKS:
        left.axhline(100 * mark, color="grey", lw=0.6, ls="--")
    left.set_xscale("log")
    left.set_xlabel("training CRPs (one noisy evaluation each)")
    left.set_ylabel("prediction accuracy on fresh challenges (%)")
    left.set_ylim(45, 100)
    left.set_title(f"Logistic regression on {N_STAGES}-stage k-XOR arbiter PUFs")
    left.legend()
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("training CRPs")
    right.set_ylabel("fit time, restarts included (s)")
    right.set_title("Attack time (numpy, Rprop)")
    right.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "build/arbiter_attack.png")
    started = time.perf_counter()
    rows = []
    print(f"Modeling attack on {N_STAGES}-stage k-XOR arbiter PUFs (one die per k)")
    print(f"{'k':>2} {'CRPs':>8} {'accuracy':>9} {'fit s':>8} {'restarts':>8} {'iterations':>10}")
    for k in KS:
        die = ArbiterDie(2010 + k, N_STAGES, k)
        test_challenges = random_challenges(TEST_CRPS, N_STAGES, rng=5000 + k)
        test = (
            parity_features(test_challenges, N_STAGES, np.float32),
            die.responses(test_challenges),
        )
        for count in CRPS:
            row = run_point(die, count, test)
            rows.append(row)
            print(
                f"{k:>2} {count:>8,} {100 * row['accuracy']:>8.2f}% {row['seconds']:>8.2f} "
                f"{row['restarts']:>8} {row['iterations']:>10}",
                flush=True,
            )
    print()
    print("CRPs needed (first grid point that reached the mark; grid ends at 200,000):")
    for k in KS:
        cells = []
        for mark in MARKS:
            reached = [row["crps"] for row in rows if row["k"] == k and row["accuracy"] >= mark]
            cells.append(f"{mark:.0%}: {min(reached):,}" if reached else f"{mark:.0%}: > 200,000")
        best = max(row["accuracy"] for row in rows if row["k"] == k)
        print(f"  k = {k}:  " + ",  ".join(cells) + f"  (best {best:.2%})")
    plot(rows, path)
    print(f"plot: {path}")
    print(f"total time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
