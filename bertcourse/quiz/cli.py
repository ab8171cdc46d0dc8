"""`bertcourse progress export|report`: hand progress in, and summarise a class.

The lead's `bertcourse/cli.py` calls `register(subparsers)`; each sub-command's `func`
takes the parsed arguments and returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .export import write_export
from .report import build_report
from .store import ProgressStore


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `progress` command with its `export` and `report` sub-commands."""
    progress = subparsers.add_parser("progress", help="export your quiz progress, or report on a class")
    commands = progress.add_subparsers(dest="progress_command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="write your quiz answers to one JSON file to hand in")
    export.add_argument("--out", type=Path, help="file to write (default: bertcourse-progress-NAME.json)")
    export.add_argument("--name", help="your name as the instructor should see it (remembered)")
    export.set_defaults(func=export_command)

    report = commands.add_parser("report", help="summarise a folder of learners' exported files")
    report.add_argument("dir", type=Path, help="folder with the learners' .json exports")
    report.add_argument("--out", type=Path, default=Path("bertcourse-report"),
                        help="folder for report.html and the plots (default: %(default)s)")
    report.set_defaults(func=report_command)


def export_command(args: argparse.Namespace) -> int:
    store = ProgressStore()
    given = (args.name or "").strip()
    if len(given) > 100:
        print("error: --name is limited to 100 characters.", file=sys.stderr)
        return 2
    if given:
        store.set_learner_name(given)
    name = store.learner_name()
    if not name:
        print("error: give your name once with --name \"Your Name\" so your instructor knows whose "
              "file it is.", file=sys.stderr)
        return 2
    path = write_export(store, name, args.out)
    print(f"Wrote {len(store.attempts())} answers by {name} to {path}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        print(f"error: {args.dir} is not a folder.", file=sys.stderr)
        return 2
    report = build_report(args.dir)
    print(report.to_text())
    written = report.write(args.out)
    print(f"\nWrote {', '.join(p.name for p in written)} to {args.out}")
    return 0 if report.learners else 1
