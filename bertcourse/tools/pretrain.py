"""`bertcourse pretrain`: notebook 03's pretraining pipeline from the command line.

    bertcourse pretrain                                   # laptop profile: data/corpus, tiny BERT, ~2 min
    bertcourse pretrain --profile gpu --data-dir ../shared/data --minutes 20
    bertcourse pretrain --profile gpu --resume            # continue an interrupted run
    accelerate launch -m bertcourse.tools.cli pretrain --profile gpu --minutes 20   # several GPUs

The steps are the notebook's, importing the same code: read documents of sentences, train a
WordPiece vocabulary on them, build NSP pairs and mask them (`bertcourse.pretraining`), train
`BertForPreTraining` from a configuration with L = L_MLM + L_NSP (`bertcourse.pretrain_loop`),
evaluate on held-out documents against baselines, and save model + tokenizer where notebook 04
finds them. Ctrl-C or SIGTERM stops after the current step and writes a checkpoint;
`--resume` continues from it exactly (same vocabulary, weights, optimizer, data position).
`--minutes` counts training time only, summed over resumed sessions.

Room: tools (instructor and author commands); may import anything in the package.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bertcourse.course.errors import CourseError

EXIT_INTERRUPTED = 130


def register(subparsers: Any) -> None:
    """Add the `pretrain` sub-command to `bertcourse`'s parser."""
    from bertcourse.pretrain_settings import MODEL_PRESETS

    parser = subparsers.add_parser(
        "pretrain", help="pretrain a small BERT with MLM + NSP (notebook 03's pipeline)",
        description=__doc__.split("\n\n")[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=["laptop", "gpu"],
                        help="default sizes and data (default: BERTCOURSE_PROFILE, else laptop)")
    parser.add_argument("--data-dir", type=Path,
                        help="local corpus: a BERTCOURSE_DATA_DIR-style folder holding wikitext/, the wikitext/ "
                             "folder itself, or any folder with train.txt[.gz] (+ validation.txt[.gz])")
    parser.add_argument("--output", type=Path,
                        help="where the model, tokenizer and resumable checkpoint go "
                             "(default: the course home's artifacts/03_pretrained, which notebook 04 reads)")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoint if present")
    parser.add_argument("--minutes", type=float, help="training-time budget (laptop default 3, gpu 20)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--model-size", choices=list(MODEL_PRESETS), help="tiny-laptop, mini, small, medium or base")
    parser.add_argument("--vocab-size", type=int, help="WordPiece vocabulary to train")
    parser.add_argument("--max-length", type=int, help="tokens per [CLS] A [SEP] B [SEP] sequence")
    parser.add_argument("--batch-size", type=int, help="sequences per step and per process")
    parser.add_argument("--learning-rate", type=float, help="peak AdamW learning rate")
    parser.add_argument("--checkpoint-minutes", type=float, help="write a resumable checkpoint this often")
    parser.add_argument("--eval-every", type=int, help="evaluate on held-out pairs every N steps")
    parser.add_argument("--max-documents", type=int, help="use only the first N training documents (quick tries)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the encoder (GPU, long runs)")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even where a GPU is present")
    parser.add_argument("--seed", type=int,
                        help="random seed of the initial weights, the NSP pairs and the masks (default: 0); "
                             "the same seed and settings give the same run")
    parser.set_defaults(func=run)


def _corpus_location(data_dir: Path) -> tuple[str, Path]:
    """('registry', BERTCOURSE_DATA_DIR) for the documented layout, else ('folder', folder with train.txt)."""
    data_dir = data_dir.expanduser().resolve()
    if (data_dir / "wikitext").is_dir():
        return "registry", data_dir
    if (data_dir / "enwiki_2015_sample").is_dir():
        return "registry", data_dir.parent
    if any((data_dir / name).is_file() for name in ("train.txt", "train.txt.gz")):
        return "folder", data_dir
    raise CourseError(f"No pretraining corpus found in {data_dir}.",
                      fix="pass a folder holding wikitext/enwiki_2015_sample/train.txt.gz (the BERTCOURSE_DATA_DIR "
                          "layout in README) or a folder with train.txt (blank line between documents)")


def load_documents(data_dir: Path | None) -> tuple[list[list[str]], list[list[str]]]:
    """(training documents, held-out documents), each a list of sentences."""
    from bertcourse.course import formats
    from bertcourse.course.resources import load_dataset

    if data_dir is not None:
        kind, where = _corpus_location(data_dir)
        if kind == "folder":
            train = formats.read_documents(where / ("train.txt" if (where / "train.txt").is_file() else "train.txt.gz"))
            held = next((where / name for name in ("validation.txt", "validation.txt.gz") if (where / name).is_file()), None)
            validation = formats.read_documents(held) if held else []
            print(f"Dataset: corpus from {where}: train {len(train):,}, validation {len(validation):,}")
            return _with_validation(train, validation)
    corpus = load_dataset("wikipedia", data_dir=where if data_dir is not None else None)
    validation = corpus["validation"]["sentences"] if "validation" in corpus else []
    return _with_validation(corpus["train"]["sentences"], validation)


def _with_validation(train: list, validation: list) -> tuple[list, list]:
    if validation:
        return train, validation
    cut = max(2, len(train) // 20)  # NotNext pairs need at least two documents
    print(f"No validation split: holding out the last {cut} training documents.")
    return train[:-cut], train[-cut:]


def _settings(args: argparse.Namespace, profile: str, output: Path) -> Any:
    from bertcourse.pretrain_checkpoints import CHECKPOINT, has_checkpoint
    from bertcourse.pretrain_settings import PretrainSettings, settings_for

    overrides = {"model_size": args.model_size, "vocab_size": args.vocab_size, "max_length": args.max_length,
                 "batch_size": args.batch_size, "learning_rate": args.learning_rate, "minutes": args.minutes,
                 "max_steps": args.max_steps, "checkpoint_minutes": args.checkpoint_minutes,
                 "eval_every": args.eval_every, "seed": args.seed, "compile": args.compile or None}
    settings = settings_for(profile, **overrides)
    if args.max_steps is not None and args.minutes is None:
        settings = replace(settings, minutes=None)  # a step count alone decides the run
    if args.minutes is not None and args.max_steps is None:
        settings = replace(settings, max_steps=None)  # a time budget alone decides the run
    if args.resume and has_checkpoint(output):
        saved = json.loads((output / CHECKPOINT / "trainer_state.json").read_text())["settings"]
        changeable = {"minutes", "max_steps", "checkpoint_minutes", "eval_every", "log_every", "compile"}
        keep = {k: v for k, v in saved.items() if k not in changeable}
        settings = replace(PretrainSettings(**saved), **{k: getattr(settings, k) for k in changeable})
        ignored = [k for k, v in overrides.items() if v is not None and k in keep and keep[k] != v]
        if ignored:
            print(f"Resuming: keeping the checkpoint's {', '.join(ignored)} (they shape the model and data).")
    return settings


def run(args: argparse.Namespace) -> int:
    """The whole pipeline; returns 0 when the run finished, 130 when it was interrupted (resumable)."""
    import torch
    from transformers import AutoTokenizer, BertForPreTraining

    from bertcourse.course import handoffs
    from bertcourse.course.paths import artifacts_dir
    from bertcourse.course.profiles import active_profile, use_profile
    from bertcourse.course.startup import quiet_libraries
    from bertcourse.model_specs import count_parameters
    from bertcourse.pretrain_checkpoints import CHECKPOINT, has_checkpoint, save_pretrained_checkpoint
    from bertcourse.pretrain_data import make_eval_batches, tokenize_documents
    from bertcourse.pretrain_loop import baselines, bert_config, evaluate, make_accelerator, train
    from bertcourse.tokenization import train_wordpiece

    quiet_libraries()
    handoffs.lesson_started("bertcourse pretrain")  # the model it saves records this command as its maker
    profile = use_profile(args.profile).name if args.profile else active_profile().name
    output = (args.output or artifacts_dir("03_pretrained")).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    settings = _settings(args, profile, output)
    resuming = args.resume and has_checkpoint(output)
    if args.resume and not resuming:
        print(f"No checkpoint in {output}: starting a new run.")
    accelerator = make_accelerator(cpu=args.cpu)
    say = accelerator.print  # once, not once per GPU process
    torch.manual_seed(settings.seed)
    say(f"bertcourse pretrain | profile {profile} | device {accelerator.device} x{accelerator.num_processes} "
          f"| precision {accelerator.mixed_precision} | output {output}")

    train_docs, held_docs = load_documents(args.data_dir)
    if args.max_documents:
        train_docs = train_docs[:args.max_documents]
    if resuming:
        tokenizer = AutoTokenizer.from_pretrained(output / CHECKPOINT)
        say(f"Tokenizer: the checkpoint's ({len(tokenizer):,} pieces).")
    else:
        if accelerator.is_main_process:  # one vocabulary for all processes: train once, then everyone loads it
            trained = train_wordpiece((s for d in train_docs for s in d), vocab_size=settings.vocab_size)
            trained.save_pretrained(output)
        accelerator.wait_for_everyone()
        tokenizer = AutoTokenizer.from_pretrained(output)
        say(f"Tokenizer: WordPiece trained on the training documents ({len(tokenizer):,} pieces).")
    train_ids = tokenize_documents(train_docs, tokenizer)
    held_ids = tokenize_documents(held_docs, tokenizer)
    eval_batches = make_eval_batches(held_ids, tokenizer, settings.max_length)
    model = BertForPreTraining(bert_config(settings.model_size, len(tokenizer), settings.max_length))
    say(f"Model: BertForPreTraining {settings.model_size}, {count_parameters(model) / 1e6:.1f}M parameters, "
          + ("weights from the checkpoint" if resuming else "built from a configuration (random weights)") + ". Budget: "
          + ", ".join(filter(None, [f"{settings.max_steps} steps" if settings.max_steps else "",
                                    f"{settings.minutes:g} min" if settings.minutes else ""])))
    result = train(model, tokenizer, train_ids, settings, eval_batches=eval_batches, checkpoint_dir=output,
                   resume=resuming, accelerator=accelerator)

    model = accelerator.unwrap_model(model)
    scores = evaluate(model, eval_batches, tokenizer.mask_token_id)
    reference = baselines(train_ids, eval_batches, len(tokenizer), tokenizer.mask_token_id)
    if accelerator.is_main_process:
        summary = {"profile": profile, "settings": asdict(settings), "steps": result.step, "epochs": result.epoch,
                   "training_seconds": round(result.seconds, 1), "tokens": result.tokens,
                   "finished": result.finished, "held_out": scores, "baselines": reference,
                   "parameters": count_parameters(model), "processes": accelerator.num_processes}
        save_pretrained_checkpoint(model, tokenizer, output, summary)
        print(f"\nAfter {result.step} steps ({result.seconds / 60:.1f} min, {result.tokens / max(result.seconds, 1e-9):,.0f} tokens/s):")
        print(f"  {'held-out':24s}{'model':>8s}{'baseline':>10s}")
        print(f"  {'MLM accuracy at [MASK]':24s}{scores['mlm_accuracy_mask']:8.3f}"
              f"{reference['mlm_accuracy_mask']:10.3f}  (most frequent token)")
        print(f"  {'MLM loss at [MASK]':24s}{scores['mlm_loss_mask']:8.3f}{reference['mlm_loss_mask']:10.3f}  (unigram)")
        print(f"  {'MLM accuracy, unchanged':24s}{scores['mlm_accuracy_unchanged']:8.3f}"
              f"{reference['copy_accuracy_unchanged']:10.3f}  (copy the input)")
        print(f"  {'NSP accuracy':24s}{scores['nsp_accuracy']:8.3f}{reference['nsp_accuracy']:10.3f}  (majority class)")
        print(f"Saved model + tokenizer to {output} (notebook 04 loads it); resumable state in {output / CHECKPOINT}.")
    if result.interrupted:
        again = " ".join(filter(None, ["bertcourse pretrain --resume", f"--profile {profile}",
                                       f"--data-dir {args.data_dir}" if args.data_dir else "", f"--output {output}"]))
        say(f"Interrupted: continue with  {again}")
        return EXIT_INTERRUPTED
    return 0
