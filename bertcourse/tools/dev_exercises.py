"""`bertcourse dev exercises`: put each lesson's coding exercises into its notebook.

Lesson notebooks are never edited by hand for exercises. Each exercise declared in
`bertcourse/quiz/exercises/lessons/lNN_<notebook>.py` becomes up to four cells, inserted right
after the cell whose source starts with the exercise's `anchor`:

1. markdown: the exercise's intro;
2. code: the stub (signature, contract, `raise NotImplementedError`);
3. code: `import bertcourse as bc` and `fn = bc.check("<id>", fn)` (the facade, as every notebook cell);
4. code (optional): the exercise's `after` cell, which uses whatever `check` returned.

Every cell carries `metadata.bertcourse.exercise = {"id", "part"}`, so running the command again
replaces them in place (after a changed anchor, at the new place). Their outputs are made by
executing exactly these cells in a fresh kernel, with the stub unchanged, so the output nbval
later compares is what the learner's notebook really prints before the exercise is solved
(which is why exercise cells must be self-contained). Execution counts of the whole notebook are
renumbered in order.

    bertcourse dev exercises [NOTEBOOK ...]          # insert or refresh (default: every notebook)
    bertcourse dev exercises --check [NOTEBOOK ...]  # no kernel: exit 1 if any cell is missing or stale
    bertcourse dev seal-exercise PLAIN.py ...        # plain reference + wrong variants -> sealed/<id>.json
    bertcourse dev unseal-exercise ID                # print the plain file back, to edit and re-seal

Room: tools (author command).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from bertcourse.course.errors import CourseError
from bertcourse.course.paths import REPO_DIR
from bertcourse.quiz.exercises.catalog import SEALED_DIR, entries, entry, parse_plain, plain_text, sealed_document

NOTEBOOK_DIR = REPO_DIR / "notebooks"
LESSONS = "bertcourse.quiz.exercises.lessons"
IMPORT_LINE = "import bertcourse as bc"  # exercise cells run alone to make their outputs: each imports the facade
_PARTS = ("intro", "stub", "check", "after")


@dataclass(frozen=True)
class Planned:
    """One exercise's cells as they should be in a notebook (sources only)."""

    id: str
    anchor: str
    cells: tuple[tuple[str, str, str], ...]  # (part, cell type, source)


def declared(notebook: str) -> list[Any]:
    """The exercises a notebook's lesson file declares (none if it has no lesson file)."""
    module = f"{LESSONS}.l{notebook}"
    if importlib.util.find_spec(module) is None:
        return []
    return list(importlib.import_module(module).EXERCISES)


def plan(exercise: Any) -> Planned:
    function = entry(exercise.id).function
    check = f'{IMPORT_LINE}\n\n{function} = bc.check("{exercise.id}", {function})'
    cells = [("intro", "markdown", exercise.intro.strip()), ("stub", "code", exercise.stub.strip()),
             ("check", "code", check)]
    if exercise.after:
        cells.append(("after", "code", exercise.after.strip()))
    return Planned(exercise.id, exercise.anchor, tuple(cells))


def _mark(cell: nbformat.NotebookNode) -> dict[str, str] | None:
    return cell.get("metadata", {}).get("bertcourse", {}).get("exercise")


def _anchor_index(notebook: nbformat.NotebookNode, planned: Planned, name: str) -> int:
    hits = [index for index, cell in enumerate(notebook.cells)
            if _mark(cell) is None and cell.source.startswith(planned.anchor)]
    if len(hits) != 1:
        raise CourseError(f"{name}: exercise {planned.id}'s anchor {planned.anchor!r} matches {len(hits)} cells.",
                          "make the anchor the start of exactly one cell's source (lessons/ file of the exercise)")
    return hits[0]


def problems(path: Path) -> list[str]:
    """What `--check` reports for one notebook: missing, stale, misplaced or orphaned cells."""
    notebook = nbformat.read(path, as_version=4)
    found: list[str] = []
    planned = [plan(exercise) for exercise in declared(path.stem)]
    known = {p.id for p in planned}
    for index, cell in enumerate(notebook.cells):
        if (mark := _mark(cell)) is not None and mark.get("id") not in known:
            found.append(f"{path.name} cell {index}: exercise {mark.get('id')} is not declared any more")
    for item in planned:
        anchor = _anchor_index(notebook, item, path.name)
        for offset, (part, kind, source) in enumerate(item.cells, start=1):
            position = anchor + offset
            cell = notebook.cells[position] if position < len(notebook.cells) else None
            if cell is None or _mark(cell) != {"id": item.id, "part": part}:
                found.append(f"{path.name}: exercise {item.id}'s {part} cell is missing after its anchor")
                break
            if cell.cell_type != kind or cell.source != source:
                found.append(f"{path.name} cell {position}: exercise {item.id}'s {part} cell differs from "
                             "its declaration")
            elif kind == "code" and part != "stub" and not cell.get("outputs"):
                found.append(f"{path.name} cell {position}: exercise {item.id}'s {part} cell has no output")
    return found


def _executed(planned: Planned, folder: Path) -> list[nbformat.NotebookNode]:
    """The planned cells after running them in a fresh kernel (stub unchanged), outputs included."""
    from bertcourse.tools.notebook_runner import execute  # nbclient: only for this command

    cells = [nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
             for _, kind, source in planned.cells]
    scratch = folder / f"{planned.id}.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), scratch)
    env = dict(os.environ, BERTCOURSE_HOME=str(folder / "home"), BERTCOURSE_PROGRESS=str(folder / "progress.sqlite"),
               BERTCOURSE_PROFILE=os.environ.get("BERTCOURSE_PROFILE", "laptop"))
    result = execute(scratch, scratch, timeout=600, env=env)
    if not result.ok:
        raise CourseError(f"Exercise {planned.id}'s cells failed to run: {result.error} (at {result.where}).",
                          "fix the stub or the after cell in the exercise's lessons/ file")
    executed = nbformat.read(scratch, as_version=4).cells
    for (part, _, _), cell in zip(planned.cells, executed, strict=True):
        cell.metadata = {"bertcourse": {"exercise": {"id": planned.id, "part": part}}}
        cell.id = f"exercise-{planned.id}-{part}".replace("_", "-")  # stable: a refresh is no diff
    return executed


def refresh(path: Path) -> list[str]:
    """Insert or refresh every declared exercise of one notebook; returns the ids written."""
    notebook = nbformat.read(path, as_version=4)
    planned = [plan(exercise) for exercise in declared(path.stem)]
    notebook.cells = [cell for cell in notebook.cells if _mark(cell) is None]
    anchors = [_anchor_index(notebook, item, path.name) for item in planned]  # all checked before any kernel runs
    with tempfile.TemporaryDirectory(prefix="bertcourse-exercises-") as folder:
        made = {item.id: _executed(item, Path(folder)) for item in planned}
    for item, anchor in sorted(zip(planned, anchors, strict=True), key=lambda pair: -pair[1]):
        notebook.cells[anchor + 1:anchor + 1] = made[item.id]
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if cell.get("execution_count") is not None or cell.get("outputs"):
                count += 1
                cell.execution_count = count
                for output in cell.get("outputs", []):
                    if "execution_count" in output:
                        output.execution_count = count
    if notebook.nbformat_minor < 5:  # cell ids came with nbformat 4.5
        for cell in notebook.cells:
            cell.pop("id", None)
    nbformat.write(notebook, path)
    return [item.id for item in planned]


def _notebooks(names: list[str]) -> list[Path]:
    if not names:
        return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    paths = []
    for name in names:
        path = Path(name)
        if not path.suffix:
            matches = sorted(NOTEBOOK_DIR.glob(f"{name}*.ipynb"))
            if len(matches) != 1:
                raise CourseError(f"{name!r} names {len(matches)} course notebooks.", "give its number or file name")
            path = matches[0]
        paths.append(path)
    return paths


def _exercises_command(args: argparse.Namespace) -> int:
    paths = _notebooks(args.notebooks)
    if args.check:
        found = [problem for path in paths for problem in problems(path)]
        print("\n".join(found) if found else "every exercise cell matches its declaration")
        return 1 if found else 0
    for path in paths:
        written = refresh(path)
        if written:
            print(f"{path.name}: {', '.join(written)}")
    return 0


def _seal_command(args: argparse.Namespace) -> int:
    for plain in args.files:
        header, solution, wrong = parse_plain(plain.read_text(encoding="utf-8"))
        out = SEALED_DIR / f"{header['exercise']}.json"
        salt = json.loads(out.read_text(encoding="utf-8"))["salt"] if out.exists() else None  # stable diffs
        out.write_text(json.dumps(sealed_document(header, solution, wrong, salt), indent=1) + "\n", encoding="utf-8")
        print(f"sealed {header['exercise']} ({len(wrong)} wrong variant(s)) -> {out}")
    entries.cache_clear()
    return 0


def _unseal_command(args: argparse.Namespace) -> int:
    print(plain_text(entry(args.id)), end="")
    return 0


def register_exercise_commands(commands: argparse._SubParsersAction) -> None:
    """Add `exercises`, `seal-exercise` and `unseal-exercise` under `bertcourse dev`."""
    exercises = commands.add_parser("exercises", help="insert or refresh the coding exercises' notebook cells",
                                    description=__doc__.split("\n\n")[1])
    exercises.add_argument("notebooks", nargs="*",
                           help="notebooks (e.g. 03 or notebooks/03_pretraining.ipynb); default: all")
    exercises.add_argument("--check", action="store_true", help="only report missing or stale cells; exit 1 if any")
    exercises.set_defaults(func=_exercises_command)
    seal = commands.add_parser("seal-exercise", help="seal a plain reference solution file into sealed/<id>.json",
                               description="Read an author's plain file (see bertcourse/quiz/exercises/catalog.py, "
                                           "parse_plain) and write its sealed form. Keep the plain file out of the "
                                           "repository; sealing is obfuscation, not security.")
    seal.add_argument("files", nargs="+", type=Path, help="plain files (reference, then `# wrong:` variants)")
    seal.set_defaults(func=_seal_command)
    unseal = commands.add_parser("unseal-exercise", help="print an exercise's plain file (to edit and re-seal)")
    unseal.add_argument("id", help="the exercise id, e.g. 03_whole_word_masking")
    unseal.set_defaults(func=_unseal_command)

