"""How fast is our pretraining step? A plain baseline against the course's step, in the same run.

    .venv/bin/python benchmarks/pretraining_speed.py                    # CPU: BERT-mini, a few minutes
    .venv/bin/python benchmarks/pretraining_speed.py --model-size base  # GPU: BERT-base, seq 128, MFU

Baseline: `BertForPreTraining(config)` called as `model(**batch, labels=..., next_sentence_label=...)`,
fp32, eager attention, every batch padded to the full sequence length, logits over the whole
vocabulary at every position, `torch.optim.AdamW` with its default (non-fused) kernels.

Ours adds, one lever at a time (each row of the table is measured, cumulatively):
SDPA attention -> no wasted padding (batches grouped by length, padded to their longest) ->
MLM logits only at the masked positions (`bertcourse.pretraining.pretraining_loss`) -> fused AdamW
-> TF32 (CUDA) -> bf16 autocast (CUDA) -> torch.compile of the encoder (CUDA; `--compile` on CPU).
"Ours" is the last row that applies to the device, which is what `bertcourse pretrain` runs.

Every configuration trains a fresh model (same seed) on the same real sentence pairs with the
same masks, so tokens/s compare like with like: tokens are real (non-padding) tokens.
Model FLOPs utilisation (MFU) counts the work pretraining needs (encoder at real tokens,
attention, MLM head at masked tokens; 3x forward for forward + backward) against the peak of a
large matmul measured on the same device now (bf16 on CUDA, fp32 on CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bertcourse.pretrain_data import length_grouped_batches, make_batch  # noqa: E402
from bertcourse.pretrain_loop import bert_config, make_optimizer  # noqa: E402
from bertcourse.pretrain_settings import MODEL_PRESETS, PretrainSettings  # noqa: E402
from bertcourse.pretraining import make_nsp_pairs, pair_to_features, pretraining_loss  # noqa: E402


@dataclass(frozen=True)
class Levers:
    sdpa: bool = False
    no_padding: bool = False
    masked_logits: bool = False
    fused_adamw: bool = False
    tf32: bool = False
    bf16: bool = False
    compile: bool = False


def ladder(device: torch.device, cpu_bf16: bool, compile_on_cpu: bool) -> list[tuple[str, Levers]]:
    """The cumulative configurations to time, baseline first."""
    steps = [("baseline (fp32, eager, padded, full logits)", Levers()),
             ("+ SDPA attention", Levers(sdpa=True)),
             ("+ no wasted padding", Levers(sdpa=True, no_padding=True)),
             ("+ MLM logits at masked positions only", Levers(sdpa=True, no_padding=True, masked_logits=True)),
             ("+ fused AdamW", Levers(sdpa=True, no_padding=True, masked_logits=True, fused_adamw=True))]
    last = steps[-1][1]
    if device.type == "cuda":
        steps.append(("+ TF32 matmuls", last := replace(last, tf32=True)))
        steps.append(("+ bf16 autocast", last := replace(last, bf16=True)))
        steps.append(("+ torch.compile (encoder)", replace(last, compile=True)))
    else:
        if compile_on_cpu:
            steps.append(("+ torch.compile (encoder)", last := replace(last, compile=True)))
        if cpu_bf16:
            steps.append(("(extra) + bf16 autocast on CPU", replace(last, bf16=True)))
    return steps


def corpus_sentences(data_dir: Path | None) -> list[list[str]]:
    """Held-out Wikipedia if ../shared/data is present, else the course's own corpus."""
    from bertcourse.course import formats
    from bertcourse.course.registry import DATASETS, local_dataset_folder

    held_out = DATASETS["wikipedia"].local_files["validation"][0]
    roots = [root for root in (data_dir, REPO.parent / "shared" / "data") if root is not None]
    candidates = [*(local_dataset_folder("wikipedia", root) / held_out for root in roots),
                  REPO / "data" / "corpus" / "train.txt"]
    path = next(p for p in candidates if p.is_file())
    print(f"text: {path.relative_to(path.parents[2]) if len(path.parents) > 2 else path}")
    return formats.read_documents(path)


def make_batches(tokenizer, documents, seq_len: int, batch_size: int, count: int, seed: int = 0):
    """`count` batches of real NSP pairs, each masked once, in two layouts: padded to `seq_len`
    and padded to the batch's longest (same tokens, same masks)."""
    ids = tokenizer([s for d in documents for s in d], add_special_tokens=False)["input_ids"]
    docs, start = [], 0
    for d in documents:
        docs.append([x for x in ids[start:start + len(d)] if x])
        start += len(d)
    docs = [d for d in docs if len(d) > 1]
    single = [min(len(a) + len(b) + 3, seq_len) for d in docs for a, b in zip(d, d[1:])]
    print(f"packing: one-sentence pairs would fill {sum(single) / (len(single) * seq_len):.0%} of {seq_len} positions")
    pairs = make_nsp_pairs(docs, seq_len, seed=seed)
    features = [pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pairs]
    grouped = length_grouped_batches(features, batch_size, random.Random(seed))
    grouped = [b for b in grouped if len(b) == batch_size]
    while len(grouped) < count:
        grouped += grouped
    full, trimmed = [], []
    for i, features in enumerate(grouped[:count]):
        batch = make_batch(features, tokenizer, seed + i, pad_to=seq_len)
        longest = int(batch["attention_mask"].sum(1).max())
        longest = -(-longest // 8) * 8
        full.append(batch)
        trimmed.append({k: (v[:, :longest].contiguous() if v.dim() == 2 else v) for k, v in batch.items()})
    return full, trimmed


def matmul_peak(device: torch.device, dtype: torch.dtype, rounds: int = 3) -> float:
    """FLOP/s of a large square matmul on this device now (best of `rounds`)."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    repeats = 50 if device.type == "cuda" else 5
    for _ in range(3):
        a @ b
    best = math.inf
    for _ in range(rounds):
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 * repeats / best


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def useful_flops(config, batches) -> float:
    """Model FLOPs of one pass over `batches`: 6 x matmul parameters per real token, attention
    scores and mixing per real token, the MLM head at masked tokens, the NSP head per sequence."""
    h, inner, layers, vocab = config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size
    total = 0.0
    for b in batches:
        lengths = b["attention_mask"].sum(1).double()
        tokens = lengths.sum().item()
        masked = (b["labels"] != -100).sum().item()
        encoder = layers * (4 * h * h + 2 * h * inner) * tokens
        attention = layers * 4 * h * (lengths**2).sum().item()  # forward FLOPs of QK^T and AV
        head = (h * h + h * vocab) * masked + (h * h + 2 * h) * len(lengths)
        total += 6 * (encoder + head) + 3 * attention
    return total


def prepare(levers: Levers, size: str, tokenizer, full, trimmed, device):
    """A fresh model (same seed for every configuration) and its training step, for these levers."""
    from transformers import BertForPreTraining

    torch.manual_seed(0)
    seq_len = full[0]["input_ids"].shape[1]
    config = bert_config(size, len(tokenizer), seq_len, attn_implementation="sdpa" if levers.sdpa else "eager")
    model = BertForPreTraining(config).to(device).train()
    optimizer = make_optimizer(model, PretrainSettings(learning_rate=1e-4), fused=levers.fused_adamw)
    if levers.compile:
        model.bert.compile()
    batches = trimmed if levers.no_padding else full
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=levers.bf16)

    def step(batch):
        torch.backends.cuda.matmul.allow_tf32 = levers.tf32
        torch.backends.cudnn.allow_tf32 = levers.tf32
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast:
            if levers.masked_logits:
                loss = pretraining_loss(model, batch).loss
            else:
                loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    return config, batches, step


def time_steps(step, batches, device) -> float:
    sync(device)
    start = time.perf_counter()
    for batch in batches:
        loss = step(batch)
    sync(device)
    seconds = time.perf_counter() - start
    assert torch.isfinite(loss)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model-size", choices=list(MODEL_PRESETS), help="default: mini on CPU, base on CUDA")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, help="default: 16 on CPU, 256 on CUDA")
    parser.add_argument("--steps", type=int, help="timed steps per configuration (default: 6 on CPU, 30 on CUDA)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (default: 2 on CPU, 10 on CUDA)")
    parser.add_argument("--rounds", type=int, default=3, help="time every configuration this many times, keep the best")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile on CPU (slow to compile)")
    parser.add_argument("--cpu-bf16", action="store_true", help="also time bf16 autocast on CPU (an extra row)")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    size = args.model_size or ("base" if cuda else "mini")
    batch_size = args.batch_size or (256 if cuda else 16)
    steps, warmup, rounds = args.steps or (30 if cuda else 6), args.warmup or (10 if cuda else 2), args.rounds

    from transformers import AutoTokenizer

    from bertcourse.course.minilm import verified_model_dir
    from bertcourse.course.startup import quiet_libraries

    quiet_libraries()
    tokenizer = AutoTokenizer.from_pretrained(verified_model_dir())  # bert-base-uncased's 30,522 pieces, offline
    full, trimmed = make_batches(tokenizer, corpus_sentences(args.data_dir), args.seq_len, batch_size,
                                 max(warmup, 10) + steps)
    fill = sum(int(b["attention_mask"].sum()) for b in full) / sum(b["input_ids"].numel() for b in full)
    name = torch.cuda.get_device_name(device) if cuda else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    peak_dtype = torch.bfloat16 if cuda else torch.float32
    peak = matmul_peak(device, peak_dtype, rounds)
    print(f"device: {name} | torch {torch.__version__} | model: BERT-{size} {MODEL_PRESETS[size]}, vocab {len(tokenizer)}")
    print(f"batches: {batch_size} x {args.seq_len} tokens of packed pairs, {fill:.0%} real tokens when padded to {args.seq_len}; "
          f"{warmup} warm-up steps, then {steps} timed steps per configuration, best of {rounds} rounds")
    print(f"measured matmul peak ({str(peak_dtype).removeprefix('torch.')}): {peak / 1e12:.2f} TFLOP/s\n")

    configs = []
    for label, levers in ladder(device, args.cpu_bf16, args.compile):
        config, batches, step = prepare(levers, size, tokenizer, full, trimmed, device)
        for batch in batches[:warmup if not levers.compile else max(warmup, 10)]:  # compile happens here
            step(batch)
        configs.append((label, levers, config, batches[-steps:], step))
    # rounds: every configuration is timed once per round, and each keeps its best round, so a burst of
    # load from elsewhere on a shared machine does not decide a comparison
    best = {label: math.inf for label, *_ in configs}
    for _ in range(rounds):
        for label, _levers, _config, timed, step in configs:
            best[label] = min(best[label], time_steps(step, timed, device))
    rows = []
    print(f"{'configuration':46s} {'tokens/s':>10s} {'seq/s':>8s} {'vs base':>8s} {'MFU':>6s}")
    for label, levers, config, timed, _step in configs:
        seconds = best[label]
        tokens = sum(int(b["attention_mask"].sum()) for b in timed)
        result = {"label": label, "levers": levers.__dict__, "seconds": seconds, "tokens_per_s": tokens / seconds,
                  "seqs_per_s": sum(len(b["input_ids"]) for b in timed) / seconds,
                  "mfu": useful_flops(config, timed) / seconds / peak}
        rows.append(result)
        ratio = result["tokens_per_s"] / rows[0]["tokens_per_s"]
        print(f"{label:46s} {result['tokens_per_s']:10,.0f} {result['seqs_per_s']:8.1f} {ratio:7.2f}x {result['mfu']:6.1%}")
    ours = [r for r in rows if not r["label"].startswith("(extra)")][-1]
    ratio = ours["tokens_per_s"] / rows[0]["tokens_per_s"]
    print(f"\nbaseline: {rows[0]['tokens_per_s']:,.0f} tokens/s ({rows[0]['seqs_per_s']:.1f} seq/s)")
    print(f"ours:     {ours['tokens_per_s']:,.0f} tokens/s ({ours['seqs_per_s']:.1f} seq/s), MFU {ours['mfu']:.1%}")
    print(f"ratio:    {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "model_size": size, "batch_size": batch_size,
                                         "seq_len": args.seq_len, "peak_flops": peak, "fill": fill, "rows": rows,
                                         "ratio": ratio, "torch": torch.__version__}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
