"""Per-RO design offsets: the estimate, the build's integers and pair thresholds, the file."""

import json

import numpy as np
import pytest

from ropuf.host.design_offsets import (
    KIND,
    MIN_DEVICES,
    DesignOffsetsError,
    as_build_offsets,
    estimate_offsets,
    load_offsets,
    pair_thresholds,
    save_offsets,
)
from ropuf.spec.device_config import OFFSET_LIMIT, DeviceConfig


def test_the_estimate_is_the_design_part_without_each_die_s_speed():
    rng = np.random.default_rng(1)
    design = 300 * rng.standard_normal(128)
    design -= design.mean()
    speed = 2000 * rng.standard_normal((40, 1))  # each die's own overall speed
    counts = 10_000 + speed + design + 10 * rng.standard_normal((40, 128))
    offsets = estimate_offsets(counts)
    assert np.all(np.abs(offsets - design) < 8)  # 10 / sqrt(40) per RO, a few sigma
    assert np.all(offsets == np.round(offsets, 2))
    exact = (counts - counts.mean(axis=1, keepdims=True)).mean(axis=0)
    assert offsets == pytest.approx(exact, abs=0.005)
    with pytest.raises(DesignOffsetsError, match=f"characterise at least {MIN_DEVICES}"):
        estimate_offsets(counts[: MIN_DEVICES - 1])
    with pytest.raises(DesignOffsetsError, match="shape"):
        estimate_offsets(counts[0])


def test_build_offsets_round_each_ro_then_thresholds_are_their_differences():
    # Each RO rounded on its own (halves to even), THEN the differences: round(10.4) -
    # round(-3.2) = 13, where round(10.4 + 3.2) would be 14.
    offsets = as_build_offsets([10.4, -3.2, 0.5, 7.0, -0.51, 2.5])
    assert offsets == (10, -3, 0, 7, -1, 2) and all(type(v) is int for v in offsets)
    pairs = [(0, 1), (2, 4), (3, 4), (1, 2)]
    assert pair_thresholds(offsets, pairs).tolist() == [13, 1, 8, -3]
    config = DeviceConfig(variant="enrollment", n_ro=6, stages=5, gate_cycles=1024,
                          max_edges_per_cycle=32.0, offsets=offsets)  # fmt: skip
    assert pair_thresholds(offsets, pairs).tolist() == [config.threshold(a, b) for a, b in pairs]
    assert pair_thresholds(None, pairs).tolist() == [0] * 4
    with pytest.raises(TypeError, match="integer offsets"):
        pair_thresholds(np.array([10.4, -3.2]), [(0, 1)])
    assert as_build_offsets([1.0, 2.0, 3.0], n_ro=2) == (1, 2)
    assert as_build_offsets([OFFSET_LIMIT + 0.4, -OFFSET_LIMIT]) == (OFFSET_LIMIT, -OFFSET_LIMIT)
    for values, message in (
        ([OFFSET_LIMIT + 0.6], "outside"),
        ([float("nan")], "finite"),
        ([[1.0, 2.0]], "per-RO numbers"),
    ):
        with pytest.raises(DesignOffsetsError, match=message):
            as_build_offsets(values)
    with pytest.raises(DesignOffsetsError, match="must be 3 per-RO numbers"):
        as_build_offsets([1.0, 2.0], n_ro=3)


def test_file_round_trip_and_checks(tmp_path):
    path = tmp_path / "design.json"
    offsets = np.array([1.234, -5.0, 0.006, 12.5])
    save_offsets(path, offsets, gate_cycles=1024, devices=9)
    data = json.loads(path.read_text())
    assert (data["kind"], data["version"], data["devices"]) == (KIND, 1, 9)
    loaded = load_offsets(path, ros=4, gate_cycles=1024)
    assert loaded.tolist() == [1.23, -5.0, 0.01, 12.5]
    assert load_offsets(path, ros=2, gate_cycles=None).shape == (4,)  # more ROs are fine
    with pytest.raises(DesignOffsetsError, match=r"holds 4 RO offsets; .* uses 8 ROs"):
        load_offsets(path, ros=8, gate_cycles=1024)
    with pytest.raises(DesignOffsetsError, match="1024-cycle gate; the device counts over 4096"):
        load_offsets(path, ros=4, gate_cycles=4096)
    # The neighbour-pair construction's per-pair thresholds: refused, with what to do.
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"kind": "ropuf design thresholds", "thresholds": [1, 2]}))
    with pytest.raises(DesignOffsetsError, match=r"per-pair thresholds .* 'ropuf thresholds'"):
        load_offsets(old, ros=2, gate_cycles=None)
    for bad, message in (
        ({**data, "version": 2}, "version 2; this reader knows version 1"),
        ({**data, "kind": "something"}, "not a ropuf design-offsets file"),
        ({**data, "offsets": [1, "x", 2, 3]}, "finite numbers"),
        ({**data, "offsets": [1, True, 2, 3]}, "finite numbers"),
        ([1, 2], "not a ropuf design-offsets file"),
    ):
        path.write_text(json.dumps(bad))
        with pytest.raises(DesignOffsetsError, match=message):
            load_offsets(path, ros=4, gate_cycles=None)
    path.write_text("{")
    with pytest.raises(DesignOffsetsError, match="cannot read design offsets"):
        load_offsets(path, ros=4, gate_cycles=None)
