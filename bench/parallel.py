"""Parallel ingestion: 1 `newsrag ingest` process against 2 at once, into one `chroma run` server (issue 15).

The same 2N BBC articles are ingested twice into a fresh collection each: by one process, then by two processes
over N articles each, started together. Wall time runs from the first spawn to the last exit (model loading
included, as a deployment pays it); the in-process ingest time (IngestReport.seconds) is reported too. The
disk the server and a keyword index use per chunk is measured from the same runs.

    .venv/bin/python -m bench.parallel                      # 2 x 60 articles, the bundled embedder
    .venv/bin/python -m bench.parallel --articles 30 --embed hash
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import ROOT, Report, bench_env

CHROMA = Path(sys.executable).with_name("chroma")
BBC = ROOT.parent / "shared" / "corpora" / "bbc-news"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _start_chroma(folder: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    log = (folder / "chroma.log").open("w")
    cmd = [str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"chroma run did not start: {(folder / 'chroma.log').read_text()[-2000:]}")


def _ingest_all(url: str, collection: str, work: Path, parts: list[list[Path]], embed: str) -> dict:
    """One process per part, started together; returns wall seconds and the processes' reports."""
    env = bench_env(NEWSRAG_CHROMA_URL=url, NEWSRAG_COLLECTION=collection, NEWSRAG_EMBED_MODEL=embed)
    started = time.perf_counter()
    procs = []
    for n, files in enumerate(parts):
        data = work / f"{collection}-{n}"
        cmd = [sys.executable, "-m", "cli.main", "--data-dir", str(data), "ingest", "--json", *map(str, files)]
        out = tempfile.TemporaryFile("w+")
        procs.append((subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.DEVNULL, text=True), out))
    reports = []
    for proc, out in procs:
        if proc.wait(timeout=1800) != 0:
            raise RuntimeError(f"newsrag ingest exited with {proc.returncode}")
        out.seek(0)
        reports.append(json.loads(out.read()))
    return {"wall_s": time.perf_counter() - started, "reports": reports}


def measure(articles: int = 60, embed: str = "all-MiniLM-L6-v2") -> Report:
    report = Report("parallel", f"Parallel ingestion into one Chroma server (2 x {articles} BBC articles)")
    files = sorted(BBC.glob("*/*.txt"))[::3][: 2 * articles]  # every third: all five sections
    if len(files) < 2 * articles or not CHROMA.exists():
        report.skipped = "needs ../shared/corpora/bbc-news and the chroma CLI"
        return report
    report.data["load_average_start"] = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
        work = Path(tmp)
        server, url = _start_chroma(work)
        try:
            one = _ingest_all(url, f"one{uuid.uuid4().hex[:6]}", work, [files], embed)
            two = _ingest_all(url, f"two{uuid.uuid4().hex[:6]}", work, [files[:articles], files[articles:]], embed)
        finally:
            server.terminate()
            server.wait(timeout=30)
        chunks_one = sum(r["chunks_added"] for r in one["reports"])
        chunks_two = sum(r["chunks_added"] for r in two["reports"])
        chroma_bytes = _du(work / "db")
        keyword_bytes = (work / f"{next(p.name for p in work.glob('one*-0'))}" / "keyword.sqlite3").stat().st_size
    report.data.update(one=one, two=two, chroma_bytes=chroma_bytes, keyword_bytes=keyword_bytes)
    speedup = one["wall_s"] / two["wall_s"]
    report.add("1 process: wall time", round(one["wall_s"], 1), "s", note=f"{chunks_one} chunks, model load included")
    report.add("2 processes: wall time", round(two["wall_s"], 1), "s", note=f"{chunks_two} chunks in all")
    report.add(
        "speed-up of 2 processes over 1",
        round(speedup, 2),
        "x",
        target="> 1 only with spare cores",
        note=f"{os.cpu_count()} cores; in-process ingest {one['reports'][0]['seconds']:.1f} s vs "
        + " / ".join(f"{r['seconds']:.1f}" for r in two["reports"])
        + " s",
    )
    report.add(
        "chunks/s, 1 process / 2 processes", f"{chunks_one / one['wall_s']:.1f} / {chunks_two / two['wall_s']:.1f}"
    )
    report.add("Chroma server disk per chunk", round(chroma_bytes / (chunks_one + chunks_two)), "bytes")
    report.add("keyword index disk per chunk", round(keyword_bytes / chunks_one), "bytes")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60, help="articles per process (default 60)")
    parser.add_argument("--embed", default="all-MiniLM-L6-v2", help="NEWSRAG_EMBED_MODEL of the ingests")
    args = parser.parse_args()
    report = measure(args.articles, args.embed)
    print(report.table())
    out = ROOT / "bench" / "results"
    report.write(out, {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M")})


if __name__ == "__main__":
    main()
