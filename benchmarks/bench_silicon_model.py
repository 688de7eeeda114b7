"""The silicon model against the real HOST 2010 RO data, its worst corner, and its speed.

Usage::

    .venv/bin/python benchmarks/bench_silicon_model.py [DATA_FOLDER]

DATA_FOLDER defaults to $ROPUF_HOST2010, then ../shared/data/ropuf_host2010 beside the
repository. Without the data only the model columns, the corners and the timing are printed.
Prints:

1. each calibration statistic (sim/calibration.py) for the real chips, for the default model
   fleet of the same size (the one tests/sim/test_silicon.py checks), and the mean and sd over
   ``FLEETS`` model fleets, with the published HOST 2010 figures beside them;
2. the variance components behind the process defaults, real against model;
3. the intra-chip HD at the temperature and supply corners (BENCHMARKS.md) and the worst;
4. the wall time to generate and measure a fleet of 100 dies x 256 ROs.
"""

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from ropuf.host.dataset import DatasetError, dataset_dir_from_env, load_dataset
from ropuf.sim.calibration import (
    CORNERS,
    calibration_stats,
    corner_intra_hd,
    model_measurements,
    variance_components,
)
from ropuf.sim.silicon import DEFAULT_PARAMS, make_fleet, measure_fleet

#: Model fleets for the mean and sd column.
FLEETS = 20
#: Published for the full data set (HOST 2010, 125 chips).
PUBLISHED = {"uniqueness": 0.4731, "intra_hd": 0.0086}
#: How each statistic is shown: (label, scale, format).
ROWS = {
    "noise": ("per-RO noise, sample std / mean (median)", 1e4, "{:.3f}e-4"),
    "pair_noise": ("pair-difference noise / mean (median)", 1e4, "{:.3f}e-4"),
    "spread": ("within-chip spread of RO means", 100, "{:.3f} %"),
    "smooth_fraction": ("share explained by degree-2 surface", 1, "{:.3f}"),
    "die_spread": ("die-to-die spread of mean frequency", 100, "{:.2f} %"),
    "uniqueness": ("uniqueness (inter-chip HD)", 100, "{:.2f} %"),
    "intra_hd": ("intra-chip HD at 25 C, nominal", 100, "{:.3f} %"),
    "uniformity": ("uniformity", 100, "{:.2f} %"),
    "bit_aliasing_spread": ("bit-aliasing spread (std over bits)", 1, "{:.4f}"),
    "min_entropy": ("min-entropy per bit (bit-aliasing)", 1, "{:.4f}"),
}


def data_folder() -> Path | None:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    from_env = dataset_dir_from_env()
    if from_env is not None:
        return from_env
    beside = Path(__file__).resolve().parents[2] / "shared" / "data" / "ropuf_host2010"
    return beside if beside.is_dir() else None


def show(name: str, value: float) -> str:
    _, scale, fmt = ROWS[name]
    return fmt.format(value * scale)


def main() -> int:
    folder = data_folder()
    real = None
    shape = (40, 512, 100)
    if folder is not None:
        try:
            start = time.perf_counter()
            data = load_dataset(folder, expected_ro=512)
            loaded = time.perf_counter() - start
        except DatasetError as exc:
            print(f"real data not used: {exc}")
        else:
            print(f"real data: {data.n_chips} chips from {folder}, loaded in {loaded:.2f} s")
            real = calibration_stats(data.freqs, columns=data.columns)
            real_components = variance_components(data.freqs, columns=data.columns)
            shape = data.freqs.shape
    n_chips, n_ro, n_samples = shape

    model = calibration_stats(model_measurements(n_chips, n_ro, 16, n_samples))
    fleets = [
        calibration_stats(
            model_measurements(n_chips, n_ro, 16, n_samples, first_seed=1000 * k, noise_seed=k)
        )
        for k in range(FLEETS)
    ]
    print(f"model: {n_chips} dies x {n_ro} ROs x {n_samples} samples, default SiliconParams\n")

    header = (
        f"{'statistic':42s} {'real':>12s} {'model':>12s} {'model mean +- sd':>26s} "
        f"{'HOST 2010':>10s}"
    )
    print(header)
    print("-" * len(header))
    for name, (label, _, _) in ROWS.items():
        values = np.array([getattr(stats, name) for stats in fleets])
        spread = f"{show(name, values.mean())} +- {show(name, values.std())}"
        real_text = show(name, getattr(real, name)) if real else "-"
        published = show(name, PUBLISHED[name]) if name in PUBLISHED else ""
        print(
            f"{label:42s} {real_text:>12s} {show(name, getattr(model, name)):>12s} "
            f"{spread:>26s} {published:>10s}"
        )

    if real is not None:
        model_components = variance_components(model_measurements(n_chips, n_ro, 16, 2))
        print("\nvariance components of RO means (relative std, x 1e-3): real / model")
        for name, value in real_components.items():
            print(f"  {name:16s} {value * 1e3:7.3f} {model_components[name] * 1e3:7.3f}")

    corner_dies = make_fleet(40, 512, 16, first_seed=5000)
    points = [(25.0, 1.0), (-20.0, 1.0), (85.0, 1.0), (25.0, 0.95), (25.0, 1.05), *CORNERS]
    hd = corner_intra_hd(corner_dies, points, n_samples=10, rng=1)
    p = DEFAULT_PARAMS
    print(
        f"\nintra-chip HD vs a reference enrolled at 25 C, {p.v_nominal} V "
        f"(40 dies x 512 ROs, 256 neighbour pairs, 10 samples per point; tc = {p.tc_mean:g} "
        f"+- {p.tc_sigma:g} /K, vc = {p.vc_mean:g} +- {p.vc_sigma:g} per dV/V)"
    )
    for (temperature, supply), value in hd.items():
        print(f"  {temperature:6.1f} C  {supply * p.v_nominal:5.3f} V   {100 * value:6.3f} %")
    worst_point = max(CORNERS, key=lambda point: hd[point])
    print(
        f"  worst corner: {worst_point[0]:.0f} C, {worst_point[1] * p.v_nominal:.3f} V: "
        f"{100 * hd[worst_point]:.3f} %"
    )
    flat = dataclasses.replace(p, tc_sigma=0.0, vc_sigma=0.0)
    flat_hd = corner_intra_hd(make_fleet(40, 512, 16, flat, first_seed=5000), CORNERS, 10, rng=1)
    print(f"  worst corner without coefficient spread: {100 * max(flat_hd.values()):.3f} %")

    timings = []
    for _ in range(5):
        start = time.perf_counter()
        fleet = make_fleet(100, 256, 16, first_seed=10_000)
        made = time.perf_counter()
        measure_fleet(fleet, 25.0, None, 100, rng=0)
        done = time.perf_counter()
        timings.append((made - start, done - made))
    print("\nfleet of 100 dies x 256 ROs (best of 5; first run in brackets):")
    print(
        f"  generate {1e3 * min(t[0] for t in timings):.1f} ms [{1e3 * timings[0][0]:.1f}], "
        f"measure 100 samples each {1e3 * min(t[1] for t in timings):.1f} ms "
        f"[{1e3 * timings[0][1]:.1f}]"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
