"""The coding exercises' checker, checked: every exercise's reference passes, every known-wrong
variant fails the test it is meant to fail with the message it is meant to give, and a learner
function that misbehaves (raises, never returns, floods output, returns the wrong thing, changes
its input) is reported in words while the kernel carries on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from bertcourse.quiz.exercises import catalog, check, engine
from bertcourse.quiz.exercises.sandbox import guarded_call
from bertcourse.quiz.exercises.view import ExerciseView
from bertcourse.quiz.export import EXPORT_SCHEMA, export_document
from bertcourse.quiz.records import ExerciseRecord, write
from bertcourse.quiz.report import build_report
from bertcourse.quiz.store import ProgressStore
from bertcourse.tools import dev_exercises

ENTRIES = list(catalog.entries().values())
WRONG = [(item, wrong) for item in ENTRIES for wrong in item.wrong_variants()]


@pytest.fixture(autouse=True)
def _private_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "progress.sqlite"))


def _stub(exercise_id: str):
    item, exercise = engine.declaration(exercise_id)
    return catalog.compile_function(exercise.stub, item.function, "<stub>")


@pytest.mark.parametrize("item", ENTRIES, ids=lambda item: item.id)
def test_reference_passes_every_test(item):
    outcome = engine.run(item.id, item.reference())
    assert outcome.passed, outcome.summary()
    assert {r.kind for r in outcome.results} == {"fixed", "edge", "property"}  # all three kinds, as the issue asks


@pytest.mark.parametrize(("item", "wrong"), WRONG, ids=lambda value: getattr(value, "name", getattr(value, "id", "")))
def test_known_wrong_variant_fails_with_the_intended_message(item, wrong):
    outcome = engine.run(item.id, catalog.compile_function(wrong.source, item.function, wrong.name))
    result = next((r for r in outcome.results if r.name == wrong.fails), None)
    assert result is not None, f"{wrong.name}: no test called {wrong.fails!r}"
    assert not result.passed, f"{wrong.name} passed {wrong.fails!r}"
    assert wrong.says in result.problem, result.problem
    assert "Traceback" not in outcome.summary()


@pytest.mark.parametrize("item", ENTRIES, ids=lambda item: item.id)
def test_the_unchanged_stub_is_not_started_and_not_recorded(item, tmp_path):
    outcome = engine.run(item.id, _stub(item.id))
    assert outcome.not_started and not outcome.passed
    assert "not started" in outcome.summary()


@pytest.mark.parametrize("item", ENTRIES, ids=lambda item: item.id)
def test_declarations_agree_with_the_sealed_files(item):
    sealed, exercise = engine.declaration(item.id)
    assert sealed.notebook.startswith(item.id[:3]) and exercise.anchor.strip()
    names = [test.name for test in exercise.tests]
    assert len(names) == len(set(names)) and all(len(name) <= 120 for name in names)
    assert any(wrong for wrong in item.wrong_variants()), "declare known-wrong variants for the checker's tests"
    header, solution, wrong = catalog.parse_plain(catalog.plain_text(item))  # the plain file round-trips
    assert solution == item.solution_source() and [w.source for w in wrong] == [w.source for w in item.wrong_variants()]
    text = (catalog.SEALED_DIR / f"{item.id}.json").read_text(encoding="utf-8")
    lines = {line.strip() for line in solution.splitlines() if len(line.strip()) > 12}
    assert lines and not [line for line in lines if line in text]  # not in plain sight (obfuscation: catalog.py)


def test_every_lesson_file_exercise_has_a_sealed_file():
    lesson_files = sorted((Path(catalog.__file__).parent / "lessons").glob("l*.py"))
    declared = {exercise.id for path in lesson_files for exercise in dev_exercises.declared(path.stem[1:])}
    assert declared == set(catalog.entries())


# -- misbehaving learner functions --------------------------------------------------------------------

def test_a_raising_function_is_reported_with_its_own_line():
    def wordpiece_offsets(word, vocab, unk="[UNK]", max_chars=100):
        pieces = {}
        return pieces[word]

    outcome = engine.run("01_wordpiece_offsets", wordpiece_offsets)
    first = outcome.results[0]
    assert not first.passed and "KeyError: 'unaffable'" in first.problem
    assert "(in your code: `return pieces[word]`)" in first.problem
    assert "Traceback" not in outcome.summary()


def test_exit_inside_the_function_does_not_end_the_kernel():
    guarded = guarded_call(lambda x: sys.exit(3), {"x": 1}, 5)
    assert guarded.error.startswith("SystemExit: 3") and guarded.error_type == "SystemExit"


def test_an_endless_loop_is_stopped_and_the_kernel_carries_on():
    def forever(x):
        while True:
            pass

    previous = signal.getsignal(signal.SIGALRM)
    guarded = guarded_call(forever, {"x": 1}, 0.3)
    assert guarded.timed_out and guarded.time_limit_enforced
    assert signal.getsignal(signal.SIGALRM) is previous and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    swallowing = guarded_call(lambda x: _swallow_and_loop(), {"x": 1}, 0.3)  # `except Exception` cannot hide it
    assert swallowing.timed_out


def _swallow_and_loop():
    try:
        while True:
            pass
    except Exception:
        return "never"


def test_a_flood_of_output_is_captured_and_summarised(capsys):
    def loud(x):
        for _ in range(100_000):
            print("debug", x)
        print("oops", file=sys.stderr)
        return x

    guarded = guarded_call(loud, {"x": 7}, 10)
    assert guarded.value == 7 and guarded.printed_chars == 100_000 * 8 + 5
    assert len(guarded.printed_start) == 400
    assert capsys.readouterr().out == ""  # nothing reached the notebook
    assert sys.stdout is sys.__stdout__ or "capture" in type(sys.stdout).__module__


def test_wrong_type_shape_and_mutation_are_reported():
    import torch

    def returns_list(query, key, value, attention_mask, causal=False):
        return [query, query]

    def wrong_shape(query, key, value, attention_mask, causal=False):
        return query, query

    def mutates(query, key, value, attention_mask, causal=False):
        attention_mask.zero_()
        return query, torch.zeros(query.shape[:-1] + (query.shape[-2],))

    problems = {fn.__name__: engine.run("02_masked_attention", fn).results[0].problem
                for fn in (returns_list, wrong_shape, mutates)}
    assert problems["returns_list"] == "expected a tuple (output, weights) of two tensors."
    assert problems["wrong_shape"].startswith("weights: expected shape (1, 1, 3, 3)")
    assert "changed its input attention_mask in place" in problems["mutates"]


def test_changing_an_input_in_place_names_the_copy_for_its_kind():
    """Issue 28, small one: the "changed its input" message told NumPy users to call `.clone()`."""
    def normalises_in_place(query, documents, k):
        documents /= 2
        return [0], [1.0]

    def sorts_in_place(tags):
        tags.sort()
        return []

    numpy_problem = engine.run("09_cosine_top_k", normalises_in_place).results[0].problem
    assert "changed its input documents in place" in numpy_problem and "`documents.copy()`" in numpy_problem
    assert "clone" not in numpy_problem
    list_problem = next(r.problem for r in engine.run("05_iob2_entities", sorts_in_place).results if r.problem)
    assert "`copy.deepcopy(tags)`" in list_problem and "clone" not in list_problem


def test_the_author_commands_the_exercise_docs_name_exist():
    """Issue 28, small one: catalog.py documented `dev exercises unseal ID`; the command is
    `dev unseal-exercise ID`. Every `bertcourse dev ...` the exercise package names must parse."""
    import re

    from bertcourse.tools.cli import build_parser

    package = Path(catalog.__file__).parent
    commands = {match for path in package.rglob("*.py")
                for match in re.findall(r"`bertcourse (dev [^`]+)`", path.read_text(encoding="utf-8"))}
    assert len(commands) >= 3
    parser = build_parser()
    dev = next(a for a in parser._actions if isinstance(getattr(a, "choices", None), dict)).choices["dev"]
    known = next(a for a in dev._actions if isinstance(getattr(a, "choices", None), dict)).choices
    # `dev SUBCOMMAND` then only placeholders (ID, FILE, PLAIN.py), options or "...": a lower-case
    # word there ("dev exercises unseal ID") would be taken as an argument, not a command.
    wrong = [command for command in commands
             if command.split()[1] not in known
             or any(word[:1].islower() for word in command.split()[2:] if not word.startswith("-"))]
    assert wrong == []


def test_not_a_function_or_another_signature_is_said_once():
    assert "needs your function itself" in engine.run("01_wordpiece_offsets", "oops").setup_problem
    renamed = engine.run("01_wordpiece_offsets", lambda text, vocabulary: [])
    assert "no parameter called word, vocab, unk, max_chars" in renamed.setup_problem and not renamed.results


def test_the_hint_is_chosen_from_the_mistake_found_and_whole_values_are_shown():
    """Issue 29: a solution whose only bug is counting "##" in the span got the hint "longest
    match first" (the first failing test's own), and "expected 1 item, got 2" hid what was expected."""
    reference = catalog.entry("01_wordpiece_offsets").reference()

    def spans_count_prefix(word, vocab, unk="[UNK]", max_chars=100):
        pieces, start = [], 0
        for piece, _, _ in reference(word=word, vocab=vocab, unk=unk, max_chars=max_chars):
            pieces.append((piece, start, start + len(piece)))
            start += len(piece)
        return pieces

    failed = next(r for r in engine.run("01_wordpiece_offsets", spans_count_prefix).results if not r.passed)
    assert failed.name.startswith("fixed: 'unaffable'")
    assert "never the '##'" in failed.hint and "Longest match" not in failed.hint
    assert failed.problem.endswith("Expected [('un', 0, 2), ('##aff', 2, 5), ('##able', 5, 9)]; "
                                   "got [('un', 0, 2), ('##aff', 2, 7), ('##able', 7, 13)].")

    def one_piece_too_many(word, vocab, unk="[UNK]", max_chars=100):
        return [(unk, 0, len(word)), (unk, 0, len(word))]

    edge = engine.run("01_wordpiece_offsets", one_piece_too_many).results[4]
    assert edge.problem == ("Expected 1 item, got 2. Expected [('[UNK]', 0, 6)]; "
                            "got [('[UNK]', 0, 6), ('[UNK]', 0, 6)].")
    assert edge.hint == engine.declaration("01_wordpiece_offsets")[1].tests[4].hint  # no diagnosis fits


def test_hints_show_backticks_as_code():
    item = catalog.entry("01_wordpiece_offsets")
    view = ExerciseView(engine.run(item.id, lambda word, vocab, unk="[UNK]", max_chars=100: []), item,
                        ("Compare with `len(word)`.",), None)
    assert "<code>unk</code>" in view.results.value  # a test's hint: "Return the `unk` you were given, ..."
    view.hint_button.click()
    assert "<code>len(word)</code>" in view.hint_area.value and "`" not in view.hint_area.value


def test_a_broken_test_is_not_blamed_on_the_learner():
    def weird(word, vocab, unk="[UNK]", max_chars=100):
        return [("un", 0, 2)] if word == "unaffable" else [object()]

    outcome = engine.run("01_wordpiece_offsets", weird)
    assert all("Traceback" not in r.problem for r in outcome.results)


# -- recording, the widget, export and report ---------------------------------------------------------

def test_check_records_returns_the_right_function_and_shows_a_result(monkeypatch):
    item = catalog.entry("01_wordpiece_offsets")
    assert check(item.id, _stub(item.id)) is not None  # stub: the reference comes back ...
    assert ProgressStore().attempts() == []             # ... and nothing is recorded
    learner = item.reference()
    assert check(item.id, learner) is learner
    (attempt,) = ProgressStore().attempts()
    assert (attempt.notebook, attempt.question, attempt.response, attempt.correct) == (
        "01_tokenization", "exercise:01_wordpiece_offsets", {"failed": []}, True)
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    check(item.id, _stub(item.id))  # after a restart the saved stub is back: the result says what counted
    assert "Your latest recorded check passed." in shown[0].results.value
    assert "recorded" not in shown[0]._repr_mimebundle_()["text/plain"]  # what nbval compares stays the same


def test_check_looks_the_exercise_up_once(monkeypatch):
    """Issue 31: check() found the catalog entry three times (its own lookup, the test run's and the
    recording's); the declaration it looks up once now serves all three."""
    lookups = []
    monkeypatch.setattr(engine, "entry", lambda exercise_id: lookups.append(exercise_id) or catalog.entry(exercise_id))
    monkeypatch.setattr("IPython.display.display", lambda view: None)
    item = catalog.entry("05_iob2_entities")
    assert check(item.id, item.reference()) is not None
    assert lookups == [item.id]
    assert [a.question for a in ProgressStore().attempts()] == [item.question]


def test_show_a_solution_needs_confirmation_and_is_recorded():
    item = catalog.entry("01_wordpiece_offsets")
    store = ProgressStore()
    view = ExerciseView(engine.run(item.id, _stub(item.id)), item, ("first", "second"), store)
    view.solution_button.click()
    assert view.confirm.layout.display == "flex" and store.attempts() == [] and view.solution_area.value == ""
    view.cancel_button.click()
    assert view.confirm.layout.display == "none"
    view.solution_button.click()
    view.confirm_button.click()
    assert "def wordpiece_offsets" in view.solution_area.value
    assert [a.response for a in store.attempts()] == [{"revealed": "solution"}]
    view.hint_button.click()
    view.hint_button.click()
    assert "second" in view.hint_area.value and view.hint_button.disabled


def test_exercise_attempts_are_exported_and_reported(tmp_path):
    store = ProgressStore()
    item = catalog.entry("02_masked_attention")
    wrong = item.wrong_variants()[0]
    engine.record(engine.run(item.id, catalog.compile_function(wrong.source, item.function, "w")), store)
    write(store, ExerciseRecord.solution_shown(item.notebook, item.id))
    engine.record(engine.run(item.id, item.reference()), store)
    document = export_document(store, "Ada")
    assert EXPORT_SCHEMA.problem(document) is None
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ada.json").write_text(json.dumps(document), encoding="utf-8")
    report = build_report(tmp_path / "class", ["02_architecture"])
    assert report.exercise_score_rows() == [["Ada", "1/1", "1"]]
    (row,) = report.exercise_rows()
    assert row[:5] == ["02_masked_attention", "1", "0%", "100%", "1"]
    assert wrong.fails in row[5]
    assert "Per-exercise results" in report.to_text()


# -- the author tool ----------------------------------------------------------------------------------

@pytest.mark.parametrize("notebook", sorted({item.notebook for item in catalog.entries().values()}))
def test_committed_notebooks_hold_current_exercise_cells(notebook):
    """Every lesson with a sealed exercise holds its cells, as `bertcourse dev exercises` last wrote them."""
    path = dev_exercises.NOTEBOOK_DIR / f"{notebook}.ipynb"
    assert dev_exercises.problems(path) == []


def test_refresh_inserts_executed_cells_and_check_sees_drift(tmp_path):
    item, exercise = engine.declaration("01_wordpiece_offsets")
    path = tmp_path / "01_tokenization.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Intro"),
                                                   nbformat.v4.new_code_cell(exercise.anchor + "\n    pass")]), path)
    assert "missing" in dev_exercises.problems(path)[0]
    dev_exercises.refresh(path)
    assert dev_exercises.problems(path) == []
    cells = nbformat.read(path, as_version=4).cells
    assert [c.metadata.get("bertcourse", {}).get("exercise", {}).get("part") for c in cells] == [
        None, None, "intro", "stub", "check"]
    assert "not started" in cells[4].outputs[0]["data"]["text/plain"]
    dev_exercises.refresh(path)  # a second refresh replaces, never duplicates
    assert len(nbformat.read(path, as_version=4).cells) == 5
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[3].source += "\n# edited"
    nbformat.write(notebook, path)
    assert "differs from its declaration" in dev_exercises.problems(path)[0]


# -- hostile functions (issue 28, items 9 to 13) ------------------------------------------------

HOSTILE = textwrap.dedent("""
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway result fails, not the machine
    from bertcourse.quiz.exercises import engine

    def swallows(tags):
        while True:
            try:
                time.sleep(0.01)
            except:
                pass

    def swallows_busy(tags):
        n = 0
        while True:
            try:
                n += 1
            except:
                pass

    def swallows_at_two_levels(tags):
        while True:
            try:
                swallows_busy(tags)
            except:
                continue

    def keeps_what_it_catches(tags):
        kept = []
        while True:
            try:
                time.sleep(0.01)
            except BaseException as caught:
                kept.append(caught)

    def endless_result(tags):
        def spans():
            while True:
                yield ("PER", 0, 0)
        return spans()

    started = time.monotonic()
    outcome = engine.run("05_iob2_entities", globals()[sys.argv[1]])
    print(round(time.monotonic() - started, 1), outcome.summary())
""")


@pytest.mark.parametrize("learner", ["swallows", "swallows_busy", "swallows_at_two_levels", "keeps_what_it_catches",
                                     "endless_result"])
def test_a_learner_loop_cannot_outlast_the_time_limit(learner, tmp_path):
    """Issue 28, items 9 and 10: the time limit fired once, so a loop inside a bare `except: pass`
    swallowed it and never returned (still running at 40 s); a returned endless generator hung the
    judge while memory grew. Both now stop after the limit (5 s here) and the later tests are not
    run. In a child process, so that the old behaviour fails the test instead of hanging it."""
    env = {**os.environ, "BERTCOURSE_PROGRESS": str(tmp_path / "p.sqlite"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        done = subprocess.run([sys.executable, "-c", HOSTILE, learner], env=env, capture_output=True, text=True,
                              check=False, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{learner}: still running after 60 s")
    assert done.returncode == 0, done.stderr
    seconds, summary = done.stdout.split(" ", 1)
    assert float(seconds) < 15, summary
    stopped = ("did not return within 5 s" if learner != "endless_result" else
               "reading what your function returned took over 5 s and was stopped")
    assert stopped in summary and "not run: your function did not return" in summary


def test_the_hard_stop_leaves_the_kernel_as_it_was():
    """After a stop that had to trace the learner's frames, the trace function, the SIGALRM
    handler and the timer are what they were, and a well-behaved call runs untraced."""
    def swallows(x):
        while True:
            try:
                x += 1
            except:  # noqa: E722 - the learner's bare except is the point
                pass

    before = (sys.gettrace(), signal.getsignal(signal.SIGALRM))
    assert guarded_call(swallows, {"x": 1}, 0.2).timed_out
    assert (sys.gettrace(), signal.getsignal(signal.SIGALRM)) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert guarded_call(lambda x: x + 1, {"x": 1}, 0.2).value == 2


def test_a_bare_except_loop_is_stopped_in_a_real_kernel(tmp_path):
    """Issue 28, item 9, as a learner meets it: check() in a Jupyter kernel on a loop wrapped in
    `except: pass`. The cell ends with the verdict and the kernel answers the next cell."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "BERTCOURSE_PROGRESS": str(tmp_path / "p.sqlite"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    manager, client = start_new_kernel(env=env)
    try:
        cell = textwrap.dedent("""
            import time
            from bertcourse.quiz.exercises import engine
            def iob2_entities(tags):
                while True:
                    try:
                        time.sleep(0.01)
                    except:
                        pass
            print(engine.run("05_iob2_entities", iob2_entities).summary())
        """)
        shown = []
        reply = client.execute_interactive(cell, timeout=60, output_hook=lambda m: shown.append(
            m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok" and "did not return within 5 s" in "".join(shown)
        later = []
        after = client.execute_interactive("print(6 * 7)", timeout=20, output_hook=lambda m: later.append(
            m["content"].get("text", "")))
        assert after["content"]["status"] == "ok" and "42" in "".join(later)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("raised", ["KeyboardInterrupt", "BaseException", "GeneratorExit", "SystemExit"])
def test_base_exceptions_from_the_learner_are_reported_and_recorded(raised, tmp_path):
    """Issue 28, item 11: KeyboardInterrupt, BaseException and GeneratorExit raised by a learner
    function escaped check() as raw tracebacks, and nothing was recorded."""
    def iob2_entities(tags):
        raise {"KeyboardInterrupt": KeyboardInterrupt, "BaseException": BaseException,
               "GeneratorExit": GeneratorExit, "SystemExit": SystemExit}[raised]("learner's")

    store = ProgressStore()
    outcome = engine.run("05_iob2_entities", iob2_entities)
    engine.record(outcome, store)
    assert f"your function raised {raised}: learner's" in outcome.results[0].problem
    assert [(a.question, a.correct) for a in store.attempts()] == [("exercise:05_iob2_entities", False)]


def test_a_value_that_equals_everything_does_not_pass(tmp_path):
    """Issue 28, item 12: a returned value whose __eq__ always says True passed
    05_align_every_subword 10/10 and was recorded as passed. Judges compare plain values; a
    class with its own comparison is refused, in words."""
    class Label(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    class Labels(list):
        def __eq__(self, other):
            return True

    def align_labels_every_subword(word_ids, word_labels, names):
        return [Label(0) for _ in word_ids]

    def align_as_a_list_subclass(word_ids, word_labels, names):
        return Labels([0] * len(word_ids))

    for liar in (align_labels_every_subword, align_as_a_list_subclass):
        outcome = engine.run("05_align_every_subword", liar)
        assert not outcome.passed and outcome.credit == 0
        assert "a class whose == (or another comparison) is its own" in outcome.results[0].problem

    class Plain(list):  # a subclass that leaves comparison alone is judged by its values
        pass

    item = catalog.entry("05_align_every_subword")
    reference = item.reference()
    assert engine.run("05_align_every_subword", lambda word_ids, word_labels, names: Plain(
        reference(word_ids=word_ids, word_labels=word_labels, names=names))).passed


def test_a_refused_allocation_is_reported():
    """Issue 28, item 13 (guarded part): an allocation the system refuses is a MemoryError,
    reported like any other error; the kernel carries on."""
    guarded = guarded_call(lambda x: bytearray(1 << 62), {"x": 1}, 5)
    assert guarded.error_type == "MemoryError"


UNGUARDED = textwrap.dedent("""
    import itertools, os, sys
    from bertcourse.quiz.exercises.sandbox import guarded_call
    work = {"os._exit": lambda x: os._exit(7), "C loop": lambda x: sum(itertools.repeat(1))}[sys.argv[1]]
    guarded_call(work, {"x": 1}, 0.5)
    print("returned")
""")


@pytest.mark.parametrize("what", ["os._exit", "C loop"])
def test_what_no_guard_in_the_kernel_can_stop(what):
    """Issue 28, item 13 (documented as not guarded in docs/guarantees.md): `os._exit` ends the
    process that runs the check (the kernel), and a loop inside one C call never returns to Python,
    where the time limit acts; only restarting the kernel ends it. Shown in a child process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        done = subprocess.run([sys.executable, "-c", UNGUARDED, what], env=env, capture_output=True, text=True,
                              check=False, timeout=10)
    except subprocess.TimeoutExpired:
        assert what == "C loop"  # still inside sum() 10 s after a 0.5 s limit
        return
    assert what == "os._exit" and done.returncode == 7 and "returned" not in done.stdout
