"""Lesson 04, fine-tuning for sequence classification, and the baselines it must beat.

Born in notebook 04 (six-way emotion classification of tweets); `benchmarks/emotion_finetune.py`
runs the same code on the full real data, and notebook 07 distils the classifier it saves (reusing
this lesson's recipe and tokenization for the same emotion task).

    settings = default_settings()                       # per-profile recipe (printed by the notebook)
    encoded = tokenize_for_classification(emotion, tokenizer, settings.max_length)
    model = load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=6, ...)
    trainer = training.make_trainer(model, tokenizer, training.training_arguments(settings, out_dir),
                                    encoded["train"], encoded["validation"])
    trainer.train()

The same path takes sentence pairs (paraphrase, inference: `{"sentence1", "sentence2", "label"}`)
and similarity scores (`{"sentence1", "sentence2", "score"}`, a one-output regression head):
`formats.text_columns` decides single text or pair for the loader and `tokenize_for_classification`,
and `head_arguments` sizes the head from the data, so a pair task is the same four lines.

The ideas (what the classification head reads, how mean pooling ignores padding, which Trainer
arguments a learner tunes) are written out in notebook 04; the functions marked there `#@save`
are identical copies of the ones here and in `bertcourse.training` (tests/test_saved_cells.py
keeps them so). The Trainer wiring itself is shared with lessons 05-07 and lives in `training`.

Room: a lesson module. It imports `bertcourse.course`, `bertcourse.intervals` and `bertcourse.training`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from bertcourse.course import handoffs
from bertcourse.course.formats import text_columns
from bertcourse.course.profiles import recipe_for
from bertcourse.intervals import Interval
from bertcourse.training import FinetuneSettings, bootstrap_scores, length_sorted_batches

# Written out for the learner in notebook 04_finetuning's `#@save` cells; tests/test_saved_cells.py
# checks both ways (each name has its cell, each cell's definition is listed here), and
# `bertcourse dev sync-saved` rewrites the cells from this module.
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "mean_pool",
    "MeanPoolingClassifier",
), "04_finetuning")

# MiniLM (22.7M parameters, 6 layers) is small and was trained for sentence embeddings: it needs a
# larger step than BERT-Base to move its weights in few updates; 1e-4 measured best on the real data.
MINILM_RECIPE = FinetuneSettings(learning_rate=1e-4, epochs=6, batch_size=16,
                                 warmup_ratio=0.06, weight_decay=0.01, max_length=64)
# BERT-Base (110M parameters): the paper's range 2e-5..5e-5; larger steps can wreck the
# pretrained weights (catastrophic forgetting), more than 4 epochs overfits 16k tweets.
BERT_BASE_RECIPE = FinetuneSettings(learning_rate=3e-5, epochs=4, batch_size=32,
                                    warmup_ratio=0.1, weight_decay=0.01, max_length=128)


def default_settings(checkpoint: str = "bert-base-uncased") -> FinetuneSettings:
    """The recipe for whatever actually serves `checkpoint` in the active profile."""
    return recipe_for(checkpoint, MINILM_RECIPE, BERT_BASE_RECIPE)


def tokenize_for_classification(dataset: Any, tokenizer: Any, max_length: int, pad_to_max_length: bool = False) -> Any:
    """Token ids for every split, unpadded (the collator pads each batch), plus a `length`
    column that length-grouped batching reads. `pad_to_max_length` pads everything to
    `max_length` instead (the slow baseline the benchmark compares against).

    Pair data becomes `[CLS] sentence1 [SEP] sentence2 [SEP]` with segment ids (`token_type_ids`)
    0 up to the first `[SEP]` and 1 after it, the input NSP taught in notebook 03; a pair too long
    for `max_length` loses tokens from its longer sentence first, so a long first sentence cannot
    crowd out the second. A `score` column (similarity) becomes a float `label`: regression."""

    def encode(batch: dict[str, list]) -> dict[str, list]:
        encoded = tokenizer(*(batch[column] for column in text_columns(batch.keys())), truncation="longest_first",
                            max_length=max_length, padding="max_length" if pad_to_max_length else False)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        if "score" in batch:
            encoded["label"] = [float(score) for score in batch["score"]]
        return encoded

    return dataset.map(encode, batched=True)


def head_arguments(split: Any) -> dict[str, Any]:
    """The keyword arguments that size the head of `AutoModelForSequenceClassification` for a
    split's target: one logit per name of its `label` (trained with cross-entropy), or one output
    for a `score` column (regression, trained with mean squared error). Reading them from the data
    keeps a learner's own labels.txt and the head in step."""
    if "score" in split.column_names:
        return {"num_labels": 1, "problem_type": "regression"}
    names = split.features["label"].names
    return {"num_labels": len(names), "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)}}


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, padding excluded: (batch, seq, dim) -> (batch, dim)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class MeanPoolingClassifier(nn.Module):
    """An encoder with its classification head on the mean of the token vectors, not on `[CLS]`.

    `AutoModelForSequenceClassification` classifies the `[CLS]` vector (through the pooler that NSP
    trained). For notebook 03's tiny BERT that vector learnt little in a few minutes of NSP, while
    the average of all token vectors keeps every word's evidence, as the frozen probes of notebook
    04's section 2 showed for MiniLM. The loss, the Trainer and the recipe stay the same: only what
    the head reads changes."""

    def __init__(self, encoder: nn.Module, num_labels: int) -> None:
        super().__init__()
        self.bert = encoder                           # a bare encoder (AutoModel), pooler not needed
        self.config = encoder.config
        self.config.num_labels = num_labels           # read by the Trainer and predict_probabilities
        self.dropout = nn.Dropout(encoder.config.hidden_dropout_prob)
        self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> SequenceClassifierOutput:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state         # (batch, seq, hidden)
        logits = self.classifier(self.dropout(mean_pool(hidden, attention_mask)))  # (batch, num_labels)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


@torch.no_grad()
def frozen_features(encoder: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 128,
                    batch_size: int = 64) -> dict[str, np.ndarray]:
    """Sentence vectors from a frozen encoder: {"cls": the [CLS] vector, "mean": mean pooling}."""
    texts = list(texts)
    encoder.eval()
    device = next(encoder.parameters()).device
    cls = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    mean = np.zeros_like(cls)
    for batch in length_sorted_batches([len(text) for text in texts], batch_size):
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


def imported_pretraining_row(labels: Sequence[int], ours: Sequence[int], served_predictions: Sequence[int],
                             served: str) -> dict[str, dict[str, Interval]]:
    """The row notebook 04's "what pretraining buys" table gains when notebook 03's model was imported
    (an instructor's GPU session, `bertcourse handoffs import`), else nothing (`{}`).

    With a learner's own laptop run the table already answers "does a few minutes of pretraining
    help?". An imported model raises a different question: how far a real pretraining budget closes
    the gap to the encoder pretrained at scale. So the row is the paired bootstrap of 03's model
    against the served encoder, both pretrained and fine-tuned with the same recipe (`ours`,
    `served_predictions`: their predicted test labels), labelled with where 03's model came from."""
    record = handoffs.imported("03_pretrained")
    if record is None:
        return {}
    label = f"notebook 03's BERT (imported: {record.session()}) minus {served}, both pretrained (paired)"
    return {label: bootstrap_scores(labels, ours, reference=served_predictions)}
