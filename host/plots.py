"""PNG plots of PUF characterisation (matplotlib, Agg backend: no display needed)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from .analysis import Analysis

__all__ = ["plot_frequency_map", "plot_hd_histograms"]


def plot_hd_histograms(analysis: Analysis, path: Path, *, title: str = "") -> Path:
    """Inter-chip and intra-chip fractional HD histograms in one figure; returns *path*."""
    figure, axis = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0.0, 0.6, 121)
    axis.hist(
        analysis.intra_hd_per_sample,
        bins=bins,
        density=True,
        alpha=0.7,
        label=f"intra-chip (mean {analysis.intra_hd:.2%})",
    )
    axis.hist(
        analysis.inter_hd,
        bins=bins,
        density=True,
        alpha=0.7,
        label=f"inter-chip (mean {analysis.uniqueness:.2%})",
    )
    axis.set_xlabel("fractional Hamming distance")
    axis.set_ylabel("density")
    axis.set_title(title or f"{analysis.n_chips} chips, {analysis.n_bits} bits each")
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


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
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
