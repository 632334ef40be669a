"""The CI gate: fail (exit 1) when a suite's report scores below eval/thresholds.json.

    newsrag eval --suite seed --gate         # run the seed suite now, then check it (eval/runner.py)
    python -m eval.gate --report PATH.json   # check a report written earlier

The gate only reads reports; it never runs a suite, so it imports nothing of the runner.

Besides absolute minimums ("min") and maximums ("max"), "max_drop" limits how far a score may
fall below the committed baseline report (eval/baselines/seed/report.json) when one exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EVAL_DIR = Path(__file__).parent
THRESHOLDS = EVAL_DIR / "thresholds.json"
BASELINE = EVAL_DIR / "baselines" / "seed" / "report.json"
NEEDS_LLM = (
    "match",
    "f1",
    "refusal_precision",
    "refusal_recall",
    "refusal_rate",
    "citation",
    "generate_median",
    "generate_p95",
)


def baseline_for(suite: str) -> Path | None:
    """The committed baseline report of a suite (eval/baselines/SUITE/report.json), or None."""
    path = EVAL_DIR / "baselines" / suite / "report.json"
    return path if path.is_file() else None


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    path = path or THRESHOLDS
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"No thresholds file {path}: pass --thresholds FILE") from exc


def _get(summary: dict[str, dict[str, float | None]], key: str) -> float | None:
    group, _, metric = key.partition(".")
    return summary.get(group, {}).get(metric)


def check_summary(
    summary: dict[str, dict[str, float | None]],
    thresholds: dict[str, Any],
    *,
    retrieval_only: bool = False,
    baseline: dict[str, dict[str, float | None]] | None = None,
) -> list[str]:
    """Every threshold the summary breaks, as readable lines; empty means the gate passes.

    A score that was not measured fails, except answer scores in a retrieval-only run.
    """
    failures: list[str] = []
    for kind in ("min", "max", "max_drop"):
        for key, limit in thresholds.get(kind, {}).items():
            if retrieval_only and key.partition(".")[2] in NEEDS_LLM:
                continue
            value = _get(summary, key)
            if kind == "max_drop":
                before = _get(baseline, key) if baseline else None
                if before is not None and value is not None and before - value > limit:
                    failures.append(
                        f"{key} = {value:.3f} fell {before - value:.3f} below the baseline {before:.3f} (allowed {limit})"
                    )
                continue
            if value is None:
                failures.append(f"{key} was not measured")
            elif kind == "min" and value < limit:
                failures.append(f"{key} = {value:.3f} is below the minimum {limit}")
            elif kind == "max" and value > limit:
                failures.append(f"{key} = {value:.3f} is above the maximum {limit}")
    return failures


def check_report(
    report: dict[str, Any], thresholds: dict[str, Any], baseline_path: Path | None = BASELINE
) -> list[str]:
    """Gate the first config of a report; compares with the baseline's first config when there is one."""
    if thresholds.get("suite") and report.get("suite") != thresholds["suite"]:
        return [f"thresholds are for suite {thresholds['suite']!r}, the report is of {report.get('suite')!r}"]
    if not report.get("runs"):
        return ["the report has no runs"]
    baseline = None
    if baseline_path and baseline_path.is_file():
        runs = json.loads(baseline_path.read_text(encoding="utf-8")).get("runs") or [{}]
        baseline = runs[0].get("summary")
    return check_summary(
        report["runs"][0]["summary"], thresholds, retrieval_only=bool(report.get("retrieval_only")), baseline=baseline
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.gate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--report", type=Path, required=True, help="a report.json to check (`newsrag eval --gate` runs and checks)"
    )
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    parser.add_argument(
        "--baseline", type=Path, default=BASELINE, help="baseline report.json for max_drop (skipped if absent)"
    )
    args = parser.parse_args(argv)
    thresholds = load_thresholds(args.thresholds)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    if not args.baseline.is_file():
        print(f"note: no baseline at {args.baseline}; only absolute thresholds are checked", file=sys.stderr)
    failures = check_report(report, thresholds, args.baseline)
    for failure in failures:
        print(f"GATE FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("gate passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
