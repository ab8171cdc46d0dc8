"""One call to get the tokenizer, model or dataset of the active profile.

    tokenizer = load_tokenizer("bert-base-uncased")
    encoder = load_model("bert-base-uncased")                      # AutoModel
    classifier = load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=6)
    emotion = load_dataset("emotion")                              # DatasetDict

Where things come from, in order: the laptop profile's offline stand-ins; in the gpu profile a
local copy under `BERTCOURSE_MODEL_DIR/<key>` or `BERTCOURSE_DATA_DIR/<folder>`; else the hub.
Each load prints one line saying what was requested and what actually serves it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import datasets
import transformers
from transformers import AutoModel, AutoTokenizer

from bertcourse.course import formats
from bertcourse.course.errors import ResourceUnavailable
from bertcourse.course.minilm import PACKAGE as MINILM_PACKAGE
from bertcourse.course.minilm import verified_model_dir
from bertcourse.course.paths import shipped_data_dir
from bertcourse.course.profiles import active_profile, resolve_model_key
from bertcourse.course.registry import DATASETS, MINILM, MODELS, DatasetEntry

_LOCAL_COPY_FIX = ("run `bertcourse prefetch` where the hub is reachable (or `bertcourse prefetch --from DIR` "
                   "from a copy) and set the BERTCOURSE_MODEL_DIR / BERTCOURSE_DATA_DIR line it prints, or "
                   "switch to the offline profile with bertcourse.use_profile('laptop')")


def model_source(key: str) -> tuple[str, str]:
    """(what `from_pretrained` should read, a human description of where that is) for a served key."""
    if key == MINILM:
        return str(verified_model_dir()), f"the {MINILM_PACKAGE} package (offline)"
    model_dir = os.environ.get("BERTCOURSE_MODEL_DIR")
    if model_dir and (Path(model_dir) / key).is_dir():
        return str(Path(model_dir) / key), f"BERTCOURSE_MODEL_DIR/{key}"
    return MODELS[key].hub_id, "the Hugging Face hub"


def _announce(what: str, requested: str, served: str, where: str) -> None:
    if served == requested:
        print(f"{what}: {requested} from {where}")
    else:
        print(f"{what}: {requested} -> served by {served} [{active_profile().name} profile stand-in: "
              f"{MODELS[served].summary}] from {where}")


def _from_pretrained(what: str, loader: Any, requested: str, **kwargs: Any) -> Any:
    served = resolve_model_key(requested)
    source, where = model_source(served)
    transformers.utils.logging.disable_progress_bar()
    try:
        loaded = loader.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as err:
        if source != MODELS[served].hub_id:  # a local copy that fails is a real error, not the network
            raise
        raise ResourceUnavailable(f"Could not load {served!r} ({source}) from the Hugging Face hub: "
                                  f"{str(err).splitlines()[0][:160]}", fix=_LOCAL_COPY_FIX) from None
    _announce(what, requested, served, where)
    return loaded


def load_tokenizer(requested: str = "bert-base-uncased", **kwargs: Any) -> Any:
    """The tokenizer of `requested`, or of its stand-in in the active profile, told explicitly
    whether to lower-case from what the served model was trained with.

    Case is a strong clue to names, and one hub checkpoint gets it wrong by default:
    dmis-lab/biobert-base-cased-v1.1 ships no tokenizer_config.json, so transformers falls back to
    BERT's `do_lower_case=True` and feeds the cased model lower-cased text. Deciding it here, from
    the registry, means no lesson or benchmark can forget it."""
    kwargs.setdefault("do_lower_case", not MODELS[resolve_model_key(requested)].cased)
    return _from_pretrained("Tokenizer", AutoTokenizer, requested, **kwargs)


def load_model(requested: str = "bert-base-uncased", model_class: Any = AutoModel, **kwargs: Any) -> Any:
    """A pretrained model of `model_class` (default `AutoModel`, the bare encoder)."""
    return _from_pretrained(f"Model ({model_class.__name__})", model_class, requested, **kwargs)


def _first_present(folder: Path, candidates: str) -> Path | None:
    for name in candidates.split("|"):
        if (folder / name).is_file():
            return folder / name
    return None


def _dataset_from_folder(entry: DatasetEntry, folder: Path, files: dict[str, str]) -> datasets.DatasetDict:
    if not folder.is_dir():
        raise ResourceUnavailable(f"Dataset {entry.key!r}: folder {folder.name}/ not found in {folder.parent}.",
                                  fix=_LOCAL_COPY_FIX)
    splits: dict[str, datasets.Dataset] = {}
    labels = formats.read_labels(folder / "labels.txt") if entry.kind != "corpus" else []
    for split, candidates in files.items():
        path = _first_present(folder, candidates)
        if path is None:
            continue
        if entry.kind == "text_classification":
            features = datasets.Features({"text": datasets.Value("string"),
                                          "label": datasets.ClassLabel(names=labels)})
            rows = formats.read_text_classification(path, labels)
        elif entry.kind == "token_classification":
            features = datasets.Features({"tokens": datasets.List(datasets.Value("string")),
                                          "ner_tags": datasets.List(datasets.ClassLabel(names=labels))})
            rows = formats.read_token_classification(path, labels)
        else:
            features = datasets.Features({"sentences": datasets.List(datasets.Value("string"))})
            rows = [{"sentences": document} for document in formats.read_documents(path)]
        splits[split] = datasets.Dataset.from_list(rows, features=features)
    if "train" not in splits:
        raise ResourceUnavailable(f"Dataset {entry.key!r}: no train split in {folder.name}/ "
                                  f"(expected {files['train'].replace('|', ' or ')}).", fix=_LOCAL_COPY_FIX)
    return datasets.DatasetDict(splits)


def _wikitext_documents(split: datasets.Dataset) -> datasets.Dataset:
    """Regroup the hub's WikiText lines (' = Title = ' headings) into documents of sentences."""
    documents: list[list[str]] = []
    for line in split["text"]:
        stripped = line.strip()
        if stripped.startswith("= ") and not stripped.startswith("= = "):
            documents.append([])
        elif stripped and not stripped.startswith("="):
            if not documents:
                documents.append([])
            documents[-1].extend(formats.split_sentences(stripped))
    return datasets.Dataset.from_list([{"sentences": doc} for doc in documents if len(doc) > 1])


def _dataset_from_hub(entry: DatasetEntry) -> datasets.DatasetDict:
    if entry.hub_id is None:
        raise ResourceUnavailable(f"Dataset {entry.key!r} has no hub copy; it needs a local folder "
                                  f"{entry.local_folder}/.", fix="point BERTCOURSE_DATA_DIR at a folder that has it")
    try:
        loaded = datasets.load_dataset(entry.hub_id, entry.hub_config)
    except Exception as err:  # datasets raises many unrelated types for "hub unreachable"
        raise ResourceUnavailable(f"Could not load dataset {entry.hub_id!r} from the Hugging Face hub: "
                                  f"{str(err).splitlines()[0][:160]}", fix=_LOCAL_COPY_FIX) from None
    if entry.kind == "corpus":
        return datasets.DatasetDict({name: _wikitext_documents(split) for name, split in loaded.items()})
    return loaded


def load_dataset(key: str) -> datasets.DatasetDict:
    """The dataset `key` (see `bertcourse.course.registry.DATASETS`) for the active profile."""
    if key not in DATASETS:
        raise ResourceUnavailable(f"The course has no dataset called {key!r}.", fix=f"use one of: {', '.join(DATASETS)}")
    entry = DATASETS[key]
    data_dir = os.environ.get("BERTCOURSE_DATA_DIR")
    if not active_profile().uses_hub:
        folder = shipped_data_dir() / entry.laptop_folder
        loaded = _dataset_from_folder(entry, folder, entry.laptop_files or entry.local_files)
        where = f"the course's own data/{entry.laptop_folder} [laptop profile stand-in for {entry.hub_id or key}]"
    elif data_dir and (Path(data_dir) / entry.local_folder).is_dir():
        loaded = _dataset_from_folder(entry, Path(data_dir) / entry.local_folder, entry.local_files)
        where = f"BERTCOURSE_DATA_DIR/{entry.local_folder}"
    else:
        loaded = _dataset_from_hub(entry)
        where = f"the Hugging Face hub ({entry.hub_id})"
    sizes = ", ".join(f"{name} {len(split):,}" for name, split in loaded.items())
    print(f"Dataset: {key} from {where}: {sizes}")
    return loaded
