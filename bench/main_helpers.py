"""Child-process helpers that are not benchmarks themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_index(data_dir: str, corpus: str) -> dict[str, Any]:
    """Ingest the corpus untimed, for benchmarks run without `ingest`."""
    from core.settings import Settings
    from rag.api import NewsQA

    report = NewsQA(settings=Settings(data_dir=Path(data_dir))).ingest([Path(corpus)])
    return {"summary": report.summary()}
