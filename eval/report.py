"""Turning an evaluation report into something to read: a text table, report.md and a PNG chart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.metrics import GROUPS

TABLE_METRICS = (
    "n", "failed", "hit@1", "hit@5", "hit@10", "mrr@10", "all_gold@5",
    "match", "f1", "refusal_precision", "refusal_recall", "refusal_rate", "citation", "crag",
    "retrieve_median", "first_token_median", "generate_median", "total_median", "total_p95",
)  # fmt: skip
CHART_METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10", "match", "f1", "refusal_precision", "refusal_recall", "citation")
SHORT = {
    "refusal_precision": "ref_P", "refusal_recall": "ref_R", "all_gold@5": "all@5",
    "retrieve_median": "ret_s", "generate_median": "gen_s", "total_median": "tot_s", "total_p95": "tot_p95",
    "refusal_rate": "ref_rate", "first_token_median": "ttft_s",
}  # fmt: skip


def _runs(report: dict[str, Any], compared: Sequence[dict[str, Any]] = ()) -> list[tuple[str, dict[str, Any]]]:
    """(label, summary) of this report's runs, then of the compared reports' runs."""
    out = [(run["config"], run["summary"]) for run in report["runs"]]
    for i, other in enumerate(compared, start=1):
        tag = other.get("created", f"earlier {i}")[:16]
        out += [(f"{run['config']} @{tag}", run["summary"]) for run in other.get("runs", [])]
    return out


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric in ("n", "failed"):
        return str(int(value))
    return f"{value:.2f}" if metric.endswith(("_median", "_p95")) else f"{value:.3f}"


def _columns(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Metrics worth a column: measured somewhere (retrieval-only runs have no answer scores)."""
    return [
        m for m in TABLE_METRICS if any(summary.get(g, {}).get(m) is not None for _, summary in runs for g in summary)
    ]


def format_table(report: dict[str, Any], compared: Sequence[dict[str, Any]] = ()) -> str:
    """Plain aligned text: one row per config and question type."""
    runs = _runs(report, compared)
    cols = _columns(runs)
    header = ["config", "type", *[SHORT.get(c, c) for c in cols]]
    rows = [header]
    for label, summary in runs:
        for group in GROUPS:
            if group in summary:
                rows.append([label, group, *[_fmt(c, summary[group].get(c)) for c in cols]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(report: dict[str, Any], compared: Sequence[dict[str, Any]] = ()) -> str:
    runs = _runs(report, compared)
    cols = _columns(runs)
    mode = "retrieval only" if report.get("retrieval_only") else "retrieval and answers"
    out = [
        f"# Evaluation: {report['suite']}",
        "",
        f"- created: {report['created']}",
        f"- dataset: `{report['dataset']}`" + (f" (first {report['limit']} questions)" if report.get("limit") else ""),
        f"- corpus: {', '.join(f'`{c}`' for c in report['corpus'])}",
        f"- mode: {mode}",
        "",
    ]
    for group in GROUPS:
        present = [(label, s[group]) for label, s in runs if group in s]
        if not present:
            continue
        out += [f"## {group}", "", "| metric | " + " | ".join(label for label, _ in present) + " |"]
        out.append("|---|" + "---:|" * len(present))
        out += [f"| {c} | " + " | ".join(_fmt(c, s.get(c)) for _, s in present) + " |" for c in cols]
        out.append("")
    for run in report["runs"]:
        out += [
            f"## Config `{run['config']}`",
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in run["settings"].items()),
            "",
        ]
        if run.get("ingest"):
            out += [f"Index: {run['ingest']}", ""]
        failed = [q for q in run["questions"] if q["error"]]
        missed = [q for q in run["questions"] if not q["error"] and q["scores"].get("hit@10") == 0.0]
        wrong = [q for q in run["questions"] if not q["error"] and q["scores"].get("match") is False]
        for title, items, show in (
            ("Failed questions", failed, lambda q: q["error"]),
            (
                "Gold article not in the top 10",
                missed,
                lambda q: "retrieved " + ", ".join(Path(u).name for u in q["retrieved"][:3]),
            ),
            (
                "Answer without an accepted answer",
                wrong,
                lambda q: ("(refused) " if q["refused"] else "") + (q["answer"] or "")[:160],
            ),
        ):
            if items:
                out += [f"### {title} ({len(items)})", ""]
                out += [f"- `{q['id']}` {q['question']} — {show(q)}".replace("\n", " ") for q in items[:25]]
                out.append("")
    return "\n".join(out)


def write_chart(report: dict[str, Any], path: Path, compared: Sequence[dict[str, Any]] = ()) -> Path:
    """Grouped bars of the overall scores, one bar per config (and per compared run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = _runs(report, compared)
    metrics = [m for m in CHART_METRICS if any(s["overall"].get(m) is not None for _, s in runs)]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(metrics) + 2), 4.2))
    width = 0.8 / max(1, len(runs))
    for i, (label, summary) in enumerate(runs):
        values = [summary["overall"].get(m) or 0.0 for m in metrics]
        xs = [x + (i - (len(runs) - 1) / 2) * width for x in range(len(metrics))]
        ax.bar(xs, values, width, label=label)
    ax.set_xticks(range(len(metrics)), metrics, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (overall)")
    ax.set_title(f"newsrag eval: {report['suite']}")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=min(3, len(runs)), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_reports(report: dict[str, Any], out: Path, compared: Sequence[dict[str, Any]] = ()) -> dict[str, Path]:
    """report.json (every per-question result), report.md and chart.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "png": out / "chart.png"}
    paths["json"].write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    paths["md"].write_text(format_markdown(report, compared), encoding="utf-8")
    write_chart(report, paths["png"], compared)
    return paths
