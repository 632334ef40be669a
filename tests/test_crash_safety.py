"""Crash safety: an ingest killed with SIGKILL at any point, then run again, ends exactly like a clean ingest.

The ingest runs in a child process (`newsrag ingest`), killed either after a delay or, deterministically,
right after a chosen write (chunks stored but not keyword-indexed, keyword-indexed but no article record, ...).
"""

from __future__ import annotations

import logging
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from index_state import assert_consistent, child_env, qa_state, raw_state
from paths import BBC_TECH, REPO

from core.settings import Settings

pytestmark = pytest.mark.integration  # `newsrag ingest` and the index reads run in child processes

# The child: `newsrag ingest` with small batches, optionally killing itself right after the Nth call of a write.
CHILD = r"""
import os, signal, sys
from ingest import pipeline
from index import keyword, store

point, nth, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
init = pipeline.Ingestor.__init__
def small_batches(self, *a, **k):
    init(self, *a, **k)
    self.batch_chunks = batch
pipeline.Ingestor.__init__ = small_batches

targets = {
    "after_put_chunks": (store.ChromaStore, "put_chunks"),
    "after_keyword": (keyword.KeywordIndex, "replace_articles"),
    "after_records": (store.ChromaStore, "put_articles"),
}
if point in targets:
    cls, name = targets[point]
    original, calls = getattr(cls, name), [0]
    def wrapper(self, *a, **k):
        result = original(self, *a, **k)
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(cls, name, wrapper)
elif point == "mid_chunk_upsert":  # inside put_chunks, after part of the rows are written
    original, calls = store.ChromaStore._batch_size, [0]
    store.ChromaStore._batch_size = lambda self: 7
    put = store.ChromaStore.put_chunks
    def put_chunks(self, ids, embeddings, documents, metadatas):
        calls[0] += 1
        if calls[0] == nth:
            self.chunks.upsert(ids=ids[:7], embeddings=embeddings[:7], documents=documents[:7], metadatas=metadatas[:7])
            os.kill(os.getpid(), signal.SIGKILL)
        return put(self, ids, embeddings, documents, metadatas)
    store.ChromaStore.put_chunks = put_chunks

from cli.main import main
sys.exit(main(sys.argv[4:]))
"""


def run_child(
    tmp: Path,
    data_dir: Path,
    corpus: Path,
    *,
    point: str = "none",
    nth: int = 1,
    batch: int = 64,
    kill_after: float | None = None,
    embed_model: str = "hash",
    timeout: float = 240,
) -> int:
    """Run `newsrag ingest` in a child process; returns its exit code (-9 when it was killed)."""
    script = tmp / "crash_child.py"
    script.write_text(CHILD)
    cmd = [
        sys.executable,
        str(script),
        point,
        str(nth),
        str(batch),
        "--data-dir",
        str(data_dir),
        "ingest",
        "-q",
        str(corpus),
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=child_env(embed_model), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"ingest child failed ({proc.returncode}):\n{out}\n{err}")
    return proc.returncode


def assert_same_as_clean(state: dict, clean: dict) -> None:
    assert_consistent(state)
    assert state["records"] == clean["records"]
    assert sorted(state["chunk_ids"]) == sorted(clean["chunk_ids"])
    assert len(state["keyword_chunk_ids"]) == len(clean["chunk_ids"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """120 BBC tech articles, copied so that edits in a test touch no shared file."""
    if not BBC_TECH.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    folder = tmp_path_factory.mktemp("corpus") / "tech"
    folder.mkdir()
    for path in sorted(BBC_TECH.glob("*.txt"))[:120]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory, corpus) -> dict:
    """The state a single uninterrupted ingest leaves."""
    tmp = tmp_path_factory.mktemp("clean")
    assert run_child(tmp, tmp / "data", corpus, batch=10_000) == 0
    state = raw_state(tmp / "data")
    assert len(state["records"]) == 120 and len(state["chunk_ids"]) > 120
    assert_consistent(state)
    return state


def _partial(state: dict, clean: dict) -> bool:
    return len(state["records"]) < len(clean["records"]) or len(state["chunk_ids"]) != sum(state["n_chunks"].values())


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "point,nth",
    [
        ("after_put_chunks", 1),  # chunks stored, nothing else
        ("after_put_chunks", 3),  # two whole batches stored, third batch's chunks only
        ("after_keyword", 2),  # chunks and keyword rows, no article records
        ("after_records", 4),  # a clean stop between batches
        ("mid_chunk_upsert", 2),  # part of one batch's chunks
    ],
)
def test_kill_at_a_write_then_ingest_again_equals_clean_ingest(tmp_path, corpus, clean, point, nth):
    data = tmp_path / "data"
    assert run_child(tmp_path, data, corpus, point=point, nth=nth) == -signal.SIGKILL
    assert _partial(raw_state(data), clean), "the kill left a complete index: this kill point tests nothing"
    assert run_child(tmp_path, data, corpus) == 0
    assert_same_as_clean(raw_state(data), clean)


_rng = random.Random(20250912)
KILL_TIMES = [0.5, 1.5, 3.0] + [round(_rng.uniform(1.0, 5.0), 2) for _ in range(3)]


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("seconds", KILL_TIMES)
def test_kill_after_a_delay_then_ingest_again_equals_clean_ingest(tmp_path, corpus, clean, seconds):
    data = tmp_path / "data"
    run_child(tmp_path, data, corpus, kill_after=seconds, batch=32)
    if data.joinpath("chroma").exists() and data.joinpath("keyword.sqlite3").exists():
        killed_state = raw_state(data)
        assert len(killed_state["chunk_ids"]) == len(set(killed_state["chunk_ids"]))
    assert run_child(tmp_path, data, corpus) == 0
    assert_same_as_clean(raw_state(data), clean)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_kill_twice_in_a_row_then_finish(tmp_path, corpus, clean):
    data = tmp_path / "data"
    assert run_child(tmp_path, data, corpus, point="after_keyword", nth=2) == -signal.SIGKILL
    assert run_child(tmp_path, data, corpus, point="after_put_chunks", nth=2) == -signal.SIGKILL
    assert run_child(tmp_path, data, corpus) == 0
    assert_same_as_clean(raw_state(data), clean)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_kill_while_updating_edited_articles(tmp_path, corpus, clean):
    """Edited articles: the old chunks are deleted before the new ones are written; a kill in between loses nothing."""
    edited = tmp_path / "edited" / "tech"
    shutil.copytree(corpus, edited)
    data = tmp_path / "data"
    assert run_child(tmp_path, data, edited) == 0
    names = sorted(p.name for p in edited.glob("*.txt"))[::10]
    for name in names:  # shorter versions: fewer chunks than the stored ones
        path = edited / name
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(lines[:3]) + "\nA correction was added.\n", encoding="utf-8")
    assert run_child(tmp_path, data, edited, point="after_put_chunks", nth=1) == -signal.SIGKILL
    assert run_child(tmp_path, data, edited) == 0
    state = raw_state(data)
    assert_consistent(state)
    reference = tmp_path / "reference"
    assert run_child(tmp_path, reference, edited, batch=10_000) == 0
    expected = raw_state(reference)
    assert state["records"] == expected["records"]
    assert sorted(state["chunk_ids"]) == sorted(expected["chunk_ids"])


@pytest.mark.real
@pytest.mark.timeout(300)
def test_kill_with_the_real_embedder(tmp_path, corpus, clean):
    small = tmp_path / "small" / "tech"
    small.mkdir(parents=True)
    for path in sorted(corpus.glob("*.txt"))[:30]:
        shutil.copy(path, small / path.name)
    data = tmp_path / "data"
    model = Settings.model_fields["embed_model"].default
    assert (
        run_child(tmp_path, data, small, point="after_put_chunks", nth=2, batch=24, embed_model=model)
        == -signal.SIGKILL
    )
    assert _partial(raw_state(data), clean)
    assert run_child(tmp_path, data, small, embed_model=model) == 0
    state = raw_state(data)
    assert_consistent(state)
    # ids depend on the file's path (another folder here), content hashes and chunk counts do not
    chunks_by_hash = {clean["records"][aid]: n for aid, n in clean["n_chunks"].items()}
    hashes = set(state["records"].values())
    assert len(hashes) == 30 and hashes <= set(chunks_by_hash)
    assert len(state["chunk_ids"]) == sum(chunks_by_hash[h] for h in hashes)


# --- a damaged keyword index is rebuilt from Chroma ------------------------------------------------------------


@pytest.fixture
def indexed(tmp_path, corpus, settings):
    from rag.api import NewsQA

    small = tmp_path / "small"
    small.mkdir()
    for path in sorted(corpus.glob("*.txt"))[:15]:
        shutil.copy(path, small / path.name)
    qa = NewsQA(settings=settings)
    qa.ingest([small])
    before = raw_state(settings.data_dir)
    qa.keyword.close()
    return settings, small, before


def _damage(path: Path, how: str) -> None:
    if how == "missing":
        path.unlink()
    elif how == "garbage":
        path.write_bytes(b"this is not a database" * 500)
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif how == "emptied":
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM chunks")
            conn.execute("DELETE FROM articles")
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["missing", "garbage", "truncated", "emptied"])
def test_damaged_keyword_index_is_rebuilt_from_chroma_with_a_warning(indexed, how, caplog):
    from rag.api import NewsQA

    settings, small, before = indexed
    _damage(settings.keyword_path, how)
    qa = NewsQA(settings=settings)
    with caplog.at_level(logging.WARNING):
        hits = qa.retrieve("broadband", k=3)  # a word several of these BBC tech articles use
    assert hits, "retrieval found nothing after the keyword index was damaged"
    assert any("keyword index" in r.getMessage().lower() for r in caplog.records if r.levelno >= logging.WARNING)
    qa.keyword.close()
    after = raw_state(settings.data_dir)
    assert_consistent(after)
    assert after["keyword_hashes"] == before["keyword_hashes"]
    assert sorted(after["keyword_chunk_ids"]) == sorted(before["keyword_chunk_ids"])
    # and the next ingest finds everything unchanged
    report = NewsQA(settings=settings).ingest([small])
    assert len(report.unchanged) == 15 and not report.added and not report.updated


def test_keyword_only_search_works_after_rebuild(indexed):
    from rag.api import NewsQA

    settings, _, before = indexed
    _damage(settings.keyword_path, "garbage")
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}))
    hits = qa.retrieve("broadband", k=3)
    assert hits and all("broadband" in (p.text + p.title).lower() for p in hits)


def test_delete_interrupted_between_chunks_and_record_is_repaired(tmp_path, corpus, settings):
    """`delete` removes chunks first; a crash before the record goes must not leave an article without text."""
    from index.store import ChromaStore
    from rag.api import NewsQA

    small = tmp_path / "small"
    small.mkdir()
    for path in sorted(corpus.glob("*.txt"))[:5]:
        shutil.copy(path, small / path.name)
    qa = NewsQA(settings=settings)
    qa.ingest([small])
    victim = small / sorted(p.name for p in small.iterdir())[0]

    def crash_after_chunks(self, article_id):
        self.chunks.delete(where={"article_id": article_id})
        raise KeyboardInterrupt("simulated crash")

    original = ChromaStore.delete_article
    ChromaStore.delete_article = crash_after_chunks
    try:
        with pytest.raises(KeyboardInterrupt):
            qa.delete(str(victim))
    finally:
        ChromaStore.delete_article = original

    report = NewsQA(settings=settings).ingest([small])  # a fresh process would do the same
    assert report.ok
    state = qa_state(qa)
    assert_consistent(state)
    assert len(state["records"]) == 5
    assert (
        NewsQA(settings=settings)
        .retrieve(victim.read_text(encoding="utf-8").splitlines()[0], k=1)[0]
        .url.endswith(victim.name)
    )
