"""Re-ranking BM25's top 20 on SQuAD paragraph retrieval with a cross-encoder, the experiment notebook 09
cannot run at laptop scale: does a re-ranker win once it is trained on the decision it makes?

Every question must find its paragraph among all 2,067 of SQuAD v1.1 dev (../shared/data/squad_v1.1_dev).
The cross-encoder is MiniLM with a one-logit head, trained with notebook 09's own loop
(`search.train_cross_encoder`) on (question, paragraph) pairs from the 38 training articles only: each
question with its own paragraph (1), with the best-scoring *other* training paragraph by BM25 (a hard
negative, 0) and with a random other training paragraph (0). It is scored on questions of the 10 held-out
articles: recall@1, recall@5 and MRR of BM25 alone and of BM25's top 20 re-ordered by the cross-encoder,
with the paired bootstrap interval of the MRR difference (`bertcourse.intervals`).

    .venv/bin/python benchmarks/squad_rerank.py                              # 600 training questions, 500 held out
    .venv/bin/python benchmarks/squad_rerank.py --max-train 100 --max-eval 50    # a quick check

CPU: 1,800 training pairs of up to 256 tokens, then 20 pairs per held-out question (a cut of both, drawn by
`real_data.cut`, so that it fits a CPU; pass --max-train / --max-eval to change it).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from real_data import (
    DEFAULT_DATA_DIR,
    add_cut_arguments,
    cut,
    describe_machine,
    use_real_data,
)

TOP_K = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=256, help="tokens of question + paragraph")
    add_cut_arguments(parser, "questions")
    parser.set_defaults(max_train=600, max_eval=500)
    return parser.parse_args()


def training_pairs(questions: list[str], own: list[int], keyword_scores, pool: list[int],
                   seed: int = 0) -> tuple[list[tuple[int, int]], list[float]]:
    """(question index, paragraph index) pairs with their labels: the question's own paragraph (1),
    the training paragraph BM25 ranks highest among the others (0), and a random other one (0).
    Negatives come only from `pool` (the training articles' paragraphs), so no held-out paragraph is
    seen in training."""
    rng = random.Random(seed)
    pairs, labels = [], []
    for i in range(len(questions)):
        others = [p for p in pool if p != own[i]]
        hard = max(others, key=lambda p: keyword_scores[i, p])
        for paragraph, label in ((own[i], 1.0), (hard, 0.0), (rng.choice(others), 0.0)):
            pairs.append((i, paragraph))
            labels.append(label)
    return pairs, labels


def main() -> None:
    args = parse_args()
    use_real_data(args.data_dir, "squad")
    import datasets
    import numpy as np
    from transformers import AutoModelForSequenceClassification

    import bertcourse as bc
    from bertcourse import intervals, search
    from bertcourse.course.bars import progress_bar
    from bertcourse.course.registry import local_dataset_folder

    print(describe_machine())
    folder = local_dataset_folder("squad", args.data_dir)
    rows = {name: [json.loads(line) for line in (folder / f"{name}.jsonl").read_text().splitlines()]
            for name in ("train", "validation")}
    paragraphs = list(dict.fromkeys(row["context"] for split in rows.values() for row in split))
    position = {text: i for i, text in enumerate(paragraphs)}
    train, held_out = (list(cut(datasets.Dataset.from_list(split), limit))
                       for split, limit in ((rows["train"], args.max_train), (rows["validation"], args.max_eval)))
    print(f"{len(paragraphs):,} paragraphs; {len(train):,} training questions (38 articles), "
          f"{len(held_out):,} held-out questions ({len({row['title'] for row in held_out})} articles)")

    bm25 = search.BM25Index(paragraphs)
    train_questions = [row["question"] for row in train]
    train_pool = sorted({position[row["context"]] for row in rows["train"]})
    pairs, labels = training_pairs(train_questions, [position[row["context"]] for row in train],
                                   bm25.score_matrix(train_questions), train_pool)
    tokenizer = bc.load_tokenizer("bert-base-uncased")
    bc.set_seed(0)
    model = bc.load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=1)
    start = time.perf_counter()
    losses = search.train_cross_encoder(model, tokenizer, [(train_questions[q], paragraphs[p]) for q, p in pairs],
                                        labels, epochs=args.epochs, learning_rate=args.learning_rate,
                                        max_length=args.max_length)
    print(f"trained on {len(pairs):,} pairs in {(time.perf_counter() - start) / 60:.1f} min; "
          f"loss {np.mean(losses[:50]):.3f} (first 50 steps) -> {np.mean(losses[-50:]):.3f} (last 50)")

    questions = [row["question"] for row in held_out]
    relevant = [{position[row["context"]]} for row in held_out]
    first_stage = search.rankings(bm25.score_matrix(questions))
    start = time.perf_counter()
    reranked = [list(search.rerank(model, tokenizer, question, paragraphs, ranking[:TOP_K])) + list(ranking[TOP_K:])
                for question, ranking in zip(questions, progress_bar(first_stage, desc="re-ranking"))]
    print(f"re-ranked {len(questions):,} x {TOP_K} pairs in {(time.perf_counter() - start) / 60:.1f} min\n")

    systems = {"BM25 alone": first_stage, f"BM25 top {TOP_K} re-ranked by the cross-encoder": reranked}
    print("| held-out questions | recall@1 | recall@5 | MRR |\n|---|---:|---:|---:|")
    for name, ranked in systems.items():
        print(f"| {name} | {search.recall_at_k(ranked, relevant, 1):.3f} | {search.recall_at_k(ranked, relevant, 5):.3f} "
              f"| {search.mean_reciprocal_rank(ranked, relevant):.3f} |")
    reciprocal = {name: search.reciprocal_ranks(ranked, relevant) for name, ranked in systems.items()}
    gain = intervals.mean_interval(reciprocal[f"BM25 top {TOP_K} re-ranked by the cross-encoder"]
                                   - reciprocal["BM25 alone"])
    print(f"\nMRR, re-ranked minus BM25 alone (paired): {gain.value:+.3f} [{gain.low:+.3f}, {gain.high:+.3f}]")
    print(intervals.verdict(gain, "re-ranking", "BM25 alone"), "on the held-out articles")


if __name__ == "__main__":
    main()
