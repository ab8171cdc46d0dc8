"""Sentence embeddings: one vector per sentence, compared by cosine.

Born in notebook 09. A BERT encoder gives one vector per *token*; a sentence embedding pools them
into one vector (the `[CLS]` position, or the mean of the real tokens), and is useful only if
sentences that mean the same land close together. Raw MLM + NSP encoders do that badly; training
on sentence pairs with a contrastive loss (what all-MiniLM-L6-v2 went through, on over a billion
pairs) does it well. `benchmarks/embeddings_search.py` runs the same code on STS-B.

    vectors = encode(model, tokenizer, sentences, pooling="mean")   # (n, dim), unit length
    spearman_interval(cosines, human_scores)          # an Interval: value, low, high

The ideas (pooling, the in-batch contrastive loss, the threshold chosen on validation data) are
written out in notebook 09; its `#@save` cells are identical copies of the functions here
(tests/test_saved_cells.py keeps them so).

Room: a lesson module. It imports `bertcourse.course`, `bertcourse.intervals` and `bertcourse.classification`
(mean pooling).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from bertcourse import intervals
from bertcourse.classification import mean_pool
from bertcourse.course import smoke
from bertcourse.course.profiles import resolve_model_key
from bertcourse.course.bars import progress_bar
from bertcourse.course.resources import model_source

Pooling = Literal["cls", "mean"]

# Written out in notebook 09 (`#@save bertcourse.embeddings` cells); tests/test_saved_cells.py keeps them identical.
SAVED_IN_NOTEBOOK = dict.fromkeys(("pool", "contrastive_loss", "word_deletion_pairs"), "09_embeddings_search")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """One vector per sentence from the token vectors: `[CLS]` (position 0) or the masked mean.

    `[CLS]` needs no mask because it is always the first token; the mean must skip padding, or a
    sentence's vector would depend on the longest sentence in its batch."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "mean":
        return mean_pool(hidden, attention_mask)
    raise ValueError(f"pooling must be 'cls' or 'mean', not {pooling!r}")


def _forward_pooled(model: Any, tokenizer: Any, sentences: Sequence[str], pooling: Pooling,
                    max_length: int) -> torch.Tensor:
    device = next(model.parameters()).device
    max_length = min(max_length, model.config.max_position_embeddings)   # a small BERT may have fewer positions
    batch = tokenizer(list(sentences), padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt").to(device)
    batch.pop("token_type_ids", None)  # one segment only: the model's default (all zeros) is the same
    hidden = model(**batch).last_hidden_state
    return pool(hidden, batch["attention_mask"], pooling)


@torch.no_grad()
def encode(model: Any, tokenizer: Any, sentences: Sequence[str], pooling: Pooling = "mean",
           batch_size: int = 64, max_length: int = 128, normalize: bool = True,
           progress: bool = False) -> torch.Tensor:
    """Embed `sentences` with a bare encoder (`AutoModel`): (n, hidden) float32 on the CPU.

    Sentences are batched in length order so a batch pads to similar lengths (much faster on long
    lists), and put back in the caller's order. `normalize` scales each vector to length 1, so a
    dot product is the cosine."""
    model.eval()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    pieces = []
    for start in progress_bar(range(0, len(order), batch_size), desc="encoding", disable=not progress):
        chunk = [sentences[i] for i in order[start:start + batch_size]]
        pieces.append(_forward_pooled(model, tokenizer, chunk, pooling, max_length).float().cpu())
    vectors = torch.empty(len(sentences), pieces[0].shape[1]) if pieces else torch.empty(0, 0)
    if pieces:
        vectors[torch.tensor(order)] = torch.cat(pieces)
    return F.normalize(vectors, dim=-1) if normalize else vectors


def anisotropy(vectors: torch.Tensor) -> float:
    """Mean cosine similarity over all pairs of *different* rows.

    Near 0: directions are spread out, so a high cosine means something. Near 1: every sentence
    points roughly the same way (a narrow cone), so even unrelated sentences look similar."""
    unit = F.normalize(vectors.float(), dim=-1)
    n = unit.shape[0]
    if n < 2:
        raise ValueError("anisotropy needs at least two vectors")
    cosines = unit @ unit.T
    return float((cosines.sum() - cosines.diagonal().sum()) / (n * (n - 1)))


def pair_cosines(model: Any, tokenizer: Any, first: Sequence[str], second: Sequence[str],
                 pooling: Pooling = "mean", **kwargs: Any) -> np.ndarray:
    """Cosine of each (first[i], second[i]) pair, as the STS evaluation needs."""
    a = encode(model, tokenizer, first, pooling, **kwargs)
    b = encode(model, tokenizer, second, pooling, **kwargs)
    return (a * b).sum(dim=-1).numpy()


def spearman_interval(predicted: Sequence[float], gold: Sequence[float]) -> intervals.Interval:
    """Spearman correlation with its bootstrap interval over the pairs (`bertcourse.intervals`).

    On a set of ~100 pairs the correlation itself moves by several points from one sample of
    pairs to another; the interval says how much, so two encoders are called different only
    when it allows."""
    predicted, gold = np.asarray(predicted, dtype=float), np.asarray(gold, dtype=float)
    return intervals.bootstrap(intervals.per_row(lambda row: spearmanr(predicted[row], gold[row]).statistic), len(gold))


def spearman_difference(predicted_a: Sequence[float], predicted_b: Sequence[float],
                        gold: Sequence[float]) -> intervals.Interval:
    """Spearman of `predicted_a` minus Spearman of `predicted_b` against the same `gold` scores, with
    the paired bootstrap interval: both are scored on the same resampled pairs, so pairs that every
    encoder finds easy or hard do not widen it (`bertcourse.intervals`)."""
    a, b, gold = (np.asarray(values, dtype=float) for values in (predicted_a, predicted_b, gold))
    return intervals.bootstrap(intervals.difference(
        intervals.per_row(lambda row: spearmanr(a[row], gold[row]).statistic),
        intervals.per_row(lambda row: spearmanr(b[row], gold[row]).statistic)), len(gold))


def contrastive_loss(anchors: torch.Tensor, positives: torch.Tensor, scale: float = 20.0) -> torch.Tensor:
    """In-batch negatives (InfoNCE / MultipleNegativesRankingLoss): row i of `anchors` must be
    closer to row i of `positives` than to every other row of `positives` in the batch.

    Cosine similarities times `scale` (1 / temperature) are logits of a classification over the
    batch whose correct class is the diagonal."""
    similarities = F.normalize(anchors, dim=-1) @ F.normalize(positives, dim=-1).T   # (batch, batch) cosines
    targets = torch.arange(len(anchors), device=anchors.device)                       # pair i's partner is column i
    return F.cross_entropy(scale * similarities, targets)


def neighbour_pairs(documents: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """Consecutive sentences of the same document as (anchor, positive) pairs: free, unlabelled
    training pairs whose partners share a topic (what next-sentence prediction also used)."""
    return [(doc[i], doc[i + 1]) for doc in documents for i in range(len(doc) - 1)]


def word_deletion_pairs(sentences: Sequence[str], rate: float = 0.3, seed: int = 0) -> list[tuple[str, str]]:
    """Each sentence paired with a copy of itself that lost about `rate` of its words: positives made
    from unlabelled text (the token-deletion augmentation of CLEAR and ConSERT).

    The two views share their content and most of their words, so pulling them together (and away
    from the rest of the batch) teaches the encoder to give sentences that say the same things close
    vectors, something any corpus can supply in thousands. A view keeps at least one word."""
    rng = np.random.default_rng(seed)
    pairs = []
    for sentence in sentences:
        words = sentence.split()
        kept = [word for word in words if rng.random() >= rate] or words[:1]
        pairs.append((sentence, " ".join(kept)))
    return pairs


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sentence_at(text: str, position: int) -> str:
    """The sentence of `text` that contains character `position`; a sentence ends at . ! or ?
    followed by white space (so "3.5" stays whole)."""
    start = 0
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        start = text.index(sentence, start)
        if position < start + len(sentence):
            return sentence
        start += len(sentence)
    return text


def course_pairs(data_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """(anchor, positive) pairs whose partners *mean* related things, from the course's own labelled
    data, by source: the paraphrase pairs of `paraphrase/train` labelled equivalent, each `qa/train`
    question with the context sentence that holds its answer, each FAQ question with the first
    sentence of its answer, and every two `intents/train` examples of the same intent. Unlike
    neighbouring sentences (which share a topic), each pair was written or labelled to belong
    together. None comes from the STS pairs, on which the fine-tuned encoder is scored."""
    paraphrase = [(row["sentence1"], row["sentence2"]) for row in _jsonl(data_dir / "paraphrase" / "train.jsonl")
                  if row["label"] == "equivalent"]
    questions = list(dict.fromkeys((row["question"], _sentence_at(row["context"], row["answers"]["answer_start"][0]))
                                   for row in _jsonl(data_dir / "qa" / "train.jsonl")))
    faq = [(row["question"], _sentence_at(row["answer"], 0)) for row in _jsonl(data_dir / "faq" / "faq.jsonl")]
    examples = _jsonl(data_dir / "intents" / "train.jsonl")
    intents = [(a["text"], b["text"]) for i, a in enumerate(examples) for b in examples[i + 1:] if a["label"] == b["label"]]
    return {"paraphrases": paraphrase, "question / answer sentence": questions, "FAQ question / answer": faq,
            "same intent": intents}


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """Backpropagate `loss`, update, clear the gradients; the loss as a float for the curve."""
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def contrastive_finetune(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], steps: int,
                         batch_size: int = 32, learning_rate: float = 1e-4, pooling: Pooling = "mean",
                         max_length: int = 64, seed: int = 0, scale: float = 20.0) -> list[float]:
    """Train `model` in place with `contrastive_loss` on random batches of `pairs`; the losses.

    A plain loop rather than the `Trainer`, so the batch (two lists of sentences, one forward
    pass each) and the loss stay as readable as in the notebook. `scale` is the loss's 1 / temperature.
    Smoke mode runs fewer steps."""
    steps = smoke.cap_steps(steps)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    losses = []
    for _ in progress_bar(range(steps), desc="contrastive fine-tuning", leave=False):
        batch = rng.sample(list(pairs), min(batch_size, len(pairs)))
        anchors = _forward_pooled(model, tokenizer, [a for a, _ in batch], pooling, max_length)
        positives = _forward_pooled(model, tokenizer, [b for _, b in batch], pooling, max_length)
        losses.append(optimizer_step(optimizer, contrastive_loss(anchors, positives, scale)))
    model.eval()
    return losses


def best_threshold(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """The cosine threshold with the highest accuracy for `score >= threshold` means label 1,
    and that accuracy. Candidates are midpoints between sorted scores (ties go to the lower)."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    ordered = np.unique(scores)
    candidates = np.concatenate([[ordered[0] - 1e-6], (ordered[:-1] + ordered[1:]) / 2, [ordered[-1] + 1e-6]])
    accuracies = [float(np.mean((scores >= t) == labels)) for t in candidates]
    best = int(np.argmax(accuracies))
    return float(candidates[best]), accuracies[best]


def sentence_transformer(requested: str = "bert-base-uncased") -> Any:
    """The encoder that serves `requested` in the active profile, loaded by `sentence-transformers`.

    In the laptop profile that is the MiniLM package folder, a complete sentence-transformers model
    (Transformer, mean Pooling, Normalize modules), so it loads from disk without the hub."""
    from sentence_transformers import SentenceTransformer

    source, where = model_source(resolve_model_key(requested))
    print(f"sentence-transformers: {requested} from {where}")
    return SentenceTransformer(source, device="cpu")
