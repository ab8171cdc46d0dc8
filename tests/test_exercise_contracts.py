"""Lessons 04-09's exercises ask for what the lesson's own code (or the library it calls) computes.

The engine's tests (test_exercises.py) check that every sealed reference passes its hidden tests
and every known-wrong variant fails as declared. These tests check the contracts themselves: each
sealed reference agrees with the package function or library the lesson goes on with, on random
inputs, so a learner who passes is computing what the lesson uses, and the stubs' docstrings
describe the real thing. They also check that every exercise's anchor names exactly one cell of
its notebook, so the insertion tool knows where the exercise goes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from bertcourse.quiz.exercises import catalog, engine

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSON_IDS = [item.id for item in catalog.entries().values() if item.id[:2] in {"04", "05", "06", "07", "08", "09"}]


def reference(exercise_id: str):
    return catalog.entry(exercise_id).reference()


def test_lessons_04_to_09_have_their_exercises() -> None:
    notebooks = {catalog.entry(exercise_id).notebook for exercise_id in LESSON_IDS}
    assert notebooks == {"04_finetuning", "05_ner", "06_biobert", "07_distillation", "08_question_answering",
                         "09_embeddings_search"}


@pytest.mark.parametrize("exercise_id", LESSON_IDS)
def test_the_anchor_names_exactly_one_cell(exercise_id: str) -> None:
    item, exercise = engine.declaration(exercise_id)
    cells = json.loads((NOTEBOOKS / f"{item.notebook}.ipynb").read_text(encoding="utf-8"))["cells"]
    matching = [cell for cell in cells if "".join(cell["source"]).startswith(exercise.anchor)
                and not cell.get("metadata", {}).get("bertcourse", {}).get("exercise")]
    assert len(matching) == 1, f"{exercise_id}: anchor {exercise.anchor!r} matches {len(matching)} cells"


def test_macro_f1_is_scikit_learns() -> None:
    from sklearn.metrics import f1_score

    macro_f1 = reference("04_macro_f1")
    rng = np.random.default_rng(0)
    for _ in range(50):
        classes = int(rng.integers(2, 8))
        truth, guess = rng.integers(0, classes, 60), rng.integers(0, classes, 60)
        confusion = np.zeros((classes, classes), dtype=int)
        np.add.at(confusion, (truth, guess), 1)
        expected = f1_score(truth, guess, labels=list(range(classes)), average="macro", zero_division=0)
        assert macro_f1(confusion) == pytest.approx(expected, abs=1e-12)


def test_linear_schedule_is_the_trainers() -> None:
    from transformers import get_linear_schedule_with_warmup

    linear_schedule = reference("04_linear_schedule")
    for warmup, total in ((0, 7), (2, 6), (38, 375), (10, 11)):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=5e-5)
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
        used = []
        for _ in range(total):
            used.append(optimizer.param_groups[0]["lr"])   # the rate the optimizer step uses
            optimizer.step()
            scheduler.step()
        assert linear_schedule(5e-5, warmup, total) == pytest.approx(used, rel=1e-12, abs=1e-20)


def test_every_subword_alignment_extends_the_lessons() -> None:
    """First pieces carry what the lesson's alignment gives them; later pieces the I- form."""
    from bertcourse.token_classification import align_labels_with_tokens

    align = reference("05_align_every_subword")
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    rng = random.Random(0)
    for _ in range(200):
        labels = [rng.randrange(len(names)) for _ in range(rng.randint(0, 8))]
        word_ids = [None, *(w for w in range(len(labels)) for _ in range(rng.randint(1, 3))), None, None]
        lesson, every = align_labels_with_tokens(word_ids, labels), align(word_ids, labels, names)
        for position, (first_only, all_pieces) in enumerate(zip(lesson, every, strict=True)):
            if first_only != -100 or word_ids[position] is None:
                assert all_pieces == first_only
            else:
                assert names[all_pieces] == names[labels[word_ids[position]]].replace("B-", "I-")


def test_iob2_entities_are_seqevals() -> None:
    from seqeval.metrics.sequence_labeling import get_entities

    iob2_entities = reference("05_iob2_entities")
    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]
    for _ in range(500):
        sentence = [rng.choice(tags) for _ in range(rng.randint(0, 15))]
        assert iob2_entities(sentence) == get_entities(sentence), sentence


def test_fertility_is_the_fragmentation_tables_subwords_per_word() -> None:
    import bertcourse as bc
    from bertcourse import domain_adaptation as da

    fertility = reference("06_subword_fertility")
    tokenizer = bc.load_tokenizer("bert-base-cased")
    words = ["The", "patient", "was", "diagnosed", "with", "glomerulonephritis", "and", "metformin", "."]
    table = da.fragmentation_table(tokenizer, {"words": words})
    encoded = tokenizer([" ".join(words[:4]), " ".join(words[4:])], padding=True)
    texts = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded["input_ids"]]
    assert "[PAD]" in texts[0] + texts[1]
    assert round(fertility(texts), 2) == table.loc["words", "subwords per word"]


def test_soft_target_loss_is_the_lessons_soft_term() -> None:
    from bertcourse.distillation import distillation_loss

    soft_target_loss = reference("07_soft_target_loss")
    generator = torch.Generator().manual_seed(0)
    for temperature in (1.0, 2.0, 5.0):
        student, teacher = (4 * torch.randn(2, 16, 6, generator=generator)).unbind(0)
        labels = torch.randint(0, 6, (16,), generator=generator)
        lesson = distillation_loss(student, teacher, labels, temperature=temperature, alpha=0.0)
        assert torch.allclose(soft_target_loss(student, teacher, temperature), lesson, rtol=1e-5, atol=1e-6)


def test_quantize_int8_is_what_dynamic_quantization_stores() -> None:
    quantize_int8 = reference("07_quantize_int8")
    torch.manual_seed(0)
    for rows, columns in ((16, 8), (64, 48), (3, 200)):
        layer = torch.nn.Linear(columns, rows)
        quantized = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(layer), {torch.nn.Linear},
                                                           dtype=torch.qint8)
        stored = quantized[0].weight()
        q, scale = quantize_int8(layer.weight.detach())
        assert scale == pytest.approx(stored.q_scale(), rel=1e-6)
        differ = (q.int() - stored.int_repr().int()).abs()
        assert differ.max() <= 1 and int((differ > 0).sum()) <= 1     # at most one rounding tie


def test_best_span_agrees_with_the_lessons_post_processing() -> None:
    """With every start and end considered (n_best = window length) the lesson's best_answer finds
    the same span as the exact search."""
    from bertcourse.question_answering import Window, best_answer

    best_span = reference("08_best_span")
    rng = np.random.default_rng(0)
    context = "x" * 400
    for _ in range(50):
        size, question = 40, int(rng.integers(3, 10))
        mask = np.zeros(size, dtype=bool)
        mask[question + 2: size - 1] = True
        starts, ends = rng.normal(size=size), rng.normal(size=size)
        offsets = [(3 * i, 3 * i + 2) if mask[i] else None for i in range(size)]
        answer = best_answer([Window(starts, ends, offsets)], context, max_answer_length=8, n_best=size)
        start, end = best_span(starts, ends, mask, 8)
        assert (answer.start_char, len(answer.text)) == (3 * start, 3 * end + 2 - 3 * start)


def test_context_windows_are_the_tokenizers() -> None:
    import bertcourse as bc
    from bertcourse import question_answering as qa

    context_windows = reference("08_context_windows")
    tokenizer = bc.load_tokenizer("bert-base-uncased")
    question, context = "what is it?", " ".join(f"w{i}" for i in range(60))
    context_tokens = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    for max_length, stride in ((40, 8), (48, 16), (30, 5), (64, 0), (200, 10)):
        encoded = qa.encode_windows(tokenizer, [question], [context], max_length, stride)
        sizes = [sum(segment == 1 for segment in encoded.sequence_ids(w)) for w in range(len(encoded["input_ids"]))]
        windows = context_windows(context_tokens, max_length - question_tokens - 3, stride)
        assert [end - start for start, end in windows] == sizes
        for w, (start, end) in enumerate(windows):
            ids = [t for t, s in zip(encoded["input_ids"][w], encoded.sequence_ids(w), strict=True) if s == 1]
            assert ids == tokenizer(context, add_special_tokens=False)["input_ids"][start:end]


def test_cosine_top_k_is_exact_search_on_unit_vectors() -> None:
    from bertcourse import search

    cosine_top_k = reference("09_cosine_top_k")
    rng = np.random.default_rng(0)
    documents = rng.normal(size=(30, 8)) * rng.uniform(0.5, 9, size=(30, 1))
    queries = rng.normal(size=(5, 8)) * 3
    unit = documents / np.linalg.norm(documents, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores, top = search.exact_top_k(unit_queries, unit, 4)
    for row, query in enumerate(queries):
        indices, cosines = cosine_top_k(query, documents, 4)
        assert indices == top[row].tolist()
        assert np.allclose(cosines, scores[row])


def test_mrr_at_k_without_a_cut_off_is_the_lessons_mrr() -> None:
    """With k = every document, MRR@k is what the lesson computes from `search.rankings`."""
    from bertcourse import search

    mrr_at_k = reference("09_mrr_at_k")
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(30, 20)), 1)                 # rounded: ties happen
    relevant = [set(rng.choice(20, size=int(rng.integers(0, 3)), replace=False).tolist()) for _ in range(30)]
    expected = search.mean_reciprocal_rank(search.rankings(scores), relevant)
    assert mrr_at_k(scores, relevant, 20) == pytest.approx(expected, abs=1e-12)
    assert mrr_at_k(scores, relevant, 3) <= expected
