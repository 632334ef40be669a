"""Keeping the two halves of the index in step: the Chroma store (chunks, vectors, article records) and the
FTS5 keyword index. Ingestion writes through `write`, deletion through `delete`; `repair` and
`reconcile_keyword` bring them back in line after a crash or after another process changed a shared Chroma.

The order of writes is what makes a crash safe: chunks first, keyword rows next, the article record last, so an
article counts as stored only once all of it is; `repair` removes whatever a crash left without its record.

Several ingest processes may write into one Chroma server at once (each with its own data dir and keyword
index). Two things then differ from one writer, and both are handled here:
- what a crash leaves (chunks without a record) is also what another writer's batch looks like between its
  chunks and its record. Every chunk carries the time it was written, and on a shared server `repair` leaves
  alone any article with a chunk younger than ORPHAN_GRACE_S: a live batch finishes in seconds, a crash's
  leftovers are removed by the first repair after the grace period.
- the duplicate check (the same text under another key) compares with the records read when an ingest starts,
  so two writers that read before either wrote both store the same text. Article ids are deterministic and
  writes are upserts, so the same key from two writers is one article; for the same text under two keys,
  `settle_duplicates` runs after every write: of the stored articles with one content hash, the smallest key
  stays and the others go. The later of two racing writers always sees both records, and both writers choose
  the same article, so the race ends with one copy whatever the timing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from index.protocols import KeywordSearch, Store
from index.rows import ArticleRows, KeywordRow

log = logging.getLogger(__name__)

_RECONCILE_BATCH = 200  # articles read back from Chroma per request when re-indexing keywords
# On a shared server, chunks written this recently may be another live writer's batch, not a crash's leftovers.
# A batch (512 chunks) is written in a few seconds here; ten minutes leaves room for a slow server.
ORPHAN_GRACE_S = 600


@dataclass
class IndexBatch:
    """New and changed articles, ready to store: their chunks embedded, their keyword rows and records built."""

    chunk_ids: list[str] = field(default_factory=list)
    embeddings: list[list[float]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    keyword_rows: list[ArticleRows] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)  # articles whose earlier version's chunks go first


def write(store: Store, keyword: KeywordSearch, batch: IndexBatch) -> None:
    """Store a batch in both halves; the article records are written last."""
    for article_id in batch.replaced:  # drop the old version's chunks (it may have had more of them)
        store.delete_article_chunks(article_id)
    written = int(time.time())  # lets a repair in another process tell this batch from a crash's leftovers
    metadatas = [{**meta, "written_ts": written} for meta in batch.metadatas]
    store.put_chunks(batch.chunk_ids, batch.embeddings, batch.documents, metadatas)
    keyword.replace_articles(batch.keyword_rows)
    store.put_articles(batch.records)


def delete(store: Store, keyword: KeywordSearch, article_ids: Iterable[str]) -> None:
    """Remove articles from both halves."""
    article_ids = list(article_ids)
    for article_id in article_ids:
        store.delete_article(article_id)
    keyword.delete_articles(article_ids)


def settle_duplicates(store: Store, keyword: KeywordSearch, records: dict[str, dict[str, Any]]) -> dict[str, str]:
    """After a write: where another writer stored the same text under another key at the same time, keep the
    article with the smallest key and delete the others; returns {deleted article id: the key kept}."""
    hashes = sorted({meta["content_hash"] for meta in records.values()})
    groups: dict[str, list[tuple[str, str]]] = {}
    for article_id, meta in store.records_with_hashes(hashes).items():
        groups.setdefault(meta["content_hash"], []).append((meta.get("key", article_id), article_id))
    losers: dict[str, str] = {}
    for group in groups.values():
        kept = min(group)[0]
        losers.update({article_id: kept for key, article_id in group if key != kept})
    if losers:
        log.info("Another writer stored the same text under another name: removing %d copies.", len(losers))
        delete(store, keyword, losers)
    return losers


def repair(store: Store, keyword: KeywordSearch, grace: float = 0) -> int:
    """Remove chunks that no article record owns (left by a crash) and bring the keyword index in line;
    returns how many chunks and articles were removed.

    `grace` > 0 (a shared server): articles with a chunk written in the last `grace` seconds are left alone,
    since another process may be writing them. Cheap when nothing is wrong: one count compared with the
    records' chunk totals.
    """
    records = store.article_records()
    expected = sum(int(meta.get("n_chunks", 0)) for meta in records.values())
    removed = 0
    if store.count_chunks() != expected:
        orphans, present = [], {}
        refs = store.chunk_index()
        cutoff = time.time() - grace
        fresh = {r.article_id for r in refs if grace and r.written_ts is not None and r.written_ts > cutoff}
        if fresh:
            log.info("Leaving %d articles alone that another writer may be storing now.", len(fresh))
        for ref in refs:
            if ref.article_id in fresh:
                continue
            if ref.article_id not in records or ref.index >= int(records[ref.article_id].get("n_chunks", 0)):
                orphans.append(ref.chunk_id)
            else:
                present[ref.article_id] = present.get(ref.article_id, 0) + 1
        if orphans:
            log.warning("Removing %d chunks left by an interrupted ingest.", len(orphans))
            store.delete_chunks(orphans)
            removed = len(orphans)
        # A record whose chunks are gone (a delete or an update cut short): forget the article, so that
        # the next ingest of its source stores it again instead of calling it unchanged.
        incomplete = [
            aid
            for aid, meta in records.items()
            if aid not in fresh and present.get(aid, 0) < int(meta.get("n_chunks", 0))
        ]
        if incomplete:
            log.warning("Forgetting %d articles whose chunks an interrupted run removed.", len(incomplete))
            for article_id in incomplete:
                store.delete_article(article_id)
                del records[article_id]
            removed += len(incomplete)
    reconcile_keyword(store, keyword, records)
    return removed


def reconcile_keyword(store: Store, keyword: KeywordSearch, records: dict[str, dict] | None = None) -> int:
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
        articles = []
        for start in range(0, len(missing), _RECONCILE_BATCH):
            ids = missing[start : start + _RECONCILE_BATCH]
            got = store.get_chunks(where={"article_id": {"$in": ids}})
            grouped: dict[str, list[KeywordRow]] = {aid: [] for aid in ids}
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                grouped.setdefault(meta["article_id"], []).append(
                    KeywordRow(text, meta.get("title", ""), cid, meta.get("source", ""), meta.get("published_ts"))
                )
            articles.extend(ArticleRows(aid, records[aid]["content_hash"], grouped[aid]) for aid in ids)
        keyword.replace_articles(articles)
    return len(stale) + len(set(missing) - set(stale))
