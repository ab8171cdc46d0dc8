"""The Colab install cell: generated idempotently, silent where the course is installed, and
installing the course's wheel where it is not."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from bertcourse.tools import cli
from bertcourse.tools import install_cell as cell_tool

COURSE_NOTEBOOKS = sorted(cell_tool.NOTEBOOK_DIR.glob("*.ipynb"))


def test_the_command_inserts_the_cell_once_after_the_title_and_refreshes_a_stale_one(tmp_path: Path) -> None:
    path = tmp_path / "lesson.ipynb"
    before = nbformat.read(cell_tool.NOTEBOOK_DIR / "01_tokenization.ipynb", as_version=4)
    before.cells = [cell for cell in before.cells if not cell_tool.is_install_cell(cell)]  # as before the command
    nbformat.write(before, path)
    assert cli.main(["dev", "install-cell", "--check", str(path)]) == 1
    assert cli.main(["dev", "install-cell", str(path)]) == 0
    after = nbformat.read(path, as_version=4)
    assert after.cells[0] == before.cells[0] and after.cells[2:] == before.cells[1:]
    assert after.cells[1].source == cell_tool.SOURCE and after.cells[1].outputs == []
    written = path.read_bytes()
    assert not cell_tool.apply(path) and path.read_bytes() == written  # idempotent, byte for byte
    assert cli.main(["dev", "install-cell", "--check", str(path)]) == 0
    after.cells[1].source += "\nprint('edited')"
    after.cells.append(nbformat.v4.new_code_cell("x", metadata={"bertcourse": {"install": True}}))
    nbformat.write(after, path)
    assert cell_tool.install_cell_problem(after) == "has 2 install cells"
    assert cell_tool.apply(path) and path.read_bytes() == written


def test_the_cell_prints_nothing_and_installs_nothing_where_the_course_is_importable(tmp_path: Path) -> None:
    """Run in a real kernel, as nbval and `bertcourse notebooks` run it: no output at all (so committed
    outputs stay identical), even with a wheel beside the notebook that it would otherwise install."""
    (tmp_path / "bertcourse-0.0.0-py3-none-any.whl").write_text("not a wheel: pip would fail on it")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell_tool.SOURCE),
                                               nbformat.v4.new_code_cell("import bertcourse")])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert [cell.outputs for cell in notebook.cells] == [[], []]


def _run_where_the_course_is_missing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> list[list[str]]:
    calls: list[list[str]] = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bertcourse" else real_find_spec(name, *a))
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command))
    monkeypatch.chdir(folder)
    namespace: dict[str, Any] = {}
    exec(cell_tool.SOURCE, namespace)
    return calls


def test_where_the_course_is_missing_the_cell_installs_the_uploaded_wheel(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    (tmp_path / "bertcourse-0.1.0-py3-none-any.whl").write_text("")
    calls = _run_where_the_course_is_missing(monkeypatch, tmp_path)
    assert len(calls) == 1 and calls[0][1:] == ["-m", "pip", "install", "--quiet", "bertcourse-0.1.0-py3-none-any.whl"]


def test_without_a_wheel_the_cell_stops_with_one_line_naming_the_fix(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"^The course is not installed: upload its bertcourse-\*\.whl file"):
        _run_where_the_course_is_missing(monkeypatch, tmp_path)


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=lambda path: path.name)
def test_every_course_notebook_has_the_current_install_cell(path: Path) -> None:
    problem = cell_tool.install_cell_problem(nbformat.read(path, as_version=4))
    assert problem is None, f"{path.name} {problem}: run `bertcourse dev install-cell`"
