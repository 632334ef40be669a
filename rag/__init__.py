"""newsrag's answering side: retrieval and cited answers. `from rag import NewsQA`.

Importing this package stays cheap: torch, chromadb and models load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.settings import Settings
    from core.types import Answer, Citation, Passage
    from rag.api import NewsQA

__all__ = ["Answer", "Citation", "NewsQA", "Passage", "Settings"]

_LAZY = {
    "NewsQA": "rag.api",
    "Settings": "core.settings",
    "Answer": "core.types",
    "Citation": "core.types",
    "Passage": "core.types",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
