"""Lesson 03's checkpoints: what a pretraining run has done so far, written so that it can resume
exactly (weights, optimizer, random states, counters), and the final model in `save_pretrained` layout.

Room: a lesson module (lesson 03).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import BertForPreTraining

from bertcourse.pretrain_settings import PretrainSettings


@dataclass
class TrainResult:
    """What `train` returns: the loss log and where the run stopped."""

    history: dict[str, list[dict[str, float]]] = field(default_factory=lambda: {"train": [], "eval": []})
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    seconds: float = 0.0
    tokens: int = 0
    interrupted: bool = False
    finished: bool = False

    def state(self) -> dict[str, Any]:
        return asdict(self)


CHECKPOINT = "checkpoint"


def save_training_checkpoint(folder: Path, accelerator: Any, model: BertForPreTraining, tokenizer: Any,
                             optimizer: torch.optim.Optimizer, result: TrainResult,
                             settings: PretrainSettings) -> Path:
    """Everything needed to resume: weights, tokenizer, optimizer, RNG states and counters.
    Written to a temporary folder and then renamed, so an interruption while saving never
    destroys the previous checkpoint."""
    target = Path(folder) / CHECKPOINT
    temporary = Path(folder) / (CHECKPOINT + ".tmp")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        accelerator.unwrap_model(model).save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        torch.save(optimizer.state_dict(), temporary / "optimizer.pt")
        torch.save({"torch": torch.get_rng_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
                   temporary / "rng.pt")
        (temporary / "trainer_state.json").write_text(json.dumps(
            {"result": result.state(), "settings": asdict(settings)}, indent=1))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
    accelerator.wait_for_everyone()
    return target


def has_checkpoint(folder: Path | None) -> bool:
    return folder is not None and (Path(folder) / CHECKPOINT / "trainer_state.json").is_file()


def load_training_checkpoint(folder: Path, model: BertForPreTraining, optimizer: torch.optim.Optimizer) -> TrainResult:
    from safetensors.torch import load_file

    source = Path(folder) / CHECKPOINT
    weights = load_file(source / "model.safetensors", device=str(next(model.parameters()).device))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"checkpoint does not match the model (missing {missing}, unexpected {unexpected})")
    model.tie_weights()
    optimizer.load_state_dict(torch.load(source / "optimizer.pt", map_location="cpu", weights_only=True))
    rng = torch.load(source / "rng.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    state = json.loads((source / "trainer_state.json").read_text())["result"]
    return TrainResult(**state)


def save_pretrained_checkpoint(model: BertForPreTraining, tokenizer: Any, folder: Path,
                               summary: dict[str, Any] | None = None) -> Path:
    """Model and tokenizer in `save_pretrained` layout (what notebook 04 and fill-mask load),
    plus `pretraining_summary.json` describing how it was made."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if summary is not None:
        (folder / "pretraining_summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return folder
