"""What every benchmark shares: statistics, peak memory, child processes, tables and result files.

Each heavy measurement runs in a child process (`python -m bench.child MODULE:FUNCTION`) so that its peak
RSS is its own and one benchmark's loaded models do not flatter the next one's figures.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
BBC = CORPORA / "bbc-news"
DATASETS = ROOT / "eval" / "datasets"
RESULTS = Path(__file__).resolve().parent / "results"


class BenchError(RuntimeError):
    """A benchmark could not run; the message says what to fix."""


# statistics -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, like numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(values: list[float]) -> dict[str, float]:
    """Median, p95, spread (min, max, relative IQR) of repeated measurements."""
    if not values:
        return {"n": 0}
    med = statistics.median(values)
    iqr = percentile(values, 75) - percentile(values, 25)
    return {
        "n": len(values),
        "median": med,
        "p95": percentile(values, 95),
        "min": min(values),
        "max": max(values),
        "iqr_pct": 100.0 * iqr / med if med else 0.0,
    }


# memory -----------------------------------------------------------------------------------------


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory (VmHWM) of a process in MiB, from /proc; None where /proc is missing."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    if pid == "self":
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return None


def rss_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def run_timed(cmd: list[str], *, env: dict | None = None, timeout: float = 300, cwd: Path = ROOT) -> dict[str, Any]:
    """Run a command to completion: wall and CPU seconds, exit code, its own peak RSS (from wait4), its output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise BenchError(f"{' '.join(cmd[:4])} ran over {timeout:.0f} s")
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "seconds": seconds,
            "returncode": proc.returncode,
            "stdout": out.read(),
            "stderr": err.read(),
            "peak_rss_mb": usage.ru_maxrss / 1024.0,
            # CPU time drifts less than wall time on a busy machine: compare these between runs
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        }


def bench_env(**extra: str) -> dict[str, str]:
    from core.settings import offline_hub

    env = dict(os.environ)
    offline_hub(env)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def run_child(target: str, params: dict[str, Any], *, timeout: float = 1800) -> dict[str, Any]:
    """Run `target` ("bench.module:function") with `params` in a fresh Python process; returns its result dict.

    The function returns a JSON-able dict; the child adds its own peak RSS as `peak_rss_mb`.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    cmd = [sys.executable, "-m", "bench.child", target, json.dumps(params), str(result_path)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=bench_env(), timeout=timeout, stdout=None, stderr=None)
        text = result_path.read_text() if result_path.exists() else ""
        if proc.returncode != 0 or not text:
            raise BenchError(f"{target} failed (exit {proc.returncode}); its output is above.")
        return json.loads(text)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{target} ran over {timeout:.0f} s") from None
    finally:
        result_path.unlink(missing_ok=True)


# results ----------------------------------------------------------------------------------------


@dataclass
class Row:
    """One printed figure: what it is, its value, and (optionally) a target it meets or not."""

    name: str
    value: float | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    def cells(self) -> list[str]:
        status = "" if self.met is None else ("met" if self.met else "NOT MET")
        return [self.name, fmt(self.value), self.unit, self.target, status, self.note]


@dataclass
class Report:
    """A benchmark's figures: rows for the table, plus the raw data for the JSON file."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def table(self) -> str:
        header = ["figure", "value", "unit", "target", "status", "note"]
        lines = [f"### {self.title}", ""]
        if self.skipped:
            lines += [f"Skipped: {self.skipped}", ""]
        if self.rows:
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join([" --- "] * len(header)) + "|")
            for row in self.rows:
                lines.append("| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |")
            lines.append("")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "skipped": self.skipped,
            "figures": [row.__dict__ for row in self.rows],
            "data": self.data,
        }

    def write(self, out_dir: Path, meta: dict[str, Any]) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.name}.json"
        path.write_text(json.dumps({"meta": meta, **self.to_dict()}, indent=2, default=str) + "\n")
        return path


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.0f}"
        if magnitude >= 10:
            return f"{value:.1f}"
        if magnitude >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def run_meta(quick: bool) -> dict[str, Any]:
    """Where and when the figures were taken: pasted beside them in the README."""
    commit = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        if dirty.stdout.strip():
            commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "command": "python -m bench" + (" --quick" if quick else ""),
        "mode": "quick" if quick else "full",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_avg_1m_at_start": load,
    }
