"""Running an exercise's hidden tests against a function, and recording the result.

`run(exercise_id, function)` (or `run_tests` with the exercise already looked up) returns an
`Outcome`: one `TestResult` per test, each with the
input in words, what was wrong (expected against what came back) and a hint: the hint of the
first of the exercise's diagnoses that recognises the output's mistake, else the test's own. Every
way a learner's function can misbehave ends as such a message (see `sandbox.py`); a bug in a
test itself is reported as the course's fault, never as the learner's. `record` stores the
outcome in the quiz's progress store as an `ExerciseRecord` (`bertcourse.quiz.records`), so
exercises sit next to quiz answers everywhere.

Room: quiz.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..records import ExerciseRecord, write
from ..store import ProgressStore
from .catalog import Entry, ExerciseError, entry
from .sandbox import Guarded, NotPlain, flood_note, guarded_call, is_unchanged_stub, plain, same
from .spec import Call, Diagnosis, Exercise, Test, describe

LESSONS_PACKAGE = "bertcourse.quiz.exercises.lessons"


@dataclass(frozen=True)
class TestResult:
    name: str
    kind: str
    passed: bool
    inputs: str = ""
    problem: str = ""
    hint: str = ""
    note: str = ""  # printed output, said even when the test passed


@dataclass(frozen=True)
class Outcome:
    exercise: str
    notebook: str
    title: str
    results: tuple[TestResult, ...]
    not_started: bool = False
    setup_problem: str = ""  # the function could not be tested at all (not callable, wrong signature)
    time_limit_enforced: bool = True

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results) and not self.setup_problem

    @property
    def failed_names(self) -> list[str]:
        return [r.name for r in self.results if not r.passed]

    @property
    def credit(self) -> float:
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    def summary(self) -> str:
        """The verdict as plain text: what nbval compares and a static view shows."""
        head = f"Exercise {self.exercise} · {self.title}: "
        if self.not_started:
            return (head + "not started: the function still raises NotImplementedError. Write its body "
                    "and run this cell again. Until it passes, the lesson goes on with the course's "
                    "reference version.")
        if self.setup_problem:
            return head + self.setup_problem
        lines = [head + f"{sum(r.passed for r in self.results)} of {len(self.results)} tests pass."]
        for result in self.results:
            lines.append(f"{'✓' if result.passed else '✗'} {result.name}")
            if not result.passed:
                lines += [f"    input: {result.inputs}", f"    {result.problem}", f"    hint: {result.hint}"]
            if result.note:
                lines.append(f"    note: {result.note}")
        if not self.time_limit_enforced:
            lines.append("(No time limit here: this kernel cannot interrupt a function outside its main "
                         "thread. A function that never returns must be stopped with Interrupt.)")
        lines.append("Every test passes: the lesson goes on with your function." if self.passed else
                     "Until every test passes, the lesson goes on with the course's reference version.")
        return "\n".join(lines)


def declaration(exercise_id: str) -> tuple[Entry, Exercise]:
    """The catalog entry and the lesson file's declaration of one exercise."""
    item = entry(exercise_id)
    module = importlib.import_module(f"{LESSONS_PACKAGE}.l{item.notebook}")
    for exercise in module.EXERCISES:
        if exercise.id == exercise_id:
            return item, exercise
    raise ExerciseError(f"{item.notebook}'s lesson file declares no exercise {exercise_id!r}.")


def run(exercise_id: str, function: Any) -> Outcome:
    """Run every hidden test of `exercise_id` against `function`."""
    return run_tests(*declaration(exercise_id), function)


def run_tests(item: Entry, exercise: Exercise, function: Any) -> Outcome:
    """Run every hidden test of a declared exercise (`declaration`'s pair) against `function`."""
    reference = item.reference()
    problem = _setup_problem(function, item.function, exercise)
    if problem:
        return Outcome(item.id, item.notebook, item.title, (), setup_problem=problem)
    results: list[TestResult] = []
    enforced = True
    stopped = False
    for test in exercise.tests:
        if stopped:  # each further test would wait out the time limit again
            results.append(TestResult(test.name, test.kind, False, "not run", "not run: your function did not "
                                      "return (or was interrupted) in an earlier test; fix that first.", test.hint))
            continue
        result, guarded = _run_test(test, function, reference, exercise.time_limit_s, exercise.diagnoses)
        enforced &= guarded.time_limit_enforced
        if not results and is_unchanged_stub(guarded):
            return Outcome(item.id, item.notebook, item.title, (), not_started=True)
        results.append(result)
        stopped = guarded.timed_out or guarded.error_type == "KeyboardInterrupt"  # Interrupt: stop checking
    return Outcome(item.id, item.notebook, item.title, tuple(results), time_limit_enforced=enforced)


def _setup_problem(function: Any, name: str, exercise: Exercise) -> str:
    if not callable(function):
        return (f"check() needs your function itself, e.g. check(\"{exercise.id}\", {name}); it got "
                f"{describe(function)}.")
    try:
        wanted = list(inspect.signature(_stub_function(exercise, name)).parameters)
        given = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return ""
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in given.values())
    missing = [p for p in wanted if p not in given and not takes_any]
    if missing:
        return (f"your function has no parameter called {', '.join(missing)}. Keep the stub's signature "
                f"({name}({', '.join(wanted)})): the tests pass arguments by these names.")
    return ""


def _stub_function(exercise: Exercise, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(exercise.stub, f"<stub {exercise.id}>", "exec"), namespace)  # noqa: S102 - the course's stub
    return namespace[name]


def _run_test(test: Test, function: Any, reference: Callable[..., Any], limit: float,
              diagnoses: tuple[Diagnosis, ...] = ()) -> tuple[TestResult, Guarded]:
    """One test: every call it makes, stopping at the first that fails (its input is the one shown)."""
    made = test.inputs()
    guarded = Guarded()
    notes = []
    for inputs in made if isinstance(made, list) else [made]:
        pristine = copy.deepcopy(inputs)
        guarded = guarded_call(function, inputs, limit)
        notes.append(flood_note(guarded))
        failed_call = _problem(guarded, inputs, pristine, limit)
        problem = failed_call
        if problem is None:
            problem, judging = _judged(test, guarded.value, pristine, reference, function, limit)
            guarded = replace(guarded, timed_out=judging.timed_out)  # an endless result stops the check too
        if problem:
            hint = (test.hint if failed_call or guarded.timed_out
                    else _diagnosed(diagnoses, guarded.value, pristine, reference, test.hint))
            return TestResult(test.name, test.kind, False, test.describe_inputs(pristine), problem, hint,
                              notes[-1] or ""), guarded
    return TestResult(test.name, test.kind, True, note=next((n for n in notes if n), "")), guarded


def _problem(guarded: Guarded, inputs: dict[str, Any], pristine: dict[str, Any], limit: float) -> str | None:
    """What went wrong in the call itself (before its output is judged), if anything."""
    if guarded.timed_out:
        return (f"your function did not return within {limit:g} s and was stopped (an endless loop? a "
                "loop whose condition never changes?).")
    if guarded.error is not None:
        return f"your function raised {guarded.error}."
    changed = [name for name in inputs if not same(pristine[name], inputs[name])]
    if changed:
        return (f"your function changed its input {', '.join(changed)} in place; work on a copy (e.g. "
                f"{_copy_of(changed[0], pristine[changed[0]])}) and leave the caller's data as it was.")
    return None


def _copy_of(name: str, value: Any) -> str:
    """How to copy this kind of input: tensors clone, NumPy arrays and containers copy."""
    if hasattr(value, "clone"):
        return f"`{name}.clone()`"
    if hasattr(value, "copy") and not isinstance(value, dict | list):
        return f"`{name}.copy()`"
    if isinstance(value, dict | list):
        return f"`copy.deepcopy({name})`, or `{name}.copy()` when its items are not changed"
    return f"`copy.deepcopy({name})`"


def _judged(test: Test, value: Any, pristine: dict[str, Any], reference: Callable[..., Any],
            function: Any, limit: float) -> tuple[str | None, Guarded]:
    """The judge's verdict on `value`, made plain first (`plain`). Judging reads what the learner
    returned, which may run the learner's code (a generator, a __len__), so it runs under the same
    guard and time limit as the call itself."""
    verdict: list[str | None] = []

    def judge() -> None:
        try:
            verdict.append(test.judge(plain(value), Call(pristine, reference)))
        except NotPlain as refusal:
            verdict.append(str(refusal))
        except Exception as error:  # a broken test must not be blamed on the learner
            verdict.append(f"the course's test itself failed ({type(error).__name__}: {error}) on what your "
                           f"function returned ({describe(value)}). If your output looks right, tell the instructor.")

    guarded = guarded_call(judge, {}, limit, own=function)
    if guarded.timed_out:
        return (f"reading what your function returned took over {limit:g} s and was stopped (an endless "
                "generator? return a list)."), guarded
    if guarded.error is not None:
        return f"reading what your function returned raised {guarded.error}.", guarded
    return verdict[0], guarded


def _diagnosed(diagnoses: tuple[Diagnosis, ...], value: Any, pristine: dict[str, Any],
               reference: Callable[..., Any], fallback: str) -> str:
    """The hint of the first diagnosis that recognises its mistake in `value`, else `fallback`.
    A diagnosis that cannot judge this output (it raised) does not recognise it."""
    for diagnosis in diagnoses:
        try:
            if diagnosis.judge(value, Call(pristine, reference)):
                return diagnosis.hint
        except Exception:  # noqa: BLE001 - any output may confuse a diagnosis; the test's hint stands
            continue
    return fallback


def record(outcome: Outcome, store: ProgressStore) -> None:
    """Store one checked attempt (an unstarted stub is not an attempt and is not stored)."""
    failed = outcome.failed_names if not outcome.setup_problem else ["setup: " + outcome.setup_problem[:150]]
    write(store, ExerciseRecord.check(outcome.notebook, outcome.exercise, failed, outcome.credit))
