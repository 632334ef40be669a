"""qa.as_retriever() and qa.as_query_engine() composed with llama-index's own components."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from fakes import ScriptedLLM, fake_settings
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import MockLLM
from llama_index.core.postprocessor import SimilarityPostprocessor
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore
from llama_index.core.tools import QueryEngineTool
from paths import SAMPLE_CORPUS

QUESTION = "How much did Alibaba and Baidu shares rise?"
GROUNDED = "Alibaba's gain was close to 7%, and Baidu also rose more than 6% [1]."


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    from rag.api import NewsQA

    root = tmp_path_factory.mktemp("llamaindex")
    dated = root / "dated.jsonl"
    rows = [
        {"title": "Chipmaker opens Dresden fab", "text": "The chipmaker opened its Dresden fab in March 2024. "
         "The plant makes chips for cars.", "url": "https://news.example.org/dresden", "source": "Wire A",
         "published": "2024-03-05"},
        {"title": "Chipmaker expands Dresden fab", "text": "The chipmaker will expand its Dresden fab in 2025. "
         "The expansion doubles output of chips for cars.", "url": "https://news.example.org/dresden-2",
         "source": "Wire B", "published": "2025-02-10"},
    ]  # fmt: skip
    dated.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    settings = fake_settings(root / "data", retrieval_mode="keyword")
    qa = NewsQA(settings=settings, llm=ScriptedLLM())
    assert qa.ingest([SAMPLE_CORPUS / "seed", dated]).ok
    return qa


def test_retriever_is_a_llama_index_retriever_whose_nodes_carry_text_and_all_metadata(qa):
    retriever = qa.as_retriever(k=2)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve("Dresden fab chips for cars")
    passages = qa.retrieve("Dresden fab chips for cars", k=2)
    assert [n.node.node_id for n in nodes] == [p.chunk_id for p in passages]
    for got, passage in zip(nodes, passages, strict=True):
        assert isinstance(got, NodeWithScore) and got.score == pytest.approx(passage.score)
        assert got.node.get_content() == passage.text
        meta = got.node.metadata
        assert meta["title"] == passage.title and meta["url"] == passage.url and meta["source"] == passage.source
        assert meta["published"] == passage.published.isoformat()
        assert (meta["article_id"], meta["start"], meta["end"]) == (passage.article_id, passage.start, passage.end)
        assert got.node.ref_doc_id == passage.article_id
        # what an LLM sees: the title, source and date with the text, not the ids and offsets
        shown = got.node.get_content(metadata_mode=MetadataMode.LLM)
        assert passage.title in shown and passage.text in shown and passage.article_id not in shown


def test_retriever_filters(qa):
    by_source = qa.as_retriever(k=5, sources=["Wire B"]).retrieve("Dresden fab")
    assert {n.node.metadata["source"] for n in by_source} == {"Wire B"}
    by_date = qa.as_retriever(k=5, since=date(2024, 1, 1), until="2024-12-31").retrieve("Dresden fab")
    assert [n.node.metadata["title"] for n in by_date] == ["Chipmaker opens Dresden fab"]
    assert asyncio.run(qa.as_retriever(k=1).aretrieve("Dresden fab"))[0].node.metadata["title"].startswith("Chipmaker")


def test_retriever_inside_a_retriever_query_engine_with_a_mock_llm(qa):
    question = "When did the chipmaker open its Dresden fab?"
    engine = RetrieverQueryEngine.from_args(
        qa.as_retriever(k=3, since="2024-01-01"),
        llm=MockLLM(),  # without max_tokens it answers with the prompt it was given: we see what reached it
        node_postprocessors=[SimilarityPostprocessor(similarity_cutoff=0.0)],
    )
    response = engine.query(question)
    expected = qa.retrieve(question, k=3, since="2024-01-01")
    assert [n.node.node_id for n in response.source_nodes] == [p.chunk_id for p in expected]
    assert "The chipmaker opened its Dresden fab in March 2024." in response.response
    assert "title: Chipmaker opens Dresden fab" in response.response and "source: Wire A" in response.response
    assert "article_id" not in response.response


def test_query_engine_answers_through_newsrag_with_the_cited_passages_as_source_nodes(qa):
    qa._llm.queue(GROUNDED)
    response = qa.as_query_engine(k=3, sources=["seed"]).query(QUESTION)
    assert isinstance(response, Response)
    assert response.response == GROUNDED
    (node,) = response.source_nodes  # the cited passage only, not everything retrieved
    assert node.node.metadata["citation_number"] == 1 and node.node.metadata["source"] == "seed"
    assert "Alibaba's gain was close to 7%, and Baidu also rose more than 6%." in node.node.metadata["evidence"]
    assert response.metadata["refused"] is False


def test_query_engine_refusals_stay_refusals(qa):
    qa._llm.queue("Alibaba's shares fell by 40% after the chip launch [1].")
    response = qa.as_query_engine().query(QUESTION)
    assert response.metadata["refused"] is True and response.metadata["refusal_reason"]
    assert response.source_nodes == [] and "40%" not in response.response


def test_query_engine_as_an_agent_tool_and_async(qa):
    tool = QueryEngineTool.from_defaults(
        qa.as_query_engine(), name="news", description="Answers questions about tech news, with citations."
    )
    qa._llm.queue(GROUNDED, GROUNDED)
    output = tool.call(QUESTION)
    assert output.content == GROUNDED and output.raw_output.source_nodes
    assert asyncio.run(qa.as_query_engine().aquery(QUESTION)).response == GROUNDED
    assert not qa._llm.replies


def test_rag_get_embedder_is_newsqas_embedder_as_a_llama_index_embedding(tmp_path):
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from index.embed import get_embedder as newsqas_embedder
    from rag import get_embedder

    settings = fake_settings(tmp_path / "data")
    ours, theirs = newsqas_embedder(settings), get_embedder(settings)
    assert isinstance(theirs, BaseEmbedding) and not isinstance(ours, BaseEmbedding)
    assert theirs.model_name == ours.model_name == "hash"  # what the index records
    texts = [f"chip maker {i} opens fab {i % 7}" for i in range(30)]
    assert theirs.get_text_embedding_batch(texts) == ours.get_text_embedding_batch(texts)
    assert theirs.get_query_embedding(QUESTION) == ours.get_query_embedding(QUESTION)
    assert asyncio.run(theirs.aget_query_embedding(QUESTION)) == ours.get_query_embedding(QUESTION)
    index = VectorStoreIndex.from_documents([Document(text=t) for t in texts[:3]], embed_model=theirs)
    hit = index.as_retriever(similarity_top_k=1).retrieve(texts[2])[0]
    assert hit.node.get_content() == texts[2]
