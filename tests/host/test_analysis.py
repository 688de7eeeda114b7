"""``ropuf analyze``: PUF figures of measured RO data, library and command line."""

import json

import numpy as np
import pytest

from ropuf.cli.main import main
from ropuf.host import metrics
from ropuf.host.analysis import PUBLISHED_HOST2010, analyze


def test_known_answers_on_built_data():
    # Chip 0: ROs rising (all bits 0); chip 1: falling (all bits 1); chip 2 like chip 0.
    base = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    freqs = np.repeat(base[:, :, None], 5, axis=2)
    freqs[0, 0, 0] = 2.5  # one sample of chip 0 flips its first bit (its mean 1.3 does not)
    result = analyze(freqs)
    assert result.n_bits == 2
    assert result.uniqueness == pytest.approx((1.0 + 0.0 + 1.0) / 3)
    assert result.intra_hd == pytest.approx((1 / 10) / 3)
    assert result.uniformity == pytest.approx(1 / 3)
    assert sorted(result.inter_hd.tolist()) == [0.0, 1.0, 1.0]


def test_rejects_wrong_shape():
    with pytest.raises(metrics.MetricsError, match=r"n_chips >= 2, n_ro, n_samples >= 2"):
        analyze(np.ones((1, 8, 3)))


def test_real_data_beside_published_figures(host2010, capsys):
    assert main(["analyze", "--dataset", str(host2010), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n_chips"] == 40 and figures["n_bits"] == 256
    # Chips 1-40 of the 193: close to the paper's 125-chip figures, not equal.
    assert abs(figures["uniqueness"] - PUBLISHED_HOST2010["uniqueness"]) < 0.015
    assert abs(figures["intra_hd"] - PUBLISHED_HOST2010["intra_hd"]) < 0.002
    assert 0.45 < figures["uniformity"] < 0.55


def test_plots_are_written(host2010, tmp_path, capsys):
    assert main(["analyze", "--dataset", str(host2010), "--plots", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "uniqueness (inter HD)" in out and "47.31%" in out
    for name in ("hd_histograms.png", "frequency_map.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_missing_dataset_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ROPUF_HOST2010", raising=False)
    assert main(["analyze"]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err == "ropuf analyze: error: no data set given: pass --dataset DIR or set ROPUF_HOST2010"
    )
    assert main(["analyze", "--dataset", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "no chip files found" in err and "\n" not in err
