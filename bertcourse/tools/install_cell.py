"""`bertcourse dev install-cell`: the first code cell of every notebook, which installs the course in
a hosted notebook (Colab) and does nothing where the course is installed already.

A learner who opens a lesson in Colab has no clone and no `make`: the notebook itself must install
the package. The cell looks for the course's wheel (`bertcourse-*.whl`, built with `pip wheel
--no-deps .` in a clone) in the notebook's current folder, where Colab's file pane uploads it, and
installs it with pip; pip keeps the hosted notebook's own torch when the package's range admits it.
Where `bertcourse` is importable (JupyterLab after `make course`, VS Code on a `bertcourse start`
folder, nbval) the cell prints nothing and changes nothing, so committed outputs stay the same.

The cell is generated here, never edited by hand, and marked `metadata.bertcourse.install`:

    bertcourse dev install-cell          # insert or refresh it after each notebook's title cell
    bertcourse dev install-cell --check  # only list notebooks whose cell is missing or stale

Room: tools (author command).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import nbformat

from bertcourse.course.paths import REPO_DIR

NOTEBOOK_DIR = REPO_DIR / "notebooks"  # an author command: it rewrites the clone's notebooks
CELL_ID = "install-the-course"  # fixed, so re-running the command leaves a notebook byte-identical
MARK = {"install": True}
SOURCE = '''\
# In Colab or another hosted notebook, this cell installs the course from its wheel file
# (README, "Open it elsewhere"). Where the course is installed already, it does nothing.
import importlib.util

if importlib.util.find_spec("bertcourse") is None:
    import glob
    import subprocess
    import sys

    wheels = sorted(glob.glob("bertcourse-*.whl"))
    if not wheels:
        raise SystemExit("The course is not installed: upload its bertcourse-*.whl file to this notebook's "
                         "folder (README, 'Open it elsewhere'), then run this cell again.")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", wheels[-1]], check=True)
    importlib.invalidate_caches()'''


def is_install_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(cell.get("metadata", {}).get("bertcourse", {}).get("install"))


def _fresh_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(SOURCE, metadata={"bertcourse": dict(MARK)})
    cell.id = CELL_ID
    return cell


def install_cell_problem(notebook: nbformat.NotebookNode) -> str | None:
    """Why the notebook's install cell is not as generated (missing, stale, misplaced or doubled), or None."""
    found = [index for index, cell in enumerate(notebook.cells) if is_install_cell(cell)]
    if not found:
        return "has no install cell"
    if len(found) > 1:
        return f"has {len(found)} install cells"
    cell = notebook.cells[found[0]]
    if found[0] != 1:
        return f"has its install cell at position {found[0]}, not right after the title cell"
    if cell.source != SOURCE or cell.get("outputs") or cell.get("id") != CELL_ID:
        return "has a stale install cell"
    return None


def apply(path: Path) -> bool:
    """Insert or refresh the install cell of one notebook, right after its title cell; True if it changed."""
    notebook = nbformat.read(path, as_version=4)
    if install_cell_problem(notebook) is None:
        return False
    notebook.cells = [cell for cell in notebook.cells if not is_install_cell(cell)]
    notebook.cells.insert(1, _fresh_cell())
    nbformat.write(notebook, path)
    return True


def _notebooks(paths: Sequence[Path]) -> list[Path]:
    return list(paths) or sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _install_cell_command(args: argparse.Namespace) -> int:
    notebooks = _notebooks(args.notebooks)
    if args.check:
        problems = [(path.name, install_cell_problem(nbformat.read(path, as_version=4))) for path in notebooks]
        for name, problem in problems:
            if problem:
                print(f"{name} {problem}: run `bertcourse dev install-cell`")
        return 1 if any(problem for _, problem in problems) else 0
    changed = [path.name for path in notebooks if apply(path)]
    print(f"wrote the install cell into {', '.join(changed)}" if changed else "every install cell was up to date")
    return 0


def register_install_cell_command(commands: argparse._SubParsersAction) -> None:
    """Add `install-cell` under `bertcourse dev`."""
    command = commands.add_parser("install-cell", help="insert or refresh each notebook's first cell, which "
                                                       "installs the course in Colab",
                                  description=__doc__.split("\n\n")[1])
    command.add_argument("notebooks", nargs="*", type=Path, help="notebook files (default: every course notebook)")
    command.add_argument("--check", action="store_true", help="only list missing or stale cells; exit 1 if any")
    command.set_defaults(func=_install_cell_command)
