"""newsrag's answering side: retrieval and cited answers. `from rag import NewsQA`.

Importing this package stays cheap: torch, chromadb and models load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.settings import Settings
    from core.types import Answer, Citation, Passage
    from rag.api import NewsQA

__all__ = ["Answer", "Citation", "NewsQA", "Passage", "Settings", "get_embedder", "get_llm", "prompt"]

_LAZY = {
    "NewsQA": "rag.api",
    "Settings": "core.settings",
    "Answer": "core.types",
    "Citation": "core.types",
    "Passage": "core.types",
    # the models NewsQA would build, for callers that share one across indexes (the embedder as a llama-index
    # BaseEmbedding, so that llama-index's own indexes take it too; NewsQA itself uses index.embed's, without it)
    "get_embedder": "rag.llamaindex_adapters",
    "get_llm": "rag.llm",
    "prompt": "rag.prompts",  # the prompt templates, for tools that measure the model on them (bench.llm)
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
