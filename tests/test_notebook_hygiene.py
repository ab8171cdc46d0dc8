"""Conventions every course notebook keeps, checked rather than remembered."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(path for path in NOTEBOOK_DIR.glob("[0-8]*.ipynb"))
ALL = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.])/(root|work|tmp|home)/")


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.name)
def test_nbval_markers_are_exact_and_explained(path: Path) -> None:
    """nbval silently ignores `# NBVAL_IGNORE_OUTPUT some reason`; the reason goes on the next line."""
    for index, cell in enumerate(code_cells(path)):
        lines = cell.source.splitlines()
        for number, line in enumerate(lines):
            if "NBVAL_" in line and line.lstrip().startswith("#"):
                assert re.fullmatch(r"# NBVAL_(IGNORE_OUTPUT|SKIP|RAISES_EXCEPTION|CHECK_OUTPUT)", line.strip()), (
                    f"{path.name} code cell {index}: {line.strip()!r} must be the bare marker")
                following = lines[number + 1].strip() if number + 1 < len(lines) else ""
                assert following.startswith("#") and len(following) > 5, (
                    f"{path.name} code cell {index}: give the reason on the comment line after {line.strip()}")


@pytest.mark.parametrize("path", ALL, ids=lambda path: path.name)
def test_outputs_hold_no_machine_paths(path: Path) -> None:
    for index, cell in enumerate(code_cells(path)):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + "".join(
                str(value) for key, value in output.get("data", {}).items() if key.startswith("text/"))
            assert not MACHINE_PATH.search(text), f"{path.name} code cell {index} prints a machine path"


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.name)
def test_lessons_start_with_start_lesson_and_end_with_their_quiz(path: Path) -> None:
    cells = code_cells(path)
    notebook_id = path.stem
    assert f'start_lesson("{notebook_id}")' in cells[0].source, f"{path.name}: first code cell must call start_lesson"
    assert any(f'quiz("{notebook_id}"' in cell.source for cell in cells[-2:]), f"{path.name}: must end with its quiz"
