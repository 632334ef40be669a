"""Prompt templates are data (TOML files beside this module), loaded by name.

Keeping them out of the code lets us tune wording on the real model without touching logic,
and a test checks every template loads and has the placeholders the code fills in.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).parent


@cache
def load_prompts(name: str) -> dict[str, str]:
    """All templates of rag/prompts/NAME.toml as a dict of strings."""
    path = PROMPTS_DIR / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.toml")))
        raise FileNotFoundError(f"No prompt file {path.name} in {PROMPTS_DIR} (known: {known})")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {key: str(value) for key, value in data.items()}


def prompt(name: str, key: str) -> str:
    """One template, e.g. prompt("answer", "system")."""
    templates = load_prompts(name)
    if key not in templates:
        raise KeyError(f"Prompt {key!r} missing from rag/prompts/{name}.toml (has: {', '.join(templates)})")
    return templates[key]
