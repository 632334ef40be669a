"""The consistency of an index on disk or in an open NewsQA: Chroma's two collections and the keyword index agree.

Shared by the crash-safety, hostile-corpus, load and store-contract tests; `raw_state` reads the index in a fresh
process (this module is what that child imports), since this process may hold stale Chroma caches.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from paths import REPO


def state_of(chunks, articles, keyword_path: Path) -> dict:
    """Everything a consistency check needs, from the two Chroma collections and the keyword file, without repair."""
    got_chunks = chunks.get(include=["metadatas"])
    got_articles = articles.get(include=["metadatas"])
    conn = sqlite3.connect(keyword_path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if {"articles", "chunks"} <= tables:
            keyword_hashes = dict(conn.execute("SELECT article_id, content_hash FROM articles"))
            keyword_chunk_ids = [row[0] for row in conn.execute("SELECT chunk_id FROM chunks")]
        else:  # a kill between creating the file and its schema: an empty keyword index, as KeywordIndex reads it
            keyword_hashes, keyword_chunk_ids = {}, []
    finally:
        conn.close()
    metas = dict(zip(got_articles["ids"], got_articles["metadatas"], strict=True))
    return {
        "records": {aid: meta["content_hash"] for aid, meta in metas.items()},
        "n_chunks": {aid: meta["n_chunks"] for aid, meta in metas.items()},
        "chunk_ids": list(got_chunks["ids"]),
        "chunk_articles": dict(Counter(meta["article_id"] for meta in got_chunks["metadatas"])),
        "keyword_hashes": keyword_hashes,
        "keyword_chunk_ids": keyword_chunk_ids,
    }


def qa_state(qa) -> dict:
    """The state of an open NewsQA's index (in this process)."""
    return state_of(qa.store.chunks, qa.store.articles, qa.settings.keyword_path)


_STATE_CHILD = r"""
import json, sys
from pathlib import Path
import chromadb
from chromadb.config import Settings
sys.path.insert(0, sys.argv[2])
from index_state import state_of
data = Path(sys.argv[1])
client = chromadb.PersistentClient(path=str(data / "chroma"), settings=Settings(anonymized_telemetry=False))
print(json.dumps(state_of(client.get_collection("newsrag-chunks"), client.get_collection("newsrag-articles"),
                          data / "keyword.sqlite3")))
"""


def raw_state(data_dir: Path) -> dict:
    """The state of an embedded index on disk, read in a fresh process (this one may hold stale Chroma caches)."""
    got = subprocess.run(
        [sys.executable, "-c", _STATE_CHILD, str(data_dir), str(Path(__file__).parent)],
        cwd=REPO,
        env=child_env("hash"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def assert_consistent(state: dict) -> None:
    """No duplicates, no orphans, no record missing chunks, and the keyword index mirrors Chroma exactly."""
    assert len(state["chunk_ids"]) == len(set(state["chunk_ids"])), "duplicate chunk ids"
    assert set(state["chunk_articles"]) == set(state["records"]), "chunks without a record, or records without chunks"
    assert state["chunk_articles"] == state["n_chunks"], "an article's chunk count differs from its record"
    assert state["keyword_hashes"] == state["records"], "keyword index articles differ from Chroma's records"
    assert Counter(state["keyword_chunk_ids"]) == Counter(state["chunk_ids"]), "FTS rows differ from Chroma's chunks"


def child_env(embed_model: str) -> dict[str, str]:
    """The environment of a newsrag child process: no NEWSRAG_* from the caller, offline, the checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(
        NEWSRAG_EMBED_MODEL=embed_model, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False"
    )
    env["PYTHONPATH"] = str(REPO)
    return env
