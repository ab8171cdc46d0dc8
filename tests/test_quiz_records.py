"""The exercise record: one writer and one reader for what a coding exercise stores, in the format
learners' databases and hand-in files already hold (`bertcourse/quiz/records.py`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bertcourse.quiz.records import ExerciseRecord, exercise_records, write
from bertcourse.quiz.store import ProgressStore

DEMO_EXPORTS = Path(__file__).resolve().parents[1] / "data" / "quiz_demo_exports"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "progress.sqlite"
    ProgressStore(path).close()  # a database as any course version made it
    return path


def test_rows_already_on_a_learners_disk_read_as_records(db: Path) -> None:
    """Rows written before the record existed, as their JSON text sits in the file."""
    rows = [("01_tokenization", "exercise:01_wordpiece_offsets", '{"failed": ["edge: max_chars"]}', 0, 0.9),
            ("01_tokenization", "exercise:01_wordpiece_offsets", '{"revealed": "solution"}', 0, 0.0),
            ("01_tokenization", "cls_token", '{"choice": "a"}', 1, 1.0),  # a quiz answer: not an exercise's
            ("01_tokenization", "exercise:01_wordpiece_offsets", '{"failed": []}', 1, 1.0),
            ("05_ner", "exercise:05_iob2_entities", '{"failed": ["setup: your function has no parameter"]}', 0, 0.0)]
    with sqlite3.connect(db) as connection:
        connection.executemany("INSERT INTO attempts (notebook, question, response, correct, credit, answered_at)"
                               " VALUES (?, ?, ?, ?, ?, '2026-11-27T18:51:08+00:00')", rows)
    store = ProgressStore(db, read_only=True)
    assert exercise_records(store.attempts()) == [
        ExerciseRecord("01_tokenization", "01_wordpiece_offsets", ("edge: max_chars",), passed=False, credit=0.9),
        ExerciseRecord("01_tokenization", "01_wordpiece_offsets", revealed=True),
        ExerciseRecord("01_tokenization", "01_wordpiece_offsets", (), passed=True, credit=1.0),
        ExerciseRecord("05_ner", "05_iob2_entities", ("setup: your function has no parameter",), passed=False)]


def test_the_writer_keeps_the_format_on_disk(db: Path) -> None:
    store = ProgressStore(db)
    write(store, ExerciseRecord.check("02_architecture", "02_masked_attention", ["padding"], 0.5))
    write(store, ExerciseRecord.solution_shown("02_architecture", "02_masked_attention"))
    write(store, ExerciseRecord.check("02_architecture", "02_masked_attention", [], 1.0))
    store.close()
    with sqlite3.connect(db) as connection:
        stored = connection.execute("SELECT question, response, correct, credit FROM attempts ORDER BY id").fetchall()
    assert stored == [("exercise:02_masked_attention", '{"failed": ["padding"]}', 0, 0.5),
                      ("exercise:02_masked_attention", '{"revealed": "solution"}', 0, 0.0),
                      ("exercise:02_masked_attention", '{"failed": []}', 1, 1.0)]


def test_committed_hand_in_files_read_as_records() -> None:
    """The demo class's exports (`data/quiz_demo_exports/`) were written by the engine before the
    record existed: every exercise row in them reads, checks and shown solutions alike."""
    rows = [attempt for path in sorted(DEMO_EXPORTS.glob("*.json")) if path.stem != "upload-cut-short"
            for attempt in json.loads(path.read_text(encoding="utf-8"))["attempts"]
            if attempt["question"].startswith("exercise:")]
    records = [ExerciseRecord.read(row["notebook"], row["question"], row["response"], row["correct"], row["credit"])
               for row in rows]
    assert rows and None not in records
    assert {record.revealed for record in records} == {True, False}
    assert all(record.response() == row["response"] for record, row in zip(records, rows, strict=True))


@pytest.mark.parametrize("question, response", [
    ("exercise:01_wordpiece_offsets", {"failed": "edge"}),
    ("exercise:01_wordpiece_offsets", {"failed": [1]}),
    ("exercise:01_wordpiece_offsets", {"revealed": "yes"}),
    ("exercise:01_wordpiece_offsets", {"failed": [], "choice": "a"}),
    ("exercise:01_wordpiece_offsets", {"choice": "a"}),
    ("cls_token", {"failed": []}),
])
def test_rows_of_neither_shape_are_not_exercise_records(question: str, response: dict[str, object]) -> None:
    assert ExerciseRecord.read("01_tokenization", question, response, True, 1.0) is None


def test_a_check_that_names_a_failing_test_never_counts_as_passed() -> None:
    """A hand-edited file may claim `correct: true` beside failing tests; the report must not believe it."""
    record = ExerciseRecord.read("01_tokenization", "exercise:01_wordpiece_offsets", {"failed": ["edge"]}, True, 1.0)
    assert record is not None and not record.passed
