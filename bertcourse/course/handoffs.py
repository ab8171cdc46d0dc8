"""Where each hand-off came from: a small provenance file saved next to the model, and the line that
says it (`bertcourse handoffs list`, and a lesson that loads an imported model).

A hand-off (`registry.HANDOFFS`: 03's pretrained BERT, 04's classifier, 06's adapted encoder) is saved
by one notebook and loaded by later ones. An instructor may run the heavy notebooks once on a GPU and
hand the models to the class (`bertcourse handoffs export` / `import`); a learner must then be able to
tell which model a lesson continues from, and how it was made. So, at save time:

- `lesson_started` (from `start_lesson`) notes the notebook and the time it started;
- `training_finished` (from lesson 03's loop) notes the steps and minutes of a training run;
- `metric_reported` (from `report_metric`) notes every metric the notebook reports;
- `saving` (from `paths.artifacts_dir`, which every lesson calls to get the folder it saves a
  hand-off into) writes `<folder>.provenance.json` beside the folder with all of that, plus the
  profile, the device, the course version and commit; metrics reported later in the same notebook
  are added to it (lesson 06 reports its F1 after saving its model).

The record lies beside the folder, not in it: lessons 03, 04 and 06 print the files they saved, and
those committed outputs must not change. `move` takes both along.

A hand-off saved before the course recorded provenance has no file: it is "your run", details unknown.
An imported one carries the exporter's record plus `imported` (when, from which file). Only imported
hand-offs print a line when a lesson loads them, so a learner's own run (the committed notebook
outputs) prints nothing new.

Room: course (`bertcourse.course`); imports only other course modules. No torch import: the
device is read only when torch is already loaded (a notebook that saves a model has loaded it).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bertcourse.course.paths import REPO_DIR

SUFFIX = ".provenance.json"
FORMAT = 1


@dataclass
class Provenance:
    """How one hand-off was made (the record in its folder and in an export's manifest)."""

    handoff: str
    notebook: str  # the notebook (or command) that saved it
    profile: str
    smoke: bool
    course_version: str
    course_commit: str | None
    device: str  # "NVIDIA H100 80GB HBM3", "CPU (8 cores)", "Apple MPS"
    gpu: bool
    created: str  # ISO time, UTC
    steps: int | None = None  # training steps, where the lesson counts them (03's loop)
    training_minutes: float | None = None  # the training run itself (03's loop)
    notebook_minutes: float | None = None  # the notebook from its first cell to its last record
    metrics: list[dict[str, Any]] = field(default_factory=list)  # {"name", "value", "unit", "headline"}
    imported: dict[str, str] | None = None  # {"at": ISO time, "archive": file name}
    format: int = FORMAT

    @classmethod
    def from_json(cls, document: Any) -> Provenance | None:
        """The record in `document`, or None when it is not one (an untrusted file: checked first)."""
        if not isinstance(document, dict):
            return None
        known = {item.name for item in fields(cls)}
        try:
            record = cls(**{key: value for key, value in document.items() if key in known})
        except TypeError:  # a required field missing
            return None
        valid = (all(isinstance(getattr(record, name), str) for name in
                     ("handoff", "notebook", "profile", "course_version", "device", "created"))
                 and isinstance(record.metrics, list) and all(isinstance(row, dict) for row in record.metrics)
                 and (record.imported is None or isinstance(record.imported, dict)))
        return record if valid else None

    def session(self) -> str:
        """`GPU session of 2026-12-06` (what kind of machine made it, and when)."""
        kind = "GPU session" if self.gpu else "CPU session" if self.device.startswith("CPU") else "session"
        return f"{kind} of {self.created[:10]}"

    def line(self) -> str:
        """`imported: GPU session of 2026-12-06, 20 min on NVIDIA H100 ..., 5,120 steps; MLM loss 2.31, ...`
        or `your run: notebook 03_pretraining, laptop profile, ...`."""
        head = f"imported: {self.session()}" if self.imported is not None else f"your run of {self.created[:10]}"
        minutes = self.training_minutes if self.training_minutes is not None else self.notebook_minutes
        parts = [head]
        if minutes is not None:
            parts.append(f"{_minutes_text(minutes)} on {self.device}")
        else:
            parts.append(f"on {self.device}")
        if self.steps is not None:
            parts.append(f"{self.steps:,} steps")
        origin = (f" (notebook {self.notebook}, {self.profile} profile{', SMOKE budgets' if self.smoke else ''}, "
                  f"course {self.course_version}{' at ' + self.course_commit[:10] if self.course_commit else ''})")
        metrics = "; " + ", ".join(_metric_text(row) for row in self.metrics) if self.metrics else ""
        return ", ".join(parts) + metrics + origin


def _minutes_text(minutes: float) -> str:
    return f"{minutes:.0f} min" if minutes >= 10 else f"{minutes:.1f} min"


def _metric_text(row: dict[str, Any]) -> str:
    from bertcourse.course.metrics_report import Metric

    try:
        return Metric(str(row["name"]), float(row["value"]), str(row.get("unit", ""))).formatted()
    except (KeyError, TypeError, ValueError):
        return "?"


UNKNOWN = "your run (details unknown: saved before the course recorded where hand-offs come from)"


def record_file(folder: Path) -> Path:
    """Where the provenance of the hand-off in `folder` is kept: `<folder>.provenance.json` beside it."""
    folder = Path(folder)
    return folder.with_name(folder.name + SUFFIX)


def move(folder: Path, target: Path) -> None:
    """Rename a hand-off folder, and its record with it (the record first: a crash in between leaves
    a record without a folder, which nothing reads, never a folder described by another's record)."""
    if record_file(folder).exists():
        os.replace(record_file(folder), record_file(target))
    Path(folder).rename(target)


def read(folder: Path) -> Provenance | None:
    """The provenance saved in a hand-off folder, or None (none saved, or unreadable)."""
    try:
        return Provenance.from_json(json.loads(record_file(folder).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def describe(folder: Path) -> str:
    """The one line `bertcourse handoffs list` shows for a present hand-off."""
    record = read(folder)
    return UNKNOWN if record is None else record.line()


def imported(name: str) -> Provenance | None:
    """The record of hand-off `name` in the course home if it was imported, else None (a lesson
    shows an extra comparison only for an instructor's model)."""
    from bertcourse.course.paths import course_home

    record = read(course_home() / "artifacts" / name)
    return record if record is not None and record.imported is not None else None


def write(folder: Path, record: Provenance) -> None:
    """Save `record` in `folder`, atomically (several processes of one run may save at once)."""
    target = record_file(folder)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(record), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, target)


# ---------------------------------------------------------------------------------------------
# What this process (one notebook's kernel, or one command) has done so far


@dataclass
class _Session:
    lesson: str | None = None
    started: float = field(default_factory=time.time)
    steps: int | None = None
    training_seconds: float | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name: a re-run cell replaces its value
    saving: dict[str, Path] = field(default_factory=dict)  # hand-offs this process saves, by name
    announced: set[str] = field(default_factory=set)


_session = _Session()


def lesson_started(name: str) -> None:
    """A notebook's first cell ran (`start_lesson`): its name and start time go into what it saves."""
    _session.lesson = name
    _session.started = time.time()


def training_finished(steps: int, seconds: float) -> None:
    """A training run ended (lesson 03's loop): its length goes into what the notebook saves."""
    _session.steps, _session.training_seconds = int(steps), float(seconds)
    _update_saved()


def metric_reported(name: str, value: float, unit: str, headline: bool) -> None:
    """The notebook reported a metric: recorded for the hand-offs it saves (before or after this)."""
    _session.metrics[name] = {"name": name, "value": value, "unit": unit, "headline": headline}
    _update_saved()


def saving(name: str, folder: Path, made_by: str) -> None:
    """This process is about to save hand-off `name` into `folder`: record how it is being made.

    A hand-off imported into that folder is first moved aside (never overwritten file by file, which
    would mix two models): the learner is told where it is kept."""
    if not _main_process():
        return
    previous = read(folder)
    if previous is not None and previous.imported is not None and any(Path(folder).iterdir()):
        kept = aside_path(folder, "imported")
        move(folder, kept)
        Path(folder).mkdir()
        print(f"(the imported {name} is kept in {kept}; this run saves your own. "
              f"`bertcourse handoffs import` with --replace brings an imported one back)")
    _session.saving[name] = Path(folder)
    write(folder, _record(name, made_by))


def announce(name: str, folder: Path) -> None:
    """A lesson loads hand-off `name`: say where it came from if it was imported (once per process).
    A learner's own run prints nothing, so the committed notebook outputs stay as they are."""
    record = read(folder)
    if record is None or record.imported is None or name in _session.announced:
        return
    _session.announced.add(name)
    print(f"{name}: {record.line()}")


def _record(name: str, made_by: str) -> Provenance:
    from bertcourse.course import smoke
    from bertcourse.course.profiles import active_profile

    device, gpu = _device()
    now = time.time()
    return Provenance(
        handoff=name, notebook=_session.lesson or made_by, profile=active_profile().name, smoke=smoke.active(),
        course_version=course_version(), course_commit=_commit(), device=device, gpu=gpu,
        created=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"), steps=_session.steps,
        training_minutes=None if _session.training_seconds is None else round(_session.training_seconds / 60, 2),
        notebook_minutes=round((now - _session.started) / 60, 2) if _session.lesson else None,
        metrics=list(_session.metrics.values()))


def _update_saved() -> None:
    """Bring the records this process wrote up to date (a metric reported after the save)."""
    if not _main_process():
        return
    for name, folder in _session.saving.items():
        record = read(folder)
        if record is None or not folder.is_dir():
            continue
        fresh = _record(name, record.notebook)
        write(folder, Provenance(**{**asdict(fresh), "notebook": record.notebook, "created": record.created}))


def _main_process() -> bool:
    """False in the other processes of a multi-GPU run (`bertcourse pretrain` under accelerate or
    torchrun): only the main one writes the model, so only it writes the record."""
    return os.environ.get("RANK", "0") == "0"


def _device() -> tuple[str, bool]:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        count = torch.cuda.device_count()
        return (f"{count} x " if count > 1 else "") + torch.cuda.get_device_name(0), True
    if torch is not None and torch.backends.mps.is_available():
        return "Apple MPS", True
    return f"CPU ({os.cpu_count()} cores)", False


def course_version() -> str:
    """The installed course's version (what an export records and an import compares)."""
    try:
        return metadata.version("bertcourse")
    except metadata.PackageNotFoundError:
        return "unknown"


def compatible(version: str, ours: str | None = None) -> bool:
    """Whether hand-offs saved by course `version` load in ours: the same version up to its patch
    number (the models' layout and the lessons that read them change only with the minor version)."""
    ours = ours or course_version()
    return version.split(".")[:2] == ours.split(".")[:2]


@functools.cache
def _commit() -> str | None:
    """The course's git commit, when it runs from a clone with git installed (asked once a process)."""
    try:
        done = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def aside_path(folder: Path, why: str) -> Path:
    """A free sibling of `folder` to keep it in: `<name>.<why>-<YYYYmmdd-HHMMSS>` (a second one in the
    same second gets a number), visible so that a learner can find it and move it back."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = folder.with_name(f"{folder.name}.{why}-{stamp}")
    number = 1
    while candidate.exists() or record_file(candidate).exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}.{why}-{stamp}-{number}")
    return candidate
