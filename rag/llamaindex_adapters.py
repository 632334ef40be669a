"""newsrag inside llama-index pipelines: a retriever and a query engine over NewsQA, and its embedder.

`NewsRetriever` (qa.as_retriever()) is a llama-index BaseRetriever: compose it with any query engine, node
postprocessor or agent tool. `NewsQueryEngine` (qa.as_query_engine()) answers through newsrag's own answer
path (NewsQA.ask: claim checks, refusals) and returns a llama-index Response whose source_nodes are the
cited passages only. `NewsEmbedding` (rag.get_embedder(settings)) is newsrag's embedder as a llama-index
BaseEmbedding, for llama-index's own indexes; newsrag's question and ingest paths use index.embed's Embedder
directly, so they never import llama-index.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from core.settings import Settings
from core.types import Answer, Citation, Passage, chunk_id
from index.embedder import Embedder

LLAMA_INDEX_MAX_BATCH = 2048  # BaseEmbedding.embed_batch_size's upper bound: the models batch by length themselves
# Metadata a pipeline can filter on but that says nothing to an LLM or an embedder.
_HIDDEN_KEYS = ["article_id", "chunk_id", "chunk_index", "start", "end", "story_id", "evidence", "citation_number"]


def to_node(passage: Passage, citation: Citation | None = None) -> NodeWithScore:
    """A passage as a NodeWithScore: its text, every field of it as metadata, its article as the source doc."""
    metadata: dict[str, Any] = passage.to_dict()
    metadata.pop("text")
    metadata.pop("score")
    metadata["published"] = metadata["published"] or ""  # llama-index metadata values must not be None
    if citation is not None:
        metadata["citation_number"] = citation.number
        metadata["evidence"] = list(citation.evidence)
    node = TextNode(
        id_=passage.chunk_id or chunk_id(passage.article_id, passage.chunk_index),
        text=passage.text,
        metadata=metadata,
        excluded_llm_metadata_keys=list(_HIDDEN_KEYS),
        excluded_embed_metadata_keys=list(_HIDDEN_KEYS),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=passage.article_id)},
    )
    return NodeWithScore(node=node, score=float(passage.score))


class NewsRetriever(BaseRetriever):
    """NewsQA.retrieve (hybrid search with newsrag's filters) as a llama-index retriever."""

    def __init__(self, qa, *, k: int | None = None, sources=None, since=None, until=None, **kwargs: Any):
        super().__init__(**kwargs)
        self.qa = qa
        self.k = k or qa.settings.top_k
        self.filters = {"sources": sources, "since": since, "until": until}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(p) for p in self.qa.retrieve(query_bundle.query_str, k=self.k, **self.filters)]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


def to_response(answer: Answer) -> Response:
    """An Answer as a llama-index Response: the text with [n] markers, the cited passages as source_nodes
    (in citation order), and newsrag's verdict in metadata (refused, refusal_reason, refusal_detail, ...)."""
    return Response(
        response=answer.text,
        source_nodes=[to_node(c.passage, c) for c in answer.citations],
        metadata={
            "refused": answer.refused,
            "refusal_reason": answer.refusal_reason,
            "refusal_detail": answer.refusal_detail,
            "standalone_question": answer.standalone_question,
            "timings": dict(answer.timings),
        },
    )


class NewsQueryEngine(BaseQueryEngine):
    """Answers through NewsQA.ask, so the citation checks and refusals apply; no llama-index synthesizer."""

    def __init__(self, qa, *, k: int | None = None, sources=None, since=None, until=None, callback_manager=None):
        super().__init__(callback_manager)
        self.qa = qa
        self.options = {"k": k, "sources": sources, "since": since, "until": until}

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}  # newsrag's prompts are data files (rag/prompts), not llama-index prompt templates

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        options = {**self.options, "k": self.options["k"] or self.qa.settings.top_k}
        return NewsRetriever(self.qa, **options).retrieve(query_bundle)

    def _query(self, query_bundle: QueryBundle) -> Response:
        return to_response(self.qa.ask(query_bundle.query_str, **self.options))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)


class NewsEmbedding(BaseEmbedding):
    """A newsrag embedder (index.embedder.Embedder) as a llama-index BaseEmbedding: the same vectors, the same
    model_name. NewsQA takes it too, so one model can serve both (the eval runner's LlamaIndex baseline)."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any):
        super().__init__(model_name=embedder.model_name, embed_batch_size=LLAMA_INDEX_MAX_BATCH, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "NewsEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.get_query_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._embedder.get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.get_text_embedding_batch(texts)


def get_embedder(settings: Settings) -> NewsEmbedding:
    """The embedder NewsQA builds for these settings (index.embed.get_embedder), as a llama-index BaseEmbedding:
    `rag.get_embedder`, for callers that share one model between NewsQA instances and llama-index pipelines."""
    from index.embed import get_embedder as newsrag_embedder

    return NewsEmbedding(newsrag_embedder(settings))
