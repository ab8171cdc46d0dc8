"""The set-up every real-data benchmark shares: read the public datasets from `../shared/data`
(beside the repository; never copied into it) and serve every checkpoint with the offline MiniLM.

The course's `gpu` profile already knows how to read these datasets from a local folder
(`BERTCOURSE_DATA_DIR`); overriding every model key with MiniLM makes the same code run on a
machine that cannot reach the model hub.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"


def use_real_data(data_dir: Path, *needed: str) -> None:
    """Point the course at `data_dir` in the gpu profile, offline; exit with a clear message
    when one of the `needed` dataset folders is missing."""
    for name in needed:
        if not (data_dir / name).is_dir():
            sys.exit(f"error: no {name}/ in {data_dir} (pass --data-dir)")
    os.environ.update(BERTCOURSE_PROFILE="gpu", BERTCOURSE_DATA_DIR=str(data_dir.resolve()),
                      BERTCOURSE_MODEL_OVERRIDES="*=all-MiniLM-L6-v2", HF_HUB_OFFLINE="1",
                      HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


def describe_machine() -> str:
    """One line to print before any timing: timings mean little without the load they ran under."""
    import torch

    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"load average {os.getloadavg()[0]:.1f} at start")
