"""Lesson 03's pretraining settings: model sizes and the knobs of a run, per profile.

Plain data, no torch: `bertcourse pretrain --help` lists the sizes without loading a framework.
In smoke mode (`bertcourse.course.smoke`) every profile's budget is cut: minutes become seconds.

Room: a lesson module (lesson 03). It imports only the course room's smoke caps (plain data, no torch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from bertcourse.course import smoke

# Sizes from Turc et al. (2019), "Well-Read Students Learn Better" (the official small BERTs), plus
# `tiny-laptop`, small enough to pretrain on two CPU cores in a couple of minutes.
MODEL_PRESETS: dict[str, dict[str, int]] = {
    "tiny-laptop": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "mini": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
    "small": {"num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048},
    "medium": {"num_hidden_layers": 8, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048},
    "base": {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
}


@dataclass(frozen=True)
class PretrainSettings:
    """Everything that decides a pretraining run except the data.

    `max_steps` fixes the length (and the learning-rate schedule) in steps: runs are then
    reproducible. Without it the run lasts `minutes` and the schedule follows the clock.
    With both, `minutes` is only a safety stop.
    """

    model_size: str = "tiny-laptop"
    vocab_size: int = 3000
    max_length: int = 64
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup: float = 0.06  # fraction of the run spent ramping the learning rate up
    weight_decay: float = 0.01
    max_steps: int | None = None
    minutes: float | None = None
    mlm_probability: float = 0.15
    log_every: int = 10
    eval_every: int | None = None
    checkpoint_minutes: float | None = None
    compile: bool = False
    seed: int = 0


PROFILE_SETTINGS: dict[str, PretrainSettings] = {
    # two CPU cores, the course's own data/corpus: a couple of minutes, a fixed number of steps (reproducible)
    "laptop": PretrainSettings(model_size="tiny-laptop", vocab_size=3000, max_length=64, batch_size=32,
                               learning_rate=2e-3, max_steps=1500, eval_every=250),
    # an instructor's GPU, Wikipedia: BERT-medium for a 20-minute budget, checkpoint every 5 minutes
    "gpu": PretrainSettings(model_size="medium", vocab_size=30522, max_length=128, batch_size=256,
                            learning_rate=5e-4, minutes=20.0, log_every=50, eval_every=500,
                            checkpoint_minutes=5.0),
}


# A time-budgeted profile's minutes, from the environment: a short GPU session (benchmarks/gpu_session.sh)
# cannot spend the gpu profile's 20 minutes on lesson 03 alone, and the notebook reads no arguments.
MINUTES_ENV = "BERTCOURSE_PRETRAIN_MINUTES"


def settings_for(profile: str, **overrides: Any) -> PretrainSettings:
    """The profile's settings (a time budget shortened by BERTCOURSE_PRETRAIN_MINUTES) with
    `overrides` (None values are ignored), cut to smoke size in smoke mode (after the overrides: a
    smoke run stays short whatever a command asked for)."""
    settings = PROFILE_SETTINGS[profile]
    if os.environ.get(MINUTES_ENV) and settings.minutes is not None:
        settings = replace(settings, minutes=_minutes_from_env())
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return smoke_cut(settings) if smoke.active() else settings


def _minutes_from_env() -> float:
    raw = os.environ[MINUTES_ENV]
    try:
        minutes = float(raw)
    except ValueError:
        minutes = -1.0
    if minutes <= 0:
        raise ValueError(f"{MINUTES_ENV}={raw!r}: give a positive number of minutes")
    return minutes


def smoke_cut(settings: PretrainSettings) -> PretrainSettings:
    """`settings` with smoke budgets: each minute a second, few steps, a small batch and the smallest
    model (a GPU-sized model on a CPU would spend minutes on one held-out evaluation). The loop,
    its schedule, evaluation and checkpointing run as they would; only their length changes."""
    caps = smoke.CAPS

    def seconds(minutes: float | None) -> float | None:
        return None if minutes is None else minutes * caps.seconds_per_minute / 60

    return replace(settings, model_size=caps.pretrain_model_size,
                   batch_size=min(settings.batch_size, caps.pretrain_batch_size),
                   max_steps=None if settings.max_steps is None else min(settings.max_steps, caps.max_pretrain_steps),
                   minutes=seconds(settings.minutes), checkpoint_minutes=seconds(settings.checkpoint_minutes))
