"""Extractive QA quality and time on real data: MiniLM fine-tuned on 38 SQuAD v1.1 dev articles, on CPU.

Notebook 08 trains on a few hundred hand-written questions; this script runs the same code
(`bertcourse.question_answering`) on the real SQuAD v1.1 dev set split by article
(`../shared/data/squad_v1.1_dev`: train 38 articles / 8,582 questions, validation 10 articles /
1,988 questions; SQuAD's own train set is not available here) and prints exact match and F1 on
the 10 held-out articles for the fine-tuned model and two baselines measured in the same run:
the untrained span head (MiniLM with a freshly initialised Linear(hidden, 2)) and the lexical
word-overlap rule; then the wall time and training samples (windows) per second.

    .venv/bin/python benchmarks/qa_finetune.py                        # 1 epoch, windows of 256, stride 64
    .venv/bin/python benchmarks/qa_finetune.py --epochs 2 --max-length 384 --stride 128
    .venv/bin/python benchmarks/qa_finetune.py --max-train 2000       # a quicker, clearly labelled subset

The data is read from `--data-dir` (default ../shared/data beside the repository) through the
course's own loader (`bc.load_dataset("squad")` in the gpu profile; the registry's local folder for
SQuAD is `squad_v1.1_dev/`), with every checkpoint served by the offline MiniLM.
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

from bertcourse.course.registry import DATASETS

CHECKPOINT = "bert-base-uncased"  # served by the offline MiniLM (real_data.use_real_data overrides every key)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"folder holding {DATASETS['squad'].local_folder}/ (default: ../shared/data)")
    parser.add_argument("--epochs", type=float, default=1.0, help="passes over the training windows (default 1)")
    add_cut_arguments(parser, "questions")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="default 1e-4 (the notebook's MiniLM step)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256, help="tokens per window (default 256)")
    parser.add_argument("--stride", type=int, default=64, help="context tokens shared by consecutive windows")
    return parser.parse_args(argv)


def score(label: str, predictions: list[str], gold: list[list[str]]) -> dict[str, float]:
    from bertcourse import question_answering as qa

    values = qa.squad_scores(predictions, gold)
    print(f"{label:40s} EM {values['exact_match']:5.1f}   F1 {values['f1']:5.1f}", flush=True)
    return values


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    use_real_data(args.data_dir, "squad")
    import datasets
    from transformers import AutoModelForQuestionAnswering

    import bertcourse as bc
    from bertcourse import intervals
    from bertcourse import question_answering as qa
    from bertcourse import training
    from bertcourse.course.startup import quiet_libraries

    quiet_libraries()
    print(describe_machine())
    bc.set_seed(0)
    squad = bc.load_dataset("squad")
    # The loader holds train's last articles out as validation and serves the source's validation as
    # test; a benchmark with no model selection trains on all 38 articles and scores the 10 held out.
    train = datasets.concatenate_datasets([squad["train"], squad["validation"]])
    evaluation = squad["test"]
    assert not set(train["title"]) & set(evaluation["title"]), "an article is in both train and evaluation"
    train, evaluation = cut(train, args.max_train), cut(evaluation, args.max_eval)
    settings = replace(qa.default_qa_settings(CHECKPOINT), epochs=args.epochs, learning_rate=args.learning_rate,
                       batch_size=args.batch_size, max_length=args.max_length, stride=args.stride)
    print(f"train {len(train):,} questions{' (SUBSET)' if args.max_train else ''}, "
          f"validation {len(evaluation):,} questions{' (SUBSET)' if args.max_eval else ''}\n{settings.describe()}",
          flush=True)

    tokenizer = bc.load_tokenizer(CHECKPOINT)
    features = train.map(qa.prepare_train_features, batched=True, remove_columns=train.column_names,
                         fn_kwargs={"tokenizer": tokenizer, "max_length": settings.max_length, "stride": settings.stride})
    print(f"{len(features):,} training windows from {len(train):,} questions", flush=True)
    questions, contexts = evaluation["question"], evaluation["context"]
    gold = [answers["text"] for answers in evaluation["answers"]]

    def predict(model: object) -> list[str]:
        windows = qa.predict_windows(model, tokenizer, questions, contexts, settings.max_length, settings.stride,
                                     batch_size=64, progress=False)
        return [qa.best_answer(w, c, settings.max_answer_length, settings.n_best).text
                for w, c in zip(windows, contexts, strict=True)]

    print("\nvalidation (10 held-out articles):")
    results = {"lexical": score("lexical baseline (word overlap)", [qa.lexical_answer(q, c)
                                                                    for q, c in zip(questions, contexts)], gold)}
    model = bc.load_model(CHECKPOINT, AutoModelForQuestionAnswering)
    results["untrained"] = score("untrained span head", predict(model), gold)

    with tempfile.TemporaryDirectory(prefix="qa-benchmark-") as scratch:
        arguments = training.training_arguments(settings, scratch, eval_strategy="no", logging_strategy="steps",
                                           logging_steps=50, disable_tqdm=True)
        trainer = qa.make_qa_trainer(model, tokenizer, arguments, features)
        start = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = predict(model)
    predict_seconds = time.perf_counter() - start
    results["fine-tuned"] = score("fine-tuned MiniLM", predicted, gold)
    per_question = qa.per_question_scores(predicted, gold)
    f1 = intervals.mean_interval(100 * per_question["f1"])
    print(f"fine-tuned F1 95% bootstrap interval over questions: {f1.low:.1f} .. {f1.high:.1f}")
    print("\nby question type (fine-tuned):\n" + qa.scores_by_type(questions, per_question).to_string())

    steps = trainer.state.global_step
    windows_seen = len(features) * settings.epochs
    print(f"\nwall time: training {train_seconds:,.0f} s ({steps} steps, {train_seconds / max(steps, 1):.2f} s/step, "
          f"{windows_seen / train_seconds:.1f} training windows/s); validation prediction {predict_seconds:,.0f} s "
          f"({len(evaluation) / predict_seconds:.1f} questions/s)")
    print(f"summary: fine-tuned EM {results['fine-tuned']['exact_match']:.1f} / F1 {results['fine-tuned']['f1']:.1f}; "
          f"lexical F1 {results['lexical']['f1']:.1f}; untrained F1 {results['untrained']['f1']:.1f}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
