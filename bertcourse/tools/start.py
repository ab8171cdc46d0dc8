"""`bertcourse start [FOLDER]`: put the lessons where the learner works.

An installed course keeps its notebooks inside the package, where a learner should not edit them.
`start` copies them into a folder of the learner's (default `bertcourse-lessons/` in the current
folder) and prints how to open them in JupyterLab or VS Code. Kernels started there need nothing
from that folder: data, quiz banks and the MiniLM encoder come from the installed package.

Running it again is safe, and is how a learner gets the lessons of a newer course version:
- a missing notebook is copied;
- a notebook the learner has not changed since `start` copied it is replaced by the new version;
- a notebook the learner has changed (or one `start` did not write) is never overwritten: it is
  kept, and the output says so and how to get the course's version.
`start` knows what it wrote from `.bertcourse-start.json` in the folder (the sha256 of each copy).

Room: tools (learner command).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bertcourse.course.errors import CourseError
from bertcourse.course.paths import shipped_notebooks_dir

DEFAULT_FOLDER = "bertcourse-lessons"
RECORD = ".bertcourse-start.json"  # {notebook file name: sha256 of the copy `start` last wrote}
FIRST_LESSON = "00_start_here.ipynb"


@dataclass(frozen=True)
class Outcome:
    """What `start` did with one notebook."""

    name: str
    action: str  # "copied", "updated", "up to date" or "kept"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_record(folder: Path) -> dict[str, str]:
    """The hashes `start` recorded; an unreadable record counts as none, so every file that differs
    from the course's is treated as the learner's own and kept."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(name): str(digest) for name, digest in record.items()} if isinstance(record, dict) else {}


def start(folder: Path) -> list[Outcome]:
    """Copy the course's notebooks into `folder` without overwriting any the learner changed."""
    sources = sorted(shipped_notebooks_dir().glob("*.ipynb"))
    if not sources:
        raise CourseError(f"This copy of the course has no notebooks in {shipped_notebooks_dir()}.",
                          fix="reinstall the course (README, 'Open it elsewhere')")
    if folder.exists() and not folder.is_dir():
        raise CourseError(f"{folder} is a file, not a folder.", fix="give `bertcourse start` a folder name")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        record = _read_record(folder)
        outcomes = []
        for source in sources:
            target, shipped = folder / source.name, _sha256(source)
            if not target.exists():
                action = "copied"
            elif (current := _sha256(target)) == shipped:
                action = "up to date"
            elif current == record.get(source.name):
                action = "updated"
            else:
                action = "kept"
            if action in ("copied", "updated"):
                shutil.copyfile(source, target)  # contents only: the package's file modes stay behind
                record[source.name] = shipped
            outcomes.append(Outcome(source.name, action))
        (folder / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as err:
        raise CourseError(f"Cannot write the lessons to {folder}: {err.strerror or err}.",
                          fix="give `bertcourse start` a folder you can write to") from err
    return outcomes


def report(folder: Path, outcomes: list[Outcome]) -> str:
    """What `start` did, and how to open the lessons (printed by the command)."""
    counts = {action: sum(o.action == action for o in outcomes) for action in ("copied", "updated", "up to date")}
    done = ", ".join(f"{count} {action}" for action, count in counts.items() if count)
    lines = [f"Lessons in {folder}: {done or 'nothing copied'}."]
    for outcome in outcomes:
        if outcome.action == "kept":
            lines.append(f"  kept your {outcome.name}: it differs from the course's version, so it was not "
                         f"overwritten (rename yours and run `bertcourse start` again to get the course's)")
    lines += [f"Open {FIRST_LESSON} there:",
              f"  JupyterLab: jupyter lab {folder}",
              f"  VS Code:    code {folder}  (choose this Python as the notebook kernel: {sys.executable})"]
    return "\n".join(lines)


def _start_command(args: argparse.Namespace) -> int:
    folder = Path(args.folder).expanduser().resolve()
    print(report(folder, start(folder)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `start` sub-command to `bertcourse`'s parser."""
    command = subparsers.add_parser(
        "start", help="copy the lessons into a folder of yours and say how to open them",
        description="Copy the course's notebooks into FOLDER (created if needed) and print how to open them in "
                    "JupyterLab or VS Code. Run it again after updating the course: notebooks you have not "
                    "changed get the new version; a notebook you changed is never overwritten (it is kept, "
                    "and the output says so).")
    command.add_argument("folder", nargs="?", default=DEFAULT_FOLDER,
                         help=f"where the lessons go (default: {DEFAULT_FOLDER}/ in the current folder)")
    command.set_defaults(func=_start_command)
