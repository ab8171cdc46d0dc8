"""Knowledge distillation: train a small student to imitate a fine-tuned teacher, and measure the trade.

Born in notebook 07, which distils notebook 04's emotion classifier in the setting where distillation
pays: a few labelled texts plus an unlabelled transfer set that the teacher labels with soft targets;
`benchmarks/distillation.py` runs the same code on the full real data.

    labelled, transfer = hide_labels(train_split, labelled_fraction=0.1)      # transfer: labels -> UNLABELLED
    logits = teacher_logits(teacher, tokenizer, [*labelled["text"], *transfer["text"]])   # once, cached
    sets = training_sets(labelled, transfer, logits)  # labels only / teacher's hard labels / soft targets
    student = student_from_teacher(pretrained, keep_layers=[0, 2, 4])          # DistilBERT-style initialisation
    train_student(student, tokenizer, arguments, encoded_soft_targets, distil=True, temperature=2.0, alpha=0.5)
    quality = quality_table({"teacher": teacher, "distilled": student}, tokenizer, texts, labels)
    bootstrap_scores(labels, predicted_a, reference=predicted_b)                # training's paired intervals

The ideas a learner must see (the distillation loss, how the student is cut out of a bigger model,
what each student learns from) are written out in notebook 07 in `#@save` cells identical to the
functions here.

Room: a lesson module. It imports `bertcourse.training`, `bertcourse.model_specs` and the course room's
smoke caps.
"""

from __future__ import annotations

import copy
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from datasets import Value, concatenate_datasets
from matplotlib.figure import Figure
from torch import Tensor
from transformers import Trainer, TrainingArguments

from bertcourse.course import smoke
from bertcourse.model_specs import count_parameters
from bertcourse.training import make_trainer, predict_probabilities, scores

# Written out for the learner in notebook 07_distillation's `#@save` cells; tests/test_saved_cells.py
# checks both ways (each name has its cell, each cell's definition is listed here), and
# `bertcourse dev sync-saved` rewrites the cells from this module.
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "distillation_loss",
    "student_from_teacher",
    "training_sets",
), "07_distillation")


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor,
                      temperature: float = 2.0, alpha: float = 0.5) -> Tensor:
    """alpha · CE(student, labels) + (1 − alpha) · T² · KL(softmax(teacher/T) ‖ softmax(student/T)),
    averaged over the batch.

    The KL term teaches the student the teacher's whole distribution ("dark knowledge": which
    wrong classes are nearly right); the T² factor keeps its gradients as large as the CE term's
    whatever the temperature, because softening by T shrinks them by 1/T². A text labelled -100
    (PyTorch's "ignore" value: a transfer-set text nobody labelled) adds only its soft term.
    """
    hard = F.cross_entropy(student_logits, labels, ignore_index=-100, reduction="sum") / len(labels)
    soft_teacher = F.softmax(teacher_logits / temperature, dim=-1)
    log_soft_student = F.log_softmax(student_logits / temperature, dim=-1)
    soft = F.kl_div(log_soft_student, soft_teacher, reduction="batchmean")
    return alpha * hard + (1 - alpha) * temperature**2 * soft


def student_from_teacher(teacher: Any, keep_layers: Sequence[int]) -> Any:
    """A copy of `teacher` that keeps only the encoder layers `keep_layers` (DistilBERT's
    initialisation: every other layer), with the teacher's embeddings, pooler and classifier."""
    student = copy.deepcopy(teacher)
    encoder = student.base_model.encoder
    encoder.layer = torch.nn.ModuleList(encoder.layer[i] for i in keep_layers)
    student.config.num_hidden_layers = len(keep_layers)
    return student


UNLABELLED = -100  # the label of a transfer-set text: cross-entropy ignores it, the soft term does not


def teacher_logits(teacher: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 64) -> np.ndarray:
    """The teacher's logits for `texts`, one row per text, computed once before training (the teacher
    is frozen: running it on every batch of every epoch would recompute the same numbers).

    They are the log of its probabilities: a logit vector and its log-softmax differ by a constant,
    which a softmax at any temperature cannot see."""
    return np.log(predict_probabilities(teacher, tokenizer, texts, max_length))


def hide_labels(dataset: Any, labelled_fraction: float, seed: int = 0) -> tuple[Any, Any]:
    """Split `dataset` into the few texts whose labels we keep (a stratified `labelled_fraction`,
    so every class is there) and a transfer set whose labels are replaced by `UNLABELLED`: what a
    team with a teacher, a small labelling budget and plenty of raw text has.

    Stratifying needs two texts of every class and room for each class on both sides; a smoke
    run's cut (a few dozen rows, one of a rare class) has neither, and gets a plain seeded split.
    The course's data and the real data always stratify."""
    counts = np.bincount(dataset["label"])
    present = int((counts > 0).sum())
    labelled_count = math.floor(labelled_fraction * len(dataset))   # as `train_test_split` counts it
    stratify = counts[counts > 0].min() >= 2 and min(labelled_count, len(dataset) - labelled_count) >= present
    split = dataset.train_test_split(train_size=labelled_fraction, stratify_by_column="label" if stratify else None,
                                     seed=seed)
    labelled, transfer = (part.cast_column("label", Value("int64")) for part in (split["train"], split["test"]))
    return labelled, transfer.map(lambda _: {"label": UNLABELLED})


def training_sets(labelled: Any, transfer: Any, logits: np.ndarray) -> dict[str, Any]:
    """The three students' training data, each one step from the last. `logits`: the teacher's,
    for the labelled texts and then the transfer set's.

    - "labels only": the few labelled texts (without a teacher the transfer set has nothing to teach);
    - "teacher's hard labels": plus the transfer set, each text labelled with the teacher's top class;
    - "teacher's soft targets": plus the transfer set unlabelled, learnt from the teacher's whole
      softened distribution (the labelled texts keep their labels and get soft targets too)."""
    with_logits = concatenate_datasets([labelled, transfer]).add_column("teacher_logits", logits.tolist())
    top_class = logits.argmax(axis=1)
    hard = with_logits.map(lambda row, i: {"label": int(top_class[i]) if row["label"] == UNLABELLED else row["label"]},
                           with_indices=True)
    return {"labels only": labelled, "teacher's hard labels": hard, "teacher's soft targets": with_logits}


class DistillationTrainer(Trainer):
    """The transformers `Trainer` with its loss replaced by `distillation_loss`. Each batch brings the
    frozen teacher's logits for its texts (a `teacher_logits` column, from `teacher_logits`). Everything
    else (batching, schedule, optimiser) is the ordinary Trainer's, so a distilled student and one
    fine-tuned on labels alone differ only in what they learn from."""

    def __init__(self, *args: Any, temperature: float = 2.0, alpha: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_names = ["labels", "teacher_logits"]   # targets: kept in each batch, not fed to the model
        self.temperature = temperature
        self.alpha = alpha

    def compute_loss(self, model: Any, inputs: dict[str, Tensor], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Tensor | tuple[Tensor, Any]:
        features = {name: value for name, value in inputs.items() if name not in self.label_names}
        outputs = model(**features)
        loss = distillation_loss(outputs.logits, inputs["teacher_logits"].to(outputs.logits.dtype), inputs["labels"],
                                 self.temperature, self.alpha)
        return (loss, outputs) if return_outputs else loss


def train_student(student: Any, tokenizer: Any, arguments: TrainingArguments, train_dataset: Any,
                  distil: bool = False, temperature: float = 2.0, alpha: float = 0.5) -> Trainer:
    """Fine-tune `student` in place: on the labels alone (`distil=False`, plain cross-entropy: the
    baseline; every text needs a label) or with `distillation_loss` against the dataset's
    `teacher_logits` column. Both go through `training.make_trainer`, so they are padded, batched
    and scheduled alike. Returns the trainer."""
    if distil:
        trainer = make_trainer(student, tokenizer, arguments, train_dataset, trainer_class=DistillationTrainer,
                               temperature=temperature, alpha=alpha)
    else:
        if UNLABELLED in set(train_dataset["label"]):
            raise ValueError("plain fine-tuning needs a label for every text; a transfer set needs distil=True")
        trainer = make_trainer(student, tokenizer, arguments, train_dataset)
    trainer.train()
    return trainer


def quantize_int8(model: Any) -> Any:
    """A copy of `model` with PyTorch dynamic int8 quantization of every `nn.Linear`: weights stored
    as 8-bit integers, activations quantized on the fly (CPU inference only)."""
    with warnings.catch_warnings():  # torch is moving this API to torchao; it still works
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {torch.nn.Linear},
                                                      dtype=torch.qint8)


def size_on_disk_mb(model: Any) -> float:
    """Megabytes (10⁶ bytes) of the model's `state_dict` written with `torch.save`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.pt"
        torch.save(model.state_dict(), path)
        return path.stat().st_size / 1e6


@torch.no_grad()
def latency_ms(model: Any, tokenizer: Any, text: str, repeats: int = 50, warmup: int = 5) -> float:
    """Median milliseconds for one forward pass on one text (batch 1), after `warmup` untimed runs.
    The median, not the mean, so a burst of load from other programs does not decide the figure."""
    model.eval()
    inputs = tokenizer(text, return_tensors="pt")
    for _ in range(warmup):
        model(**inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(**inputs)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


@torch.no_grad()
def throughput(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, repeats: int = 5,
               max_length: int = 64) -> float:
    """Texts per second for batches of `batch_size` texts (padded to the longest), the best of
    `repeats` timed passes over `texts` after one untimed pass."""
    model.eval()
    batches = [tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True, max_length=max_length,
                         return_tensors="pt") for i in range(0, len(texts), batch_size)]
    best = float("inf")
    for attempt in range(repeats + 1):
        start = time.perf_counter()
        for inputs in batches:
            model(**inputs)
        if attempt:
            best = min(best, time.perf_counter() - start)
    return len(texts) / best


def quality_table(models: dict[str, Any], tokenizer: Any, texts: Sequence[str], labels: Sequence[int],
                  parameters: dict[str, int] | None = None, max_length: int = 64) -> pd.DataFrame:
    """One row per model: parameters, size on disk, test accuracy and macro-F1 (the deterministic
    columns). `parameters` overrides the count for quantized copies, whose weights are not parameters."""
    rows = {}
    for name, model in models.items():
        predicted = predict_probabilities(model, tokenizer, texts, max_length).argmax(axis=1)
        count = (parameters or {}).get(name, count_parameters(model))
        rows[name] = {"parameters (M)": count / 1e6, "size (MB)": size_on_disk_mb(model),
                      **scores(labels, predicted)}
    return pd.DataFrame.from_dict(rows, orient="index")


def speed_table(models: dict[str, Any], tokenizer: Any, short_text: str, batch_texts: Sequence[str],
                repeats: int = 50, baseline: str | None = None) -> pd.DataFrame:
    """One row per model: batch-1 latency (ms, median), batch-32 throughput (texts/s), and the
    speed-up over `baseline` (default: the first model). Models are timed in turn, twice over,
    keeping each one's better figure, so a burst of load does not favour whichever ran second.
    A smoke run times `smoke.cap_steps(repeats)` passes: it proves the cell runs, not the figures."""
    repeats = smoke.cap_steps(repeats)
    latency = {name: float("inf") for name in models}
    rate = {name: 0.0 for name in models}
    for _ in range(2):
        for name, model in models.items():
            latency[name] = min(latency[name], latency_ms(model, tokenizer, short_text, repeats))
            rate[name] = max(rate[name], throughput(model, tokenizer, batch_texts, repeats=2))
    baseline = baseline or next(iter(models))
    table = pd.DataFrame({"latency (ms)": latency, "texts/s (batch 32)": rate})
    table["speed-up (batch 1)"] = table.loc[baseline, "latency (ms)"] / table["latency (ms)"]
    return table


def plot_soft_targets(logits: Tensor, names: Sequence[str], temperatures: Sequence[float]) -> Figure:
    """Bars of softmax(logits / T) for each temperature: higher T spreads the probability over the
    classes the teacher finds plausible, which is the information the student learns from."""
    figure, axes = plt.subplots(1, len(temperatures), figsize=(3.2 * len(temperatures), 3), sharey=True)
    for ax, temperature in zip(np.atleast_1d(axes), temperatures):
        probabilities = torch.softmax(logits / temperature, dim=-1).tolist()
        ax.bar(range(len(names)), probabilities, color="tab:purple")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_title(f"T = {temperature:g}")
        ax.set_ylim(0, 1)
    np.atleast_1d(axes)[0].set_ylabel("teacher probability")
    figure.tight_layout()
    return figure


def plot_tradeoff(table: pd.DataFrame) -> Figure:
    """Size, batch-1 latency and accuracy side by side, one bar per model (a merged quality and
    speed table): what each step from teacher to int8 student costs and buys."""
    columns = [("size (MB)", "size on disk (MB)"), ("latency (ms)", "CPU latency, batch 1 (ms)"),
               ("accuracy", "test accuracy")]
    figure, axes = plt.subplots(1, len(columns), figsize=(12, 0.8 + 0.5 * len(table)), sharey=True)
    colours = plt.cm.tab10(np.arange(len(table)))
    for ax, (column, title) in zip(axes, columns):
        values = table[column].to_numpy(dtype=float)
        ax.barh(range(len(table)), values, color=colours)
        for position, value in enumerate(values):
            ax.annotate(f"{value:.2f}" if column == "accuracy" else f"{value:.1f}", (value, position),
                        xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_xlim(0, values.max() * 1.25)
        ax.set_title(title)
    axes[0].set_yticks(range(len(table)), table.index)
    axes[0].invert_yaxis()
    figure.tight_layout()
    return figure
