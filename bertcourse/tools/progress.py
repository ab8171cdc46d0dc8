"""`bertcourse progress export|report`: hand progress in, and summarise a class.

`cli.py` calls `register(subparsers)`; each sub-command's `func` takes the parsed arguments and
returns the process exit code. What the commands read and write (the progress store, the hand-in
file, the class report) lives in `bertcourse.quiz`.

Room: tools (learner and instructor command).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bertcourse.course.errors import CourseError

from bertcourse.quiz.export import write_export
from bertcourse.quiz.report import build_report
from bertcourse.quiz.store import ProgressError, ProgressStore


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `progress` command with its `export` and `report` sub-commands."""
    progress = subparsers.add_parser(
        "progress", help="export your quiz progress, or report on a class",
        description="Your quiz answers are saved as you check them, in progress.sqlite in your course home "
                    "(BERTCOURSE_PROGRESS moves it). `export` writes them to one file to hand in; `report` "
                    "summarises a folder of such files for an instructor.")
    commands = progress.add_subparsers(dest="progress_command", required=True, metavar="COMMAND")

    export = commands.add_parser(
        "export", help="write your quiz answers to one JSON file to hand in",
        description="Write every quiz answer you have checked (every try, so your instructor sees first tries "
                    "too) to one JSON file: bertcourse-progress-NAME.json in the current folder, or --out. "
                    "Your progress itself stays where it is.")
    export.add_argument("--out", type=Path, help="file to write (default: bertcourse-progress-NAME.json)")
    export.add_argument("--name", help="your name as the instructor should see it (remembered)")
    export.set_defaults(func=export_command)

    report = commands.add_parser(
        "report", help="summarise a folder of learners' exported files",
        description="Check and re-grade every export in a folder (files are never trusted), print the class's "
                    "scores, per-question success and most missed questions, and write report.html and plots.")
    report.add_argument("dir", type=Path, help="folder with the learners' .json exports")
    report.add_argument("--out", type=Path, default=Path("bertcourse-report"),
                        help="folder for report.html and the plots (default: %(default)s)")
    report.set_defaults(func=report_command)


def export_command(args: argparse.Namespace) -> int:
    """Export reads the database without changing it (a read-only or damaged file is
    reported, never replaced); only a new --name is written, and only if that works."""
    given = (args.name or "").strip()
    if len(given) > 100:
        print("error: --name is limited to 100 characters.", file=sys.stderr)
        return 2
    try:
        store = ProgressStore(read_only=True)
        name = given or store.learner_name()
        if not name:
            print("error: give your name once with --name \"Your Name\" so your instructor knows "
                  "whose file it is.", file=sys.stderr)
            return 2
        if given and given != store.learner_name():
            _remember_name(store.path, given)
        path = write_export(store, name, args.out)
        attempts = json.loads(path.read_text(encoding="utf-8"))["attempts"]
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    questions = len({(attempt["notebook"], attempt["question"]) for attempt in attempts})
    print(f"Wrote {name}'s answers to {questions} question{'s' if questions != 1 else ''} "
          f"({len(attempts)} checked answer{'s' if len(attempts) != 1 else ''}, every try included) "
          f"to {path.resolve()}")
    return 0


def _remember_name(path: Path, name: str) -> None:
    """Store --name for next time; a database that cannot be written keeps the old name."""
    try:
        writer = ProgressStore(path)
        writer.set_learner_name(name)
        writer.close()
    except ProgressError as error:
        print(f"note: could not remember your name for next time ({error.problem})", file=sys.stderr)


def report_command(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        print(f"error: {args.dir} is not a folder.", file=sys.stderr)
        return 2
    try:
        report = build_report(args.dir)
    except OSError as error:
        print(f"error: cannot read the folder {args.dir} ({error.strerror or error}).", file=sys.stderr)
        return 2
    try:  # written before anything is printed: `... | head` may close the output early
        written = report.write(args.out)
    except OSError as error:
        print(report.to_text())
        print(f"error: cannot write the report to {args.out} ({error.strerror or error}); give --out "
              "a folder you can write to.", file=sys.stderr)
        return 2
    print(report.to_text())
    print(f"\nWrote {', '.join(p.name for p in written)} to {args.out}")
    return 0 if report.learners else 1
