"""Session-wide test setup.

Tests and the notebooks nbval runs must never touch a learner's real progress database or
checkpoints, nor reach for the network: each test session gets a fresh course home and the
hub libraries are put in offline mode. Notebook kernels inherit this environment.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

_SESSION_HOME = tempfile.mkdtemp(prefix="bertcourse-test-home-")
os.environ.update(BERTCOURSE_HOME=_SESSION_HOME, BERTCOURSE_PROFILE="laptop",
                  HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                  TOKENIZERS_PARALLELISM="false")

SHARED_DATA = Path(__file__).resolve().parents[1] / "shared" / "data"

_notebook_seconds: dict[str, float] = defaultdict(float)


@pytest.fixture
def shared_data() -> Path:
    """The real public datasets beside the repository (developers and CI only, never committed)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent: real-data loading is tested only on developer and CI machines")
    return SHARED_DATA


@pytest.fixture
def fresh_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile chosen and no profile, override or local-copy variables set: each test starts from
    the course's defaults (the laptop profile, as on a machine without CUDA, even where the tests run
    on one) and sets only what it tests."""
    from bertcourse.course import profiles

    monkeypatch.setattr(profiles, "_chosen", None)
    monkeypatch.setattr(profiles, "automatic_choice", lambda: ("laptop", ""))
    for name in ("BERTCOURSE_PROFILE", "BERTCOURSE_MODEL_OVERRIDES", "BERTCOURSE_DATA_DIR", "BERTCOURSE_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook durations (nbval, kernel start included)")
    for path, seconds in sorted(_notebook_seconds.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
    terminalreporter.write_line(f"{sum(_notebook_seconds.values()):7.1f} s  all notebooks")
