"""PNG plots of PUF characterisation (matplotlib, Agg backend: no display needed)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from .analysis import Analysis

__all__ = [
    "plot_corner_success",
    "plot_fleet_hd",
    "plot_frequency_map",
    "plot_hd_histograms",
]


def _save(figure, path: Path) -> Path:
    """Lay out, write as PNG (creating the folder) and close *figure*; return *path*."""
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_hd_histograms(analysis: Analysis, path: Path, *, title: str = "") -> Path:
    """Inter-chip and intra-chip fractional HD histograms in one figure; returns *path*."""
    figure, axis = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0.0, 0.6, 121)
    for values, label in (
        (analysis.intra_hd_per_sample, f"intra-chip (mean {analysis.intra_hd:.2%})"),
        (analysis.inter_hd, f"inter-chip (mean {analysis.uniqueness:.2%})"),
    ):
        axis.hist(values, bins=bins, density=True, alpha=0.7, label=label)
    axis.set_xlabel("fractional Hamming distance")
    axis.set_ylabel("density")
    axis.set_title(title or f"{analysis.n_chips} chips, {analysis.n_bits} bits each")
    axis.legend()
    return _save(figure, path)


def plot_frequency_map(
    means: np.ndarray, columns: int, path: Path, *, title: str = "RO frequency map"
) -> Path:
    """A die's RO mean frequencies on its placement grid (relative to the die mean, %)."""
    values = np.asarray(means, dtype=np.float64)
    grid = (values / values.mean() - 1.0).reshape(-1, columns) * 100.0
    figure, axis = plt.subplots(figsize=(5, 7))
    image = axis.imshow(grid, origin="lower", cmap="coolwarm", aspect="auto")
    figure.colorbar(image, ax=axis, label="frequency - die mean (%)")
    axis.set_xlabel("column (x)")
    axis.set_ylabel("row (y)")
    axis.set_title(title)
    return _save(figure, path)


def plot_fleet_hd(
    inter_hd: np.ndarray, intra_hd: dict[str, np.ndarray], path: Path, *, title: str = ""
) -> Path:
    """Inter-chip HD of a fleet beside its per-die intra-chip HD at each corner; returns *path*.

    Parameters
    ----------
    inter_hd : array_like
        Every pairwise inter-chip fractional HD.
    intra_hd : dict
        Corner label -> per-die mean intra-chip fractional HD at that corner.
    """
    figure, axis = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0.0, 0.6, 121)
    inter = np.asarray(inter_hd, dtype=np.float64)
    for corner, per_die in intra_hd.items():
        values = np.asarray(per_die, dtype=np.float64)
        axis.hist(
            values,
            bins=bins,
            alpha=0.6,
            density=True,
            label=f"intra {corner} (mean {values.mean():.2%})",
        )
    axis.hist(
        inter,
        bins=bins,
        alpha=0.6,
        density=True,
        color="black",
        label=f"inter-chip (mean {inter.mean():.2%})",
    )
    axis.set_xlabel("fractional Hamming distance")
    axis.set_ylabel("density")
    axis.set_title(title or "fleet: inter-chip HD and intra-chip HD per corner")
    axis.legend(fontsize=7)
    return _save(figure, path)


def plot_corner_success(
    labels: list[str],
    success: list[float],
    key_bit_error: list[float],
    correctable: float,
    path: Path,
    *,
    title: str = "",
) -> Path:
    """Key-reconstruction success and key-bit error rate per corner, side by side.

    Parameters
    ----------
    labels : list of str
        Corner names.
    success : list of float
        Fraction of reconstruct-and-attest attempts accepted at each corner.
    key_bit_error : list of float
        Error rate of the key-carrying bits at each corner.
    correctable : float
        The code's correctable fraction ``t / n``, drawn as a line.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(labels))
    left.bar(x, np.asarray(success) * 100.0, color="tab:green")
    left.set_ylim(0, 105)
    left.set_ylabel("attested (%)")
    left.set_title("key reconstruction + attestation")
    right.bar(x, np.asarray(key_bit_error) * 100.0, color="tab:orange")
    for position, value in zip(x, key_bit_error, strict=True):
        right.annotate(
            f"{value:.3%}", (position, value * 100.0), ha="center", va="bottom", fontsize=7
        )
    right.axhline(
        correctable * 100.0,
        color="tab:red",
        linestyle="--",
        label=f"code corrects {correctable:.1%}",
    )
    right.set_ylabel("key-bit error (%)")
    right.set_title("error rate of the selected bits")
    right.legend(fontsize=8)
    for axis in (left, right):
        axis.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    figure.suptitle(title or "fleet at its corners (enrolled at 25 C)")
    return _save(figure, path)


def plot_ber_vs_temperature(
    points: list[tuple[float, float, float, float]], path: Path, *, title: str = ""
) -> Path:
    """Bit-error rate against temperature, one line per supply voltage.

    Parameters
    ----------
    points : list of (temperature, voltage, raw_ber, key_bit_error)
        Per corner: the raw response bit-error rate (intra-chip HD against the enrollment
        reference) and the error rate of the selected, key-carrying bits.
    """
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for voltage in sorted({v for _, v, _, _ in points}):
        rows = sorted((t, raw, key) for t, v, raw, key in points if v == voltage)
        temperatures = [t for t, _, _ in rows]
        axis.plot(
            temperatures, [100 * raw for _, raw, _ in rows], "o-", label=f"all bits, {voltage} V"
        )
        axis.plot(
            temperatures, [100 * key for _, _, key in rows], "s--", label=f"key bits, {voltage} V"
        )
    axis.set_xlabel("temperature (C)")
    axis.set_ylabel("bit-error rate against the enrollment (%)")
    axis.set_title(title or "bit-error rate against temperature")
    axis.grid(True, lw=0.3)
    axis.legend(fontsize=7)
    return _save(figure, path)


def plot_key_failure_vs_ber(
    curve: tuple[list[float], list[float]],
    measured: list[tuple[float, int, int, str]],
    path: Path,
    *,
    title: str = "",
) -> Path:
    """Key failure against raw bit-error rate: the construction's model curve and measured
    corners.

    Parameters
    ----------
    curve : (bers, failures)
        Model key-failure probability at each raw bit-error rate.
    measured : list of (raw_ber, failures, attempts, label)
        Corners; a corner with no failure is drawn at ``1 / attempts`` as an upper bound
        (a downward triangle).
    """
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    bers, failures = curve
    axis.semilogy(
        [100 * b for b in bers], np.maximum(failures, 1e-30), "-", label="model (masked + BCH)"
    )
    for ber, failed, attempts, label in measured:
        if attempts == 0:
            continue
        if failed:
            axis.semilogy(100 * ber, failed / attempts, "ko")
        else:
            axis.semilogy(100 * ber, 1 / attempts, "kv")
        axis.annotate(label, (100 * ber, max(failed, 1) / attempts), fontsize=6)
    axis.set_xlabel("raw bit-error rate (%)")
    axis.set_ylabel("key-failure probability")
    axis.set_ylim(1e-20, 1.5)
    axis.grid(True, which="both", lw=0.3)
    axis.legend(fontsize=8, title="corners: o failed, v none failed (bound 1/attempts)")
    axis.set_title(title or "key failure against raw bit-error rate")
    return _save(figure, path)
