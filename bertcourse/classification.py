"""Fine-tuning a pretrained encoder for sequence classification, and the baselines it must beat.

Born in notebook 04 (six-way emotion classification of tweets); `benchmarks/emotion_finetune.py`
runs the same code on the full real data, and notebook 07 distils the classifier it saves.

    settings = default_settings()                       # per-profile recipe (printed by the notebook)
    encoded = tokenize_for_classification(emotion, tokenizer, settings.max_length)
    model = load_model(settings.checkpoint, AutoModelForSequenceClassification, num_labels=6, ...)
    trainer = make_trainer(model, tokenizer, training_arguments(settings, out_dir),
                           encoded["train"], encoded["validation"])
    trainer.train()

The ideas (what the classification head reads, how mean pooling ignores padding, which Trainer
arguments a learner tunes) are written out in notebook 04; the functions marked there `#@save`
are identical copies of the ones here (tests/test_saved_cells.py keeps them so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from transformers import DataCollatorWithPadding, EvalPrediction, Trainer, TrainingArguments

from bertcourse.profiles import recipe_for


@dataclass(frozen=True)
class FinetuneSettings:
    """The knobs of one fine-tuning run; `default_settings()` picks them per profile."""

    checkpoint: str  # registry key asked for (the profile decides what serves it)
    learning_rate: float
    epochs: int
    batch_size: int
    warmup_ratio: float  # fraction of the optimisation steps spent ramping the learning rate up
    weight_decay: float
    max_length: int  # tokens; longer texts are truncated
    group_by_length: bool = True  # batch texts of similar length together (less padding)

    def describe(self) -> str:
        return "\n".join(f"  {name:16s} {value}" for name, value in asdict(self).items())


# MiniLM (22.7M parameters, 6 layers) is small and was trained for sentence embeddings: it needs a
# larger step than BERT-Base to move its weights in few updates; 1e-4 measured best on the real data.
MINILM_RECIPE = FinetuneSettings("bert-base-uncased", learning_rate=1e-4, epochs=6, batch_size=16,
                                 warmup_ratio=0.06, weight_decay=0.01, max_length=64)
# BERT-Base (110M parameters): the paper's range 2e-5..5e-5; larger steps can wreck the
# pretrained weights (catastrophic forgetting), more than 4 epochs overfits 16k tweets.
BERT_BASE_RECIPE = FinetuneSettings("bert-base-uncased", learning_rate=3e-5, epochs=4, batch_size=32,
                                    warmup_ratio=0.1, weight_decay=0.01, max_length=128)


def default_settings(checkpoint: str = "bert-base-uncased") -> FinetuneSettings:
    """The recipe for whatever actually serves `checkpoint` in the active profile."""
    return recipe_for(checkpoint, MINILM_RECIPE, BERT_BASE_RECIPE)


def bf16_available() -> bool:
    """bf16 mixed precision only where it is fast and exact enough: a CUDA GPU that supports it."""
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def tokenize_for_classification(dataset: Any, tokenizer: Any, max_length: int, pad_to_max_length: bool = False) -> Any:
    """Token ids for every split, unpadded (the collator pads each batch), plus a `length`
    column that length-grouped batching reads. `pad_to_max_length` pads everything to
    `max_length` instead (the slow baseline the benchmark compares against)."""

    def encode(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length,
                            padding="max_length" if pad_to_max_length else False)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    return dataset.map(encode, batched=True)


def classification_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Accuracy and macro-F1 (every class counts the same, however rare) from logits."""
    logits, labels = prediction.predictions, prediction.label_ids
    predicted = np.asarray(logits).argmax(axis=-1)
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro"))}


def training_arguments(settings: FinetuneSettings, output_dir: str | Path, **overrides: Any) -> TrainingArguments:
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


def make_trainer(model: Any, tokenizer: Any, arguments: TrainingArguments, train_dataset: Any,
                 eval_dataset: Any = None) -> Trainer:
    """A Trainer that pads each batch to its own longest text (dynamic padding)."""
    return Trainer(model=model, args=arguments, train_dataset=train_dataset, eval_dataset=eval_dataset,
                   data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                   compute_metrics=classification_metrics)


def _batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Indices of `texts` in batches of similar length (fast inference), covering each once."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, padding excluded: (batch, seq, dim) -> (batch, dim)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


@torch.no_grad()
def frozen_features(encoder: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128,
                    batch_size: int = 64) -> dict[str, np.ndarray]:
    """Sentence vectors from a frozen encoder: {"cls": the [CLS] vector, "mean": mean pooling}."""
    texts = list(texts)
    encoder.eval()
    device = next(encoder.parameters()).device
    cls = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    mean = np.zeros_like(cls)
    for batch in _batches(texts, batch_size):
        inputs = tokenizer([texts[i] for i in batch], truncation=True, max_length=max_length,
                           padding=True, return_tensors="pt").to(device)
        hidden = encoder(**inputs).last_hidden_state.float()
        cls[batch] = hidden[:, 0].cpu().numpy()
        mean[batch] = mean_pool(hidden, inputs["attention_mask"]).cpu().numpy()
    return {"cls": cls, "mean": mean}


def logistic_regression(features: np.ndarray, labels: Sequence[int], seed: int = 0) -> Any:
    """A standardised multinomial logistic regression on fixed features (the frozen-encoder baseline)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000, random_state=seed))
    return model.fit(features, labels)


@torch.no_grad()
def predict_probabilities(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128,
                          batch_size: int = 64) -> np.ndarray:
    """Class probabilities (softmax of the logits), one row per text, in the order given."""
    texts = list(texts)
    model.eval()
    device = next(model.parameters()).device
    probabilities = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    for batch in _batches(texts, batch_size):
        inputs = tokenizer([texts[i] for i in batch], truncation=True, max_length=max_length,
                           padding=True, return_tensors="pt").to(device)
        probabilities[batch] = model(**inputs).logits.float().softmax(dim=-1).cpu().numpy()
    return probabilities


def scores(labels: Sequence[int], predicted: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro-F1 of predicted class ids."""
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro"))}


def worst_examples(texts: Sequence[str], labels: Sequence[int], probabilities: np.ndarray,
                   names: Sequence[str], count: int = 8) -> pd.DataFrame:
    """The misclassified texts the model was most confident about (lowest probability on the truth)."""
    labels = np.asarray(labels)
    predicted = probabilities.argmax(axis=1)
    p_true = probabilities[np.arange(len(labels)), labels]
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(p_true[wrong], kind="stable")][:count]
    return pd.DataFrame({"text": [texts[i] for i in wrong],
                         "true": [names[labels[i]] for i in wrong],
                         "predicted": [names[predicted[i]] for i in wrong],
                         "p(true)": p_true[wrong].round(2),
                         "p(predicted)": probabilities[wrong, predicted[wrong]].round(2)})
