"""`bertcourse run`: execute notebooks headless for a class, with executed copies, HTML exports
and a summary table (notebook, status, duration, headline metric); and the author command
`bertcourse notebooks`, which re-executes the course notebooks in place.

Room: tools. The execution itself lives in `notebook_runner`.

    bertcourse run --profile gpu                     # every course notebook, in order
    bertcourse run 03 04 --profile gpu --out /tmp/r  # notebooks whose names start with 03 and 04
    bertcourse run path/to/other.ipynb
    bertcourse run --profile gpu --smoke             # every notebook, every budget cut: minutes on a CPU
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bertcourse.course.profiles import PROFILES, active_profile


def _run(args: argparse.Namespace) -> int:
    from bertcourse.tools.notebook_runner import default_run_dir, run_notebooks, select_notebooks

    profile = args.profile or active_profile().name
    paths = select_notebooks(args.notebooks)
    out = Path(args.out).expanduser().resolve() if args.out else default_run_dir(profile)
    home = Path(args.home).expanduser().resolve() if args.home else None
    results = run_notebooks(paths, out, profile, home=home, timeout=args.timeout, html=not args.no_html,
                            smoke=args.smoke)
    if any(result.status == "interrupted" for result in results):
        return 130
    return 0 if results and all(result.ok for result in results) else 1


def _notebooks(args: argparse.Namespace) -> int:
    from bertcourse.tools.notebook_runner import regenerate_in_place

    results = regenerate_in_place(args.only)
    return 0 if results and all(result.ok for result in results) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `run` (instructors) and `notebooks` (authors) to `bertcourse`'s parser."""
    run = subparsers.add_parser(
        "run", help="execute notebooks headless into an output folder, with HTML exports and a summary table",
        description="Execute notebooks top to bottom with nbclient. Writes an executed copy, an HTML export "
                    "and the reported metrics of each notebook, plus summary.md / summary.json, into the "
                    "output folder; a failing cell is reported and the run goes on with the next notebook.")
    run.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help="paths to .ipynb files or course notebook name prefixes, e.g. 03 04 (default: all)")
    run.add_argument("--profile", choices=list(PROFILES), default=None,
                     help="profile the notebooks run in (default: BERTCOURSE_PROFILE, else laptop)")
    run.add_argument("--out", default=None,
                     help="output folder (default: artifacts/runs/<date-time>-<profile>/ in the course folder)")
    run.add_argument("--home", default=None,
                     help="course home the notebooks share (default: OUT/home, fresh); give an earlier run's "
                          "home to run notebook 04 alone on notebook 03's checkpoint")
    run.add_argument("--timeout", type=int, default=3600, help="seconds one cell may run (default: 3600)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML exports")
    run.add_argument("--smoke", action="store_true",
                     help="cut every budget (few steps, few rows, pretraining seconds): checks in minutes that every "
                          "cell runs and every headline metric is reported; the numbers mean nothing")
    run.set_defaults(func=_run)
    notebooks = subparsers.add_parser("notebooks", help="(author) re-execute the course notebooks in place, "
                                                          "rewriting their committed outputs (laptop profile)",
                                      description="For course authors: re-execute the course notebooks in place in the "
                                                  "laptop profile, overwriting the outputs saved in them (the ones nbval "
                                                  "compares). To run a lesson, open it in JupyterLab instead.")
    notebooks.add_argument("only", nargs="*", help="notebook name prefixes, e.g. 01 02 (default: all)")
    notebooks.set_defaults(func=_notebooks)
