"""From sources to stored chunks: incremental, batched, crash-safe.

Per batch of articles: embed all their chunks at once, write the chunks to Chroma, index them for keywords,
and only then write the article records. A crash leaves, at worst, chunks without a record; `repair`
removes them and the next run stores those articles again.

Each new or changed article joins a story on the way (index.stories): its story and copy-cluster ids go into
its record and its chunks' metadata in the same write.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.dates import to_timestamp
from core.types import chunk_id
from index import sync
from index.rows import ArticleRows, KeywordRow
from index.stories import Profile, StoryIndex, profile_for
from index.sync import IndexBatch
from ingest.article import Article, LoadOutcome
from ingest.chunking import chunk_text

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, str], None]  # (items done, the item just read)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (item, the stored article it repeats)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, reason): types ingestion does not read
    chunks_added: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def merge(self, other: IngestReport) -> None:
        for name in ("added", "updated", "unchanged", "duplicates", "failed", "skipped"):
            getattr(self, name).extend(getattr(other, name))
        self.chunks_added += other.chunks_added
        self.seconds += other.seconds

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.duplicates)} duplicates, {len(self.failed)} failed, {len(self.skipped)} skipped "
            f"({self.chunks_added} chunks embedded in {self.seconds:.1f} s)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": [{"item": i, "duplicate_of": d} for i, d in self.duplicates],
            "failed": [{"item": i, "reason": r} for i, r in self.failed],
            "skipped": [{"item": i, "reason": r} for i, r in self.skipped],
            "chunks_added": self.chunks_added,
            "seconds": round(self.seconds, 3),
        }


def embedding_text(title: str, chunk: str) -> str:
    """What gets embedded and keyword-indexed for a chunk: the headline gives a chunk its topic."""
    return f"{title}\n{chunk}"


@dataclass
class _Pending:
    item: str
    article: Article
    status: str  # "added" or "updated"


class Ingestor:
    """Stores articles into a ChromaStore and KeywordIndex, embedding with an index.embedder.Embedder (or anything
    with its get_text_embedding_batch, such as a llama-index BaseEmbedding)."""

    def __init__(self, store, keyword, embedder, settings, batch_chunks: int = 512):
        self.store = store
        self.keyword = keyword
        self.embedder = embedder
        self.settings = settings
        self.batch_chunks = batch_chunks
        self._stories: StoryIndex | None = None  # built from the records at the start of each ingest

    def ingest(self, sources: Iterable[str | Path], progress: ProgressCallback | None = None) -> IngestReport:
        from ingest.readers import load_sources

        return self.ingest_outcomes(load_sources(sources, self.settings), progress)

    def ingest_outcomes(
        self, outcomes: Iterable[LoadOutcome], progress: ProgressCallback | None = None
    ) -> IngestReport:
        """Store articles already read (by the readers, or built from feed entries)."""
        started = time.perf_counter()
        report = IngestReport()
        self.repair()
        records = self.store.article_records()
        self._stories = StoryIndex.from_records(records, self.settings)
        by_hash = {meta["content_hash"]: meta.get("key", aid) for aid, meta in records.items()}
        pending: list[_Pending] = []
        pending_chunks = 0
        for done, outcome in enumerate(outcomes, start=1):
            if progress:
                progress(done, outcome.item)
            if outcome.skipped:
                report.skipped.append((outcome.item, outcome.skipped))
                continue
            if outcome.error:
                log.warning("Skipped %s: %s", outcome.item, outcome.error)
                report.failed.append((outcome.item, outcome.error))
                continue
            for article in outcome.articles:
                label = article.key if len(outcome.articles) > 1 else outcome.item
                record = records.get(article.id)
                content_hash = article.content_hash
                if record and record["content_hash"] == content_hash:
                    report.unchanged.append(label)
                elif content_hash in by_hash and by_hash[content_hash] != article.key:
                    report.duplicates.append((label, by_hash[content_hash]))
                else:
                    by_hash[content_hash] = article.key
                    records[article.id] = {"content_hash": content_hash, "key": article.key}
                    pending.append(_Pending(label, article, "updated" if record else "added"))
                    pending_chunks += max(1, len(article.text) // 1000)
            if pending_chunks >= self.batch_chunks:
                self._store_batch(pending, report)
                pending, pending_chunks = [], 0
        if pending:
            self._store_batch(pending, report)
        report.seconds = time.perf_counter() - started
        log.info("Ingest: %s", report.summary())
        return report

    def _store_batch(self, batch: list[_Pending], report: IngestReport) -> None:
        """Embed and store a batch of new or changed articles; records are written last."""
        planned = []
        texts: list[str] = []
        for entry in batch:
            article = entry.article
            try:
                chunks = chunk_text(article.text, self.settings.chunk_tokens, self.settings.chunk_overlap)
            except Exception as exc:  # a bug on odd text must not stop the batch
                log.exception("Chunking failed for %s", entry.item)
                report.failed.append((entry.item, f"could not be chunked: {exc}"))
                continue
            if not chunks:
                report.failed.append((entry.item, "no article text"))
                continue
            planned.append((entry, chunks))
            texts.extend(embedding_text(article.title, c.text) for c in chunks)
        if not planned:
            return
        batch = IndexBatch(embeddings=self.embedder.get_text_embedding_batch(texts))
        now = datetime.now(UTC).isoformat(timespec="milliseconds")  # "new since the page opened" needs sub-second
        moved: dict[str, Profile] = {}  # stored articles whose story changed (a changed article left it)
        first = 0
        for entry, chunks in planned:
            article = entry.article
            if entry.status == "updated":
                batch.replaced.append(article.id)
                moved.update(self._stories.withdraw([article.id]))
            ts = to_timestamp(article.published)
            vectors = batch.embeddings[first : first + len(chunks)]
            first += len(chunks)
            profile = self._stories.assign(profile_for(article.id, article.title, article.text, vectors, ts))
            base = {
                "article_id": article.id,
                "title": article.title,
                "source": article.source,
                "url": article.url,
                "published": article.published.isoformat() if article.published else "",
                "story_id": profile.story_id,
                "dup_id": profile.dup_id,
            }
            if ts is not None:
                base["published_ts"] = ts
            rows = []
            for chunk in chunks:
                cid = chunk_id(article.id, chunk.index)
                batch.chunk_ids.append(cid)
                batch.documents.append(chunk.text)
                batch.metadatas.append({**base, "chunk_index": chunk.index, "start": chunk.start, "end": chunk.end})
                rows.append(KeywordRow(chunk.text, article.title, cid, article.source, ts))
            batch.keyword_rows.append(ArticleRows(article.id, article.content_hash, rows))
            record = {
                **base,
                **profile.record_fields(),
                "key": article.key,
                "content_hash": article.content_hash,
                "n_chunks": len(chunks),
                "ingested_at": now,
                "item": entry.item,
                "chars": len(article.text),
            }
            if article.author:
                record["author"] = article.author
            if article.categories:
                record["categories"] = ", ".join(article.categories)
            batch.records[article.id] = record
            getattr(report, entry.status).append(entry.item)
            report.chunks_added += len(chunks)
        sync.write(self.store, self.keyword, batch)
        self._settle_duplicates(batch, report)
        current = self._stories.profiles
        self.store.set_story_ids(
            {
                aid: (current[aid].story_id, current[aid].dup_id)
                for aid in moved
                if aid in current and aid not in batch.records
            }
        )

    def delete(self, article_ids: list[str]) -> None:
        """Remove articles from both halves of the index; the rest of their stories stay together where they
        still link, and split where the deleted article was their only link (index.stories)."""
        stories = StoryIndex.from_records(self.store.article_records(), self.settings)
        sync.delete(self.store, self.keyword, article_ids)
        moved = stories.withdraw(article_ids)
        self.store.set_story_ids({aid: (p.story_id, p.dup_id) for aid, p in moved.items()})

    def _settle_duplicates(self, batch: IndexBatch, report: IngestReport) -> None:
        """Another process may have stored the same text under another name since this ingest read the records
        (a shared Chroma server): one copy stays (index.sync.settle_duplicates); ours, if it went, is reported
        as a duplicate."""
        for article_id, kept in sync.settle_duplicates(self.store, self.keyword, batch.records).items():
            record = batch.records.get(article_id)
            if record is None:
                continue  # the other writer's copy
            for name in ("added", "updated"):
                if record["item"] in getattr(report, name):
                    getattr(report, name).remove(record["item"])
            report.duplicates.append((record["item"], kept))
            report.chunks_added -= record["n_chunks"]

    def repair(self) -> int:
        """Remove what an interrupted run left half-stored; see index.sync.repair. On a shared server, what
        another live writer is storing now is left alone (index.sync.ORPHAN_GRACE_S)."""
        grace = sync.ORPHAN_GRACE_S if self.settings.chroma_url else 0
        return sync.repair(self.store, self.keyword, grace=grace)
