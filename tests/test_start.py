"""`bertcourse start` puts the lessons in the learner's folder and never overwrites their edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bertcourse.course import paths
from bertcourse.tools import cli, start


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A stand-in for the package's notebooks folder, so a test can change the 'course version'."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    for name in ("00_start_here.ipynb", "01_tokenization.ipynb"):
        (folder / name).write_text(f'{{"cells": [], "name": "{name}", "version": 1}}')
    monkeypatch.setattr(start, "shipped_notebooks_dir", lambda: folder)
    return folder


def test_start_copies_every_course_notebook_and_says_what_to_open(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "my lessons"
    assert cli.main(["start", str(folder)]) == 0
    shipped = sorted(path.name for path in paths.shipped_notebooks_dir().glob("*.ipynb"))
    assert len(shipped) >= 11 and sorted(path.name for path in folder.glob("*.ipynb")) == shipped
    for name in shipped:
        assert (folder / name).read_bytes() == (paths.shipped_notebooks_dir() / name).read_bytes()
    out = capsys.readouterr().out
    assert f"Lessons in {folder}: {len(shipped)} copied." in out
    assert f"Open 00_start_here.ipynb there:\n  JupyterLab: jupyter lab {folder}" in out and f"code {folder}" in out


def test_a_changed_notebook_is_kept_and_an_unchanged_one_gets_the_new_version(shipped: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lessons"
    assert {o.action for o in start.start(folder)} == {"copied"}
    assert {o.action for o in start.start(folder)} == {"up to date"}
    edited = folder / "01_tokenization.ipynb"
    edited.write_text("my own notes")
    for source in shipped.iterdir():  # a newer course version
        source.write_text(source.read_text().replace('"version": 1', '"version": 2'))
    outcomes = {o.name: o.action for o in start.start(folder)}
    assert outcomes == {"00_start_here.ipynb": "updated", "01_tokenization.ipynb": "kept"}
    assert edited.read_text() == "my own notes"
    assert (folder / "00_start_here.ipynb").read_text() == (shipped / "00_start_here.ipynb").read_text()
    message = start.report(folder, list(map(start.Outcome, outcomes, outcomes.values())))
    assert "kept your 01_tokenization.ipynb: it differs from the course's version, so it was not overwritten" in message


def test_a_notebook_start_did_not_write_is_never_overwritten(shipped: Path, tmp_path: Path) -> None:
    """A file already there (the learner's, or from before the record existed) is the learner's."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "00_start_here.ipynb").write_text("written by the learner")
    (folder / start.RECORD).write_text("not json")
    outcomes = {o.name: o.action for o in start.start(folder)}
    assert outcomes == {"00_start_here.ipynb": "kept", "01_tokenization.ipynb": "copied"}
    assert (folder / "00_start_here.ipynb").read_text() == "written by the learner"
    assert json.loads((folder / start.RECORD).read_text()) == {"01_tokenization.ipynb": start._sha256(
        shipped / "01_tokenization.ipynb")}


def test_a_file_in_place_of_the_folder_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lessons"
    target.write_text("")
    assert cli.main(["start", str(target)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {target} is a file, not a folder.\n"
                                               "Fix: give `bertcourse start` a folder name")
