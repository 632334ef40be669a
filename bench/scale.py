"""Retrieval at scale alone: a synthetic index of N chunks (default 100,000), its build time, and the
latency of qa.retrieve (hybrid, k=5) with and without a date filter, without ingesting the BBC corpus first.

    python -m bench.scale [--chunks 100000] [--out bench/results] [--keep DIR]

--keep DIR builds the index in DIR and reuses it on the next run with the same --chunks (a 1,000,000-chunk
build takes about 45 minutes on 2 cores); without it the index is built in a temporary folder and deleted.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
    parser.add_argument("--keep", type=Path, help="build the index here, or reuse the one built here before")
    args = parser.parse_args(argv)
    rep = Report("scale", f"Retrieval at {args.chunks:,} synthetic chunks (qa.retrieve, hybrid, k=5)")
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-") as work:
        folder = args.keep / f"{args.chunks}" if args.keep else Path(work)
        data_dir = str(folder / "data")
        build = _built(folder, data_dir, args.chunks)
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


def _built(folder: Path, data_dir: str, n_chunks: int) -> dict:
    """The build's figures: from the kept index's record, or from building it now (about 3 s per 1,000 chunks on
    2 cores, so the child's time limit grows with the size)."""
    record = folder / "build.json"
    if record.exists():
        return json.loads(record.read_text())
    shutil.rmtree(data_dir, ignore_errors=True)  # a build that was stopped part-way
    build = run_child(
        "bench.retrieval:build_synthetic",
        {"data_dir": data_dir, "n_chunks": n_chunks},
        timeout=max(1800, n_chunks / 100),
    )
    folder.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(build))
    return build


if __name__ == "__main__":
    sys.exit(main())
