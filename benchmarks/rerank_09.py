"""What does a cross-encoder need to re-rank notebook 09's FAQ search well? One factor at a time.

Notebook 09 trains a one-logit cross-encoder (MiniLM, new head) for 30 steps on 225 FAQ pairs and lets it
re-order MiniLM's top 10: MRR falls from 0.94 to 0.48. Each recipe below changes one thing against a
control, and is scored on the FAQ's labelled queries:

- the candidates come from a first stage, MiniLM (the bi-encoder) or BM25, top 10;
- `validation_queries.jsonl` (written for this choice, never the test queries) chooses the interpolation
  weight and is the set a recipe is compared on; the 47 `queries.jsonl` are the test, reported once,
  with the paired bootstrap interval of re-ranked MRR minus the first stage's (`bertcourse.intervals`);
- "alone" orders the top 10 by the cross-encoder's logit; "interpolated" by
  first-stage z-score + w * cross-encoder z-score (both standardised within the query's 10 candidates),
  w chosen on the validation queries from a fixed grid.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rerank_09.py                 # every recipe
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/rerank_09.py control longer  # some of them

One RESULT line per (recipe, first stage, scoring). Laptop profile, offline, course data only.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("BERTCOURSE_PROFILE", "laptop")

import numpy as np
from transformers import AutoModelForSequenceClassification

import bertcourse as bc
from bertcourse import embeddings as emb
from bertcourse import intervals, search

TOP_K = 10
WEIGHTS = (0.25, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Recipe:
    """How the cross-encoder is trained. `negatives`: "hard+random" is notebook 09's (one MiniLM hard
    negative and one random wrong answer per question); "top10" uses every wrong entry of MiniLM's
    top 10 for the question. `extra`: add `emb.course_pairs` (other than the FAQ's own) as positives,
    each with a random partner as negative. `text`: what the cross-encoder reads as the document in
    training and at re-ranking: the FAQ answer (09's) or question + answer."""

    epochs: int = 2
    learning_rate: float = 5e-5
    negatives: str = "hard+random"
    extra: bool = False
    text: str = "answer"


RECIPES = {
    "control": Recipe(),                                             # notebook 09's recipe
    "longer": Recipe(epochs=6, learning_rate=1e-4),                  # the MiniLM recipe
    "top10-negatives": Recipe(epochs=6, learning_rate=1e-4, negatives="top10"),
    "question+answer": Recipe(epochs=6, learning_rate=1e-4, text="question+answer"),
    "more-pairs": Recipe(epochs=2, learning_rate=1e-4, extra=True),   # 2 epochs: already 170 steps
}


def read(name: str) -> list[dict]:
    with open(bc.paths.shipped_data_dir() / "faq" / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def main(chosen: list[str]) -> None:
    faq = read("faq.jsonl")
    ids = [entry["id"] for entry in faq]
    questions = [entry["question"] for entry in faq]
    answers = [entry["answer"] for entry in faq]
    documents = [f"{q} {a}" for q, a in zip(questions, answers)]
    splits = {name: read(file) for name, file in (("validation", "validation_queries.jsonl"), ("test", "queries.jsonl"))}
    queries = {name: [row["query"] for row in rows] for name, rows in splits.items()}
    relevant = {name: [{ids.index(i) for i in row["relevant"]} for row in rows] for name, rows in splits.items()}

    tokenizer = bc.load_tokenizer("bert-base-uncased")
    minilm = bc.load_model("bert-base-uncased").eval()
    doc_vectors = emb.encode(minilm, tokenizer, documents).numpy()
    bm25 = search.BM25Index(documents)
    first_scores = {("MiniLM", name): emb.encode(minilm, tokenizer, queries[name]).numpy() @ doc_vectors.T
                    for name in splits}
    first_scores |= {("BM25", name): bm25.score_matrix(queries[name]) for name in splits}
    first = {key: search.rankings(scores) for key, scores in first_scores.items()}
    for (stage, name), ranking in first.items():
        print(f"first stage {stage} on {name}: MRR {search.mean_reciprocal_rank(ranking, relevant[name]):.3f}")

    # hard negatives as 09 mines them (question against answers), and MiniLM's top 10 for each question
    question_vectors = emb.encode(minilm, tokenizer, questions).numpy()
    question_to_answer = question_vectors @ emb.encode(minilm, tokenizer, answers).numpy().T
    np.fill_diagonal(question_to_answer, -np.inf)
    question_top = search.rankings(question_vectors @ doc_vectors.T)[:, :TOP_K]

    for name in chosen:
        recipe = RECIPES[name]
        shown = answers if recipe.text == "answer" else documents
        if recipe.negatives == "hard+random":
            pairs, labels = search.cross_encoder_pairs(questions, shown, question_to_answer.argmax(axis=1).tolist())
        else:
            pairs, labels = [], []
            for i, question in enumerate(questions):
                for j in [i] + [int(j) for j in question_top[i] if j != i]:
                    pairs.append((question, shown[j]))
                    labels.append(float(j == i))
        if recipe.extra:
            rng = random.Random(0)
            extra = [pair for source, items in emb.course_pairs(bc.paths.shipped_data_dir()).items()
                     if source != "FAQ question / answer" for pair in items]
            for anchor, positive in extra:
                pairs += [(anchor, positive), (anchor, rng.choice(extra)[1])]
                labels += [1.0, 0.0]
        bc.set_seed(0)
        cross = bc.load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=1)
        start = time.perf_counter()
        losses = search.train_cross_encoder(cross, tokenizer, pairs, labels, epochs=recipe.epochs,
                                            learning_rate=recipe.learning_rate)
        minutes = (time.perf_counter() - start) / 60
        print(f"{name}: {recipe}, {len(pairs)} pairs, {len(losses)} steps, loss first 10 "
              f"{np.mean(losses[:10]):.3f} last 10 {np.mean(losses[-10:]):.3f}, {minutes:.1f} min", flush=True)

        for stage in ("MiniLM", "BM25"):
            logits, first_top = {}, {}
            for split in splits:
                top = first[stage, split][:, :TOP_K]
                logits[split] = np.stack([search.cross_encoder_scores(cross, tokenizer, q, [shown[j] for j in t])
                                          for q, t in zip(queries[split], top)])
                first_top[split] = np.take_along_axis(first_scores[stage, split], top, axis=1)

            def ranked(split: str, weight: float | None, logits: dict = logits, first_top: dict = first_top,
                       stage: str = stage) -> list[np.ndarray]:
                score = logits[split] if weight is None else search.interpolate(first_top[split], logits[split], weight)
                return search.reorder_top(first[stage, split], score)

            validation_mrr = {w: search.mean_reciprocal_rank(ranked("validation", w), relevant["validation"])
                              for w in WEIGHTS}
            best = max(WEIGHTS, key=lambda w: (validation_mrr[w], -w))
            for scoring, weight in (("alone", None), (f"interpolated w={best:g}", best)):
                val = search.mean_reciprocal_rank(ranked("validation", weight), relevant["validation"])
                base_val = search.mean_reciprocal_rank(first[stage, "validation"], relevant["validation"])
                after = search.reciprocal_ranks(ranked("test", weight), relevant["test"])
                before = search.reciprocal_ranks(first[stage, "test"], relevant["test"])
                gain = intervals.mean_interval(after - before)
                print(f"RESULT recipe={name} stage={stage} scoring={scoring}: validation MRR {base_val:.3f} -> {val:.3f}; "
                      f"test MRR {before.mean():.3f} -> {after.mean():.3f}, difference {gain.value:+.3f} "
                      f"[{gain.low:+.3f}, {gain.high:+.3f}]; training {minutes:.1f} min", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(RECIPES))
