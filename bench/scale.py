"""Retrieval at scale alone: a synthetic index of N chunks (default 100,000), its build time, and the
latency of qa.retrieve (hybrid, k=5) with and without a date filter, without ingesting the BBC corpus first.

    python -m bench.scale [--chunks 100000] [--out bench/results]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.common import Report, run_child
from bench.corpus import retrieval_questions
from bench.retrieval import DATE_FILTER, _latency_rows, _parts_row, p95_target_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    rep = Report("scale", f"Retrieval at {args.chunks:,} synthetic chunks (qa.retrieve, hybrid, k=5)")
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-") as work:
        data_dir = str(Path(work) / "data")
        build = run_child("bench.retrieval:build_synthetic", {"data_dir": data_dir, "n_chunks": args.chunks})
        parts = ", ".join(f"{k} {v:.0f} s" for k, v in build["build_breakdown_seconds"].items())
        rep.add(f"synthetic index build ({build['chunks']:,} chunks)", build["build_seconds"], "s", note=parts)
        scale = run_child(
            "bench.retrieval:measure_index",
            {
                "data_dir": data_dir,
                "questions": retrieval_questions(100),
                "passes": 1,
                "filters": {"no filter": {}, "date filter": DATE_FILTER},
            },
        )
    label = f"{build['chunks']:,} chunks"
    _latency_rows(rep, label, scale["no filter"], target=p95_target_ms(args.chunks))
    _latency_rows(
        rep, f"{label}, {DATE_FILTER['since'][:4]} only", scale["date filter"], target=p95_target_ms(args.chunks)
    )
    _parts_row(rep, label, scale["parts"])
    rep.add(f"peak RSS, query process ({label})", scale["peak_rss_mb"], "MiB")
    print(rep.table())
    rep.write(args.out, {"command": "python -m bench.scale " + " ".join(argv or sys.argv[1:])})
    return 0


if __name__ == "__main__":
    sys.exit(main())
