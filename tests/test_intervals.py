"""The one bootstrap every lesson's verdict comes from (`bertcourse.intervals`)."""

from __future__ import annotations

import numpy as np
import pytest

from bertcourse import intervals


def test_bootstrap_of_a_mean_is_the_percentile_interval_of_the_resampled_means() -> None:
    values = np.random.default_rng(0).random(50)
    result = intervals.mean_interval(values, resamples=400, seed=3)
    draws = np.random.default_rng(3).integers(0, 50, (400, 50))          # the same draws, by hand
    low, high = np.percentile(values[draws].mean(axis=1), [2.5, 97.5])
    assert result == intervals.Interval(pytest.approx(values.mean()), pytest.approx(low), pytest.approx(high))
    assert result.level == 0.95 and result.low < result.value < result.high


def test_interval_shrinks_with_more_examples_and_is_a_point_for_constant_values() -> None:
    hits = np.array([0.0, 1.0] * 20)
    wide = intervals.mean_interval(hits)
    narrow = intervals.mean_interval(np.tile(hits, 25))
    assert wide.low < 0.5 < wide.high and narrow.high - narrow.low < (wide.high - wide.low) / 3
    assert intervals.mean_interval(np.ones(30)) == intervals.Interval(1.0, 1.0, 1.0)


def test_a_paired_difference_resamples_the_same_examples_for_both_systems() -> None:
    rng = np.random.default_rng(1)
    a = (rng.random(200) < 0.7).astype(float)
    b = np.where(rng.random(200) < 0.9, a, 1 - a)     # agrees with A on most examples
    paired = intervals.bootstrap(intervals.difference(intervals.mean_of(a), intervals.mean_of(b)), 200)
    by_differences = intervals.mean_interval(a - b)  # the difference of means is the mean of differences
    assert (paired.value, paired.low, paired.high) == pytest.approx((by_differences.value, by_differences.low, by_differences.high))
    unpaired_width = 2 * 1.96 * np.sqrt(a.var() / 200 + b.var() / 200)
    assert paired.high - paired.low < unpaired_width / 2      # pairing removes what both share


def test_per_row_applies_a_corpus_metric_to_each_resample_and_seeds_reproduce() -> None:
    values = np.arange(10.0)
    median = intervals.per_row(lambda row: float(np.median(values[row])))
    first, again = intervals.bootstrap(median, 10, resamples=100), intervals.bootstrap(median, 10, resamples=100)
    assert first == again and first.value == 4.5
    assert intervals.bootstrap(median, 10, resamples=100, seed=1) != first


@pytest.mark.parametrize(("interval", "words"), [
    (intervals.Interval(0.1, 0.02, 0.2), "A is better than B"),
    (intervals.Interval(-0.1, -0.2, -0.01), "A is worse than B"),
    (intervals.Interval(0.1, -0.01, 0.2), "this test set cannot tell A and B apart"),
    (intervals.Interval(0.0, 0.0, 0.0), "this test set cannot tell A and B apart"),
])
def test_verdict_follows_the_interval_not_the_point_estimate(interval: intervals.Interval, words: str) -> None:
    assert intervals.verdict(interval, "A", "B") == words
    assert interval.contains(0.0) == words.startswith("this test set")


def test_scaled_and_printed_forms() -> None:
    interval = intervals.Interval(0.123, -0.05, 0.3)
    assert interval.scaled(100) == intervals.Interval(pytest.approx(12.3), pytest.approx(-5.0), pytest.approx(30.0))
    assert str(interval) == "0.12 [-0.05, 0.30]"
