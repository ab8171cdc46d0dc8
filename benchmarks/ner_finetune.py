"""NER quality and time on the real data: the MiniLM encoder fine-tuned on CoNLL-2003 and NCBI-disease, on CPU.

Notebooks 05 and 06 train on a few hundred hand-written sentences; this script runs the same
code (`bertcourse.token_classification`) on the real public datasets and prints, per dataset,
the test entity-level precision/recall/F1 (seqeval), per entity type, next to two baselines
measured in the same run (all-O, and the memorising lexicon baseline), and the wall time.

    .venv/bin/python benchmarks/ner_finetune.py                              # both datasets, 1 epoch, all data
    .venv/bin/python benchmarks/ner_finetune.py --dataset ncbi_disease --epochs 3
    .venv/bin/python benchmarks/ner_finetune.py --max-train 2000             # a quicker, clearly labelled subset

The real data is read from `--data-dir` (default ../shared/data beside the repository), in the
`gpu` profile with every checkpoint overridden by the offline MiniLM, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from real_data import DEFAULT_DATA_DIR, add_cut_arguments, cut, describe_machine, use_real_data


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["conll2003", "ncbi_disease", "both"], default="both")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="folder holding conll2003/ and ncbi_disease/ (default: ../shared/data)")
    parser.add_argument("--epochs", type=float, default=1.0, help="passes over the training sentences (default 1)")
    add_cut_arguments(parser, "sentences")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="default 1e-4 (the notebooks' MiniLM step)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="default 16 (the notebooks use 8 on a few hundred sentences; 16 halves the steps here)")
    return parser.parse_args(argv)


def run(key: str, args: argparse.Namespace) -> dict[str, float]:
    from transformers import AutoModelForTokenClassification

    import bertcourse as bc
    from bertcourse import token_classification as tc
    from bertcourse import training

    bc.set_seed(0)
    data = bc.load_dataset(key)
    train, test = data["train"], data["test"]
    train, test = cut(train, args.max_train), cut(test, args.max_eval)
    names = tc.tag_names(train)
    settings = tc.default_ner_settings("bert-base-cased")
    settings = replace(settings, epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size)
    print(f"\n== {key}: train {len(train):,} sentences{' (SUBSET)' if args.max_train else ''}, "
          f"test {len(test):,} sentences\n{settings.describe()}", flush=True)

    tokenizer = bc.load_tokenizer("bert-base-cased")
    encoded = train.map(tc.tokenize_and_align_labels, batched=True,
                        fn_kwargs={"tokenizer": tokenizer, "max_length": settings.max_length})
    model = bc.load_model("bert-base-cased", AutoModelForTokenClassification, **tc.label_maps(names))
    with tempfile.TemporaryDirectory(prefix="ner-benchmark-") as scratch:
        arguments = training.training_arguments(settings, scratch, eval_strategy="no", logging_strategy="steps",
                                                logging_steps=100, disable_tqdm=True)
        trainer = tc.make_ner_trainer(model, tokenizer, arguments, encoded, None, names)
        start = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - start

    gold = tc.ids_to_tags(test["ner_tags"], names)
    start = time.perf_counter()
    predicted = tc.predict_word_tags(model, tokenizer, test["tokens"], names)
    predict_seconds = time.perf_counter() - start
    lexicon = tc.lexicon_baseline(train["tokens"], tc.ids_to_tags(train["ner_tags"], names), test["tokens"])
    all_o = [["O"] * len(tags) for tags in gold]

    print(f"\n{key} test, entity level (seqeval), fine-tuned MiniLM:")
    print(tc.entity_report(gold, predicted, digits=4).to_string())
    scores = tc.entity_scores(gold, predicted)
    lexicon_scores = tc.entity_scores(gold, lexicon)
    print(f"\n{'system':34s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'token acc':>9s}")
    for name, tags, values in [("all-O baseline", all_o, tc.entity_scores(gold, all_o)),
                               ("lexicon baseline (memorised names)", lexicon, lexicon_scores),
                               ("fine-tuned MiniLM", predicted, scores)]:
        print(f"{name:34s} {values['precision']:9.4f} {values['recall']:7.4f} {values['f1']:7.4f} "
              f"{tc.token_accuracy(gold, tags):9.4f}")
    steps = trainer.state.global_step
    print(f"\nwall time: training {train_seconds:,.0f} s ({steps} steps, {train_seconds / max(steps, 1):.2f} s/step), "
          f"test prediction {predict_seconds:,.0f} s", flush=True)
    return {"f1": scores["f1"], "train_seconds": train_seconds}


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    keys = ["conll2003", "ncbi_disease"] if args.dataset == "both" else [args.dataset]
    use_real_data(args.data_dir, *keys)
    from bertcourse.course.startup import quiet_libraries

    quiet_libraries()
    print(describe_machine())
    results = {key: run(key, args) for key in keys}
    print("\nsummary: " + "; ".join(f"{key} test entity F1 {r['f1']:.4f} in {r['train_seconds']:,.0f} s of training"
                                    for key, r in results.items()))
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
