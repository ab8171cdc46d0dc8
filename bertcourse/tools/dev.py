"""`bertcourse dev sync-saved`: keep the `#@save` cells of the notebooks identical to the package.

A code cell whose first line is `#@save bertcourse.<module>` writes out, for the learner to read
and change, functions and classes the package also holds (the d2l convention). The package is the
copy that later lessons, the CLI and the benchmarks run, so an author edits it there and runs

    bertcourse dev sync-saved          # rewrite every drifted #@save definition from the package
    bertcourse dev sync-saved --check  # only list the drift (what tests/test_saved_cells.py asserts)

Definitions are matched by name, decorators included; module-level constants in a saved cell
(`IS_NEXT, NOT_NEXT = 0, 1`) are compared by value and reported, never rewritten. Only the
definitions' text changes, so committed outputs stay valid.

The coding exercises' author commands (`dev exercises`, `dev seal-exercise`, `dev unseal-exercise`)
live in `dev_exercises.py`; `dev install-cell` (each notebook's Colab install cell) in `install_cell.py`;
`dev add-questions` (plain question entries into a quiz bank) in `quiz_author.py`.

Room: tools (author command).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from bertcourse.course.paths import REPO_DIR
from bertcourse.tools.dev_exercises import register_exercise_commands
from bertcourse.tools.install_cell import register_install_cell_command
from bertcourse.tools.quiz_author import register_quiz_author_command

NOTEBOOK_DIR = REPO_DIR / "notebooks"
SAVE_MARK = re.compile(r"^#@save (bertcourse(?:\.\w+)+)\s*$")


@dataclass(frozen=True)
class Drift:
    """One way a `#@save` cell differs from the package."""

    notebook: str
    cell: int
    module: str
    name: str
    problem: str


def saved_cells(path: Path) -> Iterator[tuple[int, str, nbformat.NotebookNode]]:
    """(cell index, module name, cell) for every `#@save` cell of a notebook."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        lines = cell.source.splitlines()
        if cell.cell_type == "code" and lines and (match := SAVE_MARK.match(lines[0])):
            yield index, match.group(1), cell


def _definitions(source: str) -> list[tuple[str, int, int]]:
    """(name, first line, last line) of each top-level def/class, 1-based, decorators included
    (`ast.get_source_segment` alone would drop them)."""
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            found.append((node.name, first, node.end_lineno))
    return found


def _constants(source: str) -> dict[str, object]:
    """Names bound to literal values at the top level of a cell (`A, B = 0, 1` included)."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue
        if isinstance(target, ast.Name):
            values[target.id] = value
        elif isinstance(target, ast.Tuple) and isinstance(value, tuple) and len(value) == len(target.elts):
            values.update({element.id: item for element, item in zip(target.elts, value, strict=True)
                           if isinstance(element, ast.Name)})
    return values


def _packaged_source(module_name: str, name: str) -> str | None:
    packaged = getattr(importlib.import_module(module_name), name, None)
    return None if packaged is None else inspect.getsource(packaged).rstrip("\n")


def find_drift(notebooks: list[Path] | None = None) -> list[Drift]:
    """Every difference between the `#@save` cells and the package, one per definition or constant."""
    drift = []
    for path in notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        for index, module_name, cell in saved_cells(path):
            lines = cell.source.splitlines()
            for name, first, last in _definitions(cell.source):
                packaged = _packaged_source(module_name, name)
                if packaged is None:
                    drift.append(Drift(path.name, index, module_name, name,
                                       f"{name} is marked #@save but {module_name} has no {name}"))
                elif "\n".join(lines[first - 1:last]) != packaged:
                    drift.append(Drift(path.name, index, module_name, name,
                                       f"{name} differs from its copy in {module_name}"))
            module = importlib.import_module(module_name)
            for name, value in _constants(cell.source).items():
                if getattr(module, name, object()) != value:
                    drift.append(Drift(path.name, index, module_name, name,
                                       f"constant {name} = {value!r} differs from {module_name}.{name}"))
    return drift


def synced(source: str, module_name: str) -> str:
    """The cell source with every definition the package has replaced by the package's text."""
    lines = source.splitlines()
    for name, first, last in reversed(_definitions(source)):
        packaged = _packaged_source(module_name, name)
        if packaged is not None:
            lines[first - 1:last] = packaged.splitlines()
    return "\n".join(lines)


def sync_saved(notebooks: list[Path] | None = None) -> int:
    """Rewrite drifted `#@save` definitions from the package; returns how many cells changed."""
    changed = 0
    for path in notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        before = changed
        for index, module, _ in saved_cells(path):
            fixed = synced(notebook.cells[index].source, module)
            if fixed != notebook.cells[index].source:
                notebook.cells[index].source = fixed
                changed += 1
        if changed > before:
            nbformat.write(notebook, path)
    return changed


def _sync_command(args: argparse.Namespace) -> int:
    if not args.check:
        changed = sync_saved()
        print(f"rewrote {changed} cell(s) from the package" if changed else "every #@save cell matched the package")
    drift = find_drift()  # after a sync, only what rewriting cannot fix is left
    for item in drift:
        print(f"{item.notebook} cell {item.cell}: {item.problem}")
    return 1 if drift else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dev` (author commands) with `sync-saved`, the exercise commands, `install-cell` and
    `add-questions` to `bertcourse`'s parser."""
    dev = subparsers.add_parser("dev", help="(author) commands for editing the course itself")
    commands = dev.add_subparsers(dest="dev_command", required=True, metavar="COMMAND")
    sync = commands.add_parser("sync-saved", help="rewrite the notebooks' #@save cells from the package source",
                               description=__doc__.split("\n\n")[1])
    sync.add_argument("--check", action="store_true", help="only list the drift; exit 1 if there is any")
    sync.set_defaults(func=_sync_command)
    register_exercise_commands(commands)
    register_install_cell_command(commands)
    register_quiz_author_command(commands)
