"""The progress database: where it lives, WAL mode, persistence across processes (including
a killed one), concurrent writers, and recovery from broken files."""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from bertcourse.quiz import store as store_module
from bertcourse.quiz.bank import load_bank
from bertcourse.quiz.export import EXPORT_SCHEMA
from bertcourse.quiz.store import ProgressError, ProgressStore, ProgressWarning, default_path
from bertcourse.quiz.widget import QuizView
from bertcourse.tools.progress import register


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "progress.sqlite"
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(path))
    return path


def report_cli(*argv: str) -> int:
    """`bertcourse progress ...` as the course's CLI runs it."""
    parser = argparse.ArgumentParser(prog="bertcourse")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["progress", *argv])
    return args.func(args)


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
    assert shown(view.score) == "Score: 1 of 14 correct · 2 of 14 answered (your latest answer to each question counts)"
    assert len(ProgressStore(db).attempts()) == 3


WRITER = textwrap.dedent("""
    import sys
    from bertcourse.quiz.store import ProgressStore
    store = ProgressStore()
    for i in range(int(sys.argv[2])):
        store.record("00_start_here", f"w{sys.argv[1]}", {"value": str(i)}, i % 2 == 0, 1.0)
""")


def test_concurrent_writers_lose_nothing(db):
    """Four notebooks' kernels answering at once: separate processes, as kernels are. (Forked
    workers would share this process's SQLite state, which SQLite does not support: with a
    connection to another file still open here they lost answers.)"""
    ProgressStore(db).close()  # create it first, as an open notebook would have
    env = {**os.environ, "BERTCOURSE_PROGRESS": str(db)}
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, str(w), "60"], env=env, stderr=subprocess.PIPE)
               for w in range(4)]
    for process in workers:
        assert process.wait(timeout=120) == 0, process.stderr.read()
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


def test_a_folder_in_the_way_is_never_moved(db):
    """Issue 28, item 3: BERTCOURSE_PROGRESS naming an existing folder (e.g. ~/Documents) had it
    renamed to `….unreadable-<time>` and a database put in its place."""
    db.mkdir()
    (db / "thesis.txt").write_text("mine")
    with pytest.raises(ProgressError, match=r"is a folder.*\nFix: .*BERTCOURSE_PROGRESS"):
        ProgressStore()
    assert (db / "thesis.txt").read_text() == "mine" and aside_files(db) == []


def test_a_file_that_is_not_a_database_is_never_moved(tmp_path, monkeypatch):
    """Issue 28, item 3: a file that is not a SQLite database (and not the course's own
    progress.sqlite) is the learner's, not a damaged progress file: it is refused, not moved."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(notes))
    with pytest.raises(ProgressError, match=r"is not a SQLite database.*\nFix: .*BERTCOURSE_PROGRESS"):
        ProgressStore()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and notes.read_text() == "my notes"


DAMAGED_WHILE_OPEN_ELSEWHERE = textwrap.dedent("""
    import warnings
    from bertcourse.quiz.store import ProgressStore
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ProgressStore().record("00_start_here", "b", {"value": "notebook-b"}, True, 1.0)
    print("|".join(str(w.message) for w in caught))
""")


def test_a_damaged_file_open_in_another_notebook_is_not_moved_under_it(db):
    """Issue 28, item 1: notebook A has the file open when a page gets damaged; notebook B opens
    it, finds it unreadable and moved it aside, and the answers A confirmed after that went to a
    renamed WAL that no file held once A exited. B now leaves the file alone (A has it open) and
    keeps its own answers in memory, saying so; every answer A confirmed is in the file."""
    a = ProgressStore()
    a.record("00_start_here", "filler", {"value": "x" * 3000}, True, 1.0)
    with sqlite3.connect(db) as con:  # fill several pages, then damage two of them
        con.executemany("INSERT INTO attempts (notebook, question, response, correct, credit, answered_at)"
                        " VALUES ('00_start_here', ?, ?, 1, 1.0, '2024-01-01T00:00:00')",
                        [(f"q{i}", "x" * 200) for i in range(300)])
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[3 * 4096: 5 * 4096] = b"\xff" * (2 * 4096)
    with open(db, "r+b") as handle:  # in place, as a disk error would: A's file stays the same file
        handle.write(bytes(data))
    b = run_python(DAMAGED_WHILE_OPEN_ELSEWHERE, db)
    assert b.returncode == 0, b.stderr
    assert "another notebook" in b.stdout and "Not saved" in b.stdout
    assert aside_files(db) == []
    with warnings.catch_warnings():  # A may hit the damage itself, and (alone now) move the file aside
        warnings.simplefilter("ignore", ProgressWarning)
        for i in range(10):
            a.record("00_start_here", "a", {"value": f"confirmed-{i:02d}"}, True, 1.0)
    a.close()
    held = b"".join(path.read_bytes() for path in db.parent.iterdir() if path.is_file())
    assert [i for i in range(10) if f"confirmed-{i:02d}".encode() not in held] == []


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


# -- states that must keep the file (issue 15) ------------------------------------------------

FULL_DISK = textwrap.dedent("""
    import os, resource, signal, sys
    from bertcourse.quiz.bank import load_bank
    from bertcourse.quiz.store import ProgressError, ProgressStore
    from bertcourse.quiz.widget import QuizView

    def fill_the_disk():
        if os.environ["DISK"] == "tmpfs":  # a real 1 MB file system: write until it is full
            try:
                with open(os.path.join(os.path.dirname(os.environ["BERTCOURSE_PROGRESS"]), "filler"), "wb") as f:
                    while True:
                        f.write(bytes(4096))
                        f.flush()
            except OSError:
                pass
        else:
            # Every write past the first 4 KiB of any file now fails (EFBIG) as writes do on a
            # full disk: growing the 32 KiB -shm index fails first ("disk I/O error"), then any
            # append to the -wal. Ignoring SIGXFSZ makes the write fail instead of the process.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))

    if sys.argv[1] == "open":  # the disk is full when the quiz cell runs
        fill_the_disk()
        try:
            QuizView(load_bank("00_start_here"), ProgressStore(), {})
        except ProgressError as error:
            print("ProgressError:", error)
    else:  # the disk fills while a quiz is open; then the learner checks an answer
        view = QuizView(load_bank("00_start_here"), ProgressStore(), {})
        fill_the_disk()
        layers = next(q for q in view.questions if q.question.id == "base_layers")
        layers.text_field.value = "12" + " " * 20_000  # a big row, so the write cannot fit
        layers.check_button.click()
        print("feedback:", layers.feedback.value)
""")


@pytest.fixture(params=["rlimit", "tmpfs"])
def small_disk(request, tmp_path):
    """A progress database with 20 answers on a disk that can be filled: a real 1 MB tmpfs
    when this process may mount one (root), and always the RLIMIT_FSIZE simulation, whose
    failing writes reach SQLite through the same system calls as a full disk's."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if request.param == "tmpfs" and (os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True).returncode):
        pytest.skip("mounting a 1 MB tmpfs needs root; the rlimit variant covers the same failure")
    db = folder / "progress.sqlite"
    store = ProgressStore(db)
    for i in range(20):
        record(store, f"q{i}")
    store.close()
    yield request.param, db
    if request.param == "tmpfs":
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def count_answers(db: Path) -> int:
    store = ProgressStore(db, read_only=True)
    try:
        return len(store.attempts())
    finally:
        store.close()


def run_on_full_disk(kind: str, db: Path, step: str) -> str:
    env = {**os.environ, "BERTCOURSE_PROGRESS": str(db), "DISK": kind}
    ran = subprocess.run([sys.executable, "-c", FULL_DISK, step], env=env, capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    (db.parent / "filler").unlink(missing_ok=True)  # space is freed again
    return html.unescape(re.sub("<[^>]+>", "", ran.stdout))


def test_full_disk_keeps_the_history_and_says_so(small_disk):
    """Issue 15, item 1: opening a quiz on a full disk once renamed the intact database aside
    ("disk I/O error" creating the -shm), then hit SQLITE_FULL raw, and after space was
    freed opened an empty database. Now: a ProgressError naming the fix, and the file kept."""
    kind, db = small_disk
    shown = run_on_full_disk(kind, db, "open")
    assert "ProgressError:" in shown and "free some disk space" in shown
    assert not aside_files(db)
    assert count_answers(db) == 20


def test_answer_on_a_full_disk_is_refused_in_words(small_disk):
    kind, db = small_disk
    shown = run_on_full_disk(kind, db, "check")
    assert "✓ Correct" in shown and "cannot be used right now" in shown
    assert count_answers(db) == 20 and not aside_files(db)


def test_database_from_a_newer_course_is_kept(db):
    """Item 4: it was moved aside as "not a bertcourse progress database"."""
    record(ProgressStore())
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(ProgressError, match="newer version of bertcourse"):
        ProgressStore()
    assert not aside_files(db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM attempts").fetchone() == (1,)


def test_a_long_write_lock_is_a_progress_error(db, monkeypatch):
    """Item 4: another program holding the write lock past the busy timeout gave a raw
    sqlite3.OperationalError (the timeout is shortened here; it is 15 s in use)."""
    record(ProgressStore())
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(db)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ProgressError, match="locked"):
            QuizView(load_bank("00_start_here"), ProgressStore(), {})
    finally:
        other.rollback()
        other.close()
    assert not aside_files(db) and count_answers(db) == 1


def overwrite(db: Path, old: bytes, new: bytes) -> None:
    data = db.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    db.write_bytes(data.replace(old, new))


def test_damaged_rows_are_skipped_with_a_warning(db, tmp_path):
    """Item 3: bytes overwritten inside two stored responses (the file stays valid SQLite)
    crashed the quiz and the export with OperationalError (not UTF-8) or JSONDecodeError."""
    store = ProgressStore()
    store.set_learner_name("Ada")
    for marker in ("1001", "1002", "12"):
        store.record("00_start_here", "base_layers", {"value": marker}, False, 0.0)
    store.close()
    overwrite(db, b'"1001"', b'"\xff\xfe\xfd\xfc"')
    overwrite(db, b'"1002"}', b'"1002",')
    with pytest.warns(ProgressWarning, match="2 damaged answer"):
        view = QuizView(load_bank("00_start_here"), ProgressStore(), {})
    layers = next(q for q in view.questions if q.question.id == "base_layers")
    assert layers.text_field.value == "12"
    out = tmp_path / "export.json"
    with pytest.warns(ProgressWarning, match="2 damaged answer"):
        assert report_cli("export", "--out", str(out)) == 0
    assert [a["response"] for a in json.loads(out.read_text())["attempts"]] == [{"value": "12"}]


def test_a_row_damaged_inside_the_type_checks_is_left_out_of_the_export(db, tmp_path):
    """Issue 28, item 2: `credit = 7.5` is valid SQLite and a valid Attempt, so the export wrote
    it as is and the report then refused the learner's whole hand-in. The export leaves out that
    row, naming it, and keeps the rest."""
    store = ProgressStore()
    store.set_learner_name("Ada")
    for marker in ("11", "12"):
        store.record("00_start_here", "base_layers", {"value": marker}, False, 0.0)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE attempts SET credit = 7.5 WHERE response = '{\"value\": \"11\"}'")
    out = tmp_path / "export.json"
    with pytest.warns(ProgressWarning, match=r"1 damaged answer\(s\) were left out .*base_layers.*credit"):
        assert report_cli("export", "--out", str(out)) == 0
    document = json.loads(out.read_text())
    assert [a["response"] for a in document["attempts"]] == [{"value": "12"}]
    assert EXPORT_SCHEMA.problem(document) is None


def test_a_learner_who_only_did_exercises_can_export(db, tmp_path):
    """Issue 28, small one: the learner id was made by the first quiz, so an export after
    exercise checks alone failed with "has no learner id yet"."""
    from bertcourse.quiz.exercises.engine import record as record_check, run

    record_check(run("05_iob2_entities", lambda tags: []), ProgressStore())
    out = tmp_path / "export.json"
    assert report_cli("export", "--name", "Ada", "--out", str(out)) == 0
    assert [a["question"] for a in json.loads(out.read_text())["attempts"]] == ["exercise:05_iob2_entities"]


@pytest.fixture
def read_only_database(db, monkeypatch):
    """A progress database the current user may read but not write, in a writable folder.
    As a normal user that is `chmod 444`; root writes through file modes, so there the
    store's permission check answers "not writable" and every connection it opens for
    writing is opened in SQLite's read-only mode, which fails writes with SQLITE_READONLY."""
    store = ProgressStore()
    store.set_learner_name("Ada")
    learner = store.learner_id()
    for i in range(3):
        record(store, f"q{i}")
    store.close()
    if os.geteuid() != 0:
        db.chmod(0o444)
    else:
        connect = sqlite3.connect
        def read_only_connect(path, *args, uri=False, **kwargs):
            if not uri:
                path, uri = f"{Path(path).resolve().as_uri()}?mode=ro", True
            return connect(path, *args, uri=uri, **kwargs)
        monkeypatch.setattr(store_module.sqlite3, "connect", read_only_connect)
        monkeypatch.setattr(store_module, "_writable", lambda path: path != db, raising=False)
    yield learner
    if db.exists():
        db.chmod(0o644)


def test_export_of_a_read_only_database_changes_nothing(db, read_only_database, tmp_path, capsys):
    """Item 2: `progress export` renamed a read-only database aside and exported 0 answers
    under a new learner id. Reading must never move, rename or create anything."""
    before = sorted(p.name for p in db.parent.iterdir())
    out = tmp_path.parent / f"{tmp_path.name}-hand-in" / "ada.json"
    assert report_cli("export", "--out", str(out)) == 0
    assert "Wrote Ada's answers to 3 questions (3 checked answers" in capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["learner"]["id"] == read_only_database and len(document["attempts"]) == 3
    assert sorted(p.name for p in db.parent.iterdir()) == before
    assert report_cli("export", "--name", "Ada L.", "--out", str(out)) == 0  # cannot remember it
    assert "could not remember" in capsys.readouterr().err
    assert json.loads(out.read_text())["learner"]["name"] == "Ada L."
    assert sorted(p.name for p in db.parent.iterdir()) == before


def test_quiz_on_a_read_only_database_keeps_it(db, read_only_database):
    with pytest.raises(ProgressError, match="read-only"):
        ProgressStore()
    assert not aside_files(db) and count_answers(db) == 3


def test_export_with_nothing_to_export_creates_no_home(tmp_path, monkeypatch, capsys):
    """Issue 28, small one: an export with no progress anywhere made an empty course home."""
    monkeypatch.delenv("BERTCOURSE_PROGRESS", raising=False)
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert report_cli("export", "--name", "Ada") == 2
    assert "No course progress found" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []


def test_export_of_a_database_without_its_shm_file_creates_none(db, tmp_path):
    """Issue 28, small one: a database whose -wal is still there but whose -shm is not (a kernel
    killed with nothing answered, or the two files copied from another machine) got a new -shm
    file from the export, which must only read."""
    killed = run_python("import os, signal\nfrom bertcourse.quiz.store import ProgressStore\n"
                        "store = ProgressStore()\nstore.set_learner_name('Ada')\n"
                        "os.kill(os.getpid(), signal.SIGKILL)", db)
    assert killed.returncode == -9, killed.stderr
    db.with_name(db.name + "-shm").unlink()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert "progress.sqlite-wal" in before
    assert report_cli("export", "--out", str(tmp_path / "out.json")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "out.json"])
    assert json.loads((tmp_path / "out.json").read_text())["learner"]["name"] == "Ada"


def test_export_without_progress_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "none" / "progress.sqlite"))
    assert report_cli("export", "--name", "Ada", "--out", str(tmp_path / "x.json")) == 2
    assert "No course progress found" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []


# -- a course home that cannot be created (issue 28, item 5) -------------------------------------

@pytest.fixture(params=["home is a file", "home under a file", "parent cannot hold folders", "no home directory"])
def homeless(request, tmp_path, monkeypatch):
    """A course home that cannot be created, each way the issue found: BERTCOURSE_HOME is a
    file, its parent is not a writable folder (a file; /proc, where even root makes no folder),
    or there is no home directory at all (HOME unset and no passwd entry)."""
    monkeypatch.delenv("BERTCOURSE_PROGRESS", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    if request.param == "no home directory":
        import pwd
        monkeypatch.delenv("BERTCOURSE_HOME", raising=False)
        monkeypatch.delenv("HOME", raising=False)
        monkeypatch.setattr(pwd, "getpwuid", lambda uid: (_ for _ in ()).throw(KeyError(uid)))
        return "default course home"
    home = {"home is a file": blocker, "home under a file": blocker / "home",
            "parent cannot hold folders": Path("/proc/bertcourse-home")}[request.param]
    monkeypatch.setenv("BERTCOURSE_HOME", str(home))
    return "BERTCOURSE_HOME"


def test_a_home_that_cannot_be_created_leaves_lessons_running_unsaved(homeless, monkeypatch, tmp_path, capsys):
    """Issue 28, item 5: take_quiz(), course_progress(), check(), `progress export` and `doctor` raised
    a raw FileExistsError, PermissionError or RuntimeError (check() after running the tests, so
    the verdict was lost). Lessons run with answers in memory and a "Not saved" warning; the
    commands say in one line which setting to change."""
    from bertcourse.quiz import overview
    from bertcourse.quiz import widget as quiz_widget
    from bertcourse.quiz.exercises import check
    from bertcourse.tools import cli, doctor

    shown = []
    monkeypatch.setattr(quiz_widget, "display", shown.append)
    monkeypatch.setattr(overview, "display", shown.append)
    monkeypatch.setattr("IPython.display.display", shown.append)
    with pytest.warns(ProgressWarning, match="Not saved: .* Set BERTCOURSE_HOME"):
        quiz_widget.take_quiz("00_start_here")
    with pytest.warns(ProgressWarning, match="Not saved"):
        overview.course_progress()
    with pytest.warns(ProgressWarning, match="Not saved"):
        check("05_iob2_entities", lambda tags: [])
    assert "tests pass" in shown[-1].outcome.summary()  # the verdict is shown, not lost
    monkeypatch.chdir(tmp_path)
    assert report_cli("export", "--name", "Ada") == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 2 and "Traceback" not in error
    assert cli.main(["doctor"]) == 1
    table = " ".join(capsys.readouterr().out.split())       # doctor's table wraps its cells at 80 columns
    assert re.search(r"course home FAIL Cannot use .*" + homeless, table)
    assert "set BERTCOURSE_HOME to a folder you can write to" in table
    assert not doctor.doctor() and not Path("/proc/bertcourse-home").exists()
