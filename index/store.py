"""Chroma, opened in one place: embedded in the data directory, or a Chroma server (settings.chroma_url).

Two collections: `<prefix>-chunks` holds one row per chunk with its embedding; `<prefix>-articles` holds one
row per article and is written last, so an article counts as stored only once all its chunks are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlparse

from core.errors import StoreError
from core.settings import Settings
from core.types import chunk_id
from index.rows import ChunkRef, Hit, StoredChunk

log = logging.getLogger(__name__)


def open_client(settings: Settings):
    """A Chroma client: HttpClient when settings.chroma_url is set, else a PersistentClient in the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"NEWSRAG_CHROMA_URL must look like http://host:port, not {settings.chroma_url!r}")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreError(f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def _where(conditions: list[dict]) -> dict | None:
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def filter_where(
    *, sources: Iterable[str] | None = None, since_ts: int | None = None, until_ts: int | None = None
) -> dict | None:
    """A Chroma `where` clause for the source and date filters (dates as Unix seconds)."""
    conditions: list[dict] = []
    if sources:
        conditions.append({"source": {"$in": list(sources)}})
    if since_ts is not None:
        conditions.append({"published_ts": {"$gte": since_ts}})
    if until_ts is not None:
        conditions.append({"published_ts": {"$lte": until_ts}})
    return _where(conditions)


class ChromaStore:
    """Chunks (text, vector, metadata) and article records in two Chroma collections; see index.protocols.Store."""

    def __init__(self, settings: Settings, embed_model: str):
        self.settings = settings
        self.embed_model = embed_model
        self._client = None
        self._chunks = None
        self._articles = None
        self._lock = threading.Lock()

    def _open(self):
        with self._lock:
            if self._chunks is None:
                client = open_client(self.settings)
                prefix = self.settings.collection
                chunks = client.get_or_create_collection(
                    f"{prefix}-chunks",
                    metadata={"hnsw:space": "cosine", "embed_model": self.embed_model},
                    embedding_function=None,
                )
                stored_model = (chunks.metadata or {}).get("embed_model")
                if stored_model and stored_model != self.embed_model:
                    elsewhere = (
                        "another NEWSRAG_COLLECTION on the server" if self.settings.chroma_url else "another --data-dir"
                    )
                    raise StoreError(
                        f"This index was built with the embedding model {stored_model!r}, not {self.embed_model!r}, "
                        "and vectors of two models cannot be compared: set NEWSRAG_EMBED_MODEL (and "
                        f"NEWSRAG_EMBED_BACKEND) back to what built it, or use {elsewhere} and ingest again."
                    )
                self._articles = client.get_or_create_collection(f"{prefix}-articles", embedding_function=None)
                self._client, self._chunks = client, chunks
        return self._chunks, self._articles

    @property
    def chunks(self):
        return self._open()[0]

    @property
    def articles(self):
        return self._open()[1]

    def _batch_size(self) -> int:
        try:
            return min(self._client.get_max_batch_size(), 2000)
        except Exception:
            return 1000

    # articles -------------------------------------------------------------

    def article_records(self) -> dict[str, dict[str, Any]]:
        """Every stored article's record, by article id."""
        return dict(_every_metadata(self.articles))

    def records_with_hashes(self, content_hashes: list[str]) -> dict[str, dict[str, Any]]:
        """The records of the stored articles whose content hash is one of these, by article id."""
        if not content_hashes:
            return {}
        got = self.articles.get(where={"content_hash": {"$in": list(content_hashes)}}, include=["metadatas"])
        return dict(zip(got["ids"], got["metadatas"], strict=True))

    def count_articles(self) -> int:
        return self.articles.count()

    def count_chunks(self) -> int:
        return self.chunks.count()

    def put_articles(self, records: dict[str, dict[str, Any]]) -> None:
        if not records:
            return
        ids = list(records)
        self.articles.upsert(ids=ids, metadatas=[records[i] for i in ids], embeddings=[[1.0]] * len(ids))

    def set_story_ids(self, ids: dict[str, tuple[str, str]]) -> None:
        """Move articles to another story or copy cluster: {article id: (story_id, dup_id)}, written to their
        chunks' metadata (which retrieval reads) first, then to their records."""
        if not ids:
            return
        got = self.articles.get(ids=list(ids), include=["metadatas"])
        chunk_ids, chunk_metas, record_ids, record_metas = [], [], [], []
        for article_id, meta in zip(got["ids"], got["metadatas"], strict=True):
            story_id, dup_id = ids[article_id]
            fields = {"story_id": story_id, "dup_id": dup_id}
            record_ids.append(article_id)
            record_metas.append(fields)
            for index in range(int(meta.get("n_chunks", 0))):
                chunk_ids.append(chunk_id(article_id, index))
                chunk_metas.append(fields)
        step = self._batch_size()
        for i in range(0, len(chunk_ids), step):
            self.chunks.update(ids=chunk_ids[i : i + step], metadatas=chunk_metas[i : i + step])
        if record_ids:
            self.articles.update(ids=record_ids, metadatas=record_metas)

    # chunks ---------------------------------------------------------------

    def put_chunks(self, ids: list[str], embeddings, documents: list[str], metadatas: list[dict]) -> None:
        step = self._batch_size()
        for i in range(0, len(ids), step):
            self.chunks.upsert(
                ids=ids[i : i + step],
                embeddings=embeddings[i : i + step],
                documents=documents[i : i + step],
                metadatas=metadatas[i : i + step],
            )

    def delete_chunks(self, ids: list[str]) -> None:
        step = self._batch_size()
        for i in range(0, len(ids), step):
            self.chunks.delete(ids=ids[i : i + step])

    def delete_article_chunks(self, article_id: str) -> None:
        self.chunks.delete(where={"article_id": article_id})

    def delete_article(self, article_id: str) -> None:
        """Chunks first, then the record: a crash in between leaves a record whose chunks a repair restores."""
        self.delete_article_chunks(article_id)
        self.articles.delete(ids=[article_id])

    def chunk_index(self) -> list[ChunkRef]:
        """Every stored chunk's article and position: used to find orphans after a crash."""
        return [
            ChunkRef(cid, meta.get("article_id", ""), int(meta.get("chunk_index", 0)), meta.get("written_ts"))
            for cid, meta in _every_metadata(self.chunks)
        ]

    def article_chunks(self, article_ids: list[str]) -> dict[str, list[tuple[str, str, dict]]]:
        """Every stored chunk of each of these articles, in order: article id -> [(chunk id, text, metadata)]."""
        article_ids = list(dict.fromkeys(article_ids))  # Chroma refuses a repeated id
        if not article_ids:
            return {}
        records = self.articles.get(ids=article_ids, include=["metadatas"])
        ids = [
            chunk_id(aid, index)
            for aid, meta in zip(records["ids"], records["metadatas"], strict=True)
            for index in range(int(meta.get("n_chunks", 0)))
        ]
        got = self.chunks.get(ids=ids, include=["documents", "metadatas"]) if ids else {"ids": []}
        out: dict[str, list[tuple[str, str, dict]]] = {}
        for cid, text, meta in zip(got["ids"], got.get("documents") or [], got.get("metadatas") or [], strict=True):
            out.setdefault(meta.get("article_id", ""), []).append((cid, text, meta))
        return {aid: sorted(rows, key=lambda row: int(row[2].get("chunk_index", 0))) for aid, rows in out.items()}

    def get_chunks(self, ids: list[str] | None = None, where: dict | None = None, with_embeddings: bool = False):
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        return self.chunks.get(ids=ids, where=where, include=include)

    def nearest_ids(self, embedding: list[float], n: int) -> list[Hit]:
        """The n nearest chunks scored by cosine similarity, without their text: cheap to over-fetch."""
        got = self.chunks.query(query_embeddings=[embedding], n_results=n, include=["distances"])
        return [Hit(cid, 1.0 - dist) for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True)]

    def query(self, embedding: list[float], n: int, where: dict | None = None) -> list[StoredChunk]:
        """Nearest chunks with their text and metadata, best first.

        (Chroma returns fewer than n when the collection holds fewer; counting first cost 7 ms at 100,000 chunks.)
        """
        got = self.chunks.query(
            query_embeddings=[embedding],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            StoredChunk(cid, doc, meta, 1.0 - dist)
            for cid, doc, meta, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
            )
        ]


def _every_metadata(collection, page: int = 20_000) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, metadata) of every record, a page at a time: one get of 50,000 records fails (Chroma's "too many SQL
    variables"). Pages of 20,000 read 200,000 article records in about 9 s, pages of 5,000 in 17 s."""
    offset = 0
    while True:
        got = collection.get(include=["metadatas"], limit=page, offset=offset)
        yield from zip(got["ids"], got["metadatas"], strict=True)
        if len(got["ids"]) < page:
            return
        offset += page
