"""Issue 33, lessons 03 and 04: notebook 03's pretraining with other settings, and what it gives.

Default mode: pretrains the tiny BERT with the laptop settings plus any `PretrainSettings` override, then prints
the held-out MLM scores, the top-5 hit rate at every held-out `[MASK]` position against the frequency prior's
five (paired bootstrap interval), and top-5 hits on word probes chosen by rule from the held-out articles (the
second piece of each two-piece word of an article's first sentence; each one-piece content word that already
occurred earlier in its article). `finetune=1` also fine-tunes it and its random-weight twin on the emotion data
(`ft_epochs`, `ft_lr`, `ft_bs`) and prints both accuracies against the majority answer.

`mode=minilm_head` instead trains a fresh MLM head on top of the frozen MiniLM (and, as the control, on a frozen
random encoder of the same shape) on `data/corpus`, and scores content-word probes. Results: `results_payoff.md`.

    python benchmarks/payoff_03.py [mlm_probability=0.4 learning_rate=0.004] [finetune=1 ft_bs=64 ft_lr=1e-3]
    python benchmarks/payoff_03.py mode=minilm_head [epochs=2 lr=1e-3]
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from collections import Counter
from typing import Any

OPTIONS = ("mode", "finetune", "ft_lr", "ft_epochs", "ft_bs", "epochs", "lr")


def word_probes(documents: list[list[str]], tokenizer: Any) -> dict[str, list[tuple[str, str]]]:
    """(text with one [MASK], hidden piece) for the two rule-chosen kinds of probe."""
    probes: dict[str, list[tuple[str, str]]] = {"continuation": [], "repeated word": []}
    for document in documents:
        seen: set[str] = set()
        for index, sentence in enumerate(document):
            words = sentence.split()
            for i, word in enumerate(words):
                pieces = tokenizer.tokenize(word)
                if index == 0 and word.isalpha() and len(pieces) == 2:
                    masked = words[:i] + [pieces[0] + tokenizer.mask_token] + words[i + 1:]
                    probes["continuation"].append((" ".join(masked), pieces[1]))
                if index > 0 and word.isalpha() and len(word) > 3 and len(pieces) == 1 and word.lower() in seen:
                    masked = words[:i] + [tokenizer.mask_token] + words[i + 1:]
                    probes["repeated word"].append((document[index - 1] + " " + " ".join(masked), word.lower()))
            seen |= {word.lower() for word in words}
    return probes


def pretrain(args: dict[str, str], options: dict[str, str], result: dict[str, Any]) -> None:
    """`args`: `PretrainSettings` overrides; `options`: the fine-tuning switches."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, BertForPreTraining

    import bertcourse as bc
    from bertcourse import classification as clf
    from bertcourse import intervals, training
    from bertcourse.pretrain_data import make_eval_batches, tokenize_documents
    from bertcourse.pretrain_loop import (MASKED, baselines, bert_config, evaluate, fill_mask, held_out_predictions,
                                          train)
    from bertcourse.pretrain_settings import settings_for
    from bertcourse.tokenization import train_wordpiece

    overrides = {key: float(value) if "." in value or "e-" in value else int(value) for key, value in args.items()}
    settings = settings_for("laptop", **overrides)
    corpus = bc.load_dataset("wikipedia")
    train_docs, held_out_docs = corpus["train"]["sentences"], corpus["validation"]["sentences"]
    tokenizer = train_wordpiece((s for doc in train_docs for s in doc), vocab_size=settings.vocab_size)
    train_ids, held_out_ids = tokenize_documents(train_docs, tokenizer), tokenize_documents(held_out_docs, tokenizer)
    torch.manual_seed(settings.seed)
    model = BertForPreTraining(bert_config(settings.model_size, len(tokenizer), settings.max_length))
    eval_batches = make_eval_batches(held_out_ids, tokenizer, settings.max_length, pairs=1000)
    reference = baselines(train_ids, eval_batches, len(tokenizer), tokenizer.mask_token_id)
    start = time.perf_counter()
    run = train(model, tokenizer, train_ids, settings, progress=False)
    scores = evaluate(model, eval_batches, tokenizer.mask_token_id)
    result.update(pretraining_seconds=round(time.perf_counter() - start),
                  train_mlm_loss=run.history["train"][-1]["mlm_loss"], held_out_mlm_loss=scores["mlm_loss"],
                  accuracy_at_mask=scores["mlm_accuracy_mask"],
                  most_frequent_token=reference["mlm_accuracy_mask"])

    predictions = held_out_predictions(model, eval_batches, tokenizer.mask_token_id)
    at_mask = predictions["kind"] == MASKED
    answers = predictions["target"][at_mask]
    counts = Counter(token for doc in train_ids for sentence in doc for token in sentence)
    prior = torch.tensor([token for token, _ in counts.most_common(5)])
    in_top5 = (predictions["top5"][at_mask] == answers[:, None]).any(dim=1).float().numpy()
    in_prior = torch.isin(answers, prior).float().numpy()
    result.update(mask_positions=len(answers), top5=float(in_top5.mean()), prior_top5=float(in_prior.mean()),
                  top5_minus_prior=str(intervals.mean_interval(in_top5 - in_prior)))
    for kind, probes in word_probes(held_out_docs, tokenizer).items():
        hits = [hidden in [token for token, _ in fill_mask(model, tokenizer, text)[0]] for text, hidden in probes]
        result[f"{kind} probes in top 5"] = f"{sum(hits)} of {len(hits)}"

    if options.get("finetune") == "1":
        folder = tempfile.mkdtemp()
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        emotion = bc.load_dataset("emotion")
        recipe = dataclasses.replace(clf.default_settings(), learning_rate=float(options.get("ft_lr", 1e-3)),
                                     epochs=int(options.get("ft_epochs", 40)), batch_size=int(options.get("ft_bs", 64)),
                                     max_length=min(clf.default_settings().max_length, settings.max_length))
        labels = np.array(emotion["test"]["label"])
        classes = len(set(emotion["train"]["label"]))
        data = clf.tokenize_for_classification(emotion, tokenizer, recipe.max_length)
        bc.set_seed(0)
        pretrained = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=classes)
        bc.set_seed(0)
        random_twin = AutoModelForSequenceClassification.from_config(pretrained.config)
        twins = {"pretrained": pretrained, "random weights": random_twin}
        predicted = {}
        for name, network in twins.items():
            arguments = training.training_arguments(recipe, tempfile.mkdtemp(), eval_strategy="no",
                                                    logging_strategy="no", disable_tqdm=True)
            training.make_trainer(network, tokenizer, arguments, data["train"]).train()
            predicted[name] = training.predict_probabilities(network, tokenizer, emotion["test"]["text"],
                                                             recipe.max_length).argmax(axis=1)
            result[f"emotion accuracy, {name}"] = str(training.bootstrap_scores(labels, predicted[name])["accuracy"])
        majority = np.full_like(labels, np.bincount(emotion["train"]["label"]).argmax())
        result["pretrained minus random"] = str(training.bootstrap_scores(
            labels, predicted["pretrained"], reference=predicted["random weights"])["accuracy"])
        result["pretrained minus majority"] = str(training.bootstrap_scores(
            labels, predicted["pretrained"], reference=majority)["accuracy"])


def minilm_head(args: dict[str, str], result: dict[str, Any]) -> None:
    """`args`: the head's `epochs` and `lr`."""
    import numpy as np
    import torch

    import bertcourse as bc
    from bertcourse import domain_adaptation as da
    from bertcourse import intervals

    corpus = bc.load_dataset("wikipedia")
    tokenizer = bc.load_tokenizer("bert-base-uncased")
    blocks = da.corpus_blocks(corpus["train"]["sentences"], tokenizer, 64)
    settings = da.AdaptationSettings(block_size=64, mlm_probability=0.15, learning_rate=float(args.get("lr", 1e-3)),
                                     epochs=int(args.get("epochs", 2)), batch_size=32, warmup_ratio=0.06)
    counts = Counter(token for ids in blocks["input_ids"] for token in ids[1:-1])
    prior = {token for token, _ in counts.most_common(5)}
    probes = []
    for document in corpus["validation"]["sentences"]:
        for index in range(1, len(document)):
            words = document[index].split()
            for i, word in enumerate(words):
                if word.isalpha() and len(word) > 3 and len(tokenizer.tokenize(word)) == 1:
                    masked = " ".join(words[:i] + [tokenizer.mask_token] + words[i + 1:])
                    probes.append((document[index - 1] + " " + masked, tokenizer.convert_tokens_to_ids(word.lower())))
    probes = probes[::max(1, len(probes) // 300)][:300]
    in_prior = np.array([float(target in prior) for _, target in probes])
    for name in ("pretrained", "random"):
        bc.set_seed(0)
        model, _ = da.masked_lm_with_head("bert-base-uncased")
        if name == "random":
            model = type(model)(model.config)
        for parameter in model.bert.parameters():
            parameter.requires_grad_(False)                      # only the head learns
        da.make_mlm_trainer(model, tokenizer, settings, blocks, tempfile.mkdtemp(), logging_strategy="no").train()
        model.eval()
        hits = []
        with torch.no_grad():
            for text, target in probes:
                encoded = tokenizer(text, return_tensors="pt", truncation=True, max_length=128)
                position = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]
                hits.append(float(target in model(**encoded).logits[0, position].topk(5).indices.tolist()))
        result[f"{name} encoder: probes in top 5"] = float(np.mean(hits))
        result[f"{name} encoder minus prior"] = str(intervals.mean_interval(np.array(hits) - in_prior))


def main(args: dict[str, str]) -> None:
    import bertcourse as bc

    bc.use_profile("laptop")
    options = {key: args.pop(key) for key in list(args) if key in OPTIONS}
    result: dict[str, Any] = {"arguments": {**args, **options}}
    if options.get("mode") == "minilm_head":
        minilm_head(options, result)
    else:
        pretrain(args, options, result)
    print("RESULT", json.dumps(result, default=str))


if __name__ == "__main__":
    main(dict(argument.split("=", 1) for argument in sys.argv[1:]))
