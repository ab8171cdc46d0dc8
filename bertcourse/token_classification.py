"""Fine-tuning a pretrained encoder for token classification (named-entity recognition).

Born in notebook 05 (people, organisations, places in news text); notebook 06 reuses it for
disease mentions in biomedical text, and `benchmarks/ner_finetune.py` runs the same code on
the full CoNLL-2003 and NCBI-disease data.

    settings = default_ner_settings("bert-base-cased")
    encoded = dataset.map(tokenize_and_align_labels, batched=True,
                          fn_kwargs={"tokenizer": tokenizer, "max_length": settings.max_length})
    model = load_model("bert-base-cased", AutoModelForTokenClassification, **label_maps(names))
    trainer = make_ner_trainer(model, tokenizer, training.training_arguments(settings, out_dir),
                               encoded["train"], encoded["validation"], names)
    trainer.train()
    predicted = predict_word_tags(model, tokenizer, dataset["test"]["tokens"], names)
    entity_report(gold_tags, predicted)                 # seqeval: entity-level P/R/F1 per type

The idea a learner must see (a word's label goes on its first subword, -100 everywhere else)
is written out in notebook 05 in `#@save` cells; the copies here are identical
(tests/test_saved_cells.py keeps them so). The settings and the Trainer arguments are the shared
ones of `bertcourse.training` (`FinetuneSettings`, `training_arguments`): only the recipes differ.

Room: a lesson module. It imports `bertcourse.course`, `bertcourse.intervals` and `bertcourse.training`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
from transformers import DataCollatorForTokenClassification, EvalPrediction, Trainer, TrainingArguments

from bertcourse import intervals
from bertcourse.course.profiles import recipe_for
from bertcourse.training import FinetuneSettings, length_sorted_batches

# Written out for the learner in notebook 05_ner's `#@save` cells; tests/test_saved_cells.py
# checks both ways (each name has its cell, each cell's definition is listed here), and
# `bertcourse dev sync-saved` rewrites the cells from this module.
SAVED_IN_NOTEBOOK = dict.fromkeys((
    "align_labels_with_tokens",
    "tokenize_and_align_labels",
), "05_ner")

IGNORE_INDEX = -100  # positions with this label are skipped by PyTorch's cross-entropy loss


def align_labels_with_tokens(word_ids, word_labels):
    """One label per token: a word's label on its first subword, -100 on its other
    subwords and on special tokens ([CLS], [SEP], padding), which the loss then ignores."""
    aligned = []
    previous_word = None
    for word_id in word_ids:
        if word_id is None:                    # [CLS], [SEP] or padding: belongs to no word
            aligned.append(-100)
        elif word_id != previous_word:         # first subword of a new word: carries its label
            aligned.append(word_labels[word_id])
        else:                                  # a continuation subword (##...): ignored
            aligned.append(-100)
        previous_word = word_id
    return aligned


def tokenize_and_align_labels(batch, tokenizer, max_length=128):
    """Tokenize pre-split words (`is_split_into_words=True`) and align their tags to subwords."""
    encoded = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length)
    encoded["labels"] = [align_labels_with_tokens(encoded.word_ids(i), tags)
                         for i, tags in enumerate(batch["ner_tags"])]
    return encoded


# MiniLM (22.7M parameters) on a few hundred sentences: a large step and many passes over the
# little data there is (measured on data/ner and data/bio_ner; fewer epochs left F1 well lower).
MINILM_NER_RECIPE = FinetuneSettings(learning_rate=1e-4, epochs=5, batch_size=8,
                                     warmup_ratio=0.1, weight_decay=0.01, max_length=128)
# BERT-Base on CoNLL-2003 / NCBI-disease: the usual recipe (Devlin et al. 2019; Lee et al. 2020):
# a few epochs at 3e-5..5e-5.
BERT_BASE_NER_RECIPE = FinetuneSettings(learning_rate=5e-5, epochs=3, batch_size=32,
                                        warmup_ratio=0.1, weight_decay=0.01, max_length=256)


def default_ner_settings(checkpoint: str = "bert-base-cased") -> FinetuneSettings:
    """The recipe for whatever actually serves `checkpoint` in the active profile."""
    return recipe_for(checkpoint, MINILM_NER_RECIPE, BERT_BASE_NER_RECIPE)


def label_maps(names: Sequence[str]) -> dict[str, Any]:
    """`num_labels`, `id2label` and `label2id` for `from_pretrained`, so the saved model (and the
    pipeline) speaks tag names instead of LABEL_3."""
    return {"num_labels": len(names), "id2label": dict(enumerate(names)),
            "label2id": {name: i for i, name in enumerate(names)}}


def tag_names(dataset: Any) -> list[str]:
    """The IOB2 tag names of a token-classification `Dataset` (its ClassLabel feature)."""
    return list(dataset.features["ner_tags"].feature.names)


def ids_to_tags(rows: Sequence[Sequence[int]], names: Sequence[str]) -> list[list[str]]:
    return [[names[i] for i in row] for row in rows]


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level micro precision, recall and F1 (seqeval, CoNLL rules): an entity counts only
    when its type and both boundaries are exactly right."""
    return {"precision": float(precision_score(gold, predicted, zero_division=0)),
            "recall": float(recall_score(gold, predicted, zero_division=0)),
            "f1": float(f1_score(gold, predicted, zero_division=0))}


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Fraction of words whose tag is right: flattering, because most words are O."""
    pairs = [(g, p) for gs, ps in zip(gold, predicted, strict=True) for g, p in zip(gs, ps, strict=True)]
    return sum(g == p for g, p in pairs) / max(len(pairs), 1)


def entity_report(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], digits: int = 2) -> pd.DataFrame:
    """Precision, recall, F1 and support (gold entities) per entity type, then the micro average."""
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    rows = {name: values for name, values in report.items() if not name.endswith("avg")}
    rows["all (micro)"] = report["micro avg"]
    table = pd.DataFrame(rows).T[["precision", "recall", "f1-score", "support"]]
    table = table.rename(columns={"f1-score": "f1"})
    table["support"] = table["support"].astype(int)
    return table.round(digits)


def ner_metrics(names: Sequence[str]) -> Callable[[EvalPrediction], dict[str, float]]:
    """A Trainer `compute_metrics`: entity P/R/F1 over the labelled (first-subword) positions."""

    def compute(prediction: EvalPrediction) -> dict[str, float]:
        predicted_ids = np.asarray(prediction.predictions).argmax(axis=-1)
        gold, predicted = [], []
        for label_row, predicted_row in zip(prediction.label_ids, predicted_ids, strict=True):
            keep = label_row != IGNORE_INDEX
            gold.append([names[i] for i in label_row[keep]])
            predicted.append([names[i] for i in predicted_row[keep]])
        return {**entity_scores(gold, predicted), "token_accuracy": token_accuracy(gold, predicted)}

    return compute


def make_ner_trainer(model: Any, tokenizer: Any, arguments: TrainingArguments, train_dataset: Any,
                     eval_dataset: Any, names: Sequence[str]) -> Trainer:
    """A Trainer whose collator pads input ids with [PAD] and labels with -100, batch by batch."""
    keep = {"input_ids", "token_type_ids", "attention_mask", "labels"}

    def model_columns(dataset: Any) -> Any:
        return None if dataset is None else dataset.remove_columns([c for c in dataset.column_names if c not in keep])

    return Trainer(model=model, args=arguments, train_dataset=model_columns(train_dataset),
                   eval_dataset=model_columns(eval_dataset),
                   data_collator=DataCollatorForTokenClassification(tokenizer), processing_class=tokenizer,
                   compute_metrics=ner_metrics(names))


@torch.no_grad()
def predict_word_tags(model: Any, tokenizer: Any, sentences: Sequence[Sequence[str]], names: Sequence[str],
                      max_length: int = 512, batch_size: int = 32) -> list[list[str]]:
    """One predicted tag per *word* (read from its first subword, as in training). Words the
    tokenizer drops or truncation cuts off get 'O', so they still count against recall."""
    model.eval()
    device = next(model.parameters()).device
    result: list[list[str]] = [[] for _ in sentences]
    for batch in length_sorted_batches([len(words) for words in sentences], batch_size):
        inputs = tokenizer([list(sentences[i]) for i in batch], is_split_into_words=True, truncation=True,
                           max_length=max_length, padding=True, return_tensors="pt")
        logits = model(**{k: v.to(device) for k, v in inputs.items()}).logits
        predicted = logits.argmax(dim=-1).cpu().numpy()
        for row, index in enumerate(batch):
            tags = ["O"] * len(sentences[index])
            seen = set()
            for position, word_id in enumerate(inputs.word_ids(row)):
                if word_id is not None and word_id not in seen:
                    seen.add(word_id)
                    tags[word_id] = names[predicted[row, position]]
            result[index] = tags
    return result


def entity_confusion(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                     types: Sequence[str] | None = None) -> pd.DataFrame:
    """Gold entity type (rows) against the predicted type of the entity with exactly the same
    span (columns). '(none)' column: no predicted entity has that span (missed, or boundaries
    wrong); '(none)' row: a predicted span that is no gold entity. The diagonal is exactly
    what seqeval counts as correct."""
    gold_spans = [{(start, end): kind for kind, start, end in get_entities(list(tags))} for tags in gold]
    predicted_spans = [{(start, end): kind for kind, start, end in get_entities(list(tags))} for tags in predicted]
    if types is None:
        types = sorted({kind for spans in gold_spans + predicted_spans for kind in spans.values()})
    axis = [*types, "(none)"]
    table = pd.DataFrame(0, index=pd.Index(axis, name="gold"), columns=pd.Index(axis, name="predicted"))
    for g_spans, p_spans in zip(gold_spans, predicted_spans, strict=True):
        for span, kind in g_spans.items():
            table.loc[kind, p_spans.get(span, "(none)")] += 1
        for span, kind in p_spans.items():
            if span not in g_spans:
                table.loc["(none)", kind] += 1
    return table


@dataclass(frozen=True)
class EntityError:
    """One disagreement between gold and predicted entities in sentence `sentence`."""

    sentence: int
    kind: str  # "wrong type", "wrong boundary", "missed" or "spurious"
    gold: str  # e.g. "Jordan (LOC)" or "" for a spurious entity
    predicted: str


def entity_errors(sentences: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                  predicted: Sequence[Sequence[str]]) -> list[EntityError]:
    """Every entity-level error, classified: same span but wrong type; overlapping spans with
    different boundaries; a gold entity nothing overlaps (missed); a prediction overlapping no
    gold entity (spurious)."""

    def show(words: Sequence[str], kind: str, start: int, end: int) -> str:
        return f"{' '.join(words[start:end + 1])} ({kind})"

    errors = []
    for index, (words, g_tags, p_tags) in enumerate(zip(sentences, gold, predicted, strict=True)):
        g_entities, p_entities = get_entities(list(g_tags)), get_entities(list(p_tags))
        for kind, start, end in g_entities:
            overlapping = [p for p in p_entities if p[1] <= end and start <= p[2]]
            exact = [p for p in overlapping if (p[1], p[2]) == (start, end)]
            if exact and exact[0][0] == kind:
                continue
            category = "wrong type" if exact else "wrong boundary" if overlapping else "missed"
            shown = ", ".join(show(words, *p) for p in (exact or overlapping))
            errors.append(EntityError(index, category, show(words, kind, start, end), shown))
        for kind, start, end in p_entities:
            if not any(g[1] <= end and start <= g[2] for g in g_entities):
                errors.append(EntityError(index, "spurious", "", show(words, kind, start, end)))
    return errors


def lexicon_baseline(train_sentences: Sequence[Sequence[str]], train_tags: Sequence[Sequence[str]],
                     sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    """The memorising baseline: tag every exact occurrence of an entity string seen in training
    with its most frequent type there (longest match first, left to right). A model must beat
    this to show it generalises beyond the names it was shown."""
    seen: defaultdict[tuple[str, ...], Counter] = defaultdict(Counter)
    for words, tags in zip(train_sentences, train_tags, strict=True):
        for kind, start, end in get_entities(list(tags)):
            seen[tuple(words[start:end + 1])][kind] += 1
    lexicon = {words: kinds.most_common(1)[0][0] for words, kinds in seen.items()}
    longest = max(map(len, lexicon), default=0)
    tagged = []
    for words in sentences:
        tags = ["O"] * len(words)
        position = 0
        while position < len(words):
            for size in range(min(longest, len(words) - position), 0, -1):
                kind = lexicon.get(tuple(words[position:position + size]))
                if kind is not None:
                    tags[position:position + size] = [f"B-{kind}"] + [f"I-{kind}"] * (size - 1)
                    position += size
                    break
            else:
                position += 1
        tagged.append(tags)
    return tagged


def entity_f1_statistic(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> intervals.Statistic:
    """seqeval's entity-level (micro) F1 of a resample of whole sentences, for `intervals.bootstrap`.

    Entities never cross a sentence, so each sentence contributes its own counts (entities
    predicted, entities gold, entities both) and F1 = 2 * both / (predicted + gold) over the
    sentences of a resample: the same number seqeval gives, for every resample in one step."""
    counts = np.array([[len(set(get_entities(list(p))) & set(get_entities(list(g)))), len(get_entities(list(p))),
                        len(get_entities(list(g)))] for g, p in zip(gold, predicted)], dtype=float)

    def statistic(rows: np.ndarray) -> np.ndarray:
        both, found, true = counts[rows].sum(axis=1).T
        return np.divide(2 * both, found + true, out=np.zeros_like(both), where=(found + true) > 0)
    return statistic


def f1_interval(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> intervals.Interval:
    """Entity F1 with its bootstrap interval, resampling whole sentences (entities come in sentences)."""
    return intervals.bootstrap(entity_f1_statistic(gold, predicted), len(gold))


def f1_difference(gold: Sequence[Sequence[str]], predicted_a: Sequence[Sequence[str]],
                  predicted_b: Sequence[Sequence[str]]) -> intervals.Interval:
    """Entity F1 of A minus that of B, both on the same resampled sentences (a paired bootstrap)."""
    return intervals.bootstrap(intervals.difference(entity_f1_statistic(gold, predicted_a),
                                                    entity_f1_statistic(gold, predicted_b)), len(gold))


