"""Hybrid retrieval: dense (Chroma) and keyword (FTS5 BM25) candidates fused by reciprocal rank.

Copies of one text (a syndicated story, index.stories) take one place: the best-ranked copy stands for them, and
its passages name the other copies' sources in `also_reported_by`, so the context keeps room for other news.

Every returned passage carries its cosine similarity to the question as `score` (keyword-only hits get theirs
computed from their stored embeddings), so that the answerer's relevance cutoff means the same in every mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

from core.dates import to_timestamp
from core.types import Passage, article_id_of, chunk_id
from index.rows import Hit, StoredChunk
from index.store import filter_where

RRF_K = 60
# A keyword hit whose BM25 score is at least this many times the runner-up's is a clear winner (a name that only
# one article has: "Alain Lipietz"), which reciprocal-rank fusion alone would drop below chunks that both halves
# rank lower ("party" in five articles about UKIP). It counts as ranked first twice. Dev sets: the keyword top hit
# was from a gold article for 98% of the 133 questions at 1.4 or more, 99% of the 71 at 1.6 or more.
KEYWORD_CLEAR_WIN = 1.5
RECENCY_WEIGHT = 0.5  # how much "latest" questions favour newer articles
MAX_PER_ARTICLE = 2
OVERFETCH = 10  # a filtered question looks this many times deeper before asking Chroma to filter
EXACT_SEARCH_CHUNKS = 2_000  # a filter that leaves at most this many chunks is searched exactly, over them alone
RECENCY_WORDS = re.compile(
    r"\b(latest|most recent|newest|recent(ly)?|this (week|month|year)|today|now|current(ly)?)\b", re.I
)


def to_passage(chunk_id: str, text: str, meta: dict, score: float) -> Passage:
    published = meta.get("published") or None
    return Passage(
        text=text,
        score=float(score),
        article_id=meta.get("article_id", ""),
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        url=meta.get("url", ""),
        published=datetime.fromisoformat(published) if published else None,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        chunk_id=chunk_id,
        chunk_index=int(meta.get("chunk_index", 0)),
        story_id=meta.get("story_id", ""),
    )


def _dot(a, b) -> float:
    import numpy as np  # (numpy is loaded already: Chroma returns embeddings as arrays)

    # numpy: a Python sum over 384 products cost ~2 ms per question for the keyword-only hits at 100,000 chunks
    return float(np.dot(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))


class HybridRetriever:
    def __init__(self, store, keyword, embedder, settings):
        self.store = store
        self.keyword = keyword
        self.embedder = embedder
        self.settings = settings
        self._article_meta: dict[str, tuple[str, int | None]] | None = None
        self._copies: dict[str, list[tuple[str, str]]] = {}  # dup_id -> [(article id, source)], with _article_meta
        self._chunk_counts: dict[str, int] = {}  # article id -> its number of chunks (where known), with _article_meta
        self._passing: tuple | None = None  # (filter, the article map it read, the passing ids): the last filter's
        self._pool: ThreadPoolExecutor | None = None  # runs keyword searches beside the dense half

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        sources: Iterable[str] | None = None,
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        mode: str | None = None,
    ) -> list[Passage]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval_mode
        sources = [s for s in (sources or []) if s] or None
        since_ts, until_ts = to_timestamp(since, field="since"), to_timestamp(until, end_of_day=True, field="until")
        n = max(self.settings.candidates, k * 4)
        # The keyword search needs no question vector: it runs in a thread while the question is embedded and
        # Chroma searches (sqlite, ONNX and Chroma all release the GIL while they work).
        keyword = None
        if mode in ("hybrid", "keyword"):
            keyword = self._keyword_pool().submit(self._keyword, question, n, sources, since_ts, until_ts)
        query_vector = self.embedder.get_query_embedding(question)

        rankings: list[list[str]] = []
        found: dict[str, StoredChunk] = {}
        if mode in ("hybrid", "dense"):
            dense = self._dense(query_vector, n, sources, since_ts, until_ts)
            rankings.append([c.chunk_id for c in dense])
            found.update({c.chunk_id: c for c in dense})
        if keyword is not None:
            hits = keyword.result()
            rankings.append([h.chunk_id for h in hits])
            missing = [h.chunk_id for h in hits if h.chunk_id not in found]
            if missing:
                got = self.store.get_chunks(ids=missing, with_embeddings=True)
                for cid, text, meta, vector in zip(
                    got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
                ):
                    found[cid] = StoredChunk(cid, text, meta, _dot(query_vector, vector))

        fused: dict[str, float] = {}
        for ranking in rankings:
            for rank, cid in enumerate(ranking):
                if cid in found:
                    fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        if keyword is not None and len(hits) >= 2 and hits[0].score >= KEYWORD_CLEAR_WIN * hits[1].score > 0:
            if hits[0].chunk_id in fused:
                fused[hits[0].chunk_id] += 1.0 / (RRF_K + 1)
        # Within a closed date window ("this week"), scaling by recency over the window's few days would rank
        # its last day first whatever the relevance: the window itself is the time preference.
        if RECENCY_WORDS.search(question) and (since_ts is None or until_ts is None):
            self._prefer_recent(fused, found)

        ranked = self._one_copy(sorted(fused, key=fused.get, reverse=True), found)
        chosen = self._diverse_top(ranked, found, k)
        return [self._with_copies(to_passage(*found[cid]), found[cid].metadata) for cid in chosen]

    def _keyword_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="newsrag-keyword")
        return self._pool

    @staticmethod
    def _one_copy(ranked: list[str], found: dict[str, StoredChunk]) -> list[str]:
        """The ranking without the chunks of copies of an article ranked higher."""
        shown: dict[str, str] = {}  # copy cluster -> the article that stands for it
        kept = []
        for cid in ranked:
            meta = found[cid].metadata
            article_id = meta.get("article_id", "")
            if shown.setdefault(meta.get("dup_id") or article_id, article_id) == article_id:
                kept.append(cid)
        return kept

    def _with_copies(self, passage: Passage, meta: dict) -> Passage:
        dup_id = meta.get("dup_id")
        if dup_id:
            self._article_map()
            others = {
                source or "unknown source" for aid, source in self._copies.get(dup_id, ()) if aid != passage.article_id
            }
            passage.also_reported_by = sorted(others - {passage.source})  # other sources, by name
        return passage

    def forget_articles(self) -> None:
        """Articles were added, changed or deleted: the cached article filter data is stale."""
        self._article_meta = None
        self._passing = None

    def _article_map(self) -> dict[str, tuple[str, int | None]]:
        """article id -> (source, publication timestamp or None), cached until forget_articles; also fills the
        copy clusters (`_copies`) and the chunk counts (`_chunk_counts`)."""
        if self._article_meta is None:
            records = self.store.article_records()
            copies: dict[str, list[tuple[str, str]]] = {}
            for aid, meta in records.items():
                if meta.get("dup_id"):
                    copies.setdefault(meta["dup_id"], []).append((aid, meta.get("source", "")))
            self._copies = copies
            self._chunk_counts = {aid: int(meta["n_chunks"]) for aid, meta in records.items() if "n_chunks" in meta}
            self._article_meta = {
                aid: (meta.get("source", ""), meta.get("published_ts")) for aid, meta in records.items()
            }
        return self._article_meta

    def undated_share(self) -> float:
        """The share of stored articles whose publication date is unknown."""
        articles = self._article_map()
        return sum(ts is None for _, ts in articles.values()) / len(articles) if articles else 0.0

    def _articles_passing(self, sources, since_ts, until_ts) -> set[str]:
        """Ids of the articles that pass the filters; the last filter's set is kept (the dense and keyword halves of
        one question both ask: computing it twice was ~7 ms of a filtered query at 20,000 articles)."""
        key = (tuple(sorted(sources or ())), since_ts, until_ts)
        meta = self._article_map()
        cached = self._passing
        if cached is not None and cached[0] == key and cached[1] is meta:  # same filter, same (unforgotten) map
            return cached[2]
        wanted = set(sources or ())
        passing = {
            aid
            for aid, (source, ts) in meta.items()
            if (not wanted or source in wanted)
            and (since_ts is None or (ts is not None and ts >= since_ts))
            and (until_ts is None or (ts is not None and ts <= until_ts))
        }
        self._passing = (key, meta, passing)
        return passing

    def _dense(self, vector, n, sources, since_ts, until_ts) -> list[StoredChunk]:
        """Nearest chunks that pass the filters.

        Chroma's metadata filters scan the collection (about 250 ms at 100,000 chunks, 3 s at 1,000,000), so a
        filter that leaves no article returns at once, one that leaves few chunks is searched exactly over them,
        and any other first over-fetches the unfiltered neighbours and filters them by article; only when too
        few pass does it ask Chroma to filter.
        """
        where = filter_where(sources=sources, since_ts=since_ts, until_ts=until_ts)
        if where is None:
            return self.store.query(vector, n)
        allowed = self._articles_passing(sources, since_ts, until_ts)
        counts = [self._chunk_counts.get(aid) for aid in allowed]
        if None not in counts and sum(counts) <= EXACT_SEARCH_CHUNKS:
            return self._exact(vector, n, allowed)
        wide = self.store.nearest_ids(vector, n * OVERFETCH)
        kept = [hit for hit in wide if article_id_of(hit.chunk_id) in allowed][:n]
        if len(kept) < n and len(wide) == n * OVERFETCH:
            return self.store.query(vector, n, where)
        got = self.store.get_chunks(ids=[hit.chunk_id for hit in kept])
        rows = {
            cid: (text, meta) for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [StoredChunk(cid, *rows[cid], sim) for cid, sim in kept if cid in rows]

    def _exact(self, vector, n, article_ids: set[str]) -> list[StoredChunk]:
        """The n chunks of these articles nearest the question vector, by comparing it with each of them."""
        ids = [chunk_id(aid, index) for aid in sorted(article_ids) for index in range(self._chunk_counts[aid])]
        if not ids:
            return []
        got = self.store.get_chunks(ids=ids, with_embeddings=True)
        chunks = [
            StoredChunk(cid, text, meta, _dot(vector, embedding))
            for cid, text, meta, embedding in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        ]
        return sorted(chunks, key=lambda chunk: chunk.similarity, reverse=True)[:n]

    def _keyword(self, question, n, sources, since_ts, until_ts) -> list[Hit]:
        """BM25 hits that pass the filters; like `_dense`, filtered questions over-fetch and filter by article
        first (the FTS5 filter columns are unindexed: 71 ms a query at 100,000 chunks)."""
        if not sources and since_ts is None and until_ts is None:
            return self.keyword.search(question, n)
        allowed = self._articles_passing(sources, since_ts, until_ts)
        if not allowed:
            return []
        wide = self.keyword.search(question, n * OVERFETCH)
        kept = [hit for hit in wide if article_id_of(hit.chunk_id) in allowed][:n]
        if len(kept) < n and len(wide) == n * OVERFETCH:
            return self.keyword.search(question, n, sources=sources, since_ts=since_ts, until_ts=until_ts)
        return kept

    @staticmethod
    def _diverse_top(ranked: list[str], found: dict[str, StoredChunk], k: int) -> list[str]:
        """The top k, at most MAX_PER_ARTICLE from one article while others are left; then filled up in rank order."""
        chosen: list[str] = []
        per_article: dict[str, int] = {}
        for cid in ranked:
            article_id = found[cid].metadata.get("article_id", "")
            if per_article.get(article_id, 0) < MAX_PER_ARTICLE:
                per_article[article_id] = per_article.get(article_id, 0) + 1
                chosen.append(cid)
                if len(chosen) == k:
                    return chosen
        picked = set(chosen)
        chosen += [cid for cid in ranked if cid not in picked][: k - len(chosen)]
        return sorted(chosen, key=ranked.index)

    @staticmethod
    def _prefer_recent(fused: dict[str, float], found: dict[str, StoredChunk]) -> None:
        """For 'latest news' questions, scale dated candidates' scores up by how recent they are (up to x1.5)."""
        stamps = {cid: found[cid].metadata.get("published_ts") for cid in fused}
        dated = [ts for ts in stamps.values() if ts is not None]
        if len(dated) < 2 or max(dated) == min(dated):
            return
        oldest, span = min(dated), max(dated) - min(dated)
        for cid, ts in stamps.items():
            if ts is not None:
                fused[cid] *= 1.0 + RECENCY_WEIGHT * (ts - oldest) / span
