"""Can the model tell a sentence that answers a question from a tempting one? The calibration behind
`Answerer._vouch` (rag/answer.py, VOUCH_MIN_YES).

Each dev question's gold evidence sentence (single and follow-up questions, the follow-up as its standalone
rewrite) and each near-miss question's tempting sentence is shown to the model alone, with the question and
"Does the sentence below state the answer to this question?", exactly as the answerer asks it; the model's
P("Yes") is read. The table gives, per threshold, the share of each group at or above it: the first should be
high, the second low. Test-half questions are never read.

    python -m eval.sentence_probe [--suite trust-dev ...] [--out FILE.json]

Needs the bundled model (no index); about 1 s a sentence on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from eval.datasets_io import resolve_dataset
from eval.runner import DEFAULT_CORPORA

DEV_SUITES = tuple(s for s in DEFAULT_CORPORA if s.startswith("trust-dev"))  # the runner's list, one place
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def _pairs(suites: list[str]) -> list[dict]:
    """(question, sentence, answerable) for every usable dev question of the suites."""
    rows = []
    for suite in suites:
        for line in resolve_dataset(suite).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            if q.get("split") == "test" or q["type"] not in ("single", "followup", "nearmiss") or not q.get("evidence"):
                continue
            question = q.get("standalone") or q["question"]
            rows.append({"id": q["id"], "question": question, "sentence": q["evidence"][0], "type": q["type"]})
    return rows


def measure(suites: list[str]) -> list[dict]:
    from rag import NewsQA

    answerer = NewsQA().answerer  # no index is read: only the model
    rows = _pairs(suites)
    for n, row in enumerate(rows, start=1):
        row["p_yes"] = answerer.answer_probability(row["question"], row["sentence"])
        if row["p_yes"] is None:
            raise SystemExit(
                "The configured LLM gives no token probabilities; use the bundled one (NEWSRAG_LLM=local)."
            )
        if n % 25 == 0:
            logging.getLogger(__name__).warning("%d of %d sentences", n, len(rows))
    return rows


def table(rows: list[dict]) -> str:
    answering = [r["p_yes"] for r in rows if r["type"] != "nearmiss" and r["p_yes"] is not None]
    tempting = [r["p_yes"] for r in rows if r["type"] == "nearmiss" and r["p_yes"] is not None]
    lines = [
        f"| P(yes) at least | gold sentence of answerable questions (n={len(answering)}) "
        f"| tempting sentence of near-miss questions (n={len(tempting)}) |",
        "| --- | --- | --- |",
    ]
    for t in THRESHOLDS:
        share = [sum(p >= t for p in group) / max(1, len(group)) for group in (answering, tempting)]
        lines.append(f"| {t:.1f} | {share[0]:.2f} | {share[1]:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.sentence_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", help=f"dev suites to read (default: {', '.join(DEV_SUITES)})")
    parser.add_argument("--out", type=Path, help="write every sentence's P(yes) here as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    rows = measure(args.suite or list(DEV_SUITES))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
