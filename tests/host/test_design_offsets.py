"""Per-RO design offsets: the estimate, the pair thresholds derived from them, the file."""

import json

import numpy as np
import pytest

from ropuf.host.design_offsets import (
    KIND,
    MIN_DEVICES,
    DesignOffsetsError,
    estimate_offsets,
    load_offsets,
    pair_thresholds,
    save_offsets,
)


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


def test_pair_thresholds_are_rounded_offset_differences():
    offsets = np.array([10.4, -3.2, 0.5, 7.0, -0.51])
    assert pair_thresholds(offsets, [(0, 1), (2, 4), (3, 4), (1, 2)]).tolist() == [14, 1, 8, -4]
    with pytest.raises(DesignOffsetsError, match="outside signed 16 bits"):
        pair_thresholds(np.array([40_000.0, 0.0]), [(0, 1)])


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
