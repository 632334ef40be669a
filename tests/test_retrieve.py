"""Hybrid retrieval: the article-filter set is built once per filter; rank fusion keeps a clear keyword winner."""

from __future__ import annotations

import pytest

from index.rows import Hit, StoredChunk
from rag.retrieve import HybridRetriever, _dot


class _Store:
    def __init__(self) -> None:
        self.records = {"a": {"source": "tech", "published_ts": 100}, "b": {"source": "sport", "published_ts": 200}}
        self.reads = 0

    def article_records(self):
        self.reads += 1
        return dict(self.records)


def test_one_filter_set_per_filter_until_articles_change(settings) -> None:
    store = _Store()
    retriever = HybridRetriever(store, None, None, settings)
    first = retriever._articles_passing(["tech"], None, None)
    assert first == {"a"}
    assert retriever._articles_passing(["tech"], None, None) is first  # the keyword half reuses the dense half's
    assert retriever._articles_passing(None, 150, None) == {"b"}  # another filter: its own set
    store.records["c"] = {"source": "tech", "published_ts": 300}
    assert retriever._articles_passing(["tech"], None, None) == {"a"}  # cached: nothing said articles changed
    retriever.forget_articles()
    assert retriever._articles_passing(["tech"], None, None) == {"a", "c"}
    assert store.reads == 2


def test_a_filter_that_no_article_passes_searches_nothing(settings) -> None:
    store = _Store()  # it has no query, get or nearest_ids: any search of it would fail
    retriever = HybridRetriever(store, None, None, settings)
    assert retriever._dense([1.0, 0.0], 10, ["no such source"], None, None) == []
    assert retriever._keyword("robots", 10, None, 10_000, None) == []


def test_dot_is_the_plain_dot_product() -> None:
    assert abs(_dot([0.6, 0.8, 0.0], [0.6, 0.8, 1.0]) - 1.0) < 1e-6


class _FusionStore:
    """Six one-chunk articles; the dense half finds the five "party" ones, not the one that names the person."""

    def __init__(self) -> None:
        self.chunks = {
            f"{a}:0": StoredChunk(f"{a}:0", f"text {a}", {"article_id": a}, 0.5) for a in "p1 p2 p3 p4 p5 named".split()
        }

    def query(self, vector, n, where=None):
        return [c for c in self.chunks.values() if c.chunk_id != "named:0"][:n]

    def get_chunks(self, ids, with_embeddings=False):
        rows = [self.chunks[i] for i in ids]
        return {
            "ids": ids,
            "documents": [c.text for c in rows],
            "metadatas": [c.metadata for c in rows],
            "embeddings": [[1.0] for _ in rows],
        }


class _Keyword:
    def __init__(self, hits) -> None:
        self.hits = hits

    def search(self, question, n, **filters):
        return self.hits[:n]


class _Embedder:
    def get_query_embedding(self, question):
        return [1.0]


@pytest.mark.parametrize(("named_score", "kept"), [(13.5, True), (7.0, False)])
def test_a_clear_keyword_winner_survives_fusion(settings, named_score, kept) -> None:
    """A name only one article has ("Alain Lipietz") ranks that article first by BM25, far ahead of the chunks
    that share the question's common word ("party"); rank fusion alone drops it below five chunks both halves
    rank lower. A keyword lead that is no clear win changes nothing."""
    hits = [Hit("named:0", named_score), *(Hit(f"p{i}:0", 6.8 - i / 10) for i in range(1, 6))]
    retriever = HybridRetriever(_FusionStore(), _Keyword(hits), _Embedder(), settings)
    passages = retriever.retrieve("What party is Alain Lipietz with?", k=5)
    assert ("named" in [p.article_id for p in passages]) is kept
