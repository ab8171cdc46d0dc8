"""The `bertcourse` command: doctor, notebooks, progress, and instructor tools."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bertcourse.errors import CourseError

# Modules that add their own sub-commands through `register(subparsers)`.
_COMMAND_MODULES = ("bertcourse.quiz.cli", "bertcourse.prefetch", "bertcourse.run_cli", "bertcourse.pretrain_cli")


def _doctor(args: argparse.Namespace) -> int:
    from bertcourse.diagnostics import doctor

    return 0 if doctor() else 1


def _notebooks(args: argparse.Namespace) -> int:
    from bertcourse.notebook_runner import regenerate_in_place

    results = regenerate_in_place(args.only)
    return 0 if results and all(result.ok for result in results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bertcourse", description="Helpers for the bertcourse BERT workbook.")
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="check this machine is ready for the course")
    doctor.set_defaults(func=_doctor)
    notebooks = commands.add_parser("notebooks", help="re-execute the course notebooks in place (laptop profile)")
    notebooks.add_argument("only", nargs="*", help="notebook name prefixes, e.g. 01 02 (default: all)")
    notebooks.set_defaults(func=_notebooks)
    for module in _COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
