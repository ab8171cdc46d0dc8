"""Small judging helpers shared by lessons 04-09's exercises.

Room: quiz.
"""

from __future__ import annotations

import numbers
from typing import Any

from bertcourse.quiz.exercises.spec import describe


def as_float(got: Any) -> float | str:
    """The learner's result as a float (nan and inf included), or the sentence saying it is not
    one number: a bool, an array, a string or an integer too large for a float."""
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return f"expected one number (a float), got {describe(got)}."
    try:
        return float(got)
    except OverflowError:
        return f"expected a float, got an integer of {len(str(got))} digits."
