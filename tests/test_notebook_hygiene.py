"""Conventions every course notebook keeps, checked rather than remembered."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from bertcourse.tools.install_cell import is_install_cell

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(path for path in NOTEBOOK_DIR.glob("[0-8]*.ipynb"))
ALL = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.])/(root|work|tmp|home)/")


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.name)
def test_volatile_cells_are_tagged_with_a_reason_and_learners_see_no_test_markers(path: Path) -> None:
    """A cell whose output varies by machine carries nbval's `nbval-ignore-output` tag and says why in
    `metadata.bertcourse.volatile`, where a reader of the notebook's JSON finds it; the code a learner
    reads holds no test-tool comments."""
    for index, cell in enumerate(code_cells(path)):
        assert "NBVAL_" not in cell.source, f"{path.name} code cell {index}: use the nbval-ignore-output tag, not a comment"
        if {"nbval-ignore-output", "nbval-skip"} & set(cell.metadata.get("tags", [])):
            reason = cell.metadata.get("bertcourse", {}).get("volatile", "")
            assert len(reason) > 10, f"{path.name} code cell {index}: say why its output varies in metadata.bertcourse.volatile"


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.name)
def test_outputs_hold_no_machine_paths(path: Path) -> None:
    for index, cell in enumerate(code_cells(path)):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + "".join(
                str(value) for key, value in output.get("data", {}).items() if key.startswith("text/"))
            assert not MACHINE_PATH.search(text), f"{path.name} code cell {index} prints a machine path"


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.name)
def test_lessons_start_with_start_lesson_and_end_with_their_quiz(path: Path) -> None:
    """The first code cell after the Colab install cell (tests/test_install_cell.py) starts the lesson."""
    cells = [cell for cell in code_cells(path) if not is_install_cell(cell)]
    notebook_id = path.stem
    assert f'start_lesson("{notebook_id}")' in cells[0].source, f"{path.name}: first code cell must call start_lesson"
    assert any(f'quiz("{notebook_id}"' in cell.source for cell in cells[-2:]), f"{path.name}: must end with its quiz"
