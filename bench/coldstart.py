"""Cold start: new processes against an existing index. `import rag, ingest`, `newsrag search` (ONNX and torch
embedder runtimes), and the app.

Each is a fresh process, timed from spawn to exit (or, for the app, to its first HTTP 200), with its own
peak RSS read from wait4 or /proc.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

from bench.common import ROOT, Report, bench_env, peak_rss_mb, run_timed, summarize

log = logging.getLogger(__name__)

IMPORT_TARGET_S = 1.0
SEARCH_TARGET_S = 1.5  # issue 15: before the first retrieval; the whole search here, so a little stricter
HEAVY = ("torch", "chromadb", "llama_index", "trafilatura", "sentence_transformers", "llama_cpp", "gradio")
SEARCH_QUESTION = "What did the report say about broadband and TV viewing?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


def time_import(runs: int) -> dict[str, Any]:
    env = bench_env()
    times = []
    for _ in range(runs):
        got = run_timed([sys.executable, "-c", "import rag, ingest"], env=env, timeout=60)
        if got["returncode"] != 0:
            raise RuntimeError(f"`import rag, ingest` failed: {got['stderr'][-500:]}")
        times.append(got["seconds"])
    probe = f"import sys, rag, ingest; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    heavy = run_timed([sys.executable, "-c", probe], env=env, timeout=60)["stdout"].strip()
    return {**summarize(times), "heavy_modules_imported": [m for m in heavy.split(",") if m]}


def time_search(data_dir: str, runs: int, runtime: str = "onnx") -> dict[str, Any]:
    """`newsrag search` in new processes with one embedder runtime (NEWSRAG_EMBED_RUNTIME); one untimed run
    first (it makes the ONNX export if the models folder has none). Also whether the process imported torch."""
    env = bench_env(NEWSRAG_EMBED_RUNTIME=runtime)
    cmd = [sys.executable, "-m", "cli.main", "--data-dir", data_dir, "search", SEARCH_QUESTION]
    probe = [
        sys.executable,
        "-c",
        "import sys; from cli.main import main; sys.stdout = open('/dev/null', 'w'); code = main(sys.argv[1:]); "
        "sys.stdout = sys.__stdout__; print('torch' in sys.modules); sys.exit(code)",
        *cmd[3:],
    ]
    warm = run_timed(probe, env=env, timeout=600)
    if warm["returncode"] != 0:
        raise RuntimeError(f"newsrag search failed (exit {warm['returncode']}): {warm['stderr'][-500:]}")
    times, cpu, peaks = [], [], []
    for _ in range(runs):
        got = run_timed(cmd, env=env, timeout=300)
        if got["returncode"] != 0:
            raise RuntimeError(f"newsrag search failed (exit {got['returncode']}): {got['stderr'][-500:]}")
        times.append(got["seconds"])
        cpu.append(got["cpu_seconds"])
        peaks.append(got["peak_rss_mb"])
    return {
        **summarize(times),
        "cpu_seconds": summarize(cpu),
        "peak_rss_mb": max(peaks),
        "imports_torch": warm["stdout"].strip().splitlines()[-1] == "True",
    }


def time_app(data_dir: str, timeout: float = 300) -> dict[str, Any]:
    """Start app.py, time it to its first HTTP 200 and to 'models loaded'; its peak RSS with the model loaded."""
    app = ROOT / "app.py"
    if not app.is_file():
        return {"skipped": "app.py does not exist yet"}
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log_file:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(app), "--data-dir", data_dir, "--port", str(port)],
            cwd=ROOT,
            env=bench_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
        )
        result: dict[str, Any] = {"port": port}
        try:
            url = f"http://127.0.0.1:{port}/"
            while time.perf_counter() - started < timeout:
                if proc.poll() is not None:
                    log_file.seek(0)
                    return {"skipped": f"app.py exited with {proc.returncode}: {log_file.read()[-400:]}"}
                if _http_ok(url):
                    result["http_seconds"] = time.perf_counter() - started
                    break
                time.sleep(0.1)
            else:
                return {"skipped": f"app.py did not answer HTTP within {timeout:.0f} s"}
            result["rss_at_http_mb"] = peak_rss_mb(proc.pid)
            while time.perf_counter() - started < timeout:
                log_file.seek(0)
                text = log_file.read()
                if "models loaded" in text:
                    result["models_loaded_seconds"] = time.perf_counter() - started
                    break
                if "loading the models failed" in text or proc.poll() is not None:
                    result["model_error"] = text[-400:]
                    break
                time.sleep(0.2)
            result["peak_rss_mb"] = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return result


def run(ctx) -> Report:
    rep = Report("coldstart", "Cold start and memory of new processes")
    data: dict[str, Any] = {}
    imp = time_import(3 if ctx.quick else 5)
    data["import"] = imp
    heavy = ", ".join(imp["heavy_modules_imported"]) or "none"
    rep.add(
        "python -c 'import rag, ingest'",
        imp["median"],
        "s",
        target=f"< {IMPORT_TARGET_S:g} s",
        met=imp["median"] < IMPORT_TARGET_S,
        note=f"median of {imp['n']}, range {imp['min']:.2f}-{imp['max']:.2f}; heavy modules imported: {heavy}",
    )
    for runtime in ("onnx", "torch"):
        search = time_search(str(ctx.bbc_data), 2 if ctx.quick else 3, runtime)
        data[f"search_{runtime}"] = search
        label = "newsrag search (new process)" + ("" if runtime == "onnx" else ", NEWSRAG_EMBED_RUNTIME=torch")
        rep.add(
            label,
            search["median"],
            "s",
            target=f"< {SEARCH_TARGET_S:g} s" if runtime == "onnx" else "",
            met=search["median"] < SEARCH_TARGET_S if runtime == "onnx" else None,
            note=f"median of {search['n']}, range {search['min']:.2f}-{search['max']:.2f}; CPU "
            f"{search['cpu_seconds']['median']:.2f} s; torch imported: {'yes' if search['imports_torch'] else 'no'}",
        )
        rep.add(f"peak RSS, newsrag search ({runtime})", search["peak_rss_mb"], "MiB")
    search = data["search_onnx"]
    data["search"] = search
    ctx.figures["search_peak_rss_mb"] = search["peak_rss_mb"]
    app = time_app(str(ctx.bbc_data))
    data["app"] = app
    if "skipped" in app:
        rep.add("app.py until HTTP 200", "skipped", note=app["skipped"])
    else:
        rep.add("app.py until HTTP 200", app["http_seconds"], "s", note="python app.py --data-dir D --port P")
        if "models_loaded_seconds" in app:
            rep.add(
                "app.py until its models are loaded",
                app["models_loaded_seconds"],
                "s",
                note="the 'models loaded' log line",
            )
        elif "model_error" in app:
            rep.add("app.py model loading", "failed", note=app["model_error"][-200:])
        rep.add(
            "peak RSS, app with the default model",
            app["peak_rss_mb"],
            "MiB",
            note=f"{app['rss_at_http_mb']:.0f} MiB when HTTP first answered",
        )
        ctx.figures["app_peak_rss_mb"] = app["peak_rss_mb"]
    rep.data = data
    return rep
