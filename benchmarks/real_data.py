"""The set-up every real-data benchmark shares: read the public datasets from `../shared/data`
(beside the repository; never copied into it) and serve every checkpoint with the offline MiniLM;
and the one rule for a smaller run (`--max-train`, `--max-eval`: `add_cut_arguments`, `cut`); and
`write_json`, for a `--json` file that holds the course's intervals.

The course's `gpu` profile already knows how to read these datasets from a local folder
(`BERTCOURSE_DATA_DIR`); overriding every model key with MiniLM makes the same code run on a
machine that cannot reach the model hub.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"


def use_real_data(data_dir: Path, *needed: str) -> None:
    """Point the course at `data_dir` in the gpu profile, offline; exit with a clear message
    when the folder of one of the `needed` datasets (registry keys) is missing. The registry
    says where each dataset lives in a data folder; a benchmark never spells a folder name."""
    from bertcourse.course.registry import local_dataset_folder

    for key in needed:
        folder = local_dataset_folder(key, data_dir)
        if folder is None or not folder.is_dir():
            sys.exit(f"error: no {folder.name if folder else key}/ in {data_dir} (pass --data-dir)")
    os.environ.update(BERTCOURSE_PROFILE="gpu", BERTCOURSE_DATA_DIR=str(data_dir.resolve()),
                      BERTCOURSE_MODEL_OVERRIDES="*=all-MiniLM-L6-v2", HF_HUB_OFFLINE="1",
                      HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


def add_cut_arguments(parser: argparse.ArgumentParser, rows: str) -> None:
    """`--max-train N` and `--max-eval N`, the same two flags in every benchmark; `rows` names what
    a row is there ("tweets", "questions")."""
    parser.add_argument("--max-train", type=int, default=None,
                        help=f"train on at most N {rows}, drawn as `cut` draws them (default: all); reported in the output")
    parser.add_argument("--max-eval", type=int, default=None,
                        help=f"score at most N {rows} of each evaluation split, drawn the same way (default: all)")


def cut(split: Any, limit: int | None) -> Any:
    """At most `limit` rows of a `datasets.Dataset`, drawn at random with seed 0 and kept in their
    order. A random draw, not the first rows: the first rows of SQuAD are a few articles and of
    CoNLL a few documents, so a head cut measures a narrower task than the full split. The same
    seed gives the same subset on every run and in every benchmark."""
    if limit is None or limit >= len(split):
        return split
    return split.select(sorted(random.Random(0).sample(range(len(split)), limit)))


def describe_machine() -> str:
    """One line to print before any timing: timings mean little without the load they ran under."""
    import torch

    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"load average {os.getloadavg()[0]:.1f} at start")


def write_json(path: Path, results: dict[str, Any]) -> None:
    """Write a benchmark's numbers to `path`, with every dataclass (an `Interval` from
    `bertcourse.intervals`, say) as its fields: `json.dumps` alone rejects them, and a run that
    has printed every figure should not end in a traceback at its last line."""
    def fields(value: Any) -> dict[str, Any]:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    path.write_text(json.dumps(results, indent=2, default=fields))
