"""The training machinery lessons 04-07 share: recipes, Trainer arguments, precision, inference,
scores with bootstrap intervals.

Born in notebook 04 (the `Trainer` arguments a learner tunes and the `Trainer` construction are
written out there, `#@save`),
then used unchanged by 05 (NER), 06 (continued MLM pretraining) and 07 (distillation), so that a
decision such as "bf16 only on a GPU that supports it" or "pad each batch to its own longest
text" is made once, here, and not in every lesson.

    settings = classification.default_settings()        # a FinetuneSettings, chosen per served model
    print(settings.describe())
    trainer = make_trainer(model, tokenizer, training_arguments(settings, out_dir), train, validation)
    probabilities = predict_probabilities(model, tokenizer, texts, settings.max_length)
    bootstrap_scores(test_labels, predicted, reference=other_predicted)   # paired 95% intervals

Room: a lesson module (shared by lessons 04-07). It imports `bertcourse.intervals` and third-party libraries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import DataCollatorWithPadding, EvalPrediction, Trainer, TrainingArguments

from bertcourse import intervals

# Written out for the learner in notebook 04_finetuning's `#@save` cells; tests/test_saved_cells.py
# checks both ways (each name has its cell, each cell's definition is listed here), and
# `bertcourse dev sync-saved` rewrites the cells from this module.
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "training_arguments", "classification_metrics", "make_trainer",
), "04_finetuning")


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """The optimisation knobs every lesson's training run has; lessons add their own fields.

    A recipe says how to train, never which model: the lesson names the checkpoint, and
    `bertcourse.course.profiles.recipe_for` picks the recipe tuned for the model that serves it."""

    learning_rate: float
    epochs: float
    batch_size: int
    warmup_ratio: float  # fraction of the optimisation steps spent ramping the learning rate up
    weight_decay: float = 0.01
    group_by_length: bool = True  # batch texts of similar length together (less padding)

    def describe(self) -> str:
        """One line per knob, so a notebook shows exactly what it trains with."""
        return "\n".join(f"  {name:16s} {value}" for name, value in asdict(self).items())


@dataclass(frozen=True, kw_only=True)
class FinetuneSettings(Recipe):
    """The knobs of one fine-tuning run (lessons 04, 05, 07)."""

    max_length: int  # tokens; longer texts are truncated


def bf16_available() -> bool:
    """bf16 mixed precision only where it is fast and exact enough: a CUDA GPU that supports it.
    (Some CPUs run bf16 fast too, but it would change a learner's numbers from one laptop to the next.)"""
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def training_arguments(settings: Recipe, output_dir: str | Path, **overrides: Any) -> TrainingArguments:
    """The Trainer arguments a learner tunes, from the settings."""
    arguments = dict(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,      # small: nudge pretrained weights, don't overwrite them
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=2 * settings.batch_size,
        warmup_steps=settings.warmup_ratio,        # a float < 1 is a fraction of all steps
        lr_scheduler_type="linear",                # then decay linearly to 0
        weight_decay=settings.weight_decay,        # AdamW's decoupled L2 (not on biases/LayerNorm)
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
        eval_strategy="epoch",                     # validation accuracy and macro-F1 after each epoch
        logging_strategy="epoch",
        save_strategy="no",                        # we save the final model ourselves
        bf16=bf16_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=False,
        seed=0,
    )
    arguments.update(overrides)
    return TrainingArguments(**arguments)


def scores(labels: Sequence[int], predicted: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro-F1 (every class counts the same, however rare) of predicted class ids."""
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro"))}


def _resampled_scores(labels: np.ndarray, predicted: np.ndarray, draws: np.ndarray) -> dict[str, np.ndarray]:
    """`scores` on every resample at once: `draws` is (resamples, texts) of indices into the test set.
    Macro-F1 averages over the classes that occur in the resample's labels or predictions, as
    scikit-learn does."""
    truth, guess = labels[draws], predicted[draws]
    classes = np.union1d(labels, predicted)
    hits = np.stack([((truth == c) & (guess == c)).sum(axis=1) for c in classes], axis=1)
    support = np.stack([(truth == c).sum(axis=1) + (guess == c).sum(axis=1) for c in classes], axis=1)
    f1 = 2 * hits / np.maximum(support, 1)
    return {"accuracy": (truth == guess).mean(axis=1),
            "macro_f1": f1.sum(axis=1) / np.maximum((support > 0).sum(axis=1), 1)}


def bootstrap_scores(labels: Sequence[int], predicted: Sequence[int], reference: Sequence[int] | None = None,
                     resamples: int = intervals.RESAMPLES, seed: int = 0) -> dict[str, intervals.Interval]:
    """Accuracy and macro-F1 with their bootstrap intervals (`bertcourse.intervals`). With
    `reference` (another system's predictions on the same texts) each interval is that of the
    difference predicted - reference, both scored on the same resamples (a paired bootstrap): an
    interval that contains 0 means this test set cannot tell the two apart."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    result = {}
    for metric in ("accuracy", "macro_f1"):
        def statistic(rows: np.ndarray, guesses: np.ndarray = predicted) -> np.ndarray:
            return _resampled_scores(labels, guesses, rows)[metric]
        if reference is not None:
            statistic = intervals.difference(statistic, partial(statistic, guesses=np.asarray(reference)))
        result[metric] = intervals.bootstrap(statistic, len(labels), resamples, seed)
    return result


def interval_table(results: dict[str, dict[str, intervals.Interval]]) -> pd.DataFrame:
    """`bootstrap_scores` results as one row per system (or comparison): each metric's value with
    its 95% interval next to it, to two decimals."""
    return pd.DataFrame({name: {column: cell for metric, value in result.items()
                                for column, cell in ((metric, round(value.value, 2)),
                                                     (f"{metric} 95% interval", f"[{value.low:.2f}, {value.high:.2f}]"))}
                         for name, result in results.items()}).T


def classification_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """`scores` from the logits the Trainer collects at each evaluation; a one-output head
    (a similarity score, regression) has no classes, so it is scored by rank correlation."""
    logits = np.asarray(prediction.predictions)
    if logits.shape[-1] == 1:
        return {"spearman": float(pd.Series(logits[:, 0]).corr(pd.Series(prediction.label_ids), method="spearman"))}
    return scores(prediction.label_ids, logits.argmax(axis=-1))


def make_trainer(model: Any, tokenizer: Any, arguments: TrainingArguments, train_dataset: Any,
                 eval_dataset: Any = None, trainer_class: type[Trainer] = Trainer, **trainer_kwargs: Any) -> Trainer:
    """A sequence-classification Trainer: the model, its arguments, the two splits, a collator
    that pads each batch to its own longest text (dynamic padding), and the metrics computed at
    each evaluation. `trainer_class` and `trainer_kwargs` let a lesson change the loss (lesson 07's
    distillation Trainer, a class-weighted loss via `compute_loss_func`) with the same wiring."""
    return trainer_class(
        model=model,                                       # encoder + classification head, trained together
        args=arguments,                                    # the TrainingArguments above
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,                         # scored after each epoch (eval_strategy)
        data_collator=DataCollatorWithPadding(tokenizer),  # pads each batch to its own longest text
        processing_class=tokenizer,                        # saved next to the model by save_model
        compute_metrics=classification_metrics,            # logits -> accuracy and macro-F1
        **trainer_kwargs,
    )


def predictions_in_order(trainer: Trainer, dataset: Any) -> np.ndarray:
    """The trainer's outputs (logits) for `dataset`, row i for row i of `dataset`.

    transformers 5 length-groups the evaluation batches too when training groups them
    (`train_sampling_strategy="group_by_length"`), so `Trainer.predict(...).predictions` come in a
    shuffled order: compared with the dataset's own labels, or with another system's predictions
    row by row, a perfect model scores at chance. This predicts with sequential batches instead."""
    grouped = trainer.args.train_sampling_strategy
    trainer.args.train_sampling_strategy = "random"
    try:
        return np.asarray(trainer.predict(dataset).predictions)
    finally:
        trainer.args.train_sampling_strategy = grouped


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length, covering each once: inference pads each batch to its
    longest member, so sorting first wastes little compute on padding."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


@torch.no_grad()
def predict_probabilities(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128,
                          batch_size: int = 64) -> np.ndarray:
    """Class probabilities (softmax of the logits), one row per text, in the order given."""
    texts = list(texts)
    model.eval()
    device = next(model.parameters()).device
    probabilities = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    for batch in length_sorted_batches([len(text) for text in texts], batch_size):
        inputs = tokenizer([texts[i] for i in batch], truncation=True, max_length=max_length,
                           padding=True, return_tensors="pt").to(device)
        probabilities[batch] = model(**inputs).logits.float().softmax(dim=-1).cpu().numpy()
    return probabilities
