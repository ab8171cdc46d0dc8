"""Printed lines and tables fit a notebook's output area (issue 29: JupyterLab broke the
`doctor`, `start_lesson` and instructor-report lines mid-word and the columns fell apart)."""

from __future__ import annotations

import pytest

from bertcourse.course import plain_text
from bertcourse.course.startup import start_lesson
from bertcourse.tools import cli


def fits(text: str) -> bool:
    """Every line within the width, except where a single word (a path) is too long to wrap: the
    line must then fit without it."""
    return all(len(line) - max(map(len, line.split()), default=0) <= plain_text.WIDTH
               and (len(line) <= plain_text.WIDTH or len(max(line.split(), key=len)) > plain_text.WIDTH // 3)
               for line in text.splitlines())


def test_a_table_wider_than_the_width_wraps_its_widest_column_at_spaces() -> None:
    long = "duplicate of learner Ben Sample (kept the newer export ben-sample.json)"
    lines = plain_text.table(["file", "reason"], [["ben-sample-first-try.json", long], ["a.json", "ok"]], width=60)
    assert lines == [
        "file                       reason",
        "-------------------------  ---------------------------------",
        "ben-sample-first-try.json  duplicate of learner Ben Sample",
        "                           (kept the newer export",
        "                           ben-sample.json)",
        "a.json                     ok",
    ]


def test_headers_wrap_to_their_column_and_a_line_break_in_a_cell_is_kept() -> None:
    lines = plain_text.table(["passed first try", "detail"], [["0%", "ok\n-> fix it"]])
    assert lines == ["passed  detail", "first", "try", "------  ---------", "0%      ok", "        -> fix it"]


def test_a_word_longer_than_its_column_is_never_cut() -> None:
    path = "/home/someone/" + "x" * 90 + "/progress.sqlite"
    lines = plain_text.table(["check", "detail"], [["quiz progress", f"{path} (in the course home)"]])
    assert any(path in line for line in lines)
    assert plain_text.wrap(f"see {path} now", width=20).splitlines() == ["see", f"  {path}", "  now"]


def test_doctor_table_fits(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BERTCOURSE_PROGRESS", raising=False)
    cli.main(["doctor"])
    table = capsys.readouterr().out
    assert "writes a copy to the current folder" in " ".join(table.split())
    assert fits(table), table


def test_the_lesson_banner_fits(capsys: pytest.CaptureFixture[str]) -> None:
    start_lesson("08_question_answering")
    banner = capsys.readouterr().out
    assert banner.startswith("Lesson 08_question_answering | profile: laptop (")
    assert "\n  " in banner and fits(banner), banner
