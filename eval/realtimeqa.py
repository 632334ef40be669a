"""RealTimeQA 2022: weekly news-quiz questions over dated articles, asked on the quiz's own date.

Each question carries `now` (the quiz date: what its "this week" means) and the gold article(s). Every
question is run twice through NewsQA, with time understanding (dates in the question filter by date relative
to `now`) and without it (`understand_time=False`: the same retrieval, recency preference included, but no
date filter), and scored side by side:

- gold@1, gold@5: a gold article is the first / among the first five retrieved articles;
- answer in passages: an accepted answer is written in the top-5 passages (what the model could answer from);
- with --answers: answer accuracy, an accepted answer in the model's (not refused) answer.

    python -m eval.realtimeqa [--answers] [--limit N] [--data-dir DIR] [--out FILE.json]

The corpus stays in ../shared/corpora (never bundled); the index is built once in DIR/eval-index/realtimeqa.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from eval.metrics import answer_match
from eval.normalize import contains

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "realtimeqa-2022"
CONDITIONS = (("with time understanding", True), ("without", False))


def load_questions(corpus: Path = CORPUS) -> list[dict]:
    questions = [json.loads(line) for line in (corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    for q in questions:
        q["gold_urls"] = {
            json.loads((corpus.parent / s).read_text(encoding="utf-8"))["url"] for s in q["sources"] if s.strip()
        }
    return questions


def score_question(qa, q: dict, understand_time: bool, answers: bool, k: int = 5) -> dict:
    passages = qa.retrieve(q["question"], k=k, now=q["now"], understand_time=understand_time)
    urls = list(dict.fromkeys(p.url for p in passages))
    found = qa.time_filter(q["question"], q["now"]) if understand_time else None
    row = {
        "id": q["id"],
        "filter": found.describe() if found else None,
        "gold@1": bool(urls) and urls[0] in q["gold_urls"],
        "gold@5": any(u in q["gold_urls"] for u in urls[:k]),
        "answer_in_passages": any(contains(p.text, a) for p in passages for a in q["answers"]),
    }
    if answers:
        started = time.perf_counter()
        answer = qa.ask(q["question"], now=q["now"], understand_time=understand_time)
        row["answer"] = answer.text
        row["refused"] = answer.refused
        row["correct"] = not answer.refused and answer_match(answer.text, q["answers"])
        row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def summarize(rows: list[dict]) -> dict:
    n = len(rows)
    out = {"questions": n, "with a date filter": sum(1 for r in rows if r["filter"])}
    for key in ("gold@1", "gold@5", "answer_in_passages", "correct", "refused"):
        if rows and key in rows[0]:
            out[key] = round(sum(bool(r[key]) for r in rows) / n, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.realtimeqa", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="base data folder (default: settings data_dir)")
    parser.add_argument("--answers", action="store_true", help="also ask the LLM (slow on a CPU)")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--out", type=Path, help="write per-question rows and the summary as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not CORPUS.is_dir():
        print(f"error: {CORPUS} not found (../shared/corpora beside this checkout)", file=sys.stderr)
        return 1

    from core.settings import Settings
    from rag.api import NewsQA

    base = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    settings = base.model_copy(update={"data_dir": base.data_dir / "eval-index" / "realtimeqa"})
    qa = NewsQA(settings=settings)
    started = time.perf_counter()
    report = qa.ingest([CORPUS / "articles"])
    print(f"index: {report.summary()} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    questions = load_questions()[: args.limit]
    results = {}
    for name, understand in CONDITIONS:
        rows = [score_question(qa, q, understand, args.answers) for q in questions]
        results[name] = {"summary": summarize(rows), "rows": rows}
    keys = [k for k in results[CONDITIONS[0][0]]["summary"] if k != "questions"]
    print(f"| RealTimeQA 2022, {len(questions)} questions | " + " | ".join(n for n, _ in CONDITIONS) + " |")
    print("| --- | " + " | ".join("---" for _ in CONDITIONS) + " |")
    for key in keys:
        print(f"| {key} | " + " | ".join(str(results[n]["summary"][key]) for n, _ in CONDITIONS) + " |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
