"""Ingestion throughput against its ceiling (the raw embedder on the same chunk texts), re-ingest, one edit.

The corpus is ingested in slices; after each slice the raw embedder encodes exactly that slice's chunk texts,
so every ingestion/raw ratio is measured side by side and the median over slices resists machine drift.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from bench.common import Report, peak_rss_mb, run_child, summarize
from bench.corpus import corpus_files

log = logging.getLogger(__name__)

RATIO_TARGET = 0.85
REINGEST_TARGET = 50.0


def _article_id(path: Path) -> str:
    from ingest.article import Article

    return Article(key=path.resolve().as_uri(), title="", text="", source="", url="").id


def _stored_texts(qa, paths: list[Path]) -> list[str]:
    """Exactly the texts ingestion embedded for these files: embedding_text(title, chunk) of their stored chunks."""
    from ingest.pipeline import embedding_text

    ids = [_article_id(p) for p in paths]
    texts: list[str] = []
    for start in range(0, len(ids), 200):
        got = qa.store.get_chunks(where={"article_id": {"$in": ids[start : start + 200]}})
        texts += [
            embedding_text(meta["title"], doc) for doc, meta in zip(got["documents"], got["metadatas"], strict=True)
        ]
    return texts


def _sample_texts(paths: list[Path], settings, limit: int) -> list[str]:
    """Chunk texts made the way ingestion makes them, without storing anything (for tuning the batch size)."""
    from ingest.chunking import chunk_text
    from ingest.pipeline import embedding_text
    from ingest.readers import load_sources

    texts: list[str] = []
    for outcome in load_sources(paths, settings):
        for article in outcome.articles:
            for chunk in chunk_text(article.text, settings.chunk_tokens, settings.chunk_overlap):
                texts.append(embedding_text(article.title, chunk.text))
        if len(texts) >= limit:
            break
    return texts[:limit]


def _encode_seconds(model, texts: list[str], batch_size: int) -> float:
    """The raw embedder on texts: a SentenceTransformer (torch) or index.embed_onnx.OnnxRuntimeModel."""
    from index.embed_onnx import OnnxRuntimeModel

    started = time.perf_counter()
    if isinstance(model, OnnxRuntimeModel):
        model.encode(texts, batch_size)
    else:
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return time.perf_counter() - started


def _other_model(qa, runtime: str):
    """The same folder's model in the other runtime, to compare raw speeds side by side."""
    if runtime == "onnx":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(qa.ingest_embedder.model_path, device="cpu")
    from index.embed import get_embedder

    return get_embedder(qa.settings.model_copy(update={"embed_runtime": "onnx"})).warm_up()


def measure(
    data_dir: str,
    corpus: str,
    slices: int,
    tune_texts: int,
    batch_sizes: list[int],
    reingest_runs: int,
    tune_rounds: int = 2,
    runtime: str = "torch",
    every: int = 1,
    first_ingest_only: bool = False,
) -> dict[str, Any]:
    """Runs in a child process: every ingestion figure, with the raw embedder beside it.

    runtime: the embedder runtime ingestion uses (NEWSRAG_INGEST_EMBED_RUNTIME); unless first_ingest_only, the
    other runtime's raw model also encodes each slice's texts, so their raw speeds are compared side by side.
    every: ingest every Nth file.
    """
    from core.settings import Settings
    from rag.api import NewsQA

    corpus_dir = Path(corpus)
    settings = Settings(data_dir=Path(data_dir), embed_runtime=runtime, ingest_embed_runtime=runtime)
    qa = NewsQA(settings=settings)
    started = time.perf_counter()
    qa.warm_up(llm=False)
    load_seconds = time.perf_counter() - started
    model = qa.ingest_embedder.warm_up() if hasattr(qa.ingest_embedder, "warm_up") else None
    files = corpus_files(corpus_dir)[::every]
    runtime_used = getattr(qa.ingest_embedder, "runtime", "torch") if model is not None else "none"
    other = None if first_ingest_only or model is None else _other_model(qa, runtime_used)
    result: dict[str, Any] = {
        "articles_in_corpus": len(files),
        "model_load_seconds": load_seconds,
        "embed_batch_size": settings.embed_batch_size,
        "runtime": runtime_used,
    }

    # 1. the raw embedder's best batch size (and one thread against the default), on a sample of chunk texts
    best = settings.embed_batch_size
    if model is not None:
        sample = _sample_texts(files[:: max(1, len(files) // 40)], settings, tune_texts)
        rates: dict[int, list[float]] = {bs: [] for bs in batch_sizes}
        for _ in range(tune_rounds):  # interleaved rounds: drift hits every batch size alike
            for bs in batch_sizes:
                rates[bs].append(len(sample) / _encode_seconds(model, sample, bs))
        tuning = {bs: max(r) for bs, r in rates.items()}
        best = max(tuning, key=tuning.get)
        result["tuning"] = {
            "sample_texts": len(sample),
            "chunks_per_s_by_batch_size": tuning,
            "best_batch_size": best,
        }
    if model is not None and runtime_used == "torch" and not first_ingest_only:
        import torch

        # Alone in this child process, before any ingest: the one place torch's count changes after start-up
        # (index.embed.set_torch_threads), and it is put back before the ingest below.
        default_threads = torch.get_num_threads()
        threads: dict[int, list[float]] = {default_threads: [], 1: []}
        for _ in range(tune_rounds):
            for n in threads:
                torch.set_num_threads(n)
                threads[n].append(len(sample) / _encode_seconds(model, sample, best))
        torch.set_num_threads(default_threads)
        result["tuning"]["chunks_per_s_by_threads"] = {n: max(r) for n, r in threads.items()}

    # 2. first ingest, slice by slice, each followed by the raw embedder on the same texts
    parts = []
    for i in range(slices):
        paths = files[i::slices]
        t0 = time.perf_counter()
        report = qa.ingest(paths)
        ingest_s = time.perf_counter() - t0
        part = {
            "articles": len(paths),
            "added": len(report.added),
            "duplicates": len(report.duplicates),
            "failed": len(report.failed),
            "chunks": report.chunks_added,
            "ingest_seconds": ingest_s,
        }
        if model is not None:
            texts = _stored_texts(qa, paths)
            part["raw_texts"] = len(texts)
            part["raw_seconds"] = _encode_seconds(model, texts, best)
            part["ratio"] = part["raw_seconds"] / ingest_s * (report.chunks_added / max(len(texts), 1))
            if other is not None:
                part["other_raw_seconds"] = _encode_seconds(other, texts, best)
        parts.append(part)
        log.warning("ingest slice %d/%d: %s", i + 1, slices, part)
    result["slices"] = parts
    result["ingest_peak_rss_mb"] = peak_rss_mb()
    if first_ingest_only:
        return result

    # 3. the same corpus again, unchanged
    reruns = []
    for _ in range(reingest_runs):
        t0 = time.perf_counter()
        report = qa.ingest([corpus_dir])
        reruns.append(
            {
                "seconds": time.perf_counter() - t0,
                "unchanged": len(report.unchanged),
                "chunks_added": report.chunks_added,
            }
        )
    result["reingest"] = reruns

    # 4. one article edited: only its chunks are embedded again
    victim = next((p for p in files if p.parent.name == "tech"), files[0])
    victim.write_text(
        victim.read_text(encoding="utf-8") + "\nThis article was updated by the benchmark.\n", encoding="utf-8"
    )
    t0 = time.perf_counter()
    report = qa.ingest([corpus_dir])
    seconds = time.perf_counter() - t0
    record = qa.store.article_records().get(_article_id(victim), {})
    result["edit"] = {
        "seconds": seconds,
        "article": victim.name,
        "updated": len(report.updated),
        "added": len(report.added),
        "chunks_added": report.chunks_added,
        "article_chunks": int(record.get("n_chunks", -1)),
    }
    result["stats"] = {k: v for k, v in qa.stats().items() if k in ("articles", "chunks")}
    return result


def run(ctx) -> Report:
    rep = Report("ingest", "Ingestion throughput, re-ingest, one edit")
    params = {
        "data_dir": str(ctx.bbc_data),
        "corpus": str(ctx.corpus),
        "slices": 3 if ctx.quick else 5,
        "tune_texts": 48 if ctx.quick else 128,
        "batch_sizes": [32, 64] if ctx.quick else [16, 32, 64, 128],
        "reingest_runs": 3,
        "tune_rounds": 1 if ctx.quick else 2,
    }
    data = run_child("bench.ingest:measure", params)
    rep.data = {"params": params, **data}
    slices = data["slices"]
    articles = sum(s["articles"] for s in slices)
    chunks = sum(s["chunks"] for s in slices)
    seconds = sum(s["ingest_seconds"] for s in slices)
    failed = sum(s["failed"] for s in slices)
    rep.add(
        "articles ingested",
        articles,
        note=f"{chunks:,} chunks; {failed} failed; {sum(s['duplicates'] for s in slices)} duplicates",
    )
    rep.add("embedding model load", data["model_load_seconds"], "s")
    rep.add("first ingest", seconds, "s", note=f"{len(slices)} slices into a fresh data dir")
    rep.add("ingest throughput", articles / seconds, "articles/s")
    rep.add("ingest throughput", chunks / seconds, "chunks/s", note=f"embedder runtime: {data.get('runtime')}")
    tuning = data.get("tuning")
    if tuning:
        by_bs = ", ".join(f"{bs}: {rate:.1f}" for bs, rate in tuning["chunks_per_s_by_batch_size"].items())
        rep.add("raw embedder, chunks/s by batch size", by_bs, note=f"sample of {tuning['sample_texts']} chunks")
        if "chunks_per_s_by_threads" in tuning:
            by_threads = ", ".join(f"{n} thread(s): {r:.1f}" for n, r in tuning["chunks_per_s_by_threads"].items())
            rep.add(
                "raw embedder, chunks/s by torch threads", by_threads, note=f"batch size {tuning['best_batch_size']}"
            )
        raw_seconds = sum(s["raw_seconds"] for s in slices)
        raw_texts = sum(s["raw_texts"] for s in slices)
        rep.add(
            "raw embedder (ceiling)",
            raw_texts / raw_seconds,
            "chunks/s",
            note=f"{data.get('runtime')}, batch size {tuning['best_batch_size']}",
        )
        ratios = summarize([s["ratio"] for s in slices])
        median = ratios["median"]
        rep.add(
            "ingest / raw embedding",
            median,
            "ratio",
            target=f">= {RATIO_TARGET}",
            met=median >= RATIO_TARGET,
            note=f"median of {ratios['n']} slices, range {ratios['min']:.2f}-{ratios['max']:.2f}",
        )
        rep.data["ratio"] = ratios
    rerun_s = [r["seconds"] for r in data["reingest"]]
    rerun = summarize(rerun_s)
    all_unchanged = all(
        r["unchanged"] == articles - sum(s["duplicates"] for s in slices) and r["chunks_added"] == 0
        for r in data["reingest"]
    )
    rep.add(
        "re-ingest, unchanged corpus",
        rerun["median"],
        "s",
        note=f"median of {rerun['n']}, range {rerun['min']:.2f}-{rerun['max']:.2f}; nothing re-embedded: {'yes' if all_unchanged else 'NO'}",
    )
    speedup = seconds / rerun["median"]
    rep.add(
        "re-ingest speed-up",
        speedup,
        "x",
        target=f">= {REINGEST_TARGET:g}x",
        met=speedup >= REINGEST_TARGET and all_unchanged,
    )
    edit = data["edit"]
    exact = edit["updated"] == 1 and edit["added"] == 0 and edit["chunks_added"] == edit["article_chunks"]
    rep.add(
        "one article edited: chunks re-embedded",
        edit["chunks_added"],
        "chunks",
        target=f"= its {edit['article_chunks']} chunks",
        met=exact,
        note=f"{edit['seconds']:.2f} s, {edit['updated']} updated",
    )
    rep.add("peak RSS, ingest process", data["ingest_peak_rss_mb"], "MiB")
    ctx.figures["ingest_peak_rss_mb"] = data["ingest_peak_rss_mb"]
    _other_runtime(ctx, rep, params, data)
    return rep


def _other_runtime(ctx, rep: Report, params: dict[str, Any], data: dict[str, Any]) -> None:
    """The other embedder runtime: its raw speed against the default's on the same slices, and a first ingest with
    it (a third of the corpus; quick: all of it) beside its own raw ceiling, in a fresh data dir."""
    slices = data["slices"]
    runtime = data.get("runtime")
    if runtime not in ("onnx", "torch") or not all("other_raw_seconds" in s for s in slices):
        return
    other = "onnx" if runtime == "torch" else "torch"
    speed = summarize([s["raw_seconds"] / s["other_raw_seconds"] for s in slices])  # other's speed over runtime's
    rep.add(
        f"raw embedder, {other} / {runtime} speed",
        speed["median"],
        "x",
        note=f"same chunk texts after each slice, median of {speed['n']}, range {speed['min']:.2f}-{speed['max']:.2f}",
    )
    rep.data["other_over_default_raw"] = {"other": other, **speed}
    every = 1 if ctx.quick else 3
    other_data = run_child(
        "bench.ingest:measure",
        {
            **params,
            "data_dir": str(ctx.work / f"data-ingest-{other}"),
            "runtime": other,
            "every": every,
            "first_ingest_only": True,
            "tune_rounds": 1,
            "batch_sizes": [params["batch_sizes"][0]],
        },
    )
    rep.data["other_runtime"] = other_data
    parts = other_data["slices"]
    chunks = sum(s["chunks"] for s in parts)
    seconds = sum(s["ingest_seconds"] for s in parts)
    ratio = summarize([s["ratio"] for s in parts])
    rep.add(
        f"ingest throughput, NEWSRAG_INGEST_EMBED_RUNTIME={other}",
        chunks / seconds,
        "chunks/s",
        note=f"{sum(s['articles'] for s in parts)} articles (every {every}), {chunks:,} chunks",
    )
    rep.add(
        f"raw embedder (ceiling), {other}",
        sum(s["raw_texts"] for s in parts) / sum(s["raw_seconds"] for s in parts),
        "chunks/s",
    )
    rep.add(
        f"ingest / raw embedding, {other}",
        ratio["median"],
        "ratio",
        note=f"median of {ratio['n']} slices, range {ratio['min']:.2f}-{ratio['max']:.2f}",
    )
