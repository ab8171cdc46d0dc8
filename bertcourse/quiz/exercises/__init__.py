"""Coding exercises checked inside the notebooks, recorded next to the quiz answers.

A lesson shows a stub (signature and contract) and, below it,

    mask_whole_words = check("03_whole_word_masking", mask_whole_words)

which runs the exercise's hidden tests (`lessons/`), shows each test's verdict with the input,
expected against what came back, and a hint, stores the attempt in the progress store, and
returns the function the lesson should go on with: the learner's once every test passes, the
course's sealed reference until then, so the notebook runs top to bottom with the stub unchanged.

Parts: `spec` (what a lesson declares), `catalog` (sealed solutions, torch-free), `sandbox`
(the guarded call), `engine` (tests and recording), `view` (the widget). Authors: see
`bertcourse dev exercises --help`.

Room: quiz.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def check(exercise_id: str, function: Any) -> Callable[..., Any]:
    """Test `function` against exercise `exercise_id`, show the result, record it, and return
    the function the rest of the lesson should use."""
    from IPython.display import display

    from ..records import exercise_records
    from ..store import ProgressError, ProgressStore
    from ..widget import refresh_progress_views
    from .engine import declaration, record, run_tests
    from .view import ExerciseView

    item, exercise = declaration(exercise_id)
    outcome = run_tests(item, exercise, function)
    store, note = None, ""
    try:
        store = ProgressStore()
        if not outcome.not_started:
            record(outcome, store)
        elif earlier := [r for r in exercise_records(store.attempts(item.notebook))
                         if r.exercise == item.id and not r.revealed]:
            note = ("Your latest recorded check passed." if earlier[-1].passed else
                    f"Your latest recorded check passed {earlier[-1].credit:.0%} of the tests.")
    except ProgressError as error:
        note = f"⚠ Not saved: {error.problem}"
    display(ExerciseView(outcome, item, exercise.hints, store, note))
    refresh_progress_views()
    return function if outcome.passed else item.reference()


__all__ = ["check"]
