"""Fine-tune MiniLM on the full real emotion data (dair-ai/emotion, 16k train tweets) on CPU with
the course's own code (bertcourse.classification, as notebook 04 uses it), and measure what
dynamic padding and length-grouped batches buy over fixed max-length padding.

    .venv/bin/python benchmarks/emotion_finetune.py                 # full run (~25+ min on 2 idle cores)
    .venv/bin/python benchmarks/emotion_finetune.py --quick         # smoke test on a subset (~2 min)
    .venv/bin/python benchmarks/emotion_finetune.py --throughput-only

Prints: majority and frozen-feature logistic-regression baselines; fine-tuned test accuracy,
macro-F1, a per-class report, wall time and training samples/s; then training samples/s for
fixed padding vs dynamic padding vs dynamic padding + length grouping, and their ratios.
The real data is read from `--data-dir` (default: ../shared/data beside the repository) through
the gpu profile's BERTCOURSE_DATA_DIR path, with every checkpoint overridden to MiniLM.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from real_data import DEFAULT_DATA_DIR, add_cut_arguments, cut, describe_machine, use_real_data, write_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the MiniLM recipe's")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="seed of the new head and of the batch order")
    parser.add_argument("--max-grad-norm", type=float, default=1.0,
                        help="gradient clipping (the Trainer's default 1.0; 0 turns it off, as in a plain loop)")
    parser.add_argument("--no-length-grouping", action="store_true",
                        help="shuffle tweets into batches at random (still padded per batch) instead of by length")
    add_cut_arguments(parser, "tweets")
    parser.add_argument("--throughput-steps", type=int, default=40, help="timed optimiser steps per padding mode")
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke test: 640 train, 256 eval, 1 epoch, 6 steps")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="save the fine-tuned model and tokenizer here (benchmarks/distillation.py --teacher-dir)")
    args = parser.parse_args()
    if args.quick:
        args.max_train, args.max_eval, args.epochs, args.throughput_steps = 640, 256, 1, 6
    return args


def main() -> int:
    args = parse_args()
    use_real_data(args.data_dir, "emotion")
    from sklearn.metrics import classification_report
    from transformers import AutoModelForSequenceClassification, TrainerCallback

    import bertcourse
    from bertcourse import classification as clf
    from bertcourse import training

    bertcourse.start_lesson("benchmark 04: emotion fine-tuning on the real data")
    print(describe_machine())
    emotion = bertcourse.load_dataset("emotion")
    emotion["train"] = cut(emotion["train"], args.max_train)
    for split in ("validation", "test"):
        emotion[split] = cut(emotion[split], args.max_eval)
    names = emotion["train"].features["label"].names
    tokenizer = bertcourse.load_tokenizer("bert-base-uncased")
    settings = dataclasses.replace(clf.default_settings(), epochs=args.epochs, batch_size=args.batch_size,
                                   max_length=args.max_length, group_by_length=not args.no_length_grouping,
                                   learning_rate=args.learning_rate or clf.default_settings().learning_rate)
    print("settings (MiniLM recipe, real-data epochs and batch size):\n" + settings.describe())
    results: dict[str, object] = {"settings": dataclasses.asdict(settings),
                                  "train_size": len(emotion["train"]), "test_size": len(emotion["test"])}
    encoded = clf.tokenize_for_classification(emotion, tokenizer, settings.max_length)
    mean_tokens = sum(encoded["train"]["length"]) / len(encoded["train"])
    print(f"train tweets: {len(emotion['train']):,}, mean {mean_tokens:.1f} tokens with [CLS]/[SEP] "
          f"(max_length {settings.max_length})")
    test_labels = emotion["test"]["label"]

    if not args.throughput_only:
        majority = max(set(emotion["train"]["label"]), key=emotion["train"]["label"].count)
        results["majority"] = training.scores(test_labels, [majority] * len(test_labels))
        print(f"\nmajority class ({names[majority]}): test accuracy {results['majority']['accuracy']:.4f}, "
              f"macro-F1 {results['majority']['macro_f1']:.4f}")

        start = time.perf_counter()
        encoder = bertcourse.load_model("bert-base-uncased")
        train_features = clf.frozen_features(encoder, tokenizer, emotion["train"]["text"], settings.max_length)
        test_features = clf.frozen_features(encoder, tokenizer, emotion["test"]["text"], settings.max_length)
        for pooling in ("cls", "mean"):
            probe = clf.logistic_regression(train_features[pooling], emotion["train"]["label"])
            results[f"frozen_{pooling}"] = training.scores(test_labels, probe.predict(test_features[pooling]))
            print(f"frozen MiniLM {pooling:4s} features + logistic regression: test accuracy "
                  f"{results[f'frozen_{pooling}']['accuracy']:.4f}, macro-F1 {results[f'frozen_{pooling}']['macro_f1']:.4f}")
        results["frozen_seconds"] = time.perf_counter() - start
        print(f"  (feature extraction + fitting: {results['frozen_seconds']:.0f} s)")
        del encoder

        class EpochLog(TrainerCallback):
            def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001, ANN003
                print(f"  epoch {state.epoch:.0f}: validation accuracy {metrics['eval_accuracy']:.4f}, "
                      f"macro-F1 {metrics['eval_macro_f1']:.4f}, {time.perf_counter() - start:.0f} s so far, "
                      f"load average {os.getloadavg()[0]:.1f}", flush=True)

        bertcourse.set_seed(args.seed)
        model = bertcourse.load_model("bert-base-uncased", AutoModelForSequenceClassification,
                                      num_labels=len(names), id2label=dict(enumerate(names)),
                                      label2id={name: i for i, name in enumerate(names)})
        with tempfile.TemporaryDirectory() as out:
            arguments = training.training_arguments(settings, out, disable_tqdm=True, logging_strategy="no", seed=args.seed,
                                               max_grad_norm=args.max_grad_norm)
            trainer = training.make_trainer(model, tokenizer, arguments, encoded["train"], encoded["validation"])
            trainer.add_callback(EpochLog())
            print(f"\nfine-tuning: {len(emotion['train']):,} tweets x {settings.epochs} epochs, "
                  f"{trainer.get_num_trainable_parameters():,} trainable parameters", flush=True)
            start = time.perf_counter()
            output = trainer.train()
        wall = time.perf_counter() - start
        train_seconds = output.metrics["train_runtime"]
        samples = len(emotion["train"]) * settings.epochs
        probabilities = training.predict_probabilities(model, tokenizer, emotion["test"]["text"], settings.max_length)
        predicted = probabilities.argmax(axis=1)
        results["finetuned"] = training.scores(test_labels, predicted)
        if args.save_dir:
            model.save_pretrained(args.save_dir)
            tokenizer.save_pretrained(args.save_dir)
            print(f"fine-tuned model and tokenizer saved to {args.save_dir}")
        results.update(train_seconds=train_seconds, wall_seconds=wall, train_samples_per_second=samples / train_seconds,
                       train_tokens_per_second=samples * mean_tokens / train_seconds,
                       seconds_per_epoch=train_seconds / settings.epochs)
        print(f"\nfine-tuned MiniLM: test accuracy {results['finetuned']['accuracy']:.4f}, "
              f"macro-F1 {results['finetuned']['macro_f1']:.4f}")
        print(f"training: {train_seconds:.0f} s ({train_seconds / settings.epochs:.0f} s/epoch, "
              f"{samples / train_seconds:.1f} samples/s, {samples * mean_tokens / train_seconds:.0f} real tokens/s; "
              f"per-epoch validation included); wall time with test predictions {time.perf_counter() - start:.0f} s")
        print(classification_report(test_labels, predicted, target_names=names, digits=3))
        best_frozen = max(results["frozen_cls"]["accuracy"], results["frozen_mean"]["accuracy"])
        print(f"fine-tuning beats the best frozen-feature probe by "
              f"{100 * (results['finetuned']['accuracy'] - best_frozen):.1f} accuracy points")
        del model, trainer

    if not args.skip_throughput:
        results["throughput"] = padding_throughput(args, settings, emotion, tokenizer, encoded)
    results["load_average_end"] = os.getloadavg()[0]
    if args.json:
        write_json(args.json, results)
    return 0


def padding_throughput(args: argparse.Namespace, settings, emotion, tokenizer, encoded) -> dict[str, float]:  # noqa: ANN001
    """Training samples/s over the same number of steps for three ways of batching; modes are
    interleaved over two rounds and the faster round kept, so a burst of load on a shared machine
    hurts all three alike."""
    from transformers import AutoModelForSequenceClassification, TrainerCallback

    import bertcourse
    from bertcourse import classification as clf
    from bertcourse import training

    fixed = clf.tokenize_for_classification(emotion, tokenizer, settings.max_length, pad_to_max_length=True)
    modes = {"fixed max-length padding": (fixed, False),
             "dynamic padding": (encoded, False),
             "dynamic padding + length grouping": (encoded, True)}
    warmup_steps = 2

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            self.times.append(time.perf_counter())

    best: dict[str, float] = {}
    steps = args.throughput_steps
    print(f"\ntraining throughput, {steps} timed steps of {settings.batch_size} tweets per mode "
          f"(after {warmup_steps} untimed), max_length {settings.max_length}:")
    for round_ in (1, 2):
        for name, (dataset, grouped) in modes.items():
            bertcourse.set_seed(0)
            model = bertcourse.load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=6)
            mode_settings = dataclasses.replace(settings, group_by_length=grouped)
            timer = StepTimer()
            with tempfile.TemporaryDirectory() as out:
                arguments = training.training_arguments(mode_settings, out, max_steps=steps + warmup_steps,
                                                   eval_strategy="no", logging_strategy="no", disable_tqdm=True)
                trainer = training.make_trainer(model, tokenizer, arguments, dataset["train"])
                trainer.add_callback(timer)
                trainer.train()
            rate = steps * settings.batch_size / (timer.times[-1] - timer.times[warmup_steps - 1])
            best[name] = max(best.get(name, 0.0), rate)
            print(f"  round {round_}: {name:34s} {rate:6.1f} samples/s (load average {os.getloadavg()[0]:.1f})",
                  flush=True)
    fixed_rate = best["fixed max-length padding"]
    for name, rate in best.items():
        print(f"  best: {name:34s} {rate:6.1f} samples/s  x{rate / fixed_rate:.2f} vs fixed padding")
    return {**best, "dynamic_vs_fixed": best["dynamic padding"] / fixed_rate,
            "grouped_vs_fixed": best["dynamic padding + length grouping"] / fixed_rate}


if __name__ == "__main__":
    sys.exit(main())
