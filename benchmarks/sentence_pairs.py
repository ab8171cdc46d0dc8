"""Sentence-pair classification at laptop scale, on the course's own paraphrase pairs (`data/paraphrase`,
or a pair folder of yours): a MiniLM cross-encoder fine-tuned through lesson 04's path against a
MiniLM bi-encoder's cosine threshold, on the same test pairs, with paired bootstrap intervals; then
what the segment ids carry (the trained cross-encoder scored with them zeroed or swapped, and a second
cross-encoder trained and tested with every token in segment 0); then
accuracy per hard case (negation, same words in a new order, a changed number).

    .venv/bin/python benchmarks/sentence_pairs.py                          # the MiniLM recipe
    .venv/bin/python benchmarks/sentence_pairs.py --learning-rate 3e-4 --epochs 8
    .venv/bin/python benchmarks/sentence_pairs.py --folder ~/my_pairs      # train.jsonl, validation, test, labels.txt

Runs in the laptop profile, CPU, offline: two trainings of about 30 s each (the MiniLM recipe, 6
epochs) and about 2.5 minutes in all on one core. Predictions are taken in the dataset's order (`training.predictions_in_order`).
The threshold is chosen on validation, never on test.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from transformers import Trainer

import bertcourse as bc
from bertcourse import classification as clf
from bertcourse import sentence_pairs as sp
from bertcourse import training


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=None, help="a pair folder of yours (default: the course's mrpc stand-in)")
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the MiniLM recipe's")
    parser.add_argument("--epochs", type=float, default=None, help="default: the MiniLM recipe's")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    bc.use_profile("laptop")
    pairs = bc.load_folder(args.folder) if args.folder else bc.load_dataset("mrpc")
    tokenizer = bc.load_tokenizer("bert-base-uncased")
    test, validation = pairs["test"], pairs["validation"]
    labels = np.array(test["label"])

    minilm = bc.load_model("bert-base-uncased").eval()
    bi_encoder, threshold = sp.threshold_answers(minilm, tokenizer, validation, test)

    settings = clf.default_settings()
    settings = dataclasses.replace(settings, learning_rate=args.learning_rate or settings.learning_rate,
                                   epochs=args.epochs or settings.epochs)
    print(settings.describe())
    encoded = clf.tokenize_for_classification(pairs, tokenizer, settings.max_length)

    def fine_tuned(train_split: Any) -> Trainer:
        start = time.perf_counter()
        trainer = sp.fine_tune_pair_classifier(pairs["train"], train_split, tokenizer, settings, seed=args.seed)
        print(f"training: {time.perf_counter() - start:.0f} s; loss per epoch:",
              [round(row["loss"], 3) for row in trainer.state.log_history if "loss" in row])
        return trainer

    trainer = fine_tuned(encoded["train"])
    # the same recipe and seed, trained and tested with every token in segment 0: do the ids help it learn?
    without_segments = fine_tuned(sp.with_segment_ids(encoded["train"], "zero"))

    def predicted(split: Any, model_trainer: Trainer = trainer) -> np.ndarray:
        return sp.predicted_labels(model_trainer, split)

    cross = predicted(encoded["test"])
    majority = np.full_like(labels, np.bincount(np.array(pairs["train"]["label"])).argmax())
    print(f"\ntrain accuracy {np.mean(predicted(encoded['train']) == np.array(pairs['train']['label'])):.3f}, "
          f"cosine threshold {threshold:.3f} (chosen on validation)")
    rows = {"cross-encoder": training.bootstrap_scores(labels, cross),
            "bi-encoder, cosine threshold": training.bootstrap_scores(labels, bi_encoder),
            "majority class of train": training.bootstrap_scores(labels, majority),
            "cross - bi-encoder (paired)": training.bootstrap_scores(labels, cross, reference=bi_encoder)}
    for edit in ("zero", "swap"):
        edited = predicted(sp.with_segment_ids(encoded["test"], edit))
        rows[f"segment ids {edit}: edited - as trained (paired)"] = training.bootstrap_scores(labels, edited, reference=cross)
    trained_without = predicted(sp.with_segment_ids(encoded["test"], "zero"), without_segments)
    rows["trained and tested without segment ids"] = training.bootstrap_scores(labels, trained_without)
    rows["with - without segment ids (paired)"] = training.bootstrap_scores(labels, cross, reference=trained_without)
    print(training.interval_table(rows).to_string())

    kinds = np.array([sp.hard_case(a, b) for a, b in zip(test["sentence1"], test["sentence2"])])
    print("\naccuracy per hard case (test pairs)")
    print(pd.DataFrame({kind: {"pairs": int((kinds == kind).sum()),
                               "cross-encoder": float(np.mean(cross[kinds == kind] == labels[kinds == kind])),
                               "bi-encoder": float(np.mean(bi_encoder[kinds == kind] == labels[kinds == kind]))}
                        for kind in sorted(set(kinds))}).T.round(2).to_string())


if __name__ == "__main__":
    main()
