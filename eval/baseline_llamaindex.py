"""LlamaIndex's default query engine as an evaluation baseline, behind the same interface the runner uses.

`VectorStoreIndex.from_documents` (default splitter: 1,024-token chunks), `as_query_engine()` (top 2
chunks, the "compact" response synthesizer, no checks, no refusals of its own) with the same LLM and
embedder newsrag uses, over the same corpus files. A follow-up is asked as typed: the query engine
has no conversation. `newsrag eval --baseline llamaindex` runs it beside newsrag's configs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.types import Answer, Citation, Passage

log = logging.getLogger(__name__)

LABEL = "llamaindex-default"
TOP_K = 2  # as_query_engine()'s default similarity_top_k


def _files(items: Sequence[str]) -> list[str]:
    files: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files += [str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in (".txt", ".md", ".html")]
        elif path.is_file():
            files.append(str(path))
    return files


class LlamaIndexQA:
    """The subset of NewsQA the eval runner calls (ingest, retrieve, stream), answered by LlamaIndex defaults."""

    keeps_conversation = False  # the query engine answers each question alone: the runner skips history turns

    def __init__(self, *, settings: Any, llm: Any, embedder: Any) -> None:
        self.settings = settings
        self.llm = llm
        self.embedder = embedder
        self.index = None

    def ingest(self, items: Sequence[str], progress=None):
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex, load_index_from_storage

        persist = Path(self.settings.data_dir) / "llamaindex-default"
        if (persist / "docstore.json").exists():
            self.index = load_index_from_storage(
                StorageContext.from_defaults(persist_dir=str(persist)), embed_model=self.embedder
            )
            return None
        started = time.perf_counter()
        documents = SimpleDirectoryReader(input_files=_files(items)).load_data()
        self.index = VectorStoreIndex.from_documents(documents, embed_model=self.embedder)
        self.index.storage_context.persist(persist_dir=str(persist))
        log.info("LlamaIndex default index: %d documents (%.0f s)", len(documents), time.perf_counter() - started)
        return None

    @staticmethod
    def _passage(node_with_score: Any) -> Passage:
        node = node_with_score.node
        path = node.metadata.get("file_path", "")
        return Passage(
            text=node.get_content(),
            score=float(node_with_score.score or 0.0),
            article_id=path,
            title=node.metadata.get("file_name", ""),
            source="",
            url=Path(path).resolve().as_uri() if path else "",
            published=None,
            start=0,
            end=0,
            chunk_id=node.node_id,
        )

    def retrieve(self, question: str, k: int = TOP_K, **_: Any) -> list[Passage]:
        return [self._passage(n) for n in self.index.as_retriever(similarity_top_k=k).retrieve(question)]

    def ask(self, question: str, history=None, **_: Any) -> Answer:
        engine = self.index.as_query_engine(llm=self.llm)
        started = time.perf_counter()
        response = engine.query(question)
        seconds = time.perf_counter() - started
        passages = [self._passage(n) for n in response.source_nodes]
        text = str(response.response or "").strip()
        return Answer(
            question=question,
            text=text,
            citations=[Citation(number=i + 1, passage=p) for i, p in enumerate(passages)],
            refused=not text or text == "Empty Response",
            timings={"generate": seconds, "total": seconds},
            passages=passages,
        )

    def stream(self, question: str, history=None, **kw: Any) -> Iterator[Answer]:
        yield self.ask(question, history=history, **kw)
