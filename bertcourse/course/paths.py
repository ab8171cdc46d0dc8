"""Where the course keeps things: the course's shipped files and the learner's own files.

Two kinds of location exist and must never be confused:
- read-only course material that ships with the course (`data/`, `notebooks/`, the lock file, quiz
  banks). In a clone it sits at the repository root; an installed wheel carries a copy under
  `bertcourse/bundled/` (setup.py makes it), so the course runs with no clone anywhere;
- the learner's writable course home (progress database, checkpoints from notebook 03,
  fine-tuned models from notebook 04), which survives kernel restarts and `git pull`.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from bertcourse.course.errors import CourseError

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # bertcourse/ (this file is bertcourse/course/paths.py)
REPO_DIR = PACKAGE_DIR.parent  # the clone's root; only meaningful when `running_from_clone()`
BUNDLED_DIR = PACKAGE_DIR / "bundled"  # what setup.py copies into a wheel (same layout as the root)


def running_from_clone() -> bool:
    """True when the package runs from a clone (plain or `pip install -e`), False from an installed
    wheel. The wheel's `bundled/` folder is the sign: a clone never has one."""
    return not BUNDLED_DIR.is_dir()


def course_files_dir() -> Path:
    """The folder holding `data/`, `notebooks/` and `requirements/lock.txt`: the repository root in a
    clone, `bertcourse/bundled/` in an installed wheel."""
    return REPO_DIR if running_from_clone() else BUNDLED_DIR


def shipped_data_dir() -> Path:
    """The course's `data/` folder (small original datasets written for the course)."""
    return course_files_dir() / "data"


def shipped_notebooks_dir() -> Path:
    """The course's `notebooks/` folder: the lessons as shipped (`bertcourse start` copies them)."""
    return course_files_dir() / "notebooks"


def lock_file() -> Path:
    """`requirements/lock.txt`: the exact versions the committed notebook outputs were made with."""
    return course_files_dir() / "requirements" / "lock.txt"


class CourseHomeError(CourseError):
    """The course home cannot be found or created (`BERTCOURSE_HOME` is a file, its parent is
    read-only, `HOME` is `/` or unset): one line naming the setting, never an OSError traceback."""


def course_home(create: bool = True) -> Path:
    """The learner's writable folder; `BERTCOURSE_HOME` overrides the per-user default.

    Created on first use so callers can write into it straight away; `create=False` is for
    readers (an export, `doctor`) that must not leave an empty home behind.
    """
    setting = os.environ.get("BERTCOURSE_HOME")
    try:
        home = Path(setting or platformdirs.user_data_dir("bertcourse")).expanduser()
        if create:
            home.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError) as error:  # RuntimeError: no home directory can be determined
        where = f"BERTCOURSE_HOME={setting}" if setting else "the default course home (in your home directory)"
        reason = getattr(error, "strerror", None) or str(error)
        raise CourseHomeError(f"Cannot use {where} as your course home ({reason}).",
                              "set BERTCOURSE_HOME to a folder you can write to") from None
    return home


def artifacts_dir(name: str) -> Path:
    """A named sub-folder of the course home for artefacts one lesson hands to the next
    (e.g. the checkpoint notebook 03 pretrains and notebook 04 fine-tunes).

    Lessons ask for it to save into: for one of the registry's `HANDOFFS` this records how the
    model is being made next to it (`bertcourse.course.handoffs.saving`)."""
    from bertcourse.course import handoffs
    from bertcourse.course.registry import HANDOFFS

    path = course_home() / "artifacts" / name
    path.mkdir(parents=True, exist_ok=True)
    if name in HANDOFFS:
        handoffs.saving(name, path, HANDOFFS[name].made_by)
    return path


def saved_checkpoint(name: str) -> Path:
    """The folder of a checkpoint an earlier notebook saved (one of the registry's `HANDOFFS`), or a
    short error saying which notebook to run first (04 fine-tunes what 03 pretrained; 07 distils
    what 04 fine-tuned). An imported one is announced with where it came from (`handoffs.announce`)."""
    from bertcourse.course import handoffs
    from bertcourse.course.errors import ResourceUnavailable
    from bertcourse.course.registry import HANDOFFS

    if name not in HANDOFFS:
        raise ResourceUnavailable(f"No lesson saves a checkpoint called {name!r}.", fix=f"use one of: {', '.join(HANDOFFS)}")
    path = course_home() / "artifacts" / name
    if not (path / "config.json").is_file():
        raise ResourceUnavailable(f"No saved checkpoint {name!r} in your course home.",
                                  fix=f"run notebook {HANDOFFS[name].made_by} first (it saves this checkpoint), "
                                      "or import your instructor's with `bertcourse handoffs import FILE`")
    handoffs.announce(name, path)
    return path
