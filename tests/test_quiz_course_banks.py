"""The course's own banks: they load, cover the required topics, keep answers out of sight,
and every closed question's hashed key agrees with an independently written answer table.

The table below is the reviewer's copy of the answers (the banks only hold salted hashes).
A new closed question fails `test_answer_table_covers_every_closed_question` until its
answer is added here, so no key goes unchecked.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bertcourse.quiz.bank import BANKS_DIR, Question, available_banks, load_bank
from bertcourse.quiz.computed import REGISTRY
from bertcourse.quiz.grading import grade

ANSWERS: dict[str, dict[str, object]] = {
    "00_start_here": {
        "bert_acronym": "Bidirectional Encoder Representations from Transformers",
        "bidirectional_context": 'Every layer lets "bank" attend to the words on both sides, '
                                 'including "water" after it',
        "why_not_left_to_right": "With unrestricted two-way attention each word could indirectly see the word it "
                                 "must predict, so the task would become trivial",
        "architecture_family": "Only the encoder stack",
        "encoder_only_traits": {"Self-attention has no causal mask, so each token can attend to every token",
                                "It outputs one contextual vector for every input token",
                                "It is adapted to a task by adding a small task-specific head and fine-tuning"},
        "base_layers": 12,
        "large_hidden": 1024,
        "large_heads": 16,
        "base_specs": "12 layers, hidden size 768, 12 heads, about 110M parameters",
        "large_parameters": 340,
        "mlm_rate": 15,
        "mlm_replacement": "80% become [MASK], 10% a random token, 10% stay unchanged",
        "mlm_why_mix": {"[MASK] never appears during fine-tuning, so always masking would create a mismatch "
                        "between pretraining and fine-tuning",
                        "Because the model cannot know which tokens were changed, it has to build a good "
                        "representation of every token"},
        "mask_token": ["[MASK]"],
    },
    "01_tokenization": {
        "subword_algorithm": ["WordPiece", "word piece"],
        "hash_prefix": "The piece continues the previous piece inside the same word",
        "special_tokens": {"[CLS] comes first; its final hidden state is used for sequence classification",
                           "[SEP] ends each segment and separates the two sentences of a pair",
                           "[PAD] fills shorter sequences up to the length of the batch"},
        "unk_token": ["[UNK]"],
        "attention_mask": "1 for real tokens and 0 for padding positions",
        "token_type_ids": "0 for [CLS], sentence A and the first [SEP]; 1 for sentence B and the last [SEP]",
        "max_length": 512,
        "vocab_size": 30522,
        "cased_uncased": "It lower-cases the text and strips accents before splitting it into pieces",
    },
    "02_architecture": {
        "embedding_sum": "It adds the token, position and segment embeddings, then applies LayerNorm and dropout",
        "attention_formula": "softmax(Q Kᵀ / √d_k) V",
        "sqrt_dk": "Dot products grow with d_k, and large scores saturate the softmax so gradients become tiny",
        "head_size": 64,
        "layer_parts": {"Multi-head self-attention",
                        "A residual connection followed by LayerNorm around each sublayer",
                        "A position-wise feed-forward network with a GELU activation"},
        "ffn_size": 3072,
        "ffn_ratio": 4,
        "layernorm_place": "After each residual addition, as LayerNorm(x + Sublayer(x))",
        "parameter_share": "In the 12 encoder layers together",
    },
}
MINIMUM_QUESTIONS = {"00_start_here": 8, "01_tokenization": 6, "02_architecture": 6}


def closed_questions() -> list:
    return [pytest.param(question, answers.get(question.id), id=f"{notebook}/{question.id}")
            for notebook, answers in ANSWERS.items()
            for question in load_bank(notebook).questions if question.type != "computed"]


def ids_of(question: Question, texts: set[str]) -> list[str]:
    found = [c.id for c in question.choices if c.text in texts]
    assert len(found) == len(texts), f"answer table text not among the choices of {question.id}"
    return found


def test_required_banks_exist_with_enough_questions():
    assert set(MINIMUM_QUESTIONS) <= set(available_banks())
    for notebook, minimum in MINIMUM_QUESTIONS.items():
        bank = load_bank(notebook)
        assert len(bank.questions) >= minimum
        assert all(q.hint.strip() for q in bank.questions)
    types = {q.type for q in load_bank("00_start_here").questions}
    assert types >= {"single", "multiple", "numeric", "text"}


def test_computed_questions_use_the_agreed_live_values():
    needs = {nb: {name for q in load_bank(nb).questions if q.type == "computed"
                  for name in REGISTRY[q.compute].needs} for nb in ("01_tokenization", "02_architecture")}
    assert needs == {"01_tokenization": {"tokenizer"}, "02_architecture": {"config"}}


def test_answer_table_covers_every_closed_question():
    for notebook, answers in ANSWERS.items():
        closed = {q.id for q in load_bank(notebook).questions if q.type != "computed"}
        assert closed == set(answers), notebook


@pytest.mark.parametrize(("question", "answer"), closed_questions())
def test_key_accepts_the_answer_and_rejects_the_rest(question: Question, answer: object):
    if question.type == "single":
        right = ids_of(question, {answer})[0]
        assert grade(question, {"choice": right}).correct
        for choice in question.choices:
            if choice.id != right:
                assert not grade(question, {"choice": choice.id}).correct
    elif question.type == "multiple":
        right = ids_of(question, answer)
        assert grade(question, {"choices": right}).correct
        assert not grade(question, {"choices": right[:-1]}).correct
        wrong = [c.id for c in question.choices if c.id not in right]
        assert wrong, "a multiple-select question needs a wrong option"
        assert not grade(question, {"choices": [*right, wrong[0]]}).correct
    elif question.type == "numeric":
        value = Decimal(answer)
        for accepted in (value - question.tolerance, value, value + question.tolerance):
            assert grade(question, {"value": str(accepted)}).correct
        for rejected in (value - question.tolerance - 1, value + question.tolerance + 1):
            assert not grade(question, {"value": str(rejected)}).correct
    else:
        for spelling in answer:
            assert grade(question, {"value": f"  {spelling.upper()} "}).correct
        assert not grade(question, {"value": "BPE"}).correct


@pytest.mark.parametrize("notebook", sorted(ANSWERS))
def test_bank_files_hold_no_plain_answers(notebook):
    bank = load_bank(notebook)
    raw = (BANKS_DIR / f"{notebook}.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*-?\s*(correct|answer|answers):", raw, re.MULTILINE)
    for question in bank.questions:
        for place in (None, *question.choices):
            explanation = question.explanation_of(place)
            if explanation:
                assert explanation not in raw
        answer = ANSWERS[notebook].get(question.id)
        if question.type in ("numeric", "text"):
            for plain in answer if isinstance(answer, list) else [str(answer)]:
                visible = f"{question.text} {question.hint}"
                assert not re.search(rf"(?<![\w.]){re.escape(plain)}(?![\w])", visible, re.IGNORECASE), \
                    f"{question.id} shows its answer {plain}"
