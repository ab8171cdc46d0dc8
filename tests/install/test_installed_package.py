"""The course as a learner without a clone gets it: the built wheel, installed into a fresh
virtualenv in a temporary folder, `bertcourse start`, and lessons run from the folder it fills.

What is real here: the source distribution and the wheel built from it (as `python -m build` makes
them), pip installing that wheel and its entry point into a virtualenv created from the base Python,
`bertcourse start` and `bertcourse doctor` run from that virtualenv, notebooks 00, 01, 02 and 90 executed
by kernels of that virtualenv in the lessons folder (outputs are not compared, no cell may fail), one
quiz answer and one coding exercise checked through the installed package. No clone is on any path:
the test asserts where `bertcourse` is imported from, in the checking process and in a kernel.

What is borrowed, to keep the test cheap: the dependencies. Instead of downloading torch and the rest
again (GBs, minutes), the fresh virtualenv sees this test environment's installed packages through a
`.pth` file, minus this environment's own `bertcourse` (its editable install would bring the clone
back). pip installs the wheel with `--no-index`, so it resolves the wheel's dependency ranges against
those packages and fails if any is missing or out of range; what it would download elsewhere (Colab,
another torch) is not tested here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).with_name("installed_checks.py")
LESSONS = ["00_start_here.ipynb", "01_tokenization.ipynb", "02_architecture.ipynb", "90_instructor_report.ipynb"]
OWN_DISTRIBUTION = ("bertcourse", "__editable__.bertcourse", "__editable___bertcourse")


def _run(command: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _build_wheel(dist: Path) -> Path:
    """sdist from the repository, then the wheel from that sdist (so MANIFEST.in is tested too)."""
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
          dist], cwd=ROOT)
    (sdist,) = dist.glob("bertcourse-*.tar.gz")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
          "--wheel-dir", dist, sdist], cwd=dist)
    (wheel,) = dist.glob("bertcourse-*.whl")
    return wheel


def _dependencies_view(folder: Path) -> Path:
    """Links to every package installed here except bertcourse itself, for the new venv to import.

    The folder is named `site-packages`, as every real install location is: `datasets` hashes
    functions with dill, which pickles a module by reference only when its path looks installed
    (under the Python's prefix or in a `site-packages` folder), and by value otherwise."""
    folder.mkdir(parents=True)
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OWN_DISTRIBUTION):
            (folder / entry.name).symlink_to(entry)
    return folder


def _fresh_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=tmp_path).strip())
    view = _dependencies_view(tmp_path / "borrowed" / "site-packages")
    (site_packages / "test_dependencies.pth").write_text(f"import site; site.addsitedir({str(view)!r})\n")
    return python


def _learner_environment(venv_python: Path, tmp_path: Path) -> dict[str, str]:
    """This session's environment (offline, a temporary course home) minus anything pointing at the clone."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not key.startswith("JUPYTER")}
    env["PATH"] = f"{venv_python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["BERTCOURSE_HOME"] = str(tmp_path / "course-home")
    return env


def test_the_built_wheel_installs_starts_and_runs_lessons_without_a_clone(tmp_path: Path) -> None:
    started = time.perf_counter()
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = _build_wheel(dist)
    python = _fresh_venv(tmp_path)
    env = _learner_environment(python, tmp_path)
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index", wheel],
         cwd=tmp_path, env=env)
    assert (python.parent / "bertcourse").is_file(), "pip installed no `bertcourse` command into the venv"
    installed = time.perf_counter()

    work = tmp_path / "work"
    work.mkdir()
    said = _run([python.parent / "bertcourse", "start"], cwd=work, env=env)
    lessons = work / "bertcourse-lessons"
    assert said.startswith(f"Lessons in {lessons}: 11 copied.") and "jupyter lab" in said
    doctor = _run([python.parent / "bertcourse", "doctor"], cwd=work, env=env)
    data_rows = [line for line in doctor.splitlines() if line.startswith("laptop data")]
    assert " 0 failed" in doctor and data_rows and all(" PASS " in row for row in data_rows), doctor

    out = _run([python, CHECKS, lessons, *LESSONS], cwd=lessons, env=env, timeout=1500)
    report = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[len("RESULT "):])
    venv = python.parent.parent
    module = Path(report["module"])
    assert venv in module.parents and ROOT not in module.parents, report["module"]
    kernel_module, kernel_python = map(Path, report["kernel"])
    assert kernel_module == module and kernel_python.parent == python.parent
    failed = [f"{nb['name']}: {nb['error']}" for nb in report["notebooks"] if not nb["ok"]]
    assert not failed, "\n\n".join(failed)
    quiz = report["quiz"]
    assert "✗ Incorrect." in quiz["verdicts"][0] and "✓ Correct." in quiz["verdicts"][1]
    assert quiz["stored"] == [[quiz["question"], False], [quiz["question"], True]]
    assert report["exercise"]["stored"] == [False, True]
    assert report["exercise"]["lesson_goes_on_with_the_learners_function"] == [False, True]
    timings = ", ".join(f"{nb['name']} {nb['seconds']} s" for nb in report["notebooks"])
    print(f"install test: build + venv + pip {installed - started:.0f} s; {timings}; "
          f"total {time.perf_counter() - started:.0f} s")

