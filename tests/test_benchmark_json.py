"""A benchmark's `--json` file holds the course's intervals (`benchmarks/real_data.write_json`).

`benchmarks/distillation.py --json` once ended its 16-minute run on the real data with
`TypeError: Object of type Interval is not JSON serializable`, after printing every figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bertcourse.intervals import Interval

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from real_data import write_json


def test_an_interval_is_written_as_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json(path, {"differences": {"distilled - labels only": Interval(34.8, 32.5, 37.1)}, "retention": 0.99})
    written = json.loads(path.read_text())
    assert written["differences"]["distilled - labels only"] == {"value": 34.8, "low": 32.5, "high": 37.1,
                                                                 "level": 0.95}
    assert written["retention"] == 0.99


def test_what_json_cannot_write_still_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        write_json(tmp_path / "results.json", {"labels": {1, 2}})
