"""divergence: explosions and climbs found right at their thresholds (the detector
skips curves that provably cannot reach them, so the edge must still count)."""

from __future__ import annotations

import numpy as np

from loganalyzer.detectors.divergence import Explosion, stays_up


def test_a_rise_just_past_min_rel_rise_above_the_best_is_an_explosion():
    best = 0.8
    for above, found in ((np.nextafter(best * 1.25, 2.0), 3), (best * 1.25, None)):
        y = np.array([1.0, 0.9, best, above, above, above, above])
        got = Explosion(min_rise_sigma=0.0, min_lost_fraction=0.0, min_rel_rise=0.25).fit(y)
        assert got.predict() == found


def test_a_loss_ending_at_exactly_twice_its_best_level_has_climbed_back():
    y = np.array([4.0, 2.0, 1.0, 1.0, 2.1, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert stays_up(y, 2.0) == 2  # ends at exactly 2x the best level, most later points above 1.5x
    assert stays_up(y, np.nextafter(2.0, 3.0)) is None
