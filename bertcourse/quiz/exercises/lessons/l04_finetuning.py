"""Lesson 04's exercises: macro-F1 from a confusion matrix, and the learning-rate schedule the
Trainer runs (linear warm-up, then linear decay).

The notebook computes macro-F1 with scikit-learn and the schedule inside the Trainer, so neither
is printed in a cell: a learner has to turn "average the per-class F1s with equal weight" and
"warm up, then decay to zero" into code. The reference solutions are sealed (sealed/*.json).

Room: quiz.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bertcourse.quiz.exercises.lessons._judging import as_float
from bertcourse.quiz.exercises.spec import Call, Exercise, Test, describe

# ------------------------------------------------------------------------------------- macro-F1

MACRO_F1_INTRO = """### Exercise: macro-F1 from a confusion matrix

`training.scores` asks scikit-learn for macro-F1. Compute it yourself from the confusion matrix:
for each class, precision reads down its **column** (of everything predicted as this class, how
much was right), recall along its **row** (of everything truly this class, how much was found);
F1 is their harmonic mean; macro-F1 gives every class the same weight, however rare.
"""

MACRO_F1_STUB = '''import numpy as np


def macro_f1(confusion):
    """Macro-F1 from a confusion matrix.

    `confusion[i][j]` counts the examples of true class i predicted as class j: a square list of
    lists or NumPy array, rows the truth, columns the predictions.
    Return a Python float: the plain mean over ALL classes (all rows) of each class's F1, the
    harmonic mean of its precision and recall. Where a precision or recall has nothing to
    divide by (a class never predicted, or never present), that class's F1 is 0, as with
    scikit-learn's `zero_division=0`, never nan.
    Do not modify `confusion`.
    """
    raise NotImplementedError("write the body of macro_f1")
'''


def _macro_f1_judge(got: Any, call: Call) -> str | None:
    value = as_float(got)
    if isinstance(value, str):
        return value
    if math.isnan(value):
        return ("got nan: a class with nothing to divide by must score 0, not 0 / 0 "
                "(guard the division, e.g. `np.divide(..., where=denominator > 0)`).")
    expected = call.expected
    if math.isclose(value, expected, abs_tol=1e-6):
        return None
    counts = np.asarray(call.inputs["confusion"], dtype=float)
    message = f"expected {expected:.4f}, got {value:.4f}"
    if math.isclose(value, float(np.trace(counts) / counts.sum()), abs_tol=1e-6):
        message += ": that is the accuracy (equal to micro-F1 for one label per example)"
    return message + "."


def _confusion(rows: list[list[int]]) -> dict[str, Any]:
    return {"confusion": [list(row) for row in rows]}


def _random_confusion(seed: int, classes: int) -> dict[str, Any]:
    """A random matrix of counts with empty cells, one class never predicted and one never
    present (fixed seed, so a failure message reproduces)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 40, size=(classes, classes))
    counts[rng.random((classes, classes)) < 0.3] = 0
    counts[:, 1] = 0                 # class 1 is never predicted
    counts[2, :] = 0                 # class 2 never occurs
    counts[0, 0] += 1
    return {"confusion": counts}


MACRO_F1 = Exercise(
    id="04_macro_f1",
    anchor='plotting.plot_confusion_matrix(test_labels, predicted, names, title="Fine-tuned',
    intro=MACRO_F1_INTRO,
    stub=MACRO_F1_STUB,
    hints=("Per class c: true positives M[c, c]; predicted as c: column c's sum; truly c: row c's sum.",
           "F1 = 2 · P · R / (P + R) = 2 · TP / (predicted as c + truly c). Average the per-class "
           "F1s, not the precisions and recalls."),
    tests=(
        Test(name="fixed: two classes by hand", kind="fixed",
             inputs=lambda: _confusion([[8, 2], [1, 4]]), judge=_macro_f1_judge,
             hint="Class 0: P = 8/9, R = 8/10; class 1: P = 4/6, R = 4/5. Take each class's F1, then "
                  "their mean (not the F1 of the mean precision and mean recall)."),
        Test(name="fixed: three classes by hand", kind="fixed",
             inputs=lambda: _confusion([[5, 5, 0], [0, 10, 0], [2, 0, 8]]), judge=_macro_f1_judge,
             hint="Class 0: P = 5/7, R = 5/10; class 1: P = 10/15, R = 10/10; class 2: P = 8/8, R = 8/10. "
                  "(Swapping rows and columns swaps P and R, which leaves each F1 unchanged.)"),
        Test(name="edge: a majority-class model", kind="edge",
             inputs=lambda: _confusion([[90, 0], [10, 0]]), judge=_macro_f1_judge,
             hint="Class 1 is never predicted: its F1 is 0, and it weighs as much as class 0 in the mean."),
        Test(name="edge: a class absent from truth and predictions", kind="edge",
             inputs=lambda: _confusion([[4, 1, 0], [0, 5, 0], [0, 0, 0]]), judge=_macro_f1_judge,
             hint="Every row is a class, even an empty one: it scores 0 and still takes its share of the mean."),
        Test(name="edge: one class", kind="edge",
             inputs=lambda: _confusion([[7]]), judge=_macro_f1_judge,
             hint="A single class predicted perfectly has F1 1.0."),
        Test(name="edge: a NumPy array of counts", kind="edge",
             inputs=lambda: {"confusion": np.array([[3, 1, 0], [2, 6, 1], [0, 0, 4]])},
             judge=_macro_f1_judge,
             hint="The same rules on a NumPy array; np.asarray(confusion, dtype=float) handles lists and "
                  "arrays alike."),
        *(Test(name=f"property: random {classes}x{classes} matrix (seed {seed})", kind="property",
               inputs=lambda seed=seed, classes=classes: _random_confusion(seed, classes),
               judge=_macro_f1_judge,
               hint="Check one class by hand: M[c, c] over column c's sum, over row c's sum; an empty "
                    "row or column gives that class F1 0.")
          for seed, classes in ((1, 4), (2, 7))),
    ),
)

# -------------------------------------------------------------------------- learning-rate schedule

SCHEDULE_INTRO = """### Exercise: the learning-rate schedule

The run above used the schedule `training_arguments` asked for: `lr_scheduler_type="linear"` with
a warm-up. Write the schedule itself: the learning rate of every optimizer step, rising linearly
from 0 to the peak during the warm-up, then falling linearly towards 0. The small first steps
keep the randomly initialised head's large early gradients from overwriting the pretrained
encoder.
"""

SCHEDULE_STUB = '''def linear_schedule(peak_lr, warmup_steps, total_steps):
    """The learning rate of every optimizer step 0, 1, ..., total_steps - 1, as a list of floats.

    Warm-up: step s < warmup_steps uses peak_lr * s / warmup_steps (so step 0 uses 0).
    Decay: step s >= warmup_steps uses peak_lr * (total_steps - s) / (total_steps - warmup_steps),
    which would reach 0 at step total_steps, one past the last.
    This is the Trainer's lr_scheduler_type="linear". warmup_steps may be 0.
    """
    raise NotImplementedError("write the body of linear_schedule")
'''


def _schedule_judge(got: Any, call: Call) -> str | None:
    expected = call.expected
    if not isinstance(got, (list, tuple, np.ndarray)):
        return f"expected a list of {len(expected)} floats, got {describe(got)}."
    if len(got) != len(expected):
        return (f"expected {len(expected)} learning rates (steps 0 to {len(expected) - 1}), got "
                f"{len(got)}.")
    peak = call.inputs["peak_lr"]
    rates = [as_float(rate) for rate in got]
    for step, (have, want) in enumerate(zip(rates, expected)):
        if isinstance(have, str):
            return f"step {step}: {have}"
        if not math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-12 * peak):
            start = ", ".join(f"{rate:.3g}" for rate in rates[:7] if not isinstance(rate, str))
            return (f"step {step} should use {want:.4g}, yours uses {have:.4g} (yours begins "
                    f"{start}{', …' if len(got) > 7 else ''}).")
    return None


def _schedule(peak_lr: float, warmup_steps: int, total_steps: int) -> dict[str, Any]:
    return {"peak_lr": peak_lr, "warmup_steps": warmup_steps, "total_steps": total_steps}


def _show_schedule(inputs: Mapping[str, Any]) -> str:
    """The inputs with the learning rate in full (the automatic text rounds 3e-05 to 0.0)."""
    return (f"peak_lr={inputs['peak_lr']:g}, warmup_steps={inputs['warmup_steps']}, "
            f"total_steps={inputs['total_steps']}")


SCHEDULE = Exercise(
    id="04_linear_schedule",
    anchor='history = pd.DataFrame([{"epoch": round(row["epoch"])',
    intro=SCHEDULE_INTRO,
    stub=SCHEDULE_STUB,
    hints=("One rate per step: loop over range(total_steps) and pick the warm-up or the decay formula.",
           "The decay formula starts at the peak on step warmup_steps and loses peak / (total_steps - "
           "warmup_steps) per step."),
    tests=(
        Test(name="fixed: 2 warm-up steps of 6", kind="fixed", inputs=lambda: _schedule(1.0, 2, 6),
             judge=_schedule_judge, show=_show_schedule,
             hint="Expected 0, 0.5, then 1, 0.75, 0.5, 0.25: warm-up peak · s / 2, then "
                  "peak · (6 - s) / (6 - 2)."),
        Test(name="fixed: the first warm-up step is 0", kind="fixed",
             inputs=lambda: _schedule(3e-5, 10, 100), judge=_schedule_judge, show=_show_schedule,
             hint="Step 0 uses peak · 0 / warmup_steps = 0, and step 10 (the first after warm-up) the peak."),
        Test(name="edge: no warm-up", kind="edge", inputs=lambda: _schedule(2.0, 0, 4),
             judge=_schedule_judge, show=_show_schedule,
             hint="With warmup_steps = 0 step 0 already uses the peak; nothing divides by warmup_steps."),
        Test(name="edge: a single step", kind="edge", inputs=lambda: _schedule(5e-5, 0, 1),
             judge=_schedule_judge, show=_show_schedule, hint="One step, no warm-up: it uses the peak."),
        Test(name="edge: zero steps", kind="edge", inputs=lambda: _schedule(5e-5, 0, 0),
             judge=_schedule_judge, show=_show_schedule, hint="No steps, no learning rates: an empty list."),
        Test(name="property: a realistic run (38 warm-up steps of 375)", kind="property",
             inputs=lambda: _schedule(5e-5, 38, 375), judge=_schedule_judge, show=_show_schedule,
             hint="The rates rise to the peak at step 38, then fall by the same amount each step, "
                  "ending at peak / 337 on step 374, not at 0."),
    ),
)

EXERCISES = [MACRO_F1, SCHEDULE]
