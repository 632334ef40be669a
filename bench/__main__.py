"""`python -m bench [--quick] [--only NAME ...] [--out DIR] [--work DIR]`: run the benchmarks, print tables, write JSON.

Order matters: `ingest` builds the BBC index that `retrieval`, `answer` and `coldstart` then read
(when `ingest` is left out with --only, they build the index first, untimed); `llm` reads no index.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Report, run_child, run_meta

BENCHMARKS = ("ingest", "retrieval", "answer", "llm", "coldstart")
INDEX_FREE = {"llm"}  # benchmarks that read no index: `--only llm` copies no corpus and builds none
QUICK_ARTICLES = 150


@dataclass
class Context:
    """What the benchmarks share: mode, working folders, and figures one passes to the next."""

    quick: bool
    work: Path
    out: Path
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def corpus(self) -> Path:
        return self.work / "corpus"

    @property
    def bbc_data(self) -> Path:
        return self.work / "data-bbc"


def prepare(ctx: Context, building_index: bool) -> None:
    """Copy the corpus; when `ingest` does not run, build the BBC index untimed so the others have one."""
    from bench.corpus import answer_questions, copy_corpus

    needed = [s for q in answer_questions(20) for s in q["sources"]]
    n = copy_corpus(ctx.corpus, QUICK_ARTICLES if ctx.quick else None, must_include=needed)
    logging.getLogger("bench").warning("corpus: %d articles in %s", n, ctx.corpus)
    if ctx.bbc_data.exists():
        shutil.rmtree(ctx.bbc_data)
    if not building_index:
        run_child("bench.main_helpers:build_index", {"data_dir": str(ctx.bbc_data), "corpus": str(ctx.corpus)})


MEMORY_FIGURES = (
    ("ingest_peak_rss_mb", "ingest (embedder loaded, whole corpus)"),
    ("query_peak_rss_mb", "query process (qa.retrieve over the BBC index)"),
    ("search_peak_rss_mb", "`newsrag search`, a new process"),
    ("answer_peak_rss_mb", "question process with the default LLM"),
    ("app_peak_rss_mb", "app.py with the default LLM loaded"),
)


def memory_report(ctx: Context) -> Report | None:
    """The peak RSS figures the benchmarks collected, in one table."""
    rows = [(label, ctx.figures[key]) for key, label in MEMORY_FIGURES if key in ctx.figures]
    if not rows:
        return None
    report = Report("memory", "Peak memory (RSS) per process")
    for label, value in rows:
        report.add(label, value, "MiB")
    report.data = {key: ctx.figures[key] for key, _ in MEMORY_FIGURES if key in ctx.figures}
    return report


def summary_markdown(meta: dict[str, Any], reports: list[Report], seconds: float) -> str:
    lines = [
        f"## Benchmarks ({meta['mode']})",
        "",
        f"{meta['date']}, commit `{meta['commit'] or '?'}`, `{meta['command']}`, Python {meta['python']}, "
        f"{meta['machine']}, load average {meta['load_avg_1m_at_start']} at start and {meta.get('load_avg_1m_at_end')} at end; "
        f"the whole run took {seconds / 60:.1f} min.",
        "",
    ]
    for report in reports:
        lines.append(report.table())
        if "bench_seconds" in report.data:
            lines += [f"(took {report.data['bench_seconds']:.0f} s)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="newsrag benchmarks")
    parser.add_argument(
        "--quick", action="store_true", help=f"a {QUICK_ARTICLES}-article subset and fewer runs (< 3 min)"
    )
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results and summary.md go")
    parser.add_argument("--work", type=Path, help="working folder for corpus copies and indexes (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    chosen = [b for b in BENCHMARKS if not args.only or b in args.only]
    work = args.work or Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    ctx = Context(quick=args.quick, work=work, out=args.out)
    meta = run_meta(args.quick)
    started = time.perf_counter()
    reports: list[Report] = []
    failures = 0
    try:
        if set(chosen) - INDEX_FREE:
            prepare(ctx, building_index="ingest" in chosen)
        for name in chosen:
            import importlib

            t0 = time.perf_counter()
            try:
                report = importlib.import_module(f"bench.{name}").run(ctx)
            except Exception as exc:  # one broken benchmark must not lose the others' figures
                traceback.print_exc()
                report = Report(name, name, skipped=f"failed: {exc}")
                failures += 1
            report.data["bench_seconds"] = time.perf_counter() - t0
            report.write(ctx.out, meta)
            print("\n" + report.table(), flush=True)
            reports.append(report)
        memory = memory_report(ctx)
        if memory:
            memory.write(ctx.out, meta)
            print("\n" + memory.table(), flush=True)
            reports.append(memory)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    meta["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    budget = 180 if args.quick else 1800
    summary = summary_markdown(meta, reports, seconds)
    summary += f"\nRun time {seconds:.0f} s (budget {budget} s: {'met' if seconds <= budget else 'NOT MET'}).\n"
    ctx.out.mkdir(parents=True, exist_ok=True)
    (ctx.out / "summary.md").write_text(summary)
    print(f"\nWhole run: {seconds:.0f} s (budget {budget} s). Results: {ctx.out}/*.json, {ctx.out}/summary.md")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
