"""`train_wordpiece` learns the same WordPiece vocabulary every run, in WordPiece's spelling.

The library's own WordPieceTrainer breaks ties between equally frequent merges in hash order
(huggingface/tokenizers#1794); notebook 03 pretrains on the vocabulary, so a different vocabulary
each run meant a different BERT in every later lesson.
"""

from __future__ import annotations

from bertcourse.tokenization import SPECIAL_TOKENS, train_wordpiece

# Many words of equal frequency, so that the merge order is decided by ties.
TEXTS = [
    "Glaciers carve valleys; rivers cut canyons, and winds shape dunes.",
    "Volcanoes build islands while reefs grow around them over millennia.",
    "Orbits bend near massive stars, and comets return on long ellipses.",
    "Ferns, mosses and lichens colonise bare rock after a lava flow cools.",
    "The café served naïve Über-sweet pastries in 1987 and 2003.",
] * 2


def test_the_vocabulary_is_the_same_every_run() -> None:
    vocabularies = [train_wordpiece(TEXTS, vocab_size=180).get_vocab() for _ in range(6)]
    assert all(vocabulary == vocabularies[0] for vocabulary in vocabularies)


def test_vocabulary_is_in_wordpiece_spelling_with_specials_first() -> None:
    tokenizer = train_wordpiece(TEXTS, vocab_size=180)
    vocab = tokenizer.get_vocab()
    assert len(vocab) == 180
    assert [piece for piece, _ in sorted(vocab.items(), key=lambda kv: kv[1])][:5] == SPECIAL_TOKENS
    # every character has its plain form; characters seen inside a word have a ## form too
    assert {"g", "v", "9", "8"} <= set(vocab) and {"##9", "##8", "##s"} <= set(vocab)
    assert all(ord(c) < 0xF0000 for piece in vocab for c in piece)   # no private-use marks leak out
    pieces = tokenizer.tokenize("glaciers carve valleys")
    assert pieces[0].startswith("g") and not pieces[0].startswith("##")
    assert tokenizer.convert_tokens_to_string(pieces) == "glaciers carve valleys"
    assert "[UNK]" not in tokenizer.tokenize("rivers shape millennia")


def test_cased_training_keeps_case_and_accents() -> None:
    tokenizer = train_wordpiece(TEXTS, vocab_size=200, lowercase=False)
    assert {"G", "V", "Ü", "##ï"} <= set(tokenizer.get_vocab())
    assert tokenizer.backend_tokenizer.normalizer.normalize_str("Über café") == "Über café"
