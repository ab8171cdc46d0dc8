"""Pretraining machinery for notebook 03 and `bertcourse pretrain`: model sizes, batches, the
training loop (progress bar, time budget, checkpoint and resume), evaluation, plots, fill-mask.

The ideas themselves (NSP pairs, the masking rule, the combined loss) are in
`bertcourse.pretraining`, where the notebook shows them; this module only runs them.

Speed levers, each switched on by device (numbers in `benchmarks/README.md`):
- everywhere: SDPA attention, pairs packed with whole sentences and batches grouped by length and
  padded only to their longest example (no wasted padding), vocabulary logits only at the masked
  positions, fused AdamW;
- CUDA only: bf16 autocast (through `accelerate`'s mixed precision), TF32 matmuls;
- opt-in (`compile=True`): `torch.compile` of the encoder (worth it for long runs on a GPU).

Room: a lesson module (lesson 03's machinery). It imports the other lesson modules it runs.

Multi-GPU runs use `accelerate` (`accelerate launch -m bertcourse.tools.cli pretrain ...`): the loop
only calls `Accelerator` methods, so the same code runs on one CPU core or eight GPUs.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from transformers import BertConfig, BertForPreTraining

from bertcourse.pretraining import collate, make_nsp_pairs, mask_tokens, pair_to_features, pretraining_loss
from bertcourse.training import bf16_available

# Sizes from Turc et al. (2019), "Well-Read Students Learn Better" (the official small BERTs), plus
# `tiny-laptop`, small enough to pretrain on two CPU cores in a couple of minutes.
MODEL_PRESETS: dict[str, dict[str, int]] = {
    "tiny-laptop": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "mini": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
    "small": {"num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048},
    "medium": {"num_hidden_layers": 8, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048},
    "base": {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
}


@dataclass(frozen=True)
class PretrainSettings:
    """Everything that decides a pretraining run except the data.

    `max_steps` fixes the length (and the learning-rate schedule) in steps: runs are then
    reproducible. Without it the run lasts `minutes` and the schedule follows the clock.
    With both, `minutes` is only a safety stop.
    """

    model_size: str = "tiny-laptop"
    vocab_size: int = 3000
    max_length: int = 64
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup: float = 0.06  # fraction of the run spent ramping the learning rate up
    weight_decay: float = 0.01
    max_steps: int | None = None
    minutes: float | None = None
    mlm_probability: float = 0.15
    log_every: int = 10
    eval_every: int | None = None
    checkpoint_minutes: float | None = None
    compile: bool = False
    seed: int = 0


PROFILE_SETTINGS: dict[str, PretrainSettings] = {
    # two CPU cores, the course's own data/corpus: a couple of minutes, a fixed number of steps (reproducible)
    "laptop": PretrainSettings(model_size="tiny-laptop", vocab_size=3000, max_length=64, batch_size=32,
                               learning_rate=2e-3, max_steps=1500, eval_every=250),
    # an instructor's GPU, Wikipedia: BERT-medium for a 20-minute budget, checkpoint every 5 minutes
    "gpu": PretrainSettings(model_size="medium", vocab_size=30522, max_length=128, batch_size=256,
                            learning_rate=5e-4, minutes=20.0, log_every=50, eval_every=500,
                            checkpoint_minutes=5.0),
}


def settings_for(profile: str, **overrides: Any) -> PretrainSettings:
    """The profile's settings with `overrides` (None values are ignored)."""
    return replace(PROFILE_SETTINGS[profile], **{k: v for k, v in overrides.items() if v is not None})


def bert_config(size: str, vocab_size: int, max_length: int, attn_implementation: str = "sdpa") -> BertConfig:
    """A BERT configuration of one of `MODEL_PRESETS` for our vocabulary and sequence length."""
    return BertConfig(vocab_size=vocab_size, max_position_embeddings=max_length,
                      attn_implementation=attn_implementation, **MODEL_PRESETS[size])


def tokenize_documents(documents: Sequence[Sequence[str]], tokenizer: Any) -> list[list[list[int]]]:
    """Documents of sentences -> documents of token-id lists (no special tokens yet)."""
    sentences = [sentence for document in documents for sentence in document]
    ids = tokenizer(sentences, add_special_tokens=False)["input_ids"] if sentences else []
    out, start = [], 0
    for document in documents:
        out.append([list(piece) for piece in ids[start:start + len(document)] if piece])
        start += len(document)
    return [document for document in out if len(document) > 1]


def length_grouped_batches(features: list[dict], batch_size: int, rng: random.Random,
                           group: int = 50) -> list[list[dict]]:
    """Shuffle, sort each run of `group` batches' worth by length, cut into batches, shuffle them:
    examples of similar length share a batch, so padding to the longest wastes little."""
    features = list(features)
    rng.shuffle(features)
    batches = []
    for start in range(0, len(features), batch_size * group):
        chunk = sorted(features[start:start + batch_size * group], key=lambda f: len(f["input_ids"]))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def masking_seed(seed: int, epoch: int, index: int) -> int:
    """Each batch's masks depend only on (seed, epoch, batch index): a resumed run masks the
    same tokens as an uninterrupted one, and every GPU process masks its own batches."""
    return (seed * 1_000_003 + epoch) * 1_000_003 + index


def make_batch(features: list[dict], tokenizer: Any, seed: int, mlm_probability: float = 0.15,
               pad_to: int | None = None, pad_multiple: int = 8) -> dict[str, torch.Tensor]:
    """Collate and mask one batch (masks drawn from a generator seeded with `seed`)."""
    if pad_to is None and pad_multiple > 1:
        longest = max(len(f["input_ids"]) for f in features)
        pad_to = -(-longest // pad_multiple) * pad_multiple
    batch = collate(features, tokenizer.pad_token_id, pad_to=pad_to)
    generator = torch.Generator().manual_seed(seed)
    batch["input_ids"], batch["labels"] = mask_tokens(batch["input_ids"], tokenizer, generator, mlm_probability)
    return batch


class EpochBatches(torch.utils.data.Dataset):
    """The batches of one epoch: fresh NSP pairs (seeded by epoch), grouped by length; masking
    happens when a batch is loaded, so each epoch sees new masks (RoBERTa's dynamic masking)."""

    def __init__(self, documents: list, tokenizer: Any, settings: PretrainSettings, epoch: int) -> None:
        seed = masking_seed(settings.seed, epoch, 0)
        pairs = make_nsp_pairs(documents, settings.max_length, seed=seed)
        features = [pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pairs]
        self.batches = length_grouped_batches(features, settings.batch_size, random.Random(seed))
        self.tokenizer, self.settings, self.epoch = tokenizer, settings, epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[int, list[dict]]:
        return index, self.batches[index]

    def collate(self, items: list[tuple[int, list[dict]]]) -> dict[str, torch.Tensor]:
        index, features = items[0]
        return make_batch(features, self.tokenizer, masking_seed(self.settings.seed, self.epoch, index + 1),
                          self.settings.mlm_probability)


def make_eval_batches(documents: list, tokenizer: Any, max_length: int, pairs: int = 1000, batch_size: int = 64,
                      seed: int = 12345) -> list[dict[str, torch.Tensor]]:
    """Fixed held-out batches of `pairs` NSP pairs, masked once, so every evaluation scores the same task.
    A small held-out set is sampled several times (different pairings and masks) to reach `pairs`."""
    features: list[dict] = []
    for r in range(100):
        sample = make_nsp_pairs(documents, max_length, seed=seed + r)
        features += [pair_to_features(p, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in sample]
        if len(features) >= pairs or not sample:
            break
    features = sorted(features[:pairs], key=lambda f: len(f["input_ids"]))
    return [make_batch(features[i:i + batch_size], tokenizer, seed + i) for i in range(0, len(features), batch_size)]


def _autocast(device: torch.device) -> Any:
    if device.type == "cuda" and bf16_available():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


@torch.no_grad()
def evaluate(model: BertForPreTraining, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """MLM loss and accuracy on the masked tokens, NSP loss and accuracy, over fixed held-out batches."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    totals = Counter()
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        with _autocast(device):
            out = pretraining_loss(model, batch)
        labels = batch["labels"][batch["labels"] != -100]
        totals["masked"] += labels.numel()
        totals["pairs"] += batch["next_sentence_label"].numel()
        totals["mlm_loss"] += out.mlm_loss.item() * labels.numel()
        totals["mlm_correct"] += (out.mlm_logits.argmax(-1) == labels).sum().item()
        totals["nsp_loss"] += out.nsp_loss.item() * batch["next_sentence_label"].numel()
        totals["nsp_correct"] += (out.nsp_logits.argmax(-1) == batch["next_sentence_label"]).sum().item()
    model.train(was_training)
    return {"mlm_loss": totals["mlm_loss"] / totals["masked"], "mlm_accuracy": totals["mlm_correct"] / totals["masked"],
            "nsp_loss": totals["nsp_loss"] / totals["pairs"], "nsp_accuracy": totals["nsp_correct"] / totals["pairs"],
            "masked_tokens": totals["masked"], "pairs": totals["pairs"]}


def baselines(train_documents: list, batches: list[dict[str, torch.Tensor]], vocab_size: int) -> dict[str, float]:
    """What a model that ignores context would score on the same held-out batches.

    MLM: always predict the most frequent training token (accuracy) and the unigram
    distribution of training tokens (cross-entropy, add-one smoothed). NSP: always answer the
    more frequent class (0.5 in expectation: chance)."""
    counts = Counter(token for document in train_documents for sentence in document for token in sentence)
    total = sum(counts.values()) + vocab_size
    most_frequent = counts.most_common(1)[0][0]
    labels = torch.cat([b["labels"][b["labels"] != -100] for b in batches]).tolist()
    nsp = torch.cat([b["next_sentence_label"] for b in batches])
    not_next = nsp.float().mean().item()
    return {"mlm_accuracy": sum(label == most_frequent for label in labels) / len(labels),
            "mlm_loss": -sum(math.log((counts[label] + 1) / total) for label in labels) / len(labels),
            "nsp_accuracy": max(not_next, 1 - not_next), "nsp_loss": math.log(2),
            "most_frequent_token": most_frequent}


class PretrainingObjective(torch.nn.Module):
    """Wraps a BertForPreTraining so that `accelerate` (and DDP) see one forward that returns
    (L, L_MLM, L_NSP) computed by `pretraining_loss`."""

    def __init__(self, model: BertForPreTraining) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = pretraining_loss(self.model, batch)
        return out.loss, out.mlm_loss, out.nsp_loss


def make_optimizer(model: torch.nn.Module, settings: PretrainSettings, fused: bool | None = None) -> torch.optim.AdamW:
    """AdamW as in BERT (no weight decay on biases and LayerNorm), with PyTorch's fused kernel (one
    kernel updates every parameter) on the CPU and CUDA, which have one."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
    if fused is None:
        fused = next(model.parameters()).device.type in ("cpu", "cuda")
    return torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=settings.learning_rate, betas=(0.9, 0.999), eps=1e-6, fused=fused)


def learning_rate(settings: PretrainSettings, progress: float) -> float:
    """Linear warm-up over the first `warmup` of the run, then linear decay to zero (BERT's schedule)."""
    if progress < settings.warmup:
        return settings.learning_rate * progress / settings.warmup
    return settings.learning_rate * max(0.0, 1 - progress) / (1 - settings.warmup)


def enable_fast_math(device: torch.device) -> None:
    """TF32 matmuls on CUDA (Ampere and newer): ~fp32 accuracy at tensor-core speed."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def make_accelerator(cpu: bool = False) -> Any:
    """An `accelerate.Accelerator` with bf16 mixed precision where the GPU supports it."""
    from accelerate import Accelerator

    return Accelerator(mixed_precision="bf16" if not cpu and bf16_available() else "no", cpu=cpu)


@dataclass
class TrainResult:
    """What `train` returns: the loss log and where the run stopped."""

    history: dict[str, list[dict[str, float]]] = field(default_factory=lambda: {"train": [], "eval": []})
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    seconds: float = 0.0
    tokens: int = 0
    interrupted: bool = False
    finished: bool = False

    def state(self) -> dict[str, Any]:
        return asdict(self)


class _StopRequest:
    """Turns Ctrl-C / Jupyter's interrupt / SIGTERM into 'stop after this step', so a checkpoint is
    written between steps; a second signal interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


CHECKPOINT = "checkpoint"


def save_training_checkpoint(folder: Path, accelerator: Any, model: BertForPreTraining, tokenizer: Any,
                             optimizer: torch.optim.Optimizer, result: TrainResult,
                             settings: PretrainSettings) -> Path:
    """Everything needed to resume: weights, tokenizer, optimizer, RNG states and counters.
    Written to a temporary folder and then renamed, so an interruption while saving never
    destroys the previous checkpoint."""
    target = Path(folder) / CHECKPOINT
    temporary = Path(folder) / (CHECKPOINT + ".tmp")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        accelerator.unwrap_model(model).save_pretrained(temporary)
        tokenizer.save_pretrained(temporary)
        torch.save(optimizer.state_dict(), temporary / "optimizer.pt")
        torch.save({"torch": torch.get_rng_state(), "python": random.getstate(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
                   temporary / "rng.pt")
        (temporary / "trainer_state.json").write_text(json.dumps(
            {"result": result.state(), "settings": asdict(settings)}, indent=1))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
    accelerator.wait_for_everyone()
    return target


def has_checkpoint(folder: Path | None) -> bool:
    return folder is not None and (Path(folder) / CHECKPOINT / "trainer_state.json").is_file()


def _load_training_checkpoint(folder: Path, model: BertForPreTraining, optimizer: torch.optim.Optimizer) -> TrainResult:
    from safetensors.torch import load_file

    source = Path(folder) / CHECKPOINT
    weights = load_file(source / "model.safetensors", device=str(next(model.parameters()).device))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"checkpoint does not match the model (missing {missing}, unexpected {unexpected})")
    model.tie_weights()
    optimizer.load_state_dict(torch.load(source / "optimizer.pt", map_location="cpu", weights_only=True))
    rng = torch.load(source / "rng.pt", weights_only=False)
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    state = json.loads((source / "trainer_state.json").read_text())["result"]
    return TrainResult(**state)


def _agree(accelerator: Any, flag: bool) -> bool:
    """True on every process if it is True on any: with several GPUs, a decision taken from a clock or a
    signal (stop, write a checkpoint) must be the same everywhere, or the processes wait for each other forever."""
    if accelerator.num_processes == 1:
        return flag
    return bool(accelerator.reduce(torch.tensor([float(flag)], device=accelerator.device), reduction="max").item())


def train(model: BertForPreTraining, tokenizer: Any, documents: list, settings: PretrainSettings,
          eval_batches: list[dict[str, torch.Tensor]] | None = None, checkpoint_dir: Path | None = None,
          resume: bool = False, accelerator: Any = None, progress: bool = True,
          stop_at_step: int | None = None) -> TrainResult:
    """Pretrain `model` on `documents` (tokenized, see `tokenize_documents`) with L = L_MLM + L_NSP.

    Stops at `settings.max_steps` or after `settings.minutes`, whichever comes first, or when
    interrupted (Ctrl-C, Jupyter's stop button, SIGTERM): the step in progress finishes and, with
    `checkpoint_dir`, a checkpoint is written that `resume=True` continues from exactly.
    `stop_at_step` pauses there as if interrupted (for tests and demonstrations).
    """
    from tqdm.auto import tqdm

    if settings.max_steps is None and settings.minutes is None:
        raise ValueError("give max_steps or minutes (or both)")
    accelerator = accelerator or make_accelerator()
    enable_fast_math(accelerator.device)
    model.to(accelerator.device)
    model.train()
    optimizer = make_optimizer(model, settings)
    result = TrainResult()
    if resume and has_checkpoint(checkpoint_dir):
        result = _load_training_checkpoint(checkpoint_dir, model, optimizer)
        result.interrupted = False
        accelerator.print(f"Resuming from step {result.step} (epoch {result.epoch}, batch {result.batch_in_epoch}).")
    if settings.compile:
        model.bert.compile(dynamic=None)
    objective, optimizer = accelerator.prepare(PretrainingObjective(model), optimizer)
    budget = None if settings.minutes is None else settings.minutes * 60
    last_checkpoint = time.perf_counter()
    # about a hundred refreshes per run: a notebook's output channel drops messages beyond ~1,000 queued
    # ones when nobody reads them during the cell (nbval), and a learner needs no more
    bar = tqdm(total=settings.max_steps, initial=result.step, disable=not (progress and accelerator.is_local_main_process),
               unit="step", dynamic_ncols=True, desc="pretraining", mininterval=2.0,
               miniters=max(1, (settings.max_steps or 0) // 100))
    window: Counter = Counter()
    started = time.perf_counter() - result.seconds

    def elapsed() -> float:
        return time.perf_counter() - started

    def progress_now() -> float:
        by_steps = result.step / settings.max_steps if settings.max_steps else 0.0
        by_time = elapsed() / budget if budget and not settings.max_steps else 0.0
        return max(by_steps, by_time)

    def done() -> bool:
        return ((settings.max_steps is not None and result.step >= settings.max_steps)
                or (budget is not None and elapsed() >= budget))

    with _StopRequest() as stop:
        while not done() and not stop.requested and result.step != stop_at_step:
            dataset = EpochBatches(documents, tokenizer, settings, result.epoch)
            # the loader's own generator: creating its iterator must not draw from the global RNG (dropout's),
            # or a resumed run would drop out different units than an uninterrupted one
            loader = accelerator.prepare_data_loader(torch.utils.data.DataLoader(
                dataset, batch_size=1, shuffle=False, collate_fn=dataset.collate, generator=torch.Generator()))
            if result.batch_in_epoch:
                loader = accelerator.skip_first_batches(loader, result.batch_in_epoch)
            for batch in loader:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(settings, progress_now())
                loss, mlm_loss, nsp_loss = objective(batch)
                accelerator.backward(loss)
                accelerator.clip_grad_norm_(objective.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                result.step += 1
                result.batch_in_epoch += 1
                tokens = int(batch["attention_mask"].sum()) * accelerator.num_processes
                result.tokens += tokens
                window.update(mlm=mlm_loss.item(), nsp=nsp_loss.item(), n=1)
                bar.update(1)
                if result.step % settings.log_every == 0:
                    result.seconds = elapsed()
                    entry = {"step": result.step, "mlm_loss": window["mlm"] / window["n"],
                             "nsp_loss": window["nsp"] / window["n"], "lr": optimizer.param_groups[0]["lr"],
                             "seconds": result.seconds, "tokens": result.tokens}
                    result.history["train"].append(entry)
                    left = f"{(budget - result.seconds) / 60:.1f} min left" if budget else ""
                    bar.set_postfix_str(f"MLM {entry['mlm_loss']:.2f}  NSP {entry['nsp_loss']:.3f}  {left}", refresh=False)
                    window.clear()
                if eval_batches and settings.eval_every and result.step % settings.eval_every == 0:
                    scores = evaluate(accelerator.unwrap_model(objective).model, eval_batches)
                    result.history["eval"].append({"step": result.step, **scores})
                if _agree(accelerator, done() or stop.requested or result.step == stop_at_step):
                    stop.requested = stop.requested or not (done() or result.step == stop_at_step)
                    break
                if (checkpoint_dir is not None and settings.checkpoint_minutes and result.step % settings.log_every == 0
                        and _agree(accelerator, time.perf_counter() - last_checkpoint > settings.checkpoint_minutes * 60)):
                    result.seconds = elapsed()
                    save_training_checkpoint(checkpoint_dir, accelerator, accelerator.unwrap_model(objective).model,
                                             tokenizer, optimizer, result, settings)
                    last_checkpoint = time.perf_counter()
            else:  # the epoch ran out: next epoch, fresh pairs and masks
                result.epoch += 1
                result.batch_in_epoch = 0
        result.interrupted = stop.requested or result.step == stop_at_step
    bar.close()
    result.seconds = elapsed()
    result.finished = done()
    if checkpoint_dir is not None:
        save_training_checkpoint(checkpoint_dir, accelerator, accelerator.unwrap_model(objective).model, tokenizer,
                                 optimizer, result, settings)
    if result.interrupted:
        accelerator.print(f"Stopped at step {result.step}" + (f"; resume from {checkpoint_dir}" if checkpoint_dir else "."))
    return result


def history_frame(result: TrainResult) -> Any:
    import pandas as pd

    return pd.DataFrame(result.history["train"])


def plot_history(history: dict[str, list[dict[str, float]]], baseline: dict[str, float] | None = None) -> Any:
    """Loss curves: MLM (train, held-out, unigram baseline) and NSP (train, held-out, chance)."""
    import matplotlib.pyplot as plt

    fig, (ax_mlm, ax_nsp) = plt.subplots(1, 2, figsize=(11, 3.8))
    train, held_out = history["train"], history["eval"]
    for ax, key, name in ((ax_mlm, "mlm_loss", "MLM"), (ax_nsp, "nsp_loss", "NSP")):
        ax.plot([e["step"] for e in train], [e[key] for e in train], label="training batches", alpha=0.8)
        if held_out:
            ax.plot([e["step"] for e in held_out], [e[key] for e in held_out], "o-", label="held-out")
        if baseline:
            ax.axhline(baseline[key], color="grey", ls="--",
                       label="unigram baseline" if key == "mlm_loss" else "chance (ln 2)")
        ax.set(xlabel="step", ylabel="cross-entropy (nats)", title=f"{name} loss")
        ax.legend()
    fig.tight_layout()
    return fig


@torch.no_grad()
def fill_mask(model: BertForPreTraining, tokenizer: Any, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """For each [MASK] in `text`, the `top_k` most likely tokens and their probabilities."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = tokenizer(text, return_tensors="pt").to(device)
    hidden = model.bert(**encoded).last_hidden_state[0]
    positions = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
    probabilities = model.cls.predictions(hidden[positions]).softmax(-1)
    model.train(was_training)
    best = probabilities.topk(top_k, dim=-1)
    return [[(tokenizer.convert_ids_to_tokens(int(i)), round(float(p), 3)) for p, i in zip(ps, ids)]
            for ps, ids in zip(best.values, best.indices)]


def save_pretrained_checkpoint(model: BertForPreTraining, tokenizer: Any, folder: Path,
                               summary: dict[str, Any] | None = None) -> Path:
    """Model and tokenizer in `save_pretrained` layout (what notebook 04 and fill-mask load),
    plus `pretraining_summary.json` describing how it was made."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if summary is not None:
        (folder / "pretraining_summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return folder
