"""Exports, the instructor report over real and malformed submissions, and the CLI."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bertcourse.quiz import report as report_module
from bertcourse.quiz.bank import available_banks, load_bank
from bertcourse.quiz.export import EXPORT_SCHEMA, write_export
from bertcourse.quiz.report import build_report, printable
from bertcourse.quiz.store import ProgressStore
from bertcourse.quiz.widget import QuizView
from bertcourse.tools.progress import register
from bertcourse.tools.quiz_demo import make_class

ACRONYM = "Bidirectional Encoder Representations from Transformers"
WRONG_ACRONYM = "Binary Embedding Retrieval with Transformers"


def cli(*argv: str) -> int:
    """The lead's `bertcourse` parser in miniature: our sub-commands under one root."""
    parser = argparse.ArgumentParser(prog="bertcourse")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def learner_export(folder: Path, name: str, answers: list[tuple[str, str]], file: str | None = None) -> Path:
    """A real export: `name` answers 00_start_here questions through the widget, in order.
    `answers` holds (question id, choice text or typed value); a repeated id is a retry."""
    store = ProgressStore(folder / f".{name}.sqlite")
    view = QuizView(load_bank("00_start_here"), store, {})
    by_id = {q.question.id: q for q in view.questions}
    for question_id, given in answers:
        question = by_id[question_id]
        if not question.retry_button.disabled:
            question.retry_button.click()
        if question.question.type == "single":
            question.answer.value = next(c.id for c in question.question.choices if c.text == given)
        else:
            question.text_field.value = given
        question.check_button.click()
    path = write_export(store, name, folder / (file or f"{name.lower().replace(' ', '-')}.json"))
    store.close()
    (folder / f".{name}.sqlite").unlink()
    for sidecar in folder.glob(f".{name}.sqlite-*"):
        sidecar.unlink()
    return path


@pytest.fixture(scope="module")
def class_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    learner_export(folder, "Ada", [("bert_acronym", ACRONYM), ("base_layers", "12"), ("mlm_rate", "15")])
    learner_export(folder, "Ben", [("bert_acronym", WRONG_ACRONYM), ("bert_acronym", ACRONYM),
                                   ("base_layers", "24"), ("mlm_rate", "15")])
    learner_export(folder, "Cy", [("bert_acronym", WRONG_ACRONYM), ("base_layers", "24"),
                                  ("mask_token", " mask ")])
    return folder


@pytest.fixture
def class_dir(class_template, tmp_path):
    """A fresh copy of three real exports for each test to add files to or tamper with."""
    return Path(shutil.copytree(class_template, tmp_path / "submissions"))


def stats_of(report, label):
    return next(s for s in report.questions if s.label == label)


def test_export_file_follows_the_schema(class_dir):
    document = json.loads((class_dir / "ben.json").read_text())
    assert EXPORT_SCHEMA.problem(document) is None
    assert document["learner"]["name"] == "Ben"
    assert [(a["question"], a["correct"]) for a in document["attempts"]] == [
        ("bert_acronym", False), ("bert_acronym", True), ("base_layers", False), ("mlm_rate", True)]


def test_report_on_real_exports(class_dir):
    report = build_report(class_dir)
    assert report.skipped == [] and report.notes == []
    assert [row[0] for row in report.score_rows()] == ["Ada", "Ben", "Cy"]
    assert [row[1] for row in report.score_rows()] == ["3/14", "2/14", "0/14"]
    assert [row[2] for row in report.score_rows()] == ["—", "—", "—"]
    acronym = stats_of(report, "00_start_here/bert_acronym")
    assert (acronym.learners, acronym.first_try, acronym.latest) == (3, pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert acronym.top_wrong == (WRONG_ACRONYM, 2)
    layers = stats_of(report, "00_start_here/base_layers")
    assert layers.top_wrong == ("24", 2) and layers.first_try == pytest.approx(1 / 3)
    assert stats_of(report, "00_start_here/mask_token").top_wrong == ("mask", 1)
    # never right: base_layers 2 (Ben, Cy), bert_acronym 1 (Cy; Ben got it on his retry), mask_token 1;
    # wrong at first: 2, 2, 1
    assert report.missed_rows() == [["00_start_here/base_layers", "2 of 3", "2 of 3", "“24” (2 learners)"],
                                    ["00_start_here/bert_acronym", "1 of 3", "2 of 3", f"“{WRONG_ACRONYM}” (2 learners)"],
                                    ["00_start_here/mask_token", "1 of 1", "1 of 1", "“mask” (1 learner)"]]

    text = report.to_text()
    assert "Instructor report: 3 learner(s), 0 file(s) skipped" in text
    assert "Ada      3/14" in text
    # as notebook 90 reports (three quizzes), every line fits a notebook's output: none breaks mid-word
    shown = build_report(class_dir, ["00_start_here", "01_tokenization", "02_architecture"]).to_text()
    assert max(map(len, shown.splitlines())) <= 80, shown


def test_most_missed_ranks_by_learners_never_right_and_counts_learners_not_tries(class_dir):
    """Issue 29: the table ranked by first-try rate alone (a question a learner later solved came
    before one nobody solved) and "(8×)" counted tries. Dee tries "24" three times; Eve misses
    mask_token at first and then solves it."""
    learner_export(class_dir, "Dee", [("base_layers", "24"), ("base_layers", "24"), ("base_layers", "24")])
    learner_export(class_dir, "Eve", [("bert_acronym", WRONG_ACRONYM), ("bert_acronym", ACRONYM),
                                      ("base_layers", "12"), ("mask_token", "mask"), ("mask_token", "[MASK]")])
    report = build_report(class_dir)
    assert stats_of(report, "00_start_here/base_layers").top_wrong == ("24", 3)  # Ben, Cy, Dee; not 5 tries
    rows = report.missed_rows()
    assert [row[0] for row in rows] == ["00_start_here/base_layers", "00_start_here/bert_acronym",
                                        "00_start_here/mask_token"]
    assert rows[0][1:] == ["3 of 5", "3 of 5", "“24” (3 learners)"]
    assert rows[2][1:3] == ["1 of 2", "2 of 2"]  # Eve solved it later: ranked below unsolved ones
    assert "most given wrong answer" in report.to_text() and "×)" not in report.to_text()


def test_export_message_counts_questions_not_tries(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "exports"
    folder.mkdir()
    path = learner_export(folder, "Ben", [("bert_acronym", WRONG_ACRONYM), ("bert_acronym", ACRONYM),
                                          ("base_layers", "24")])
    store = ProgressStore(tmp_path / "p.sqlite")
    store.learner_id()  # as opening a quiz does
    for attempt in json.loads(path.read_text())["attempts"]:
        store.record(attempt["notebook"], attempt["question"], attempt["response"], attempt["correct"],
                     attempt["credit"])
    store.close()
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "p.sqlite"))
    monkeypatch.chdir(tmp_path)
    assert cli("progress", "export", "--name", "Ben") == 0
    assert "Wrote Ben's answers to 2 questions (3 checked answers, every try included)" in capsys.readouterr().out


def test_multiple_select_most_chosen_wrong_answer_is_a_wrong_option(tmp_path):
    bank = load_bank("00_start_here")
    question = bank.question("encoder_only_traits")
    right = [c for c in question.choices if question.is_correct_choice(c)]
    wrong = [c for c in question.choices if not question.is_correct_choice(c)]
    folder = tmp_path / "exports"
    folder.mkdir()
    for name, picks in [("Ada", [right[0], wrong[0]]), ("Ben", [right[0], right[1], wrong[0]]),
                        ("Cy", [right[0], wrong[1]]), ("Di", [right[0]])]:  # Di only missed right options
        store = ProgressStore(folder / f".{name}.sqlite")
        view = QuizView(bank, store, {})
        item = next(q for q in view.questions if q.question.id == question.id)
        for choice in picks:
            item.checkboxes[choice.id].value = True
        item.check_button.click()
        write_export(store, name, folder / f"{name}.json")
        store.close()
    for scratch in folder.glob(".*"):
        scratch.unlink()
    stats = stats_of(build_report(folder), "00_start_here/encoder_only_traits")
    shown = printable(wrong[0].text, 60)
    assert stats.top_wrong == (shown, 2) and stats.first_try == 0
    assert not shown.endswith("…") or shown[-2] != " " and wrong[0].text.startswith(shown[:-1])
    assert all(stats.top_wrong[0] != printable(c.text, 60) for c in right)


def test_report_writes_plots_and_html(class_dir, tmp_path):
    written = build_report(class_dir).write(tmp_path / "out", now=datetime(2026, 11, 27, 16, 5, tzinfo=UTC))
    assert sorted(p.name for p in written) == ["report.html", "scores.png", "success_rate.png"]
    for png in ("scores.png", "success_rate.png"):
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<td>Ben</td>" in page and '<img src="success_rate.png"' in page
    assert "<title>Quiz report 2026-11-27 16:05 UTC</title>" in page and "Made on 2026-11-27 16:05 UTC" in page
    assert "font-family" in page and "th { background" in page


def write(folder: Path, name: str, content: bytes | str) -> None:
    data = content.encode() if isinstance(content, str) else content
    (folder / name).write_bytes(data)


def test_untrusted_submissions_are_reported_and_skipped(class_dir, tmp_path):
    good = json.loads((class_dir / "ada.json").read_text())
    write(class_dir, "truncated.json", (class_dir / "ada.json").read_text()[:120])
    write(class_dir, "latin1.json", "{\"name\": \"Jos\xe9\"}".encode("latin-1"))
    write(class_dir, "list.json", "[1, 2, 3]")
    write(class_dir, "no-learner.json", json.dumps({k: v for k, v in good.items() if k != "learner"}))
    write(class_dir, "other-format.json", json.dumps(good | {"format": "moodle"}))
    write(class_dir, "extra.json", json.dumps(good | {"__class__": "os.system"}))
    write(class_dir, "bad-date.json", json.dumps(good | {"exported_at": "2024-13-45T99:00:00"}))
    write(class_dir, "deep.json", "[" * 100_000 + "]" * 100_000)
    write(class_dir, "digits.json", "1" * 10_000)
    with open(class_dir / "huge.json", "wb") as huge:
        huge.truncate(report_module.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    write(class_dir, "notes.txt", "not an export")
    write(class_dir, "evil\x1b[2J\nname.json", "{}")
    (class_dir / "folder.json").mkdir()
    os.symlink("/etc/passwd", class_dir / "link.json")

    report = build_report(class_dir)
    reasons = {s.file: s.reason for s in report.skipped}
    assert reasons["truncated.json"].startswith("is not valid JSON (line")
    assert reasons["latin1.json"] == "is not UTF-8 text"
    assert reasons["list.json"] == "is not a bertcourse progress export (must be object)"
    assert reasons["no-learner.json"] == "is not a bertcourse progress export (must contain ['learner'] properties)"
    assert reasons["other-format.json"].startswith("is not a bertcourse progress export (format:")
    assert "must not contain {'__class__'}" in reasons["extra.json"]
    assert reasons["bad-date.json"] == "is not a bertcourse progress export (exported_at is not a real date)"
    assert reasons["deep.json"] == "is not valid JSON (numbers too long or nesting too deep)"
    assert reasons["digits.json"] == "is not valid JSON (numbers too long or nesting too deep)"
    assert reasons["huge.json"].startswith("is too large (5,242,881 bytes")
    assert reasons["notes.txt"] == "is not a .json file"
    assert reasons["evil\\x1b[2J\\nname.json"].startswith("is not a bertcourse progress export")
    assert reasons["folder.json"] == "is not a regular file"
    assert reasons["link.json"] == "is a symbolic link"
    assert len(report.skipped) == 14
    assert [row[0] for row in report.score_rows()] == ["Ada", "Ben", "Cy"]  # the report still ran
    assert "\x1b" not in report.to_text()


def test_a_damaged_answer_is_skipped_not_the_learner(class_dir):
    """Issue 28, item 2: one attempt with credit 7.5 made the report refuse the whole hand-in
    ("0 learner(s) ... credit: must be smaller than or equal to 1"); only that attempt goes."""
    before = next(row for row in build_report(class_dir).score_rows() if row[0] == "Ada")
    document = json.loads((class_dir / "ada.json").read_text())
    document["attempts"].append(dict(document["attempts"][0], credit=7.5))
    document["attempts"].append("not even an object")
    (class_dir / "ada.json").write_text(json.dumps(document))
    report = build_report(class_dir)
    assert report.skipped == []
    assert next(row for row in report.score_rows() if row[0] == "Ada") == before
    assert any("ada.json: 2 damaged answer(s) were skipped: attempts[" in note and "credit" in note
               for note in report.notes)


def test_forged_flags_are_regraded_and_odd_answers_ignored(class_dir):
    document = json.loads((class_dir / "cy.json").read_text())
    for attempt in document["attempts"]:
        attempt["correct"] = True
    document["attempts"].append(document["attempts"][0] | {"question": "not_a_question"})
    document["attempts"].append(document["attempts"][0] | {"response": {"choice": "zz"}})
    (class_dir / "cy.json").write_text(json.dumps(document))
    report = build_report(class_dir)
    assert next(row for row in report.score_rows() if row[0] == "Cy")[1] == "0/14"
    assert report.notes == [
        "cy.json: 1 answer(s) to questions outside the quizzes reported on were ignored",
        "cy.json: 1 answer(s) that do not fit their question were ignored",
        "cy.json: 3 answer(s) were re-graded: the file's correct flag was wrong",
    ]


def test_a_huge_number_in_an_export_is_a_wrong_answer(class_dir, capsys, tmp_path):
    """Issue 15, item 5: one {"value": "1e4301"} crashed the whole report (ValueError)."""
    document = json.loads((class_dir / "ada.json").read_text())
    for attempt in document["attempts"]:
        if attempt["question"] == "base_layers":
            attempt["response"] = {"value": "1e4301"}
    (class_dir / "ada.json").write_text(json.dumps(document))
    assert cli("progress", "report", str(class_dir), "--out", str(tmp_path / "out")) == 0
    report = build_report(class_dir)
    every_question = sum(len(load_bank(notebook).questions) for notebook in available_banks())
    assert next(row for row in report.score_rows() if row[0] == "Ada")[-1] == f"2/{every_question}"


def test_a_computed_answer_past_decimals_limit_is_a_wrong_answer(class_dir, tmp_path):
    """Issue 28, item 4: a computed answer of 1e1000000 raised decimal.Overflow, and no report
    was written for the class."""
    add_attempts(class_dir / "ada.json", ("01_tokenization", "count_tokens", "1e1000000", True))
    assert cli("progress", "report", str(class_dir), "--out", str(tmp_path / "out")) == 0
    ada = next(learner for learner in build_report(class_dir).learners if learner.name == "Ada")
    assert ada.tries[("01_tokenization", "count_tokens")][-1][0] is False


def test_a_report_piped_into_head_ends_quietly_and_is_still_written(class_dir, tmp_path):
    """Issue 28, item 8: `bertcourse progress report ... | head` ended in a BrokenPipeError
    traceback. The reader here is gone before the command prints anything (as `head` is once it
    has its lines); the command ends without a traceback and the report files are written."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "bertcourse.tools.cli", "progress", "report", str(class_dir), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr, stderr.decode()
    assert (out / "report.html").is_file()


def add_attempts(path: Path, *attempts: tuple[str, str, str, bool]) -> None:
    """Append (notebook, question, typed value, claimed correct flag) to an export."""
    document = json.loads(path.read_text())
    document["attempts"] += [{"notebook": nb, "question": q, "response": {"value": value}, "correct": flag,
                              "credit": float(flag), "answered_at": "2024-05-01T10:00:00+00:00"}
                             for nb, q, value, flag in attempts]
    path.write_text(json.dumps(document))


def test_computed_answers_are_regraded_against_the_courses_models(class_dir):
    """Issue 15, item 6: a computed answer's correct flag was taken as submitted, so "999999"
    counted as correct. The values the course's own models give are checked instead."""
    add_attempts(class_dir / "ada.json",
                 ("01_tokenization", "count_tokens", "999999", True),
                 ("01_tokenization", "count_tokens", "16", False),  # right, flag tampered down
                 ("02_architecture", "config_parameters", "999999", True),
                 ("02_architecture", "config_parameters", "22.7", True),   # MiniLM (laptop profile)
                 ("02_architecture", "config_parameters", "109.5", True),  # BERT-Base (gpu profile)
                 ("07_distillation", "student_parameters", "999999", True),
                 ("07_distillation", "student_parameters", "67", True))    # half of BERT-Base
    report = build_report(class_dir)
    ada = next(learner for learner in report.learners if learner.name == "Ada")
    assert [ok for ok, _ in ada.tries[("01_tokenization", "count_tokens")]] == [False, True]
    assert [ok for ok, _ in ada.tries[("02_architecture", "config_parameters")]] == [False, True, True]
    assert [ok for ok, _ in ada.tries[("07_distillation", "student_parameters")]] == [False, True]
    assert "ada.json: 4 answer(s) were re-graded: the file's correct flag was wrong" in report.notes


def test_two_different_exports_claiming_one_learner_are_both_kept(class_dir):
    """Issue 15, item 6: an export reusing Ben's id with exported_at in year 9999 replaced
    Ben's real submission. Neither is more trustworthy, so both are shown and flagged."""
    forged = json.loads((class_dir / "ada.json").read_text())
    forged["learner"] = json.loads((class_dir / "ben.json").read_text())["learner"] | {"name": "Ben"}
    forged["exported_at"] = "9999-12-31T23:59:59+00:00"
    (class_dir / "zz-forged.json").write_text(json.dumps(forged))
    report = build_report(class_dir)
    assert report.skipped == []
    assert sorted(row[0] for row in report.score_rows()) == ["Ada", "Ben (ben.json)", "Ben (zz-forged.json)", "Cy"]
    assert any("ben.json and zz-forged.json claim the same learner" in note for note in report.notes)


def test_duplicate_learner_keeps_the_newer_export(class_dir):
    older = json.loads((class_dir / "ben.json").read_text())
    older["exported_at"] = "2020-01-01T00:00:00+00:00"
    older["attempts"] = older["attempts"][:1]  # answers are append-only: a re-export extends it
    (class_dir / "ben-old.json").write_text(json.dumps(older))
    report = build_report(class_dir)
    assert [(s.file, s.reason) for s in report.skipped] == [
        ("ben-old.json", "duplicate of learner Ben (kept the newer export ben.json)")]
    assert next(row for row in report.score_rows() if row[0] == "Ben")[1] == "2/14"


def test_hostile_names_are_escaped(class_dir, tmp_path):
    document = json.loads((class_dir / "ada.json").read_text())
    document["learner"] |= {"name": "<script>alert(1)</script>\u202e", "id": "f" * 32}
    (class_dir / "zz.json").write_text(json.dumps(document))
    report = build_report(class_dir)
    assert any(row[0] == "<script>alert(1)</script>\\u202e" for row in report.score_rows())
    report.write(tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_can_be_limited_to_some_quizzes(class_dir):
    report = build_report(class_dir, ["00_start_here", "02_architecture"])
    assert report.sections()[0][1] == ["learner", "00_start_here", "02_architecture", "total"]
    assert report.score_rows()[0] == ["Ada", "3/14", "—", "3/24"]
    assert report.notes == []
    only_02 = build_report(class_dir, ["02_architecture"])
    assert only_02.questions == [] and len(only_02.notes) == 3  # one per learner: 00 answers ignored


def test_same_name_different_learners_stay_apart(class_dir):
    document = json.loads((class_dir / "ada.json").read_text())
    document["learner"]["id"] = "a" * 32
    (class_dir / "ada-2.json").write_text(json.dumps(document))
    names = [row[0] for row in build_report(class_dir).score_rows()]
    assert len([n for n in names if n.startswith("Ada (")]) == 2


def test_printable():
    assert printable("tab\there") == "tab\\there"
    assert printable("x" * 50) == "x" * 39 + "…"
    assert printable("It is adapted to a task by adding a small head and fine-tuning") == \
        "It is adapted to a task by adding a…"  # cut at a space, not mid-word
    assert printable("Zoë Ünal") == "Zoë Ünal"


def test_demo_class_generates_real_exports(tmp_path):
    files = make_class(tmp_path)
    report = build_report(tmp_path)
    assert len(report.learners) == 4 and report.notes == []
    assert {s.file for s in report.skipped} == {"upload-cut-short.json", "ben-sample-first-try.json"}
    assert all(EXPORT_SCHEMA.problem(json.loads(f.read_text())) is None
               for f in files if f.name != "upload-cut-short.json")


def test_committed_demo_exports_match_the_current_banks():
    demo = Path(__file__).resolve().parents[1] / "data" / "quiz_demo_exports"
    report = build_report(demo)
    assert report.notes == []  # every stored verdict agrees with re-grading against today's banks
    assert sorted(s.file for s in report.skipped) == ["ben-sample-first-try.json", "upload-cut-short.json"]
    assert [row[0] for row in report.score_rows()] == ["Ada Example", "Ben Sample", "Chen Placeholder", "Dana Fictive"]


# -- command line ------------------------------------------------------------------------------

def test_cli_export_needs_a_name_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "p.sqlite"))
    monkeypatch.chdir(tmp_path)
    ProgressStore().learner_id()  # as opening a first quiz does
    assert cli("progress", "export") == 2
    assert "--name" in capsys.readouterr().err
    assert cli("progress", "export", "--name", "Zoë Ünal") == 0
    out = capsys.readouterr().out
    assert ("Wrote Zoë Ünal's answers to 0 questions (0 checked answers, every try included) to "
            f"{tmp_path / 'bertcourse-progress-zoe-unal.json'}") in out  # the current folder, in full
    assert cli("progress", "export", "--out", "sub/mine.json") == 0  # the name was remembered
    document = json.loads((tmp_path / "sub" / "mine.json").read_text())
    assert document["learner"]["name"] == "Zoë Ünal" and EXPORT_SCHEMA.problem(document) is None


def test_cli_report(class_dir, tmp_path, capsys):
    write(class_dir, "broken.json", "{")
    assert cli("progress", "report", str(class_dir), "--out", str(tmp_path / "out")) == 0
    out = capsys.readouterr().out
    assert "Instructor report: 3 learner(s), 1 file(s) skipped" in out
    assert "broken.json  is not valid JSON (line 1, column 2)" in out
    assert "Wrote success_rate.png, scores.png, report.html to" in out
    assert (tmp_path / "out" / "report.html").is_file()

    assert cli("progress", "report", str(tmp_path / "missing")) == 2
    assert "is not a folder" in capsys.readouterr().err
    only_bad = tmp_path / "only-bad"
    only_bad.mkdir()
    write(only_bad, "x.json", "nope")
    assert cli("progress", "report", str(only_bad), "--out", str(tmp_path / "out2")) == 1


def test_cli_bad_paths_are_short_errors(class_dir, tmp_path, monkeypatch, capsys):
    """Issue 15, item 7: each of these gave a Python traceback."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert cli("progress", "report", str(class_dir), "--out", str(a_file)) == 2
    assert "cannot write the report" in capsys.readouterr().err
    assert cli("progress", "report", str(class_dir), "--out", str(a_file / "sub")) == 2
    assert "cannot write the report" in capsys.readouterr().err

    def unreadable(path):  # root reads any folder, so the refusal is raised where it happens
        raise PermissionError(13, "Permission denied", str(path))
    with monkeypatch.context() as patch:
        patch.setattr(report_module.os, "scandir", unreadable)
        assert cli("progress", "report", str(class_dir), "--out", str(tmp_path / "out")) == 2
    assert "cannot read the folder" in capsys.readouterr().err

    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "p.sqlite"))
    ProgressStore().learner_id()
    folder = tmp_path / "hand-in"
    folder.mkdir()
    assert cli("progress", "export", "--name", "Ada", "--out", str(folder)) == 0  # a folder: file inside
    assert (folder / "bertcourse-progress-ada.json").is_file()
    capsys.readouterr()
    assert cli("progress", "export", "--out", str(a_file / "x.json")) == 2
    assert "Cannot write the export" in capsys.readouterr().err


def test_a_byte_order_mark_is_accepted(class_dir):
    """Issue 15, item 7: an editor's UTF-8 BOM made a good export "not valid JSON"."""
    (class_dir / "ada.json").write_bytes(b"\xef\xbb\xbf" + (class_dir / "ada.json").read_bytes())
    report = build_report(class_dir)
    assert report.skipped == [] and len(report.learners) == 3


def test_the_most_given_wrong_answer_does_not_depend_on_the_hash_seed() -> None:
    """Ties between wrong answers were broken by a set's hash order, so notebook 90's committed report
    changed with PYTHONHASHSEED; the committed demo exports hold such ties."""
    script = ("from bertcourse.course.paths import shipped_data_dir\n"
              "from bertcourse.quiz.report import build_report\n"
              "report = build_report(shipped_data_dir() / 'quiz_demo_exports')\n"
              "print(sorted((s.notebook, s.question, s.top_wrong) for s in report.questions))\n")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "1", "2", "3")}
    assert len(outputs) == 1, outputs
    assert report_module.most_common_wrong(report_module.Counter({"b": 2, "a": 2, "c": 1})) == ("a", 2)
