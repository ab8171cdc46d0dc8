"""What the first cell of every notebook calls: seeds, quiet logging, and a plain statement of
which profile is active and what stands in for what.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import os
import warnings

import torch
import transformers

from bertcourse.course import handoffs, plain_text, smoke
from bertcourse.course.profiles import active_profile, automatic_reason, resolve_model_key
from bertcourse.course.registry import MODELS


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and torch and prefer deterministic kernels, so committed notebook
    outputs reproduce on a fresh CPU machine."""
    transformers.set_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def quiet_libraries() -> None:
    """Silence progress bars and chatter that would make notebook outputs differ run to run;
    the course shows its own progress bars where work is long."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*use_deterministic_algorithms.*")


def start_lesson(name: str, seed: int = 0) -> None:
    """Prepare a notebook: seed, quiet the libraries, and print the profile, its substitutions and
    (in smoke mode) the budget caps, so no smoke number is mistaken for a lesson's result."""
    set_seed(seed)
    quiet_libraries()
    handoffs.lesson_started(name)  # what this notebook saves records its name and running time
    profile = active_profile()
    print(plain_text.wrap(f"Lesson {name} | profile: {profile.name} ({profile.summary})"))
    if automatic_reason():
        print(plain_text.wrap(f"  {automatic_reason()} (set BERTCOURSE_PROFILE to choose)"))
    for key in MODELS:
        served = resolve_model_key(key)
        if served != key:
            print(f"  {key} -> {served}")
    if smoke.active():
        print(f"  SMOKE RUN (budgets cut, results meaningless): {smoke.CAPS.describe()}")
