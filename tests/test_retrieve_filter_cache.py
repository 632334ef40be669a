"""The article-filter set of a filtered question is built once per filter and rebuilt when articles change."""

from __future__ import annotations

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
