"""The progress database: where it lives, WAL mode, persistence across processes (including
a killed one), concurrent writers, and recovery from broken files."""

from __future__ import annotations

import html
import multiprocessing
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bertcourse.quiz.bank import load_bank
from bertcourse.quiz.store import ProgressStore, ProgressWarning, default_path
from bertcourse.quiz.widget import QuizView


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "progress.sqlite"
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(path))
    return path


def record(store: ProgressStore, question: str = "q", correct: bool = True) -> None:
    store.record("00_start_here", question, {"value": "1"}, correct, float(correct))


def test_default_location_and_override(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BERTCOURSE_PROGRESS", raising=False)
    assert default_path() == tmp_path / "home" / "progress.sqlite"
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "elsewhere" / "p.db"))
    assert ProgressStore().path == tmp_path / "elsewhere" / "p.db"
    assert (tmp_path / "elsewhere" / "p.db").is_file()


def test_wal_mode_learner_identity_and_history(db):
    store = ProgressStore()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    learner = store.learner_id()
    assert len(learner) == 32 and ProgressStore().learner_id() == learner
    assert store.learner_name() is None
    store.set_learner_name("Ada")
    assert ProgressStore().learner_name() == "Ada"
    record(store, "a", False)
    record(store, "a", True)
    record(store, "b", False)
    assert [(a.question, a.correct) for a in store.attempts()] == [("a", False), ("a", True), ("b", False)]
    assert {q: a.correct for q, a in store.latest("00_start_here").items()} == {"a": True, "b": False}
    assert store.latest("01_tokenization") == {}


ANSWER_AND_DIE = textwrap.dedent("""
    import os, signal
    from bertcourse.quiz.bank import load_bank
    from bertcourse.quiz.store import ProgressStore
    from bertcourse.quiz.widget import QuizView
    view = QuizView(load_bank("00_start_here"), ProgressStore(), {})
    first = view.questions[0]
    first.answer.value = next(c.id for c in first.question.choices if c.text.startswith("Binary"))
    first.check_button.click()
    first.retry_button.click()
    first.answer.value = next(c.id for c in first.question.choices if c.text.startswith("Bidirectional Encoder R"))
    first.check_button.click()
    layers = next(q for q in view.questions if q.question.id == "base_layers")
    layers.text_field.value = "24"
    layers.check_button.click()
    os.kill(os.getpid(), signal.SIGKILL)  # a kernel killed right after answering
""")

def run_python(code: str, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BERTCOURSE_PROGRESS": str(db)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def shown(html_widget) -> str:
    return html.unescape(re.sub("<[^>]+>", "", html_widget.value))


def test_answers_survive_a_killed_process_and_show_in_a_new_view(db):
    """Another Python process answers and is killed at once; a new view here (as after a
    kernel restart: nothing shared but the database) shows its answers and score."""
    killed = run_python(ANSWER_AND_DIE, db)
    assert killed.returncode == -9, killed.stderr
    view = QuizView(load_bank("00_start_here"), ProgressStore(db), {})
    layers = next(q for q in view.questions if q.question.id == "base_layers")
    assert shown(view.questions[0].feedback) == (
        "Your previous answer: Bidirectional Encoder Representations from Transformers. ✓ Correct.")
    assert shown(layers.feedback) == "Your previous answer: 24. ✗ Incorrect: 24 is not the answer."
    assert layers.text_field.value == "24" and layers.text_field.disabled
    assert shown(view.score) == "Score: 1 of 14 correct · 2 of 14 answered"
    assert len(ProgressStore(db).attempts()) == 3


def _writer(path: str, worker: int, count: int) -> None:
    store = ProgressStore(Path(path))
    for i in range(count):
        store.record("00_start_here", f"w{worker}", {"value": str(i)}, i % 2 == 0, 1.0)


def test_concurrent_writers_lose_nothing(db):
    ProgressStore(db)  # create it first, as an open notebook would have
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(db), w, 60)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    attempts = ProgressStore(db).attempts()
    assert len(attempts) == 240
    for worker in range(4):
        assert [a.response["value"] for a in attempts if a.question == f"w{worker}"] == [str(i) for i in range(60)]


def aside_files(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.unreadable-*"))


def test_garbage_file_is_moved_aside_and_replaced(db):
    db.write_bytes(b"this is not a database" * 100)
    with pytest.warns(ProgressWarning, match="was unusable .* moved to progress.sqlite.unreadable-"):
        store = ProgressStore()
    record(store)
    assert len(store.attempts()) == 1
    [aside] = aside_files(db)
    assert aside.read_bytes().startswith(b"this is not a database")


def test_damaged_pages_are_detected(db):
    ProgressStore().close()
    with sqlite3.connect(db) as con:  # fill several pages in one transaction
        con.executemany("INSERT INTO attempts (notebook, question, response, correct, credit, answered_at)"
                        " VALUES ('00_start_here', ?, ?, 1, 1.0, '2024-01-01T00:00:00')",
                        [(f"q{i}", "x" * 200) for i in range(300)])
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db.stat().st_size > 5 * 4096
    data = bytearray(db.read_bytes())
    page = 4096
    data[3 * page: 5 * page] = b"\xff" * (2 * page)  # 0xff is no valid b-tree page type
    db.write_bytes(bytes(data))
    with pytest.warns(ProgressWarning, match="unusable"):
        fresh = ProgressStore()
    assert fresh.attempts() == []
    assert aside_files(db)


def test_another_programs_database_is_not_touched(db):
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE invoices (id INTEGER)")
        con.execute("INSERT INTO invoices VALUES (7)")
    with pytest.warns(ProgressWarning, match="not a bertcourse progress database"):
        record(ProgressStore())
    with sqlite3.connect(aside_files(db)[0]) as con:
        assert con.execute("SELECT id FROM invoices").fetchall() == [(7,)]


def test_folder_in_the_way_is_moved_aside(db):
    db.mkdir()
    with pytest.warns(ProgressWarning):
        record(ProgressStore())
    assert db.is_file() and aside_files(db)[0].is_dir()


def test_unwritable_location_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(blocker / "progress.sqlite"))
    with pytest.warns(ProgressWarning, match="kept in memory only"):
        store = ProgressStore()
    record(store)
    assert len(store.attempts()) == 1


def test_file_corrupted_while_open_is_recovered_on_next_answer(db):
    store = ProgressStore()
    record(store)
    store_path_bytes = b"\x00garbage" * 2000
    for suffix in ("", "-wal", "-shm"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            path.write_bytes(store_path_bytes)
    with pytest.warns(ProgressWarning, match="unusable"):
        record(store, "after")
    assert [a.question for a in ProgressStore(db).attempts()] == ["after"]


def test_quiz_opens_on_a_corrupt_database(db):
    db.write_bytes(os.urandom(10_000))
    with pytest.warns(ProgressWarning):
        view = QuizView(load_bank("00_start_here"), ProgressStore(), {})
    view.questions[0].answer.value = view.questions[0].question.choices[0].id
    view.questions[0].check_button.click()
    assert "answered" in view.score.value and "1 of 14 answered" in view.score.value
