"""One contract, two store modes: the embedded Chroma in the data dir, and a Chroma server (NEWSRAG_CHROMA_URL).

The server is a real `chroma run` started on 127.0.0.1 by the fixture. Each test uses its own collection prefix on
it, so tests sharing the server do not see each other's articles.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from fakes import fake_settings
from index_state import assert_consistent, qa_state
from servers import answers, free_port, started_process

from core.settings import Settings
from rag.api import NewsQA

CHROMA = Path(sys.executable).with_name("chroma")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A Chroma server on a free loopback port, stopped at the end of the module."""
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is not installed beside {sys.executable}")
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with started_process(cmd, ready=lambda _: answers(f"{url}/api/v2/heartbeat", status=200), timeout=60):
        yield url


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.integration)])
def make_settings(request, tmp_path):
    """Builds Settings for this mode; in server mode every call shares one collection prefix on the server."""
    url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def make(name: str = "data") -> Settings:
        return fake_settings(tmp_path / name, chroma_url=url, collection=prefix)

    make.mode = request.param
    return make


def write(
    folder: Path, name: str, title: str, body: str, *, date: str | None = None, source: str | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    front = ""
    if date or source:
        front = "---\n" + (f"date: {date}\n" if date else "") + (f"source: {source}\n" if source else "") + "---\n"
    path.write_text(f"{front}# {title}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    write(folder, "chips.md", "Zorblax unveils quantum processor",
          "Zorblax Corp unveiled a 512-qubit processor on Monday. The chip runs at four kelvin. " * 8,
          date="2025-03-02", source="Chip Weekly")  # fmt: skip
    write(folder, "phones.md", "Phone sales slump in Europe",
          "Handset shipments in Europe fell 12% in the third quarter, analysts at Frobnitz said. " * 8,
          date="2025-06-15", source="Mobile News")  # fmt: skip
    write(folder, "games.md", "Console makers race to streaming",
          "Three console makers will stream games to televisions by 2026, executives at Quuxbox said. " * 8,
          date="2025-09-20", source="Chip Weekly")  # fmt: skip
    write(
        folder,
        "undated.md",
        "Satellite broadband reaches islands",
        "A satellite operator named Orbitra connected remote islands to broadband internet this year. " * 8,
    )
    return folder


def test_both_halves_implement_the_index_protocols(make_settings):
    from index.protocols import KeywordSearch, Store

    qa = NewsQA(settings=make_settings())
    assert isinstance(qa.store, Store) and isinstance(qa.keyword, KeywordSearch)
    assert not isinstance(object(), Store)


def test_ingest_stores_every_article_once(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    report = qa.ingest([corpus])
    assert len(report.added) == 4 and report.ok
    stats = qa.stats()
    assert stats["articles"] == 4 and stats["chunks"] == report.chunks_added >= 4
    assert stats["sources"] == {"Chip Weekly": 2, "Mobile News": 1, "corpus": 1}
    assert stats["undated"] == 1
    assert_consistent(qa_state(qa))


def test_reingest_changes_nothing(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus])
    before, state = qa.stats(), qa_state(qa)
    report = NewsQA(settings=make_settings()).ingest([corpus])
    assert len(report.unchanged) == 4 and not report.added and not report.updated and report.chunks_added == 0
    assert qa.stats() == before
    assert sorted(qa_state(qa)["chunk_ids"]) == sorted(state["chunk_ids"])


def test_update_replaces_the_old_text(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus])
    path = write(corpus, "chips.md", "Zorblax unveils quantum processor", "Zorblax delayed the launch to next spring.",
                 date="2025-03-02", source="Chip Weekly")  # fmt: skip
    report = qa.ingest([corpus])
    assert report.updated == [str(path)] and len(report.unchanged) == 3
    hits = qa.retrieve("Zorblax processor launch", k=3)
    assert hits[0].text == "Zorblax delayed the launch to next spring."
    assert all("512-qubit" not in p.text for p in hits)
    assert_consistent(qa_state(qa))


def test_delete_removes_the_article_everywhere(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus])
    deleted = qa.delete(str(corpus / "phones.md"))
    assert len(deleted) == 1
    assert qa.stats()["articles"] == 3
    assert all("Frobnitz" not in p.text for p in qa.retrieve("Frobnitz handset shipments Europe", k=5))
    assert_consistent(qa_state(qa))
    assert qa.delete(str(corpus / "phones.md")) == []


def test_filters_by_source_and_date(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus])
    question = "processor handset console satellite"
    only_mobile = qa.retrieve(question, k=10, sources=["Mobile News"])
    assert only_mobile and {p.source for p in only_mobile} == {"Mobile News"}
    summer = qa.retrieve(question, k=10, since="2025-06-01", until="2025-06-30")
    assert summer and {p.title for p in summer} == {"Phone sales slump in Europe"}
    late = qa.retrieve(question, k=10, since="2025-05-01")
    assert {p.title for p in late} == {"Phone sales slump in Europe", "Console makers race to streaming"}
    both = qa.retrieve(question, k=10, sources=["Chip Weekly"], until="2025-04-01")
    assert {p.title for p in both} == {"Zorblax unveils quantum processor"}


def test_retrieve_finds_the_article_that_answers(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus])
    for question, title in [
        ("How many qubits does the Zorblax processor have?", "Zorblax unveils quantum processor"),
        ("Which operator connected islands to broadband?", "Satellite broadband reaches islands"),
        ("What did Frobnitz analysts say about handset shipments?", "Phone sales slump in Europe"),
    ]:
        hits = qa.retrieve(question, k=3)
        assert hits[0].title == title, question
        assert hits[0].url.startswith("file://") and hits[0].chunk_id.startswith(hits[0].article_id)


def test_two_instances_share_one_server(chroma_server, tmp_path, corpus):
    """Separate data dirs (separate keyword indexes), one Chroma server: each sees the other's ingests and deletes."""
    common = {
        "embed_model": "hash",
        "min_relevance": 0.0,
        "chroma_url": chroma_server,
        "collection": f"t{uuid.uuid4().hex[:10]}",
    }
    first = NewsQA(settings=Settings(data_dir=tmp_path / "first", **common))
    second = NewsQA(settings=Settings(data_dir=tmp_path / "second", **common))
    first.ingest([corpus / "chips.md", corpus / "phones.md"])
    assert second.stats()["articles"] == 2

    keyword_only = NewsQA(settings=Settings(data_dir=tmp_path / "second", retrieval_mode="keyword", **common))
    hits = keyword_only.retrieve("Frobnitz handset shipments", k=2)
    assert hits and hits[0].title == "Phone sales slump in Europe"  # found by BM25 in the second's own index
    assert_consistent(qa_state(keyword_only))

    second.ingest([corpus / "games.md"])
    assert second.retrieve("Quuxbox console streaming", k=1)[0].title == "Console makers race to streaming"
    assert first.retrieve("Quuxbox console streaming", k=1)[0].title == "Console makers race to streaming"
    assert_consistent(qa_state(first))

    assert second.delete(str(corpus / "phones.md"))
    assert all(p.title != "Phone sales slump in Europe" for p in first.retrieve("Frobnitz handset shipments", k=5))
    assert first.stats()["articles"] == 2
    assert_consistent(qa_state(first))


def test_unreachable_server_gives_an_error_that_says_what_to_do(tmp_path):
    from index.store import StoreError

    settings = Settings(data_dir=tmp_path, embed_model="hash", chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match="Chroma server"):
        NewsQA(settings=settings).stats()


def test_shared_server_update_by_one_instance_reaches_the_others_keyword_index(chroma_server, tmp_path, corpus):
    """An edit keeps the article count the same: the other instance must still notice it."""
    common = {
        "embed_model": "hash",
        "min_relevance": 0.0,
        "chroma_url": chroma_server,
        "collection": f"t{uuid.uuid4().hex[:10]}",
    }
    writer = NewsQA(settings=Settings(data_dir=tmp_path / "writer", **common))
    reader = NewsQA(settings=Settings(data_dir=tmp_path / "reader", retrieval_mode="keyword", **common))
    writer.ingest([corpus])
    assert reader.retrieve("Frobnitz handset", k=1)[0].title == "Phone sales slump in Europe"
    write(corpus, "phones.md", "Phone sales slump in Europe", "Wibblecom recalled its folding handsets after hinge failures.",
          date="2025-06-15", source="Mobile News")  # fmt: skip
    writer.ingest([corpus])
    hits = reader.retrieve("Wibblecom recalled folding handsets hinge", k=1)
    assert hits and "Wibblecom" in hits[0].text
    assert_consistent(qa_state(reader))


def test_article_chunks_are_the_whole_stored_articles_in_order(make_settings, corpus, tmp_path):
    long = write(tmp_path / "long", "long.md", "Drink Or Die raided",
                 "The Drink Or Die group cracked software for kudos. " * 60
                 + "Customs called the raids Operation Buccaneer. " * 60)  # fmt: skip
    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus, long])
    hit = qa.retrieve("what did customs call the raids", k=1)[0]
    n_chunks = int(qa.store.article_records()[hit.article_id]["n_chunks"])
    assert n_chunks > 1  # the answer's chunk alone does not name the group
    chunks = qa.store.article_chunks([hit.article_id, "no-such-article", hit.article_id])
    assert list(chunks) == [hit.article_id]
    assert [meta["chunk_index"] for _, _, meta in chunks[hit.article_id]] == list(range(n_chunks))
    text = " ".join(text for _, text, _ in chunks[hit.article_id])
    assert "Drink Or Die" in text and "Operation Buccaneer" in text
    assert text.index("Drink Or Die") < text.index("Operation Buccaneer")


def test_nearest_chunks_when_fewer_are_stored_than_asked_for(make_settings, corpus):
    qa = NewsQA(settings=make_settings())
    vector = qa.embedder.get_query_embedding("quantum processor")
    assert qa.store.query(vector, 50) == [] and qa.store.nearest_ids(vector, 50) == []
    assert qa.retrieve("quantum processor", k=5) == []
    qa.ingest([corpus])
    total = qa.store.count_chunks()
    assert total < 50
    nearest = qa.store.query(vector, 50)
    assert len(nearest) == len(qa.store.nearest_ids(vector, 50)) == total
    assert "Zorblax" in nearest[0].text


def test_every_record_is_read_a_page_at_a_time(make_settings, corpus):
    from index.store import _every_metadata

    qa = NewsQA(settings=make_settings())
    qa.ingest([corpus])
    paged = dict(_every_metadata(qa.store.articles, page=3))  # 4 articles: a full page and a short one
    assert paged == qa.store.article_records() and len(paged) == 4
    assert {ref.chunk_id for ref in qa.store.chunk_index()} == set(qa.store.get_chunks()["ids"])
