"""Issue 33, lesson 04: notebook 03's BERT on 04's emotion tweets, with one head or recipe changed, against the
majority answer and against the same architecture from random weights (the notebook's controls).

Needs notebook 03's checkpoint in the course home (`BERTCOURSE_HOME`). `head` is where the classifier reads:
`cls` (`AutoModelForSequenceClassification`, the pooler on `[CLS]`), `mean` (`classification.MeanPoolingClassifier`,
what notebook 04 uses for this model) or `probe` (no fine-tuning: a logistic regression on the frozen encoder's
mean-pooled vectors, notebook 04's section-2 probe). Results: `results_payoff.md`.

    BERTCOURSE_HOME=<home with 03_pretrained> python benchmarks/payoff_04.py head=mean [lr=2e-3] [epochs=15] [batch_size=32]

Validation accuracy is printed too: recipes are chosen on it, never on the test set.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time

import numpy as np


def main(args: dict[str, str]) -> None:
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    import bertcourse as bc
    from bertcourse import classification as clf
    from bertcourse import training

    bc.use_profile("laptop")
    emotion = bc.load_dataset("emotion")
    labels = {split: np.array(emotion[split]["label"]) for split in ("train", "validation", "test")}
    n_labels = len(emotion["train"].features["label"].names)
    path = bc.paths.saved_checkpoint("03_pretrained")
    tokenizer = AutoTokenizer.from_pretrained(path)
    head = args.get("head", "mean")
    recipe = dataclasses.replace(clf.default_settings(), learning_rate=float(args.get("lr", 2e-3)),
                                 epochs=int(args.get("epochs", 15)), batch_size=int(args.get("batch_size", 32)),
                                 max_length=64)   # notebook 03's position table

    def build(pretrained: bool) -> object:
        """The notebook's construction: seed 0 before the weights, and again before a new head."""
        bc.set_seed(0)
        if head == "cls":
            network = AutoModelForSequenceClassification.from_pretrained(path, num_labels=n_labels)
            if not pretrained:
                bc.set_seed(0)
                network = AutoModelForSequenceClassification.from_config(network.config)
            return network
        encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)
        if not pretrained:
            bc.set_seed(0)
            encoder = AutoModel.from_config(encoder.config, add_pooling_layer=False)
        if head == "probe":
            return encoder
        bc.set_seed(0)
        return clf.MeanPoolingClassifier(encoder, num_labels=n_labels)

    def predictions(pretrained: bool) -> tuple[dict[str, np.ndarray], float]:
        network = build(pretrained)
        start = time.perf_counter()
        if head == "probe":
            features = {split: clf.frozen_features(network, tokenizer, emotion[split]["text"], recipe.max_length)["mean"]
                        for split in labels}
            probe = clf.logistic_regression(features["train"], labels["train"])
            return {split: probe.predict(features[split]) for split in ("validation", "test")}, time.perf_counter() - start
        data = clf.tokenize_for_classification(emotion, tokenizer, recipe.max_length)
        arguments = training.training_arguments(recipe, tempfile.mkdtemp(), eval_strategy="no", logging_strategy="no",
                                                disable_tqdm=True)
        training.make_trainer(network, tokenizer, arguments, data["train"]).train()
        seconds = time.perf_counter() - start
        return {split: training.predict_probabilities(network, tokenizer, emotion[split]["text"], recipe.max_length)
                .argmax(axis=1) for split in ("validation", "test")}, seconds

    pretrained, seconds = predictions(True)
    twin, twin_seconds = predictions(False)
    majority = np.full_like(labels["test"], np.bincount(labels["train"]).argmax())
    over_majority = training.bootstrap_scores(labels["test"], pretrained["test"], reference=majority)
    over_twin = training.bootstrap_scores(labels["test"], pretrained["test"], reference=twin["test"])
    print(f"RESULT {args} seconds={seconds:.0f}+{twin_seconds:.0f} "
          f"validation={np.mean(pretrained['validation'] == labels['validation']):.3f} "
          f"test={np.mean(pretrained['test'] == labels['test']):.3f} "
          f"twin_validation={np.mean(twin['validation'] == labels['validation']):.3f} "
          f"twin_test={np.mean(twin['test'] == labels['test']):.3f} "
          f"accuracy-majority={over_majority['accuracy']} macro_f1-majority={over_majority['macro_f1']} "
          f"accuracy-twin={over_twin['accuracy']} macro_f1-twin={over_twin['macro_f1']}")


if __name__ == "__main__":
    main(dict(argument.split("=", 1) for argument in sys.argv[1:]))
