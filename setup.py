"""Build step that puts the course's lessons, data and lock file inside the wheel.

`data/`, `notebooks/` and `requirements/lock.txt` live once in git, at the repository root, where a
clone (and `make course`) uses them. An installed package has no clone beside it, so the wheel
carries copies under `bertcourse/bundled/`, and `bertcourse.course.paths` reads them from there.
Everything else about the package is declared in pyproject.toml; this file only adds the copy.
An editable install (`pip install -e .`) skips it: there the clone itself is the source.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COURSE_FILES = ("data", "notebooks", "requirements/lock.txt")  # relative to the root, kept as laid out there
BUNDLED = Path("bertcourse") / "bundled"  # bertcourse.course.paths.BUNDLED_DIR names the same folder
NOT_SHIPPED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


class BuildPyWithCourseFiles(build_py):
    """setuptools' build_py, plus a copy of the course files into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / BUNDLED
        shutil.rmtree(target, ignore_errors=True)  # a rebuild never keeps a file deleted from git
        for name in COURSE_FILES:
            source, copy = ROOT / name, target / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, copy, ignore=NOT_SHIPPED)
            else:
                shutil.copy2(source, copy)


setup(cmdclass={"build_py": BuildPyWithCourseFiles})
