"""One rule and one pair of flags for a smaller benchmark run (`benchmarks/real_data.py`).

Once `distillation.py --train-limit` drew tweets at random while `emotion_finetune.py --limit-train`
took the first N, and `ner_finetune.py` had `--max-test` where `qa_finetune.py` had `--max-eval`:
the same words meant different subsets."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import datasets
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from real_data import cut  # noqa: E402


@pytest.fixture
def split() -> datasets.Dataset:
    return datasets.Dataset.from_dict({"row": list(range(1000))})


def test_a_cut_is_a_seeded_draw_in_the_splits_order(split: datasets.Dataset) -> None:
    rows = cut(split, 100)["row"]
    assert rows == cut(split, 100)["row"] and rows == sorted(rows) and len(set(rows)) == 100
    assert max(rows) > 500  # the whole split, not its head


def test_no_cut_or_a_cut_past_the_end_keeps_the_split(split: datasets.Dataset) -> None:
    assert cut(split, None) is split and cut(split, 5000) is split


def test_every_benchmark_takes_the_same_cut_flags() -> None:
    """A benchmark that makes a subset asks `add_cut_arguments`; none spells its own limit flag."""
    for path in sorted(set(BENCHMARKS.glob("*.py")) - {BENCHMARKS / "real_data.py"}):
        source = path.read_text(encoding="utf-8")
        own = re.findall(r"add_argument\(\s*\"(--[\w-]*(?:limit|max-train|max-eval|max-test)[\w-]*)\"", source)
        assert not own, f"{path.name} defines {own}: use real_data.add_cut_arguments"
