"""The silicon model: calibration against the HOST 2010 data, determinism, validation, corners."""

import dataclasses
import math
import re

import numpy as np
import pytest

from ropuf.host import metrics
from ropuf.host.dataset import load_dataset
from ropuf.sim.calibration import (
    CORNERS,
    CalibrationError,
    calibration_stats,
    corner_intra_hd,
    model_measurements,
    variance_components,
)
from ropuf.sim.silicon import (
    DEFAULT_PARAMS,
    Die,
    SiliconParams,
    fleet_frequencies,
    grid_positions,
    make_fleet,
    measure_fleet,
    surface_basis,
)

# --- calibration against the real data ------------------------------------------------------------
#
# Each tolerance is about three standard deviations of the difference between two independent
# 40-chip samples: the model's own fleet-to-fleet standard deviation (20 fleets of 40 dies, fleet
# k with die seeds from 1000 k and noise seed k, as benchmarks/bench_silicon_model.py prints
# them) times sqrt(2), because
# the 40 real chips are themselves one sample. Rounded up; docs/silicon-model.md has the table.
# (kind, tolerance): "rel" is |model / real - 1|, "abs" is |model - real|.
TOLERANCES = {
    # Fleet sd 0.5 % -> 2 %; widened to 5 % because real chips differ in common-mode noise
    # (per-chip std 0.8e-4 to 7.8e-4), which the model gives every die alike.
    "noise": ("rel", 0.05),
    # Fleet sd 0.1 % (the pair difference cancels the common-mode part) -> 0.5 %; widened to 3 %
    # because real chips differ (per-chip medians 1.8e-4 to 2.3e-4): about 1 % sampling error
    # over 40 chips, which the model's alike dies lack.
    "pair_noise": ("rel", 0.03),
    # Fleet sd 2.3 % -> 3 * sqrt(2) * 2.3 % = 10 %.
    "spread": ("rel", 0.10),
    # Fleet sd 0.020 -> 0.085.
    "smooth_fraction": ("abs", 0.085),
    # Fleet sd 0.008 (40 die offsets) -> 0.035.
    "die_spread": ("abs", 0.035),
    # Fleet sd 0.0027 -> 0.012 (1.2 percentage points of HD).
    "uniqueness": ("abs", 0.012),
    # Fleet sd 4 % of the value, but the real 40-chip figure has its own, larger error: per-chip
    # intra HD ranges 0.4-1.7 %, so its standard error over 40 chips is 0.05 points (6 %).
    # 3 * sqrt(4^2 + 6^2) % = 22 % -> 20 % relative (the published 125-chip figure, 0.86 %,
    # sits between model and this subset).
    "intra_hd": ("rel", 0.20),
    # Fleet sd 0.006 -> 0.025; widened to 0.03 because uniformity is set mostly by the layout
    # (one draw per design: its sd over layout seeds is 3.7 points), and the model's layout
    # sits 1.7 points below the real 52.2 % on average over fleets.
    "uniformity": ("abs", 0.03),
    # Fleet sd 0.0042 -> 0.018 -> 0.02.
    "bit_aliasing_spread": ("abs", 0.02),
    # Fleet sd 0.008 -> 0.035.
    "min_entropy": ("abs", 0.035),
}


@pytest.fixture(scope="module")
def real_stats(host2010):
    return calibration_stats(load_dataset(host2010, expected_ro=512).freqs, columns=16)


@pytest.fixture(scope="module")
def model_stats():
    return calibration_stats(model_measurements(40, 512, 16, 100), columns=16)


@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_model_reproduces_real_statistic(real_stats, model_stats, name):
    kind, tolerance = TOLERANCES[name]
    real = getattr(real_stats, name)
    model = getattr(model_stats, name)
    error = abs(model / real - 1.0) if kind == "rel" else abs(model - real)
    assert error <= tolerance, f"{name}: real {real:.6g}, model {model:.6g} ({kind} {error:.3g})"


def test_model_reproduces_real_variance_components(host2010):
    # The split of within-chip variation into surface, rows, columns and rest, shared by all
    # chips or each chip's own (the basis of the process defaults). The model's fleet-to-fleet
    # sd is 1-7 % of each component; 25 % relative leaves room for the real data's own sampling
    # error and still catches a 1.5x change of any row, column or per-RO sigma.
    real = variance_components(load_dataset(host2010, expected_ro=512).freqs, columns=16)
    model = variance_components(model_measurements(40, 512, 16, 2), columns=16)
    for name, value in real.items():
        assert model[name] == pytest.approx(value, rel=0.25), (name, value, model[name])


def test_real_data_matches_the_published_figures(real_stats):
    # HOST 2010 (125 chips): inter-chip 47.31 %, intra-chip 0.86 %. Chips 1-40 are a subset, so
    # agreement within a couple of points of HD (inter) and within 0.2 points (intra).
    assert real_stats.uniqueness == pytest.approx(0.4731, abs=0.02)
    assert real_stats.intra_hd == pytest.approx(0.0086, abs=0.002)


def test_calibration_stats_rejects_bad_shapes():
    with pytest.raises(CalibrationError, match=r"not \(1, 8, 3\)"):
        calibration_stats(np.ones((1, 8, 3)))
    with pytest.raises(CalibrationError, match=r"columns=3 does not divide n_ro=8"):
        calibration_stats(np.ones((2, 8, 3)), columns=3)


def test_calibration_stats_on_a_hand_built_case():
    # Two chips, four ROs in one row, two samples. Chip 0: pairs (10 > 9), (7 < 8). Chip 1:
    # reversed. Uniqueness 1, no sample disagrees with the mean, no noise on RO 0.
    chip0 = np.array([[10.0, 10.0], [9.0, 9.0], [7.0, 7.0], [8.0, 8.0]])
    chip1 = chip0[[1, 0, 3, 2]]
    stats = calibration_stats(np.stack([chip0, chip1]), columns=4)
    assert stats.uniqueness == 1.0
    assert stats.intra_hd == 0.0
    assert stats.noise == 0.0
    assert stats.uniformity == 0.5
    assert stats.bit_aliasing_spread == 0.0
    assert stats.spread == pytest.approx(np.std([10, 9, 7, 8], ddof=1) / 8.5)


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_same_die():
    a, b = Die(7, 256, 16), Die(7, 256, 16)
    for name in ("nominal_hz", "systematic", "random", "tc", "vc"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.frequencies(70.0, 1.1), b.frequencies(70.0, 1.1))


def test_different_seeds_differ():
    assert not np.array_equal(Die(7).nominal_hz, Die(8).nominal_hz)


def test_params_scale_the_same_draws():
    base = Die(3, 64, 8)
    doubled = Die(
        3, 64, 8, dataclasses.replace(DEFAULT_PARAMS, tc_sigma=2 * DEFAULT_PARAMS.tc_sigma)
    )
    assert np.allclose(doubled.tc - DEFAULT_PARAMS.tc_mean, 2 * (base.tc - DEFAULT_PARAMS.tc_mean))
    assert np.array_equal(doubled.nominal_hz, base.nominal_hz)


def test_noise_comes_only_from_the_noise_generator():
    die = Die(11, 64, 8)
    first = die.measure(25.0, None, 5, rng=np.random.default_rng(1))
    again = die.measure(25.0, None, 5, rng=1)
    other = die.measure(25.0, None, 5, rng=2)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.array_equal(die.nominal_hz, Die(11, 64, 8).nominal_hz)  # measuring changed nothing


def test_fleet_is_consecutive_seeds():
    fleet = make_fleet(4, 64, 8, first_seed=10)
    assert [die.seed for die in fleet] == [10, 11, 12, 13]
    assert np.array_equal(fleet[2].nominal_hz, Die(12, 64, 8).nominal_hz)
    stacked = fleet_frequencies(fleet, 40.0, 1.15)
    assert np.array_equal(stacked, np.stack([die.frequencies(40.0, 1.15) for die in fleet]))
    assert measure_fleet(fleet, 40.0, 1.15, 3, rng=0).shape == (4, 64, 3)


# --- the model's equations ------------------------------------------------------------------------


def test_positions_follow_the_host2010_line_order():
    positions = grid_positions(512, 16)
    assert positions[15].tolist() == [15, 0]
    assert positions[16].tolist() == [0, 1]
    assert np.array_equal(Die(0).positions, positions)
    assert surface_basis(512, 16).shape == (512, 5)


def test_frequency_equation():
    die = Die(5, 128, 16)
    p = die.params
    assert np.array_equal(die.frequencies(), die.nominal_hz)
    assert np.allclose(die.nominal_hz, p.f_nominal_hz * (1 + die.systematic + die.random))
    hot = die.frequencies(85.0)
    assert np.allclose(hot, die.nominal_hz * (1 + die.tc * 60.0))
    high = die.frequencies(25.0, 1.05 * p.v_nominal)
    assert np.allclose(high, die.nominal_hz * (1 + die.vc * 0.05))
    # Frequency falls with temperature and rises with supply, as for CMOS ring oscillators.
    assert np.all(hot < die.nominal_hz)
    assert np.all(high > die.nominal_hz)


def test_measurement_noise_has_the_calibrated_size():
    die = Die(2, 512, 16)
    samples = die.measure(25.0, None, 400, rng=3)
    relative = samples / die.nominal_hz[:, None] - 1.0
    p = die.params
    total = math.hypot(p.jitter_sigma, p.common_noise_sigma)
    assert relative.std() == pytest.approx(total, rel=0.1)
    pair = relative[0::2] - relative[1::2]  # the shared part cancels
    assert pair.std() == pytest.approx(math.sqrt(2) * p.jitter_sigma, rel=0.05)


# --- argument validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_ro": 0}, "n_ro must be an integer of at least 1, not 0"),
        ({"n_ro": -8}, "n_ro must be an integer of at least 1, not -8"),
        ({"n_ro": 64.0}, "n_ro must be an integer of at least 1, not 64.0"),
        ({"columns": 0}, "columns must be an integer of at least 1, not 0"),
        ({"n_ro": 512, "columns": 15}, "columns=15 does not divide n_ro=512"),
        ({"seed": -1}, "seed must be a non-negative integer, not -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer, not 1.5"),
        ({"seed": True}, "seed must be a non-negative integer, not True"),
        ({"params": {"jitter_sigma": 1e-4}}, "params must be a SiliconParams, not {'jitter_sigma'"),
    ],
)
def test_die_rejects_bad_arguments(kwargs, message):
    arguments = {"seed": 0, "n_ro": 64, "columns": 8, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        Die(**arguments)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("jitter_sigma", -1e-4, "jitter_sigma must be zero or positive, not -0.0001"),
        ("random_sigma", float("nan"), "random_sigma must be finite, not nan"),
        ("tc_mean", "fast", "tc_mean must be a number, not 'fast'"),
        ("v_nominal", 0.0, "v_nominal must be positive, not 0.0"),
        ("f_nominal_hz", -2e8, "f_nominal_hz must be positive, not -200000000.0"),
        ("layout_seed", -3, "layout_seed must be a non-negative integer, not -3"),
    ],
)
def test_params_reject_bad_values(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SiliconParams(**{field: value})


def test_operating_point_and_measurement_validation():
    die = Die(0, 64, 8)
    with pytest.raises(
        ValueError, match=re.escape("voltage must be positive and finite, not -1.2")
    ):
        die.frequencies(25.0, -1.2)
    with pytest.raises(
        ValueError, match="temperature must be a plausible degrees C value, not nan"
    ):
        die.frequencies(float("nan"))
    with pytest.raises(ValueError, match="n_samples must be an integer of at least 1, not 0"):
        die.measure(25.0, None, 0, rng=0)
    with pytest.raises(ValueError, match="rng must be a numpy Generator or a non-negative"):
        die.measure(25.0, None, 1, rng="seed")
    with pytest.raises(ValueError, match=r"dies differ in RO count: \[64, 128\]"):
        fleet_frequencies([die, Die(1, 128, 8)])
    with pytest.raises(ValueError, match=r"n_dies must be an integer of at least 1, not 0"):
        make_fleet(0)


# --- temperature and voltage corners --------------------------------------------------------------


@pytest.fixture(scope="module")
def corner_fleet():
    return make_fleet(40, 512, 16, first_seed=5000)


def test_worst_corner_intra_hd_is_a_few_percent(corner_fleet):
    corners = corner_intra_hd(corner_fleet, CORNERS, n_samples=10, rng=1)
    assert set(corners) == set(CORNERS)
    worst = max(corners.values())
    # BENCHMARKS.md: the worst corner of -20 / 85 C and +-5 % supply against a 25 C, nominal
    # reference. "A few percent" with the default coefficient spread (docs/silicon-model.md).
    assert 0.01 <= worst <= 0.08, corners
    nominal = corner_intra_hd(corner_fleet, [(25.0, 1.0)], n_samples=10, rng=1)[(25.0, 1.0)]
    assert nominal < 0.5 * worst


def test_corner_flips_come_from_the_coefficient_spread():
    # Without per-RO spread of the coefficients every RO scales alike and pair order is kept,
    # so the corners are no worse than nominal conditions.
    flat = dataclasses.replace(DEFAULT_PARAMS, tc_sigma=0.0, vc_sigma=0.0)
    fleet = make_fleet(20, 256, 16, flat)
    corners = corner_intra_hd(fleet, [*CORNERS, (25.0, 1.0)], n_samples=10, rng=4)
    nominal = corners.pop((25.0, 1.0))
    assert max(corners.values()) == pytest.approx(nominal, abs=0.003)


def test_reference_is_enrolled_at_nominal_conditions():
    fleet = make_fleet(3, 64, 8)
    enrol = measure_fleet(fleet, 25.0, None, 100, rng=np.random.default_rng(9))
    reference = metrics.reference_response(enrol, metrics.neighbour_pairs(64))
    noise_free = metrics.responses(fleet_frequencies(fleet), metrics.neighbour_pairs(64))
    # Averaging 100 samples recovers the noise-free order for all but razor-thin pairs.
    assert metrics.hamming_distance(reference, noise_free).mean() < 0.01
