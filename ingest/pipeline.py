"""From sources to stored chunks: incremental, batched, crash-safe.

Per batch of articles: embed all their chunks at once, write the chunks to Chroma, index them for keywords,
and only then write the article records. A crash leaves, at worst, chunks without a record; `repair`
removes them and the next run stores those articles again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def to_timestamp(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def embedding_text(title: str, chunk: str) -> str:
    """What gets embedded and keyword-indexed for a chunk: the headline gives a chunk its topic."""
    return f"{title}\n{chunk}"


@dataclass
class _Pending:
    item: str
    article: Article
    status: str  # "added" or "updated"


class Ingestor:
    """Stores articles into a ChromaStore and KeywordIndex, embedding with a llama-index BaseEmbedding."""

    def __init__(self, store, keyword, embedder, settings, batch_chunks: int = 512):
        self.store = store
        self.keyword = keyword
        self.embedder = embedder
        self.settings = settings
        self.batch_chunks = batch_chunks

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
        embeddings = self.embedder.get_text_embedding_batch(texts)

        ids, documents, metadatas, keyword_rows, records = [], [], [], [], {}
        replaced: list[str] = []
        position = 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for entry, chunks in planned:
            article = entry.article
            if entry.status == "updated":
                replaced.append(article.id)
            ts = to_timestamp(article.published)
            base = {
                "article_id": article.id,
                "title": article.title,
                "source": article.source,
                "url": article.url,
                "published": article.published.isoformat() if article.published else "",
            }
            if ts is not None:
                base["published_ts"] = ts
            rows = []
            for chunk in chunks:
                chunk_id = f"{article.id}:{chunk.index}"
                ids.append(chunk_id)
                documents.append(chunk.text)
                metadatas.append({**base, "chunk_index": chunk.index, "start": chunk.start, "end": chunk.end})
                rows.append((chunk.text, article.title, chunk_id, article.source, ts))
            keyword_rows.append((article.id, article.content_hash, rows))
            record = {
                **base,
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
            records[article.id] = record
            getattr(report, entry.status).append(entry.item)
            report.chunks_added += len(chunks)
            position += len(chunks)

        for article_id in replaced:  # drop the old version's chunks (it may have had more of them)
            self.store.chunks.delete(where={"article_id": article_id})
        self.store.put_chunks(ids, embeddings, documents, metadatas)
        self.keyword.replace_articles(keyword_rows)
        self.store.put_articles(records)

    def repair(self) -> int:
        """Remove chunks that no article record owns (left by a crash) and bring the keyword index in line.

        Cheap when nothing is wrong: one count compared with the records' chunk totals.
        """
        records = self.store.article_records()
        expected = sum(int(meta.get("n_chunks", 0)) for meta in records.values())
        removed = 0
        if self.store.count_chunks() != expected:
            orphans, present = [], {}
            for cid, article_id, index in self.store.chunk_index():
                if article_id not in records or index >= int(records[article_id].get("n_chunks", 0)):
                    orphans.append(cid)
                else:
                    present[article_id] = present.get(article_id, 0) + 1
            if orphans:
                log.warning("Removing %d chunks left by an interrupted ingest.", len(orphans))
                self.store.delete_chunks(orphans)
                removed = len(orphans)
            # A record whose chunks are gone (a delete or an update cut short): forget the article, so that
            # the next ingest of its source stores it again instead of calling it unchanged.
            incomplete = [aid for aid, meta in records.items() if present.get(aid, 0) < int(meta.get("n_chunks", 0))]
            if incomplete:
                log.warning("Forgetting %d articles whose chunks an interrupted run removed.", len(incomplete))
                for article_id in incomplete:
                    self.store.delete_article(article_id)
                    del records[article_id]
                removed += len(incomplete)
        reconcile_keyword_index(self.store, self.keyword, records)
        return removed


def reconcile_keyword_index(store, keyword, records: dict[str, dict] | None = None) -> int:
    """Make the keyword index hold exactly the articles Chroma holds; returns how many articles changed."""
    if records is None:
        records = store.article_records()
    indexed = keyword.article_hashes()
    stale = [aid for aid, h in indexed.items() if records.get(aid, {}).get("content_hash") != h]
    missing = [aid for aid, meta in records.items() if indexed.get(aid) != meta["content_hash"]]
    if stale:
        keyword.delete_articles(stale)
    if missing:
        log.warning("Keyword index is missing %d articles that Chroma holds: re-indexing them.", len(missing))
        rows = []
        for start in range(0, len(missing), 200):
            ids = missing[start : start + 200]
            got = store.get_chunks(where={"article_id": {"$in": ids}})
            grouped: dict[str, list[tuple]] = {aid: [] for aid in ids}
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                grouped.setdefault(meta["article_id"], []).append(
                    (text, meta.get("title", ""), cid, meta.get("source", ""), meta.get("published_ts"))
                )
            rows.extend((aid, records[aid]["content_hash"], grouped[aid]) for aid in ids)
        keyword.replace_articles(rows)
    return len(stale) + len(set(missing) - set(stale))
