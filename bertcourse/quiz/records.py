"""What a coding exercise leaves in the progress store: one typed record, its writer and its reader.

Exercises share the quiz's `attempts` table, so the export, the instructor's report and the
course-progress view find them next to the quiz answers. Their row is the question id
`exercise:<exercise id>` with one of two responses:

- a check: `{"failed": [the failing tests' names]}` (empty when every test passed; one
  `"setup: ..."` entry when the function could not be tested at all), stored with the verdict
  and the share of tests passed;
- a confirmed "Show a solution": `{"revealed": "solution"}`, stored as never correct, credit 0.

Learners' databases and hand-in files already hold these shapes, so they are kept exactly as
they are; this module is the one place that writes them, reads them and describes them to the
export schema. Everything else works with `ExerciseRecord`.

Room: quiz.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .store import Attempt, ProgressStore

QUESTION_PREFIX = "exercise:"  # an exercise's attempts share the quiz store under this question id
_REVEALED = {"revealed": "solution"}
MAX_FAILED = 50  # test names one check may store (the export schema's bound)


@dataclass(frozen=True)
class ExerciseRecord:
    """One stored exercise row: a check (`failed` names the failing tests) or a shown solution."""

    notebook: str
    exercise: str
    failed: tuple[str, ...] = ()
    passed: bool = False
    credit: float = 0.0
    revealed: bool = False

    @classmethod
    def check(cls, notebook: str, exercise: str, failed: Iterable[str], credit: float) -> ExerciseRecord:
        """A checked attempt; it passed exactly when no test failed."""
        names = tuple(failed)
        return cls(notebook, exercise, names, passed=not names, credit=credit)

    @classmethod
    def solution_shown(cls, notebook: str, exercise: str) -> ExerciseRecord:
        """The learner confirmed "Show a solution": its own row, never a pass."""
        return cls(notebook, exercise, revealed=True)

    @property
    def question(self) -> str:
        """The question id the row is stored under."""
        return QUESTION_PREFIX + self.exercise

    def response(self) -> dict[str, Any]:
        """The response column, in the format learners' files already hold."""
        return dict(_REVEALED) if self.revealed else {"failed": list(self.failed)}

    @classmethod
    def read(cls, notebook: str, question: str, response: Mapping[str, Any], correct: bool,
             credit: float) -> ExerciseRecord | None:
        """The record one stored or exported row holds, or None when it is not an exercise's row
        (a quiz answer) or its response has neither shape. A check counts as passed only when the
        row says so and names no failing test, whatever a hand-edited file claims."""
        if not question.startswith(QUESTION_PREFIX):
            return None
        exercise = question.removeprefix(QUESTION_PREFIX)
        if dict(response) == _REVEALED:
            return cls.solution_shown(notebook, exercise)
        failed = response.get("failed")
        if set(response) != {"failed"} or not isinstance(failed, list) or not all(isinstance(n, str) for n in failed):
            return None
        return cls(notebook, exercise, tuple(failed), passed=bool(correct) and not failed, credit=float(credit))

    @classmethod
    def of(cls, attempt: Attempt) -> ExerciseRecord | None:
        """`read` for a row of the progress store."""
        return cls.read(attempt.notebook, attempt.question, attempt.response, attempt.correct, attempt.credit)


def write(store: ProgressStore, record: ExerciseRecord) -> None:
    """Commit one exercise row now (raises `ProgressError` only when saving is impossible)."""
    store.record(record.notebook, record.question, record.response(), record.passed, record.credit)


def exercise_records(attempts: Iterable[Attempt]) -> list[ExerciseRecord]:
    """The exercise rows among `attempts`, in answering order (quiz answers are left out)."""
    return [record for attempt in attempts if (record := ExerciseRecord.of(attempt)) is not None]


def response_schema(text: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema properties of the two exercise responses, for the hand-in file's schema;
    `text` is the schema of one short string there (a test's name)."""
    return {"failed": {"type": "array", "maxItems": MAX_FAILED, "items": dict(text)},
            "revealed": {"const": _REVEALED["revealed"]}}
