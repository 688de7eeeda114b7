# amaranth: UnusedElaboratable=no
"""No counter overflows at the fastest corner with the default gate window and clock."""

import numpy as np

from ropuf.gateware.ro.array import ROArray
from ropuf.sim.ro_measure import MeasureConfig, measure_pairs, sim_load
from ropuf.sim.silicon import make_fleet
from ropuf.spec import ro_behavioural

CLOCK_HZ = 12e6
# Fastest corner of the rated range: cold (frequency falls with temperature) and +5 % supply.
FASTEST = (-20.0, 1.2 * 1.05)


def test_default_counters_hold_the_fastest_die_at_the_fastest_corner():
    array = ROArray(n_ro=256)  # the defaults: gate 4096 cycles, up to 32 edges per cycle
    dies = make_fleet(500, n_ro=256)
    fastest = max(float(die.frequencies(*FASTEST).max()) for die in dies)
    edges_per_cycle = fastest / CLOCK_HZ
    # The design margin: the fastest of 500 dies needs less than the width allows.
    assert edges_per_cycle < array.max_edges_per_cycle
    worst_count = edges_per_cycle * array.gate_cycles
    # Six sigma of noise on top (own jitter and common noise, relative to the count).
    params = dies[0].params
    sigma = np.hypot(params.jitter_sigma, params.common_noise_sigma) * worst_count
    assert worst_count + 6 * sigma < 2**array.count_width - 1


def test_model_reports_no_overflow_on_the_fastest_die():
    array = ROArray(n_ro=256)
    dies = make_fleet(200, n_ro=256)
    die = max(dies, key=lambda d: d.frequencies(*FASTEST).max())
    load = sim_load(die, *FASTEST, clock_hz=CLOCK_HZ, gate_cycles=array.gate_cycles)
    config = MeasureConfig(256, array.gate_cycles, array.count_width, array.soft_width)
    fastest_ro = int(np.argmax(load.rates))
    pairs = [(fastest_ro, (fastest_ro + 1) % 256)] * 50
    results, _ = measure_pairs(
        load.rates,
        pairs,
        config,
        seed=3,
        noise_scale=load.noise_scale,
        common_scale=load.common_scale,
    )
    assert not any(r.overflow for r in results)
    # The counts are the real ones, not saturated: within noise of the noise-free count.
    expected = int(load.rates[fastest_ro]) * array.gate_cycles / 2**ro_behavioural.RATE_FRAC
    assert all(abs(r.count_a - expected) < 0.002 * expected for r in results)
    assert max(r.count_a for r in results) < 2**array.count_width - 1


def test_counter_width_follows_gate_and_rate():
    assert ROArray(n_ro=4, gate_cycles=4096, max_edges_per_cycle=32).count_width == 18
    assert ROArray(n_ro=4, gate_cycles=1024, max_edges_per_cycle=32).count_width == 16
    assert ROArray(n_ro=4, gate_cycles=4096, max_edges_per_cycle=31.9).count_width == 17
