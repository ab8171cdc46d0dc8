"""The `bertcourse` command: one sub-command per module, each added by that module's `register`.

Room: tools (instructor and author commands). Learner commands (`start`, `doctor`, `progress`) and
instructor commands (`prefetch`, `run`, `pretrain`, `handoffs`) come first; the author command `notebooks`,
which rewrites the course notebooks in place, registers itself as such.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from bertcourse.course.errors import CourseError

# Each module adds its sub-commands through `register(subparsers)`, the one pattern for all of them.
COMMAND_MODULES = ("bertcourse.tools.start", "bertcourse.tools.doctor", "bertcourse.tools.progress",
                   "bertcourse.tools.prefetch", "bertcourse.tools.run", "bertcourse.tools.pretrain",
                   "bertcourse.tools.handoffs", "bertcourse.tools.dev")


EPILOG = ("Learners: start, doctor, progress export, handoffs. Instructors: progress report, prefetch, run, "
          "pretrain, handoffs. "
          "Course authors: notebooks and dev, which rewrite the course's own files. "
          "`bertcourse COMMAND --help` describes one command.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bertcourse", description="Helpers for the bertcourse BERT workbook.",
                                     epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; with none, print the help (what a first-time user needs) and succeed."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bertcourse progress report DIR | head`: the reader has what it wanted
        # Python would flush stdout again at exit and print a second BrokenPipeError: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
