"""How far a score on a small test set could move, and what may be concluded from it.

Every lesson that compares two systems on a few dozen or a few hundred test examples asks the same
question: would another test sample of the same size give the same answer? The percentile
bootstrap answers it the same way everywhere: resample the test examples with replacement, recompute
the score on each resample, and keep the middle 95% of the resampled scores. A comparison resamples
the *same* examples for both systems (a paired bootstrap), so examples that both find easy or hard
do not widen the interval. `verdict` turns an interval of a difference into the words every lesson
prints: a system is called better only when the whole interval lies above zero.

Written out for the learner in notebook 04_finetuning's `#@save` cells (`bootstrap`, `verdict`);
later lessons call this module.

    accuracy = bootstrap(mean_of(predicted == labels), len(labels))            # Interval(value, low, high, level)
    gain = bootstrap(difference(mean_of(hits_a), mean_of(hits_b)), len(labels))
    print(verdict(gain, "fine-tuned", "baseline"))

Room: a lesson module (the statistics every lesson from 04 on shares). It imports only NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# The functions notebook 04 writes out in `#@save` cells (tests/test_saved_cells.py keeps them identical).
SAVED_IN_NOTEBOOK = dict.fromkeys(("bootstrap", "verdict"), "04_finetuning")

RESAMPLES = 2000  # enough for stable 2.5% / 97.5% percentiles; one default for every lesson
LEVEL = 0.95

# A statistic maps a (resamples, size) array of example indices to one score per row.
Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Interval:
    """A score (or a difference of scores) on the test set itself, and its bootstrap interval."""

    value: float
    low: float
    high: float
    level: float = LEVEL

    def scaled(self, factor: float) -> Interval:
        """The same interval in other units (e.g. 100 for percent)."""
        return Interval(self.value * factor, self.low * factor, self.high * factor, self.level)

    def contains(self, point: float = 0.0) -> bool:
        """Whether `point` lies inside: for a difference, whether the test set leaves it undecided."""
        return self.low <= point <= self.high

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def bootstrap(statistic, size, resamples=RESAMPLES, seed=0, level=LEVEL):
    """The percentile bootstrap: `statistic` on the whole test set (the value) and on `resamples`
    resamples of its `size` examples drawn with replacement; the interval is the middle `level`
    of the resampled scores. `statistic` takes an array of example indices, one row per resample,
    and returns one score per row, so every resample is scored in one vectorised call."""
    draws = np.random.default_rng(seed).integers(0, size, (resamples, size))
    value = float(np.asarray(statistic(np.arange(size)[None]))[0])
    low, high = np.nanquantile(np.asarray(statistic(draws), dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return Interval(value, float(low), float(high), level)


def verdict(difference, a, b):
    """What the interval of `a`'s score minus `b`'s allows us to say: the verdict follows the
    interval, not the point estimate, so a difference whose interval contains 0 is undecided."""
    if difference.low > 0:
        return f"{a} is better than {b}"
    if difference.high < 0:
        return f"{a} is worse than {b}"
    return f"this test set cannot tell {a} and {b} apart"


def mean_of(values: Sequence[float] | np.ndarray) -> Statistic:
    """The mean of per-example values (1/0 hits give accuracy; per-question F1 gives SQuAD's F1)."""
    values = np.asarray(values, dtype=float)
    return lambda rows: values[rows].mean(axis=1)


def per_row(metric: Callable[[np.ndarray], float]) -> Statistic:
    """A corpus metric that cannot be vectorised (a rank correlation, say), applied to each resample."""
    return lambda rows: np.array([metric(row) for row in rows], dtype=float)


def difference(statistic_a: Statistic, statistic_b: Statistic) -> Statistic:
    """A minus B on the same resamples: the paired comparison."""
    return lambda rows: statistic_a(rows) - statistic_b(rows)


def mean_interval(values: Sequence[float] | np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> Interval:
    """The mean of per-example values (or of per-example differences between two systems) with its interval."""
    return bootstrap(mean_of(values), len(values), resamples, seed)
