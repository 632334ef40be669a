"""Retrieval latency of `qa.retrieve` (hybrid, k=5): at the BBC corpus size, and at 100,000 synthetic chunks.

The synthetic index is written straight into the store and keyword index (real text windows from the BBC
corpus, random but deterministic unit vectors, dated articles), bypassing the embedder, so it builds in
minutes; the questions are still embedded by the real model at query time.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BBC, Report, peak_rss_mb, run_child, summarize
from bench.corpus import retrieval_questions

log = logging.getLogger(__name__)


def p95_target_ms(n_chunks: int) -> float | None:
    """Issue 15's targets for qa.retrieve's p95: 50 ms at 100,000 chunks, 150 ms at 1,000,000; none below."""
    if n_chunks >= 1_000_000:
        return 150.0
    return 50.0 if n_chunks >= 100_000 else None


DIM = 384
CHUNKS_PER_ARTICLE = 5
DATE_FILTER = {"since": "2023-01-01", "until": "2023-12-31"}  # one year of five: about 20% of the articles
SYNTHETIC_SOURCES = ["wire-a", "wire-b", "wire-c", "wire-d", "wire-e"]


def _time_queries(qa, questions: list[str], passes: int, **filters) -> dict[str, Any]:
    latencies, empty = [], 0
    for _ in range(passes):
        for question in questions:
            t0 = time.perf_counter()
            passages = qa.retrieve(question, k=5, **filters)
            latencies.append((time.perf_counter() - t0) * 1000.0)
            empty += not passages
    return {**summarize(latencies), "empty_results": empty, "queries": len(latencies)}


def _open(data_dir: str):
    from core.settings import Settings
    from rag.api import NewsQA

    qa = NewsQA(settings=Settings(data_dir=Path(data_dir), retrieval_mode="hybrid"))
    t0 = time.perf_counter()
    qa.warm_up(llm=False)
    for question in ("warm up the index", "broadband prices", "football results"):
        qa.retrieve(question, k=5)
    return qa, time.perf_counter() - t0


def measure_index(data_dir: str, questions: list[str], passes: int, filters: dict[str, dict]) -> dict[str, Any]:
    """Runs in a child process: latency of qa.retrieve over the questions, per filter."""
    qa, warm = _open(data_dir)
    result: dict[str, Any] = {"warm_up_seconds": warm, "stats": {k: qa.stats()[k] for k in ("articles", "chunks")}}
    for name, kwargs in filters.items():
        result[name] = _time_queries(qa, questions, passes, **kwargs)
        log.warning("retrieval %s: %s", name, {k: round(v, 1) for k, v in result[name].items()})
    result["parts"] = _time_parts(qa, questions[:40], filters)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def _time_parts(qa, questions: list[str], filters: dict[str, dict]) -> dict[str, Any]:
    """Where a query's time goes: embedding the question, the dense half (Chroma) and the keyword half (FTS5), each
    as qa.retrieve runs it for the filter (a filtered half over-fetches and filters by article; see rag.retrieve)."""
    from core.dates import to_timestamp as as_timestamp

    retriever = qa.retriever
    parts: dict[str, Any] = {}
    vectors = []
    t0 = time.perf_counter()
    for question in questions:
        vectors.append(qa.embedder.get_query_embedding(question))
    parts["embed_question_ms"] = (time.perf_counter() - t0) * 1000.0 / len(questions)
    n = max(qa.settings.candidates, 20)
    for name, kwargs in filters.items():
        sources = kwargs.get("sources")
        since_ts = as_timestamp(kwargs.get("since"))
        until_ts = as_timestamp(kwargs.get("until"), end_of_day=True)
        t0 = time.perf_counter()
        for vector in vectors:
            retriever._dense(vector, n, sources, since_ts, until_ts)
        dense = (time.perf_counter() - t0) * 1000.0 / len(vectors)
        t0 = time.perf_counter()
        for question in questions:
            retriever._keyword(question, n, sources, since_ts, until_ts)
        keyword = (time.perf_counter() - t0) * 1000.0 / len(questions)
        parts[name] = {"chroma_query_ms": dense, "keyword_search_ms": keyword}
    return parts


def _text_windows(seed: int):
    """An endless supply of (title, text) windows cut from real BBC articles: realistic words for BM25."""
    import random

    articles = []
    for path in sorted(BBC.rglob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        articles.append((title.strip(), " ".join(body.split())))
    rng = random.Random(seed)
    while True:
        title, body = rng.choice(articles)
        start = rng.randrange(0, max(1, len(body) - 1200))
        yield title, body[start : start + 1200]


def build_synthetic(data_dir: str, n_chunks: int, seed: int = 7, batch_articles: int = 400) -> dict[str, Any]:
    """Runs in a child process: writes n_chunks synthetic chunks into a fresh index; returns the build times."""
    import numpy as np

    from core.dates import to_timestamp
    from core.settings import Settings
    from core.types import chunk_id
    from index.embed import BUNDLED_MODEL
    from index.keyword import KeywordIndex
    from index.rows import ArticleRows, KeywordRow
    from index.store import ChromaStore

    settings = Settings(data_dir=Path(data_dir))
    store = ChromaStore(settings, BUNDLED_MODEL)
    keyword = KeywordIndex(settings.keyword_path)
    rng = np.random.default_rng(seed)
    windows = _text_windows(seed)
    first = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    span = datetime(2024, 12, 31, tzinfo=UTC).timestamp() - first
    n_articles = n_chunks // CHUNKS_PER_ARTICLE
    times = {"vectors_and_text": 0.0, "chroma": 0.0, "keyword": 0.0}
    started = time.perf_counter()
    for batch_start in range(0, n_articles, batch_articles):
        t0 = time.perf_counter()
        ids, documents, metadatas, keyword_rows, records = [], [], [], [], {}
        for a in range(batch_start, min(batch_start + batch_articles, n_articles)):
            article_id = f"syn{a:07d}"
            published = datetime.fromtimestamp(first + span * float(rng.random()), tz=UTC)
            ts = to_timestamp(published)
            source = SYNTHETIC_SOURCES[a % len(SYNTHETIC_SOURCES)]
            title = ""
            base: dict[str, Any] = {}
            rows = []
            for index in range(CHUNKS_PER_ARTICLE):
                window_title, text = next(windows)
                if index == 0:
                    title = f"{window_title} ({a})"
                    base = {
                        "article_id": article_id,
                        "title": title,
                        "source": source,
                        "url": f"https://{source}.example/{a}",
                        "published": published.isoformat(),
                        "published_ts": ts,
                    }
                cid = chunk_id(article_id, index)
                ids.append(cid)
                documents.append(text)
                metadatas.append({**base, "chunk_index": index, "start": index * 1000, "end": index * 1000 + len(text)})
                rows.append(KeywordRow(text, title, cid, source, ts))
            keyword_rows.append(ArticleRows(article_id, f"hash-{article_id}", rows))
            records[article_id] = {
                **base,
                "key": base["url"],
                "content_hash": f"hash-{article_id}",
                "n_chunks": CHUNKS_PER_ARTICLE,
                "ingested_at": "2025-01-01T00:00:00+00:00",
                "item": base["url"],
                "chars": 5000,
            }
        vectors = rng.standard_normal((len(ids), DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        t1 = time.perf_counter()
        store.put_chunks(ids, vectors, documents, metadatas)
        t2 = time.perf_counter()
        keyword.replace_articles(keyword_rows)
        t3 = time.perf_counter()
        store.put_articles(records)
        t4 = time.perf_counter()
        times["vectors_and_text"] += t1 - t0
        times["chroma"] += (t2 - t1) + (t4 - t3)
        times["keyword"] += t3 - t2
        if batch_start // batch_articles % 10 == 0:
            log.warning(
                "synthetic index: %d/%d articles, %.0f s",
                batch_start + batch_articles,
                n_articles,
                time.perf_counter() - started,
            )
    # What ingestion pays per new article in the keyword index at this size (replace_articles deletes first).
    extra = []
    for a in range(20):
        article_id = f"syn-extra{a:03d}"
        title, text = next(windows)
        extra.append((article_id, f"hash-{article_id}", [(text, title, f"{article_id}:0", "wire-a", None)]))
    t0 = time.perf_counter()
    keyword.replace_articles(extra)  # one transaction, as an ingest batch does
    replace_ms = (time.perf_counter() - t0) * 1000.0 / len(extra)
    keyword.delete_articles([row[0] for row in extra])
    keyword.close()
    return {
        "keyword_replace_new_article_ms": replace_ms,
        "chunks": store.count_chunks(),
        "articles": store.count_articles(),
        "build_seconds": time.perf_counter() - started,
        "build_breakdown_seconds": times,
    }


def _latency_rows(rep: Report, label: str, stats: dict[str, Any], target: float | None) -> None:
    note = (
        f"{stats['queries']} queries, median {stats['median']:.1f} ms, range {stats['min']:.0f}-{stats['max']:.0f} ms"
    )
    if stats.get("empty_results"):
        note += f", {stats['empty_results']} empty"
    rep.add(f"{label}: median", stats["median"], "ms")
    if target:
        rep.add(
            f"{label}: p95",
            stats["p95"],
            "ms",
            target=f"< {target:g} ms",
            met=stats["p95"] < target,
            note=note,
        )
    else:
        rep.add(f"{label}: p95", stats["p95"], "ms", note=note)


def _parts_row(rep: Report, label: str, parts: dict[str, Any]) -> None:
    """One row saying where the time goes, so a slow p95 points at its cause."""
    pieces = [f"embed question {parts['embed_question_ms']:.1f} ms"]
    for name, got in parts.items():
        if isinstance(got, dict):
            pieces.append(f"{name}: Chroma {got['chroma_query_ms']:.1f} ms, FTS5 {got['keyword_search_ms']:.1f} ms")
    rep.add(f"{label}: parts of a query (mean)", "; ".join(pieces))


def run(ctx) -> Report:
    rep = Report("retrieval", "Retrieval latency (qa.retrieve, hybrid, k=5)")
    questions = retrieval_questions(100)
    passes = 1 if ctx.quick else 2
    bbc = run_child(
        "bench.retrieval:measure_index",
        {
            "data_dir": str(ctx.bbc_data),
            "questions": questions,
            "passes": passes,
            "filters": {"no filter": {}, "source filter": {"sources": ["tech"]}},
        },
    )
    size = f"{bbc['stats']['chunks']:,} chunks"
    _latency_rows(rep, f"BBC ({size})", bbc["no filter"], target=None)
    _latency_rows(rep, f"BBC ({size}), source=tech", bbc["source filter"], target=None)
    _parts_row(rep, f"BBC ({size})", bbc["parts"])
    rep.add("peak RSS, query process (BBC)", bbc["peak_rss_mb"], "MiB")

    n_chunks = 10_000 if ctx.quick else 100_000
    scale_dir = ctx.work / f"data-synthetic-{n_chunks}"
    build = run_child("bench.retrieval:build_synthetic", {"data_dir": str(scale_dir), "n_chunks": n_chunks})
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in build["build_breakdown_seconds"].items())
    rep.add(f"synthetic index build ({build['chunks']:,} chunks)", build["build_seconds"], "s", note=parts)
    rep.add(
        f"keyword index: replace_articles, one new article at {build['chunks']:,} chunks",
        build["keyword_replace_new_article_ms"],
        "ms",
        note="paid per new article by every ingest into an index this size",
    )
    scale = run_child(
        "bench.retrieval:measure_index",
        {
            "data_dir": str(scale_dir),
            "questions": questions,
            "passes": 1,
            "filters": {"no filter": {}, "date filter": DATE_FILTER},
        },
    )
    label = f"{build['chunks']:,} chunks"
    _latency_rows(rep, label, scale["no filter"], target=p95_target_ms(n_chunks))
    _latency_rows(
        rep, f"{label}, {DATE_FILTER['since'][:4]} only", scale["date filter"], target=p95_target_ms(n_chunks)
    )
    _parts_row(rep, label, scale["parts"])
    rep.add(f"peak RSS, query process ({label})", scale["peak_rss_mb"], "MiB")
    rep.data = {
        "questions": len(questions),
        "bbc": bbc,
        "synthetic_build": build,
        "synthetic": scale,
        "date_filter": DATE_FILTER,
    }
    ctx.figures["query_peak_rss_mb"] = bbc["peak_rss_mb"]
    return rep
