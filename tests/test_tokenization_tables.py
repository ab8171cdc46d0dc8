"""The token tables of notebook 01 show exactly what the tokenizer returns."""

from __future__ import annotations

import pytest

import bertcourse
from bertcourse.tokenization import batch_table, encoding_table, segmentation_table, special_tokens_table


@pytest.fixture(scope="module")
def tokenizer():
    return bertcourse.load_tokenizer("bert-base-uncased")


def test_encoding_table_has_one_row_per_token_with_ids_masks_and_spans(tokenizer) -> None:
    table = encoding_table(tokenizer, "The movie was great")
    assert table["token"].tolist() == ["[CLS]", "the", "movie", "was", "great", "[SEP]"]
    assert table["id"].tolist() == tokenizer("The movie was great")["input_ids"]
    assert table["attention_mask"].tolist() == [1] * 6 and table["token_type_id"].tolist() == [0] * 6
    assert table["chars"].tolist() == [None, (0, 3), (4, 9), (10, 13), (14, 19), None]
    assert table["text"].tolist() == ["", "The", "movie", "was", "great", ""]
    assert table.index.name == "position"


def test_encoding_table_of_a_pair_takes_spans_from_the_right_sentence(tokenizer) -> None:
    table = encoding_table(tokenizer, "Great film.", "Loved it")
    assert table["token_type_id"].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert table["text"].tolist() == ["", "Great", "film", ".", "", "Loved", "it", ""]


def test_encoding_table_passes_truncation_through(tokenizer) -> None:
    table = encoding_table(tokenizer, "one two three four five six", truncation=True, max_length=4)
    assert table["token"].tolist() == ["[CLS]", "one", "two", "[SEP]"]


def test_encoding_table_refuses_a_batch(tokenizer) -> None:
    with pytest.raises(ValueError, match="batch_table"):
        encoding_table(tokenizer, ["a", "b"])


def test_batch_table_shows_padding_and_masks(tokenizer) -> None:
    texts = ["the movie was great", "bad"]
    tokens = batch_table(tokenizer, texts, padding=True)
    assert tokens.loc["text 1"].tolist() == ["[CLS]", "bad", "[SEP]", "[PAD]", "[PAD]", "[PAD]"]
    masks = batch_table(tokenizer, texts, field="attention_mask", padding=True)
    assert masks.loc["text 1"].tolist() == [1, 1, 1, 0, 0, 0]
    ragged = batch_table(tokenizer, texts)  # without padding, short rows are filled with blanks for display
    assert ragged.loc["text 1"].tolist() == ["[CLS]", "bad", "[SEP]", "", "", ""]
    with pytest.raises(ValueError, match="field must be"):
        batch_table(tokenizer, texts, field="offsets")


def test_segmentation_table_lists_pieces_and_counts(tokenizer) -> None:
    table = segmentation_table(["Talkie", "the"], {"BERT": tokenizer})
    assert table.loc["Talkie", "BERT"] == "talk ##ie" and table.loc["Talkie", "BERT pieces"] == 2
    assert table.loc["the", "BERT pieces"] == 1


def test_special_tokens_table_has_berts_ids(tokenizer) -> None:
    table = special_tokens_table(tokenizer)
    assert table["id"].to_dict() == {"[CLS]": 101, "[SEP]": 102, "[PAD]": 0, "[UNK]": 100, "[MASK]": 103}
