"""The rows the index layer passes around, named: what Chroma and the keyword index store and return."""

from __future__ import annotations

from typing import Any, NamedTuple


class KeywordRow(NamedTuple):
    """One chunk as the keyword index stores it."""

    text: str
    title: str
    chunk_id: str
    source: str
    published_ts: int | None


class ArticleRows(NamedTuple):
    """An article's chunks, with the content hash they were indexed from."""

    article_id: str
    content_hash: str
    rows: list[KeywordRow]


class Hit(NamedTuple):
    """A search result: a chunk and its score (higher is better)."""

    chunk_id: str
    score: float


class StoredChunk(NamedTuple):
    """A chunk read back from Chroma with its metadata and its similarity to the query."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


class ChunkRef(NamedTuple):
    """Where a stored chunk belongs: its article and its position there."""

    chunk_id: str
    article_id: str
    index: int
    written_ts: int | None = None  # when it was written (Unix seconds); None in indexes older than the field
