"""newsrag's answering side: retrieval and cited answers. `from rag import NewsQA`.

Importing this package stays cheap: torch, chromadb and models load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.api import NewsQA
    from rag.settings import Settings
    from rag.types import Answer, Citation, Passage

__all__ = ["Answer", "Citation", "NewsQA", "Passage", "Settings"]

_LAZY = {
    "NewsQA": "rag.api",
    "Settings": "rag.settings",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Passage": "rag.types",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
