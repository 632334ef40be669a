"""Answer latency with the default local model: time to first token, to the full answer, and tokens/s.

Each question goes through `qa.stream` over the BBC index, as the app and `newsrag ask` use it; the full
answer includes citation cleaning and claim checking after the last token.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from bench.common import Report, peak_rss_mb, run_child, summarize
from bench.corpus import answer_questions

log = logging.getLogger(__name__)


def _count_tokens(llm, text: str, pieces: int) -> int:
    """Tokens generated: the model's own tokenizer when it has one, else the streamed pieces (one per token)."""
    llama = getattr(llm, "_llama", None)
    if llama is not None and text:
        try:
            return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        except Exception:  # an unusual backend: fall back to the pieces
            pass
    return pieces


def measure(data_dir: str, questions: list[str], warm_question: bool) -> dict[str, Any]:
    """Runs in a child process: streams an answer to each question and times it."""
    from core.settings import Settings
    from core.types import Answer
    from rag.api import NewsQA

    settings = Settings(data_dir=Path(data_dir))
    qa = NewsQA(settings=settings)
    t0 = time.perf_counter()
    qa.warm_up(llm=True)
    load_seconds = time.perf_counter() - t0
    llm = qa._get_llm()
    if warm_question:  # the first generation pays one-off costs (buffers, caches): not counted
        qa.ask("What is broadband?")
    runs = []
    for question in questions:
        started = time.perf_counter()
        first = last = None
        pieces: list[str] = []
        answer = None
        for piece in qa.stream(question):
            now = time.perf_counter()
            if isinstance(piece, Answer):
                answer = piece
            elif piece:
                first = first or now
                last = now
                pieces.append(piece)
        done = time.perf_counter()
        if first is None and answer is not None and not answer.refused:
            first = done  # a quoted answer ("why" questions' points) is shown whole when it comes
        text = "".join(pieces)
        tokens = _count_tokens(llm, text, len(pieces))
        run = {
            "question": question,
            "first_token_s": (first - started) if first else None,
            "answer_s": done - started,
            "tokens": tokens,
            "tokens_per_s": (tokens - 1) / (last - first) if first and last and last > first and tokens > 1 else None,
            "refused": bool(answer and answer.refused),
            "refusal_reason": getattr(answer, "refusal_reason", None),
            "citations": len(answer.citations) if answer else 0,
            "timings": answer.timings if answer else {},
            "context_chars": (answer.debug or {}).get("context_chars", 0) if answer else 0,
            "raw": str((getattr(answer, "debug", None) or {}).get("raw", ""))[:300],
        }
        runs.append(run)
        log.warning(
            "answer %.1f s (first token %s s), %d tokens: %s",
            run["answer_s"],
            run["first_token_s"],
            tokens,
            question[:60],
        )
    return {
        "model": getattr(getattr(llm, "metadata", None), "model_name", type(llm).__name__),
        "llm": settings.llm,
        "load_seconds": load_seconds,
        "runs": runs,
        "peak_rss_mb": peak_rss_mb(),
    }


def run(ctx) -> Report:
    rep = Report("answer", "Answer latency (qa.stream, default local model)")
    n = 3 if ctx.quick else 20
    questions = [q["question"] for q in answer_questions(n)]
    data = run_child(
        "bench.answer:measure", {"data_dir": str(ctx.bbc_data), "questions": questions, "warm_question": not ctx.quick}
    )
    rep.data = data
    runs = data["runs"]
    generated = [r for r in runs if r["first_token_s"] is not None]
    rep.add("model", data["model"], note=f"settings.llm = {data['llm']}")
    rep.add("model load (embedder + LLM)", data["load_seconds"], "s")
    quoted = sum(1 for r in generated if r["tokens"] == 0)
    rep.add(
        "questions",
        len(runs),
        note=f"{len(runs) - len(generated)} refused before any text; {quoted} answered by quoting, without generating",
    )
    for label, key, unit in (
        ("time to first token", "first_token_s", "s"),
        ("time to full answer", "answer_s", "s"),
        ("generation speed", "tokens_per_s", "tokens/s"),
    ):
        values = [r[key] for r in generated if r[key] is not None]
        stats = summarize(values)
        if stats["n"]:
            rep.add(
                f"{label}: median",
                stats["median"],
                unit,
                note=f"n={stats['n']}, range {stats['min']:.2f}-{stats['max']:.2f}, p95 {stats['p95']:.2f}",
            )
    tokens = summarize([float(r["tokens"]) for r in generated if r["tokens"]])
    if tokens["n"]:
        rep.add("answer length: median", tokens["median"], "tokens")
        context = summarize([float(r.get("context_chars", 0)) for r in generated])
        rep.add(
            "passages in the prompt: median", context["median"], "chars", note="prompt size drives time to first token"
        )
    rep.add(
        "answers refused", sum(r["refused"] for r in runs), note="refusals after generation count in the times above"
    )
    rep.add("peak RSS, question process with the LLM", data["peak_rss_mb"], "MiB")
    ctx.figures["answer_peak_rss_mb"] = data["peak_rss_mb"]
    return rep
