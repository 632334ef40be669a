"""Several `newsrag ingest` processes writing into one Chroma server at once (issue 15, "past one machine").

A real `chroma run` on loopback; each ingest process has its own data dir (its own keyword index) and the same
NEWSRAG_CHROMA_URL and collection. The folders overlap twice over: the same files given to both processes (the
same article ids), and copies of the same article under two names (the same content hash, two keys).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from index_state import assert_consistent, child_env, qa_state
from paths import BBC_TECH, REPO
from servers import answers, free_port, started_process

from core.settings import Settings
from ingest.article import Article
from rag.api import NewsQA

CHROMA = Path(sys.executable).with_name("chroma")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A Chroma server on a free loopback port, stopped at the end of the module (as in test_store_contract)."""
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is not installed beside {sys.executable}")
    folder = tmp_path_factory.mktemp("chroma-server")
    url = f"http://127.0.0.1:{free_port()}"
    port = url.rsplit(":", 1)[1]
    cmd = [str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", port]
    with started_process(cmd, ready=lambda _: answers(f"{url}/api/v2/heartbeat", status=200), timeout=60):
        yield url


def shared_settings(url: str, collection: str, data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, embed_model="hash", min_relevance=0.0, chroma_url=url, collection=collection)


@pytest.fixture
def folders(tmp_path):
    """Two folders of 40 BBC articles for two processes: 25 of their own, 10 shared files (`both`, given to both
    processes, same paths), and 5 articles copied into each folder (same text, two names)."""
    if not BBC_TECH.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    files = sorted(BBC_TECH.glob("*.txt"))[:65]
    layout = {"one": files[:25] + files[60:65], "two": files[25:50] + files[60:65], "both": files[50:60]}
    for name, chosen in layout.items():
        (tmp_path / name).mkdir()
        for path in chosen:
            shutil.copy(path, tmp_path / name / path.name)
    return tmp_path, {path.name for path in files[60:65]}


def ingest_process(url: str, collection: str, data_dir: Path, *sources: Path) -> subprocess.Popen:
    env = child_env("hash") | {"NEWSRAG_CHROMA_URL": url, "NEWSRAG_COLLECTION": collection}
    cmd = [sys.executable, "-m", "cli.main", "--data-dir", str(data_dir), "ingest", "--json", *map(str, sources)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_ingest_processes_store_every_article_once(chroma_server, folders):
    root, copied = folders
    collection = f"p{uuid.uuid4().hex[:10]}"
    procs = [
        ingest_process(chroma_server, collection, root / "data-one", root / "one", root / "both"),
        ingest_process(chroma_server, collection, root / "data-two", root / "two", root / "both"),
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(out))
    assert all(len(r["added"]) + len(r["duplicates"]) + len(r["unchanged"]) == 40 for r in reports)

    reader = NewsQA(settings=shared_settings(chroma_server, collection, root / "data-reader"))
    records = reader.store.article_records()
    expected_keys = {p.resolve().as_uri() for name in ("one", "two", "both") for p in (root / name).iterdir()}
    keys = Counter(meta["key"] for meta in records.values())
    hashes = Counter(meta["content_hash"] for meta in records.values())
    assert len(records) == 25 + 25 + 10 + 5  # every distinct article, once
    assert set(keys) <= expected_keys and max(keys.values()) == 1
    assert max(hashes.values()) == 1, "the same text stored under two names"
    for name in copied:  # each copy stored under exactly one of its two names
        assert sum(key.endswith(f"/{name}") for key in keys) == 1, name
    for name in ("one", "two", "both"):  # nothing lost
        for path in (root / name).iterdir():
            if path.name not in copied:
                assert path.resolve().as_uri() in keys, path

    reader.retrieve("broadband", k=1)  # a question brings this instance's keyword index in line with Chroma
    assert_consistent(qa_state(reader))
    for name in ("data-one", "data-two"):  # and each writer's own, once it answers a question
        writer = NewsQA(settings=shared_settings(chroma_server, collection, root / name))
        writer.retrieve("broadband", k=1)
        assert_consistent(qa_state(writer))


def article(key: str, text: str) -> Article:
    return Article(key=key, title=f"Title of {key}", text=text, source="test", url=key)


def test_an_ingest_starting_leaves_another_writers_fresh_chunks_alone(chroma_server, tmp_path):
    """A second ingest's start-up repair runs while the first has written chunks but not yet their record."""
    from ingest.article import LoadOutcome

    collection = f"p{uuid.uuid4().hex[:10]}"
    first = NewsQA(settings=shared_settings(chroma_server, collection, tmp_path / "first"))
    second = NewsQA(settings=shared_settings(chroma_server, collection, tmp_path / "second"))
    text = "Orbitra connected remote islands to satellite broadband this year, the operator said. " * 30
    pending = article("https://example.com/in-flight", text)

    written = []
    real_put_articles = first.store.put_articles

    def put_articles_after_the_other_started(records):
        written.append(dict(records))
        second.ingest_outcomes([LoadOutcome("other", [article("https://example.com/other", "Quuxbox games. " * 40)])])
        real_put_articles(records)

    first.store.put_articles = put_articles_after_the_other_started
    first.ingest_outcomes([LoadOutcome("in-flight", [pending])])
    assert written, "the first writer never reached its records"
    first.retrieve("broadband", k=1)
    state = qa_state(first)
    assert_consistent(state)
    assert state["chunk_articles"][pending.id] == written[0][pending.id]["n_chunks"] > 1


def test_crash_leftovers_on_a_server_are_removed_once_they_are_old(chroma_server, tmp_path, monkeypatch):
    from index import sync
    from ingest.article import LoadOutcome

    collection = f"p{uuid.uuid4().hex[:10]}"
    qa = NewsQA(settings=shared_settings(chroma_server, collection, tmp_path / "data"))
    qa.store.put_articles = lambda records: None  # the process "dies" before its records
    qa.ingest_outcomes([LoadOutcome("crashed", [article("https://example.com/crashed", "Zorblax chips. " * 200)])])
    del qa.store.put_articles
    assert qa.store.count_chunks() > 0 and qa.store.count_articles() == 0
    assert qa.ingestor.repair() == 0  # fresh: maybe another live writer's
    monkeypatch.setattr(sync, "ORPHAN_GRACE_S", 0)  # as if the grace period had passed
    time.sleep(1.1)
    assert qa.ingestor.repair() > 0 and qa.store.count_chunks() == 0
