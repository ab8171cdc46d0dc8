"""One call to get the tokenizer, model or dataset of the active profile.

    tokenizer = load_tokenizer("bert-base-uncased")
    encoder = load_model("bert-base-uncased")                      # AutoModel
    classifier = load_model("bert-base-uncased", AutoModelForSequenceClassification, num_labels=6)
    emotion = load_dataset("emotion")                              # DatasetDict
    mine = load_folder("~/my_pairs")                               # your own folder: train.jsonl + labels.txt

Where things come from, in order: the laptop profile's offline stand-ins; in the gpu profile a
local copy under `BERTCOURSE_MODEL_DIR/<key>` or `BERTCOURSE_DATA_DIR/<folder>`; else the hub.
Each load prints one line saying what was requested and what actually serves it. In smoke mode
datasets are cut to their first rows (`bertcourse.course.smoke`).

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import datasets
import transformers
from transformers import AutoModel, AutoTokenizer

from bertcourse.course import formats, smoke
from bertcourse.course.errors import ResourceUnavailable
from bertcourse.course.minilm import PACKAGE as MINILM_PACKAGE
from bertcourse.course.minilm import verified_model_dir
from bertcourse.course.paths import saved_checkpoint, shipped_data_dir
from bertcourse.course.profiles import active_profile, resolve_model_key
from bertcourse.course.registry import (DATASETS, HANDOFFS, MINILM, MODELS, DatasetEntry, DatasetKind,
                                       local_dataset_folder, missing_copy_instructions)

_LOCAL_COPY_FIX = ("run `bertcourse prefetch` where the hub is reachable (or `bertcourse prefetch --from DIR` "
                   "from a copy) and set the BERTCOURSE_MODEL_DIR / BERTCOURSE_DATA_DIR line it prints, or "
                   "switch to the offline profile with bertcourse.use_profile('laptop')")
_OWN_SPLITS = {split: (f"{split}.jsonl",) for split in ("train", "validation", "test")}  # a learner's own folder


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
    if requested in HANDOFFS:  # a model an earlier lesson saved: the profile has no say in it
        loaded = loader.from_pretrained(saved_checkpoint(requested), **kwargs)
        print(f"{what}: {requested} from your course home (saved by notebook {HANDOFFS[requested].made_by})")
        return loaded
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
    """The tokenizer of `requested` (a registry model or a lesson's saved `HANDOFFS` name), or of its
    stand-in in the active profile, told explicitly
    whether to lower-case from what the served model was trained with.

    Case is a strong clue to names, and one hub checkpoint gets it wrong by default:
    dmis-lab/biobert-base-cased-v1.1 ships no tokenizer_config.json, so transformers falls back to
    BERT's `do_lower_case=True` and feeds the cased model lower-cased text. Deciding it here, from
    the registry, means no lesson or benchmark can forget it."""
    if requested not in HANDOFFS:  # a saved lesson model keeps the casing its tokenizer was saved with
        kwargs.setdefault("do_lower_case", not MODELS[resolve_model_key(requested)].cased)
    return _from_pretrained("Tokenizer", AutoTokenizer, requested, **kwargs)


def load_model(requested: str = "bert-base-uncased", model_class: Any = AutoModel, **kwargs: Any) -> Any:
    """A pretrained model of `model_class` (default `AutoModel`, the bare encoder): a registry model
    (served as the profile decides) or a model an earlier lesson saved (`HANDOFFS`, by name)."""
    return _from_pretrained(f"Model ({model_class.__name__})", model_class, requested, **kwargs)


def _dataset_from_folder(entry: DatasetEntry, folder: Path, files: dict[str, tuple[str, ...]]) -> datasets.DatasetDict:
    return _read_folder(f"Dataset {entry.key!r}", entry.kind, folder, files, _LOCAL_COPY_FIX)


def _read_folder(name: str, kind_name: DatasetKind, folder: Path, files: dict[str, tuple[str, ...]],
                 fix: str) -> datasets.DatasetDict:
    """The splits of `folder` that exist, read and checked by the format of `kind_name`; `name` and
    `fix` word the error when the folder or its train split is missing."""
    if not folder.is_dir():
        raise ResourceUnavailable(f"{name}: folder {folder.name}/ not found in {folder.parent}.", fix=fix)
    kind = formats.FORMATS[kind_name]
    labels = formats.read_labels(folder / "labels.txt") if kind.label_column else []
    splits: dict[str, datasets.Dataset] = {}
    for split, candidates in files.items():
        path = formats.first_present(folder, candidates)
        if path is not None:
            rows = kind.read(path, labels)
            splits[split] = datasets.Dataset.from_list(rows, features=kind.features(labels, list(rows[0])))
    if "train" in files and "train" not in splits:
        raise ResourceUnavailable(f"{name}: no train split in {folder.name}/ "
                                  f"(expected {' or '.join(files['train'])}).", fix=fix)
    return datasets.DatasetDict(splits)


def load_folder(folder: str | Path, kind: DatasetKind = "text_classification") -> datasets.DatasetDict:
    """Your own dataset from `folder`: `train.jsonl` (and, if present, `validation.jsonl` and
    `test.jsonl`) in the course's format for `kind`, plus `labels.txt` when the kind has labels.

    For sentence-pair classification (paraphrase, inference) each line is
    `{"sentence1": ..., "sentence2": ..., "label": ...}` with the label a line of `labels.txt`
    (or its 0-based line number); for similarity scores use `kind="sentence_pairs"` and
    `{"sentence1", "sentence2", "score"}` (0 to 5). It reads the same in every profile: the
    folder is yours, so no profile substitutes anything for it."""
    if kind not in formats.FORMATS:
        raise ResourceUnavailable(f"No data format called {kind!r}.", fix=f"use one of: {', '.join(formats.FORMATS)}")
    folder = Path(folder).expanduser()
    fix = (f"put train.jsonl{' and labels.txt' if formats.FORMATS[kind].label_column else ''} in that folder "
           "(see the README, 'Your own data')")
    loaded = _read_folder(f"Your data ({kind})", kind, folder, _OWN_SPLITS, fix)
    print(f"Dataset: {folder.name}/ from {folder.parent}: " + ", ".join(f"{name} {len(split):,}" for name, split in loaded.items()))
    return loaded


def _wikitext_documents(split: datasets.Dataset) -> datasets.Dataset:
    """Regroup the hub's WikiText lines (' = Title = ' headings) into documents of sentences."""
    documents = ([sentence for paragraph in article for sentence in formats.split_sentences(paragraph)]
                 for article in formats.wikitext_articles(split["text"]))
    return datasets.Dataset.from_list([{"sentences": document} for document in documents if len(document) > 1])


def _dataset_from_hub(entry: DatasetEntry) -> datasets.DatasetDict:
    if entry.hub_id is None:
        raise ResourceUnavailable(f"Dataset {entry.key!r} has no hub copy; it needs a local folder "
                                  f"{entry.local_folder}/.", fix=missing_copy_instructions(entry.key))
    try:
        loaded = datasets.load_dataset(entry.hub_id, entry.hub_config)
    except Exception as err:  # datasets raises many unrelated types for "hub unreachable"
        raise ResourceUnavailable(f"Could not load dataset {entry.hub_id!r} from the Hugging Face hub: "
                                  f"{str(err).splitlines()[0][:160]}", fix=_LOCAL_COPY_FIX) from None
    if entry.kind == "corpus":
        return datasets.DatasetDict({name: _wikitext_documents(split) for name, split in loaded.items()})
    return entry.from_hub(loaded)


def _with_test_split(entry: DatasetEntry, loaded: datasets.DatasetDict) -> tuple[datasets.DatasetDict, str]:
    """Three splits from a source that has only train and validation (see
    `DatasetEntry.document_column`): validation becomes test, and the last whole documents of
    train (at least a tenth of its rows) become validation. Returns the splits and a note saying so."""
    column = entry.document_column
    if column is None or "test" in loaded or set(loaded) != {"train", "validation"}:
        return loaded, ""
    train = loaded["train"]
    values = train[column]
    sizes = Counter(values)  # groups in order of first appearance
    held: set[str] = set()
    for group in reversed(list(sizes)):
        if sum(sizes[g] for g in held) >= len(train) / 10:
            break
        held.add(group)
    keep = [i for i, value in enumerate(values) if value not in held]
    out = [i for i, value in enumerate(values) if value in held]
    rows = len(out)
    note = (f" (test = the source's validation split; validation = the last {len(held)} {column}s of its train "
            f"split, {rows:,} rows)")
    return datasets.DatasetDict({"train": train.select(keep), "validation": train.select(out),
                                 "test": loaded["validation"]}), note


def load_dataset(key: str, data_dir: str | Path | None = None) -> datasets.DatasetDict:
    """The dataset `key` (see `bertcourse.course.registry.DATASETS`) for the active profile.

    `data_dir` names a local copy in the BERTCOURSE_DATA_DIR layout and then wins over the profile
    (a command told where its data is must not read anything else)."""
    if key not in DATASETS:
        raise ResourceUnavailable(f"The course has no dataset called {key!r}.", fix=f"use one of: {', '.join(DATASETS)}")
    entry = DATASETS[key]
    folder = local_dataset_folder(key, data_dir)
    if data_dir is not None:
        loaded = _dataset_from_folder(entry, folder, entry.local_files)
        where = str(folder)
    elif not active_profile().uses_hub:
        loaded = _dataset_from_folder(entry, shipped_data_dir() / entry.laptop_folder,
                                      entry.laptop_files or entry.local_files)
        where = f"the course's own data/{entry.laptop_folder} [laptop profile stand-in for {entry.hub_id or key}]"
    elif folder is not None and folder.is_dir():
        loaded = _dataset_from_folder(entry, folder, entry.local_files)
        where = f"BERTCOURSE_DATA_DIR/{entry.local_folder}"
    else:
        loaded = _dataset_from_hub(entry)
        where = f"the Hugging Face hub ({entry.hub_id})"
    loaded, note = _with_test_split(entry, loaded)
    loaded = smoke.cap_dataset(loaded, corpus=entry.kind == "corpus", group_by=entry.document_column)
    sizes = ", ".join(f"{name} {len(split):,}" for name, split in loaded.items())
    print(f"Dataset: {key} from {where}: {sizes}{note}" + (" [smoke: cut to the caps above]" if smoke.active() else ""))
    return loaded
