"""Distil a MiniLM emotion classifier fine-tuned on the real data (dair-ai/emotion) into a 3-layer
student on CPU with the course's own code (bertcourse.distillation, as notebook 07 uses it), in
notebook 07's setting: the student's team has labels for only a few of the training tweets
(--labelled-fraction) and the rest as an unlabelled transfer set. Measures accuracy and macro-F1
(with paired bootstrap intervals for the differences), parameters, size, CPU latency and throughput.

    .venv/bin/python benchmarks/distillation.py --teacher-dir emotion_teacher    # full data (hours under load)
    .venv/bin/python benchmarks/distillation.py --max-train 3000 --epochs 1      # what fits in ~30 min on a busy CPU
    .venv/bin/python benchmarks/distillation.py --quick                          # smoke test (~2 min)

Models compared on the same test set: the teacher (MiniLM, 6 layers, fine-tuned on every training
label, here or loaded from --teacher-dir), and three students cut from every other layer of the
*pretrained* MiniLM (so the teacher's knowledge reaches them only through its targets), trained with
the same recipe on: the labelled tweets only; plus the transfer set labelled with the teacher's top
class; plus the transfer set with the teacher's soft targets (distillation); and the distilled
student with dynamic int8 quantization. Latency: batch 1, one short made-up tweet, median of
repeated runs after warm-up; throughput: batch 32 over the first test tweets. Timing figures are
ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from real_data import DEFAULT_DATA_DIR, add_cut_arguments, cut, describe_machine, use_real_data, write_json

SHORT_TWEET = "i feel so hopeful about tomorrow"  # written for the benchmark, not from the data


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    add_cut_arguments(parser, "tweets")
    parser.add_argument("--epochs", type=int, default=2, help="teacher epochs")
    parser.add_argument("--student-epochs", type=int, default=None, help="default: --epochs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--keep-layers", default="0,2,4", help="teacher layers the student starts from")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of the hard-label cross-entropy")
    parser.add_argument("--labelled-fraction", type=float, default=0.1,
                        help="share of the training tweets whose labels the students see (stratified)")
    parser.add_argument("--teacher-dir", type=Path, default=None, help="a fine-tuned classifier to use as teacher")
    parser.add_argument("--latency-repeats", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="smoke test: 320 train, 200 test, 1 epoch")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    args = parser.parse_args()
    if args.quick:
        args.max_train, args.max_eval, args.epochs, args.latency_repeats = 320, 200, 1, 20
    args.student_epochs = args.student_epochs or args.epochs
    return args


def main() -> int:
    args = parse_args()
    use_real_data(args.data_dir, "emotion")
    import pandas as pd
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import bertcourse
    from bertcourse import classification as clf
    from bertcourse import distillation as kd
    from bertcourse import training
    from bertcourse.model_specs import count_parameters

    bertcourse.start_lesson("benchmark 07: distillation on the real data")
    print(describe_machine())
    emotion = bertcourse.load_dataset("emotion")
    emotion["train"], emotion["test"] = cut(emotion["train"], args.max_train), cut(emotion["test"], args.max_eval)
    names = emotion["train"].features["label"].names
    settings = dataclasses.replace(clf.default_settings(), epochs=args.epochs, batch_size=args.batch_size,
                                   max_length=args.max_length)
    print("settings (MiniLM recipe, benchmark epochs and batch size):\n" + settings.describe())
    print(f"train tweets {len(emotion['train']):,} (labels kept for {args.labelled_fraction:.0%}), test tweets "
          f"{len(emotion['test']):,}; student layers {args.keep_layers}, student epochs {args.student_epochs}, "
          f"T={args.temperature}, alpha={args.alpha}", flush=True)
    results: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}}

    def train(model, epochs: int, data, distil: bool = False) -> float:  # noqa: ANN001
        """Fine-tune `model` in place on `data` (distilled if `distil`); returns training seconds."""
        with tempfile.TemporaryDirectory() as out:
            arguments = training.training_arguments(dataclasses.replace(settings, epochs=epochs), out,
                                                    eval_strategy="no", logging_strategy="no", disable_tqdm=True)
            start = time.perf_counter()
            kd.train_student(model, tokenizer, arguments, data, distil=distil, temperature=args.temperature,
                             alpha=args.alpha)
        seconds = time.perf_counter() - start
        print(f"  trained in {seconds:.0f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
        return seconds

    if args.teacher_dir:
        tokenizer = AutoTokenizer.from_pretrained(args.teacher_dir)
        teacher = AutoModelForSequenceClassification.from_pretrained(args.teacher_dir)
        print(f"teacher loaded from {args.teacher_dir.name}")
    else:
        tokenizer = bertcourse.load_tokenizer("bert-base-uncased")

    def pretrained_classifier():  # noqa: ANN202
        return bertcourse.load_model("bert-base-uncased", AutoModelForSequenceClassification,
                                     num_labels=len(names), id2label=dict(enumerate(names)),
                                     label2id={name: i for i, name in enumerate(names)})

    times = {}
    if not args.teacher_dir:
        bertcourse.set_seed(0)
        teacher = pretrained_classifier()
        print(f"\nteacher: fine-tuning MiniLM ({count_parameters(teacher):,} parameters) on every label, "
              f"{args.epochs} epochs", flush=True)
        times["teacher"] = train(teacher, args.epochs,
                                 clf.tokenize_for_classification(emotion["train"], tokenizer, settings.max_length))
    teacher.eval()

    labelled, transfer = kd.hide_labels(emotion["train"], args.labelled_fraction)
    logits = kd.teacher_logits(teacher, tokenizer, [*labelled["text"], *transfer["text"]], settings.max_length)
    data = {name: clf.tokenize_for_classification(part, tokenizer, settings.max_length)
            for name, part in kd.training_sets(labelled, transfer, logits).items()}
    print(f"labelled tweets {len(labelled):,}, transfer set {len(transfer):,}")
    keep = [int(i) for i in args.keep_layers.split(",")]
    bertcourse.set_seed(0)
    pretrained = pretrained_classifier()
    models = {"teacher": teacher}
    for name, targets in (("student, labels only", "labels only"),
                          ("student, teacher's hard labels", "teacher's hard labels"),
                          ("distilled student", "teacher's soft targets")):
        print(f"\n{name}", flush=True)
        bertcourse.set_seed(0)
        models[name] = kd.student_from_teacher(pretrained, keep)
        times[name] = train(models[name], args.student_epochs, data[targets], distil=name == "distilled student")
    distilled = models["distilled student"]
    models["distilled student, int8"] = kd.quantize_int8(distilled)
    parameters = {"distilled student, int8": count_parameters(distilled)}

    test = emotion["test"]
    quality = kd.quality_table(models, tokenizer, test["text"], test["label"], parameters, settings.max_length)
    print(f"\ntiming (load average {os.getloadavg()[0]:.1f}) ...", flush=True)
    speed = kd.speed_table(models, tokenizer, SHORT_TWEET, test["text"][:256], repeats=args.latency_repeats)
    table = quality.join(speed)
    table["train seconds"] = pd.Series(times)
    print(f"load average after timing {os.getloadavg()[0]:.1f}\n")
    print(markdown(table))
    retention = table.loc["distilled student", "accuracy"] / table.loc["teacher", "accuracy"]
    predictions = {name: training.predict_probabilities(models[name], tokenizer, test["text"], settings.max_length)
                   .argmax(axis=1) for name in ("student, labels only", "student, teacher's hard labels",
                                                "distilled student")}
    differences = {f"distilled - {baseline}": training.bootstrap_scores(
        test["label"], predictions["distilled student"], reference=predictions[baseline])["accuracy"].scaled(100)
        for baseline in ("student, labels only", "student, teacher's hard labels")}
    for name, d in differences.items():
        print(f"accuracy, {name}: {d.value:+.1f} points, paired bootstrap 95% interval [{d.low:+.1f}, {d.high:+.1f}]")
    print(f"distilled student keeps {retention:.1%} of the teacher's accuracy, runs "
          f"{table.loc['distilled student', 'speed-up (batch 1)']:.2f}x as fast at batch 1 "
          f"({table.loc['distilled student, int8', 'speed-up (batch 1)']:.2f}x with int8), is "
          f"{table.loc['distilled student', 'size (MB)'] / table.loc['teacher', 'size (MB)']:.0%} of its size")
    results.update(table=json.loads(table.to_json(orient="index")), retention=retention, differences=differences,
                   load_average_end=os.getloadavg()[0])
    if args.json:
        write_json(args.json, results)
    return 0


def markdown(table) -> str:  # noqa: ANN001
    """The table as GitHub markdown (3 decimals), ready for results_07_distillation.md."""
    lines = ["| model | " + " | ".join(table.columns) + " |", "|---" * (len(table.columns) + 1) + "|"]
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{value:.3f}" for value in row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
