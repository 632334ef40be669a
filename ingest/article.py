"""The article: what every source becomes before it is chunked and stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


@dataclass
class Article:
    """A clean article. `key` is its identity: the canonical URL, or a local file's file:// URI."""

    key: str
    title: str
    text: str
    source: str
    url: str
    published: datetime | None = None  # timezone-aware (UTC) when known
    author: str | None = None
    categories: tuple[str, ...] = ()  # a feed entry's tags; not part of the content hash

    @property
    def id(self) -> str:
        return hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:16]

    @property
    def content_hash(self) -> str:
        """Decides whether a re-ingested article changed; also finds the same text under another key."""
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()


@dataclass
class LoadOutcome:
    """What reading one item (a file, a line of a JSONL file, a URL) gave: articles, or why not."""

    item: str
    articles: list[Article]
    error: str | None = None  # the item could not be read or parsed: reported as failed
    skipped: str | None = None  # the item is of a type ingestion does not read: reported as skipped
