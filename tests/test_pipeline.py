"""Ingestion into real Chroma + FTS5 with the hash embedder: incremental, duplicates, deletes, filters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.api import NewsQA


def write_article(folder: Path, name: str, title: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus" / "tech"
    write_article(
        folder,
        "chips.txt",
        "Chipmaker unveils quantum processor",
        "Zorblax Corp unveiled a 512-qubit processor on Monday. The chip runs at four kelvin. " * 5,
    )
    write_article(
        folder,
        "phones.txt",
        "Phone sales slump in Europe",
        "Handset shipments in Europe fell 12% in the third quarter, analysts at Frobnitz said. " * 5,
    )
    write_article(
        folder,
        "games.txt",
        "Console makers race to streaming",
        "Three console makers will stream games to televisions by 2026, executives said. " * 5,
    )
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not read")
    return folder.parent


@pytest.fixture
def qa(settings):
    return NewsQA(settings=settings)


def test_ingest_adds_articles_and_chunks(qa, corpus):
    report = qa.ingest([corpus])
    assert len(report.added) == 3 and report.ok
    assert [item for item, _ in report.skipped] == [str(corpus / "tech" / "notes.pdf")]
    stats = qa.stats()
    assert stats["articles"] == 3
    assert stats["chunks"] == qa.keyword.count_chunks() >= 3
    assert stats["sources"] == {"tech": 3}


def test_second_ingest_embeds_nothing_and_keeps_counts(qa, corpus, monkeypatch):
    qa.ingest([corpus])
    before = qa.stats()
    calls = []
    original = qa.embedder.get_text_embedding_batch
    monkeypatch.setattr(
        type(qa.embedder), "get_text_embedding_batch", lambda self, texts, **kw: calls.append(texts) or original(texts)
    )
    report = qa.ingest([corpus])
    assert len(report.unchanged) == 3 and not report.added and not report.updated
    assert calls == []
    assert qa.stats() == before


def test_edited_article_replaces_its_chunks(qa, corpus):
    qa.ingest([corpus])
    path = corpus / "tech" / "chips.txt"
    path.write_text("Chipmaker unveils quantum processor\n\nA short rewrite: Zorblax delayed the launch.\n")
    report = qa.ingest([corpus])
    assert report.updated == [str(path)] and len(report.unchanged) == 2
    article_id = [a["id"] for a in qa.articles("quantum")][0]
    assert qa.article_text(article_id) == "A short rewrite: Zorblax delayed the launch."
    stats = qa.stats()
    assert stats["chunks"] == qa.keyword.count_chunks()
    hits = qa.retrieve("Zorblax 512-qubit processor four kelvin", k=5)
    assert all("512-qubit" not in p.text for p in hits)


def test_same_text_under_another_name_is_stored_once(qa, corpus):
    shutil.copy(corpus / "tech" / "games.txt", corpus / "tech" / "later-games.txt")
    report = qa.ingest([corpus])
    assert len(report.added) == 3
    assert [Path(item).name for item, _ in report.duplicates] == ["later-games.txt"]
    assert qa.stats()["articles"] == 3


def test_bad_files_are_reported_and_the_batch_goes_on(qa, corpus):
    bad = corpus / "tech"
    (bad / "empty.txt").write_text("")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (bad / "broken.json").write_text('{"title": "x", "text": ')
    report = qa.ingest([corpus, corpus / "missing-folder"])
    failed = {Path(item).name: reason for item, reason in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "broken.json", "missing-folder"}
    assert all(reason for reason in failed.values())
    assert len(report.added) == 3 and qa.stats()["articles"] == 3


def test_delete_removes_article_everywhere(qa, corpus):
    qa.ingest([corpus])
    path = corpus / "tech" / "phones.txt"
    deleted = qa.delete(str(path))
    assert len(deleted) == 1
    assert qa.stats()["articles"] == 2
    assert qa.stats()["chunks"] == qa.keyword.count_chunks()
    assert all(p.article_id != deleted[0] for p in qa.retrieve("phone shipments Europe", k=5))
    assert qa.delete("no-such-article") == []


def test_filters_by_source_and_date(qa, tmp_path):
    feed = tmp_path / "feed.jsonl"
    rows = [
        {
            "title": "Old robot news",
            "text": "A warehouse robot named Ferris learned to stack boxes.",
            "url": "https://a.example/1",
            "published": "2020-01-05",
            "source": "Alpha",
        },
        {
            "title": "New robot news",
            "text": "A warehouse robot named Ferris learned to climb stairs.",
            "url": "https://b.example/2",
            "published": "2024-06-01",
            "source": "Beta",
        },
        {
            "title": "Undated robot news",
            "text": "A warehouse robot named Ferris learned to sing.",
            "url": "https://c.example/3",
            "source": "Beta",
        },
    ]
    feed.write_text("\n".join(json.dumps(r) for r in rows))
    assert len(qa.ingest([feed]).added) == 3
    titles = lambda **kw: {p.title for p in qa.retrieve("warehouse robot Ferris", k=5, **kw)}  # noqa: E731
    assert titles() == {"Old robot news", "New robot news", "Undated robot news"}
    assert titles(sources=["Alpha"]) == {"Old robot news"}
    assert titles(since="2023-01-01") == {"New robot news"}
    assert titles(until="2020-12-31") == {"Old robot news"}
    assert titles(sources=["Beta"], since="2019-01-01") == {"New robot news"}
    newest = qa.retrieve("what is the latest news about the warehouse robot Ferris?", k=3)
    assert newest[0].title == "New robot news"
    stats = qa.stats()
    assert (
        stats["earliest"].startswith("2020-01-05")
        and stats["latest"].startswith("2024-06-01")
        and stats["undated"] == 1
    )


def test_passages_carry_offsets_and_metadata(qa, corpus):
    qa.ingest([corpus])
    passages = qa.retrieve("console makers streaming games", k=2)
    top = passages[0]
    assert top.title == "Console makers race to streaming"
    assert top.url == (corpus / "tech" / "games.txt").resolve().as_uri()
    assert qa.article_text(top.article_id)[top.start : top.end] == top.text
    assert -1.0 <= top.score <= 1.0


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_every_retrieval_mode_finds_the_article(qa, corpus, mode):
    qa.ingest([corpus])
    passages = qa.retrieve("Frobnitz handset shipments", k=3, mode=mode)
    assert passages and passages[0].title == "Phone sales slump in Europe"


def test_keyword_index_is_rebuilt_when_lost_or_corrupt(qa, corpus, settings):
    qa.ingest([corpus])
    expected = qa.stats()["chunks"]
    qa.keyword.close()
    settings.keyword_path.write_bytes(b"this is not a sqlite database" * 100)
    fresh = NewsQA(settings=settings)
    assert fresh.retrieve("Frobnitz handset shipments", k=1)[0].title == "Phone sales slump in Europe"
    assert fresh.keyword.count_chunks() == expected


def test_orphan_chunks_from_a_crash_are_removed(qa, corpus):
    qa.ingest([corpus])
    records = qa.store.article_records()
    article_id = next(iter(records))
    qa.store.articles.delete(ids=[article_id])  # as if killed before the record was written
    report = qa.ingest([corpus])
    assert len(report.added) == 1 and len(report.unchanged) == 2
    stats = qa.stats()
    assert stats["articles"] == 3
    assert (
        stats["chunks"]
        == sum(int(m["n_chunks"]) for m in qa.store.article_records().values())
        == qa.keyword.count_chunks()
    )


def test_index_built_with_another_embedder_is_refused(qa, corpus, settings):
    qa.ingest([corpus])
    from index.store import StoreError

    other = NewsQA(
        settings=settings.model_copy(update={"embed_model": "some-other-model"}),
        embedder=type(qa.embedder)(model_name="other"),
    )
    with pytest.raises(StoreError, match="embedding model"):
        other.stats()


def test_a_single_long_article_still_fills_k_passages(qa, tmp_path):
    body = " ".join(f"Paragraph {n} says the Zorblax battery lasts {n} hours in test number {n}." for n in range(300))
    write_article(tmp_path / "one", "battery.txt", "Zorblax battery review", body)
    qa.ingest([tmp_path / "one"])
    assert qa.stats()["chunks"] > 5
    passages = qa.retrieve("How long does the Zorblax battery last?", k=5)
    assert len(passages) == 5 and len({p.chunk_id for p in passages}) == 5


@pytest.mark.parametrize("overfetch, exact_chunks", [(1, 0), (10, 0), (10, 2000)])
def test_filtered_dense_search_matches_chromas_own_filter(qa, tmp_path, monkeypatch, overfetch, exact_chunks):
    """The shortcuts for filtered questions (over-fetching, or comparing the question with each chunk that passes a
    narrow filter) must return what the stores' own filters return."""
    import rag.retrieve

    monkeypatch.setattr(rag.retrieve, "OVERFETCH", overfetch)
    monkeypatch.setattr(rag.retrieve, "EXACT_SEARCH_CHUNKS", exact_chunks)
    rows = [
        {
            "title": f"Robot story {n}",
            "text": f"Robot number {n} learned task {n % 7} in the warehouse.",
            "url": f"https://example.com/{n}",
            "published": f"20{10 + n % 12}-03-01",
            "source": "Alpha" if n % 3 else "Beta",
        }
        for n in range(60)
    ]
    (tmp_path / "robots.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    qa.ingest([tmp_path / "robots.jsonl"])
    from core.dates import to_timestamp as as_timestamp
    from index.store import filter_where

    vector = qa.embedder.get_query_embedding("robot learned task 3")
    for sources, since in ((["Beta"], None), (None, "2019-01-01"), (["Alpha"], "2015-01-01")):
        since_ts = as_timestamp(since)
        expected = qa.store.query(vector, 8, filter_where(sources=sources, since_ts=since_ts))
        got = qa.retriever._dense(vector, 8, sources, since_ts, None)
        # the same similarities in the same order (equal ones may come in either order)
        assert [round(sim, 5) for *_, sim in got] == [round(sim, 5) for *_, sim in expected]
        assert all(meta["source"] in (sources or [meta["source"]]) for _, _, meta, _ in got)
        assert all(meta["published_ts"] >= (since_ts or 0) for _, _, meta, _ in got)
        filtered = qa.keyword.search("robot learned task 3", 8, sources=sources, since_ts=since_ts)
        shortcut = qa.retriever._keyword("robot learned task 3", 8, sources, since_ts, None)
        assert [round(score, 6) for _, score in shortcut] == [round(score, 6) for _, score in filtered]


def test_a_two_part_question_searches_each_part(settings, tmp_path):
    from fakes import ScriptedLLM

    rows = [
        {"title": f"Console news {i}", "text": f"The console sold {i} million units in Japan last year, said Sony.",
         "url": f"https://a.example/{i}", "source": "Alpha"}
        for i in range(8)
    ] + [{"title": "Mac mini price", "text": "Apple's Mac mini costs $499 in the US.", "url": "https://b.example/m",
          "source": "Beta"}]  # fmt: skip
    (tmp_path / "news.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}), llm=ScriptedLLM())
    assert qa.ingest([tmp_path / "news.jsonl"]).ok
    question = "How many units did the console sell in Japan last year, and what does the Mac mini cost?"
    (best,) = qa.retrieve(question, k=1)  # one article answers only one part
    qa._llm.queue("The console sold 3 million units [1]. The Mac mini costs $499 [2].")
    answer = qa.ask(question, k=1)
    titles = [p.title for p in answer.passages]
    assert "Mac mini price" in titles and any(t.startswith("Console news") for t in titles)
    assert len({p.article_id for p in answer.passages}) == 2


def test_a_follow_up_that_cannot_be_rewritten_searches_both_turns_and_answers_the_one_typed(settings, tmp_path):
    from fakes import ScriptedLLM

    rows = [
        {"title": "Joke virus spreads", "text": "A new Bagle variant, Bagle.AT, hides in a joke attachment. Security firm "
         "Network Box said it stopped more than 30,000 copies an hour.", "url": "https://a.example/v", "source": "A"},
        {"title": "Spam rises", "text": "Spam made up 80% of e-mail last year.", "url": "https://a.example/s",
         "source": "A"},
    ]  # fmt: skip
    (tmp_path / "news.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}), llm=ScriptedLLM())
    assert qa.ingest([tmp_path / "news.jsonl"]).ok
    first = "What is the new Bagle variant hidden in a joke attachment called?"
    history = [(first, "It is called Bagle.AT [1].")]
    qa._llm.queue("I cannot rewrite that.", "Network Box stopped more than 30,000 copies an hour [1].")
    answer = qa.ask("who was blocking 30,000 copies an hour?", history=history)
    assert answer.standalone_question == f"who was blocking 30,000 copies an hour? {first}"  # what was searched
    prompt = qa._llm.prompts[-1]
    assert f"follows the earlier question: {first}\n\nQuestion: who was blocking 30,000 copies an hour?" in prompt
    assert not answer.refused and "Network Box" in answer.text
