"""The benchmark's inputs: a private copy of the BBC corpus (so one article can be edited) and its questions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.common import BBC, DATASETS, BenchError


def load_questions(dataset: str | None = None) -> list[dict]:
    """Questions of eval/datasets/*.jsonl (or one dataset), in file order, without the held-back test half
    (`"split": "test"`: nobody reads those, benchmark logs included)."""
    files = [DATASETS / f"{dataset}.jsonl"] if dataset else sorted(DATASETS.glob("*.jsonl"))
    questions = []
    for path in files:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                if data.get("split") == "test":
                    continue
                questions.append(
                    {"question": data["question"], "sources": data.get("sources", []), "type": data.get("type")}
                )
    return questions


def headline_questions(n: int) -> list[dict]:
    """Headlines turned into questions, for when there are too few dataset questions."""
    out = []
    for path in sorted(BBC.rglob("*.txt"))[:: max(1, 2095 // max(n, 1))][:n]:
        title = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0].strip()
        out.append(
            {"question": f"What happened: {title}?", "sources": [f"bbc-news/{path.relative_to(BBC)}"], "type": None}
        )
    return out


def retrieval_questions(minimum: int = 100) -> list[str]:
    questions = [q["question"] for q in load_questions()]
    if len(questions) < minimum:
        questions += [q["question"] for q in headline_questions(minimum - len(questions))]
    return questions


def answer_questions(n: int) -> list[dict]:
    """Answerable BBC questions (their articles are in every benchmark corpus, the quick subset included)."""
    chosen = [q for q in load_questions("bbc-tech") if q["type"] != "unanswerable"]
    return chosen[:n]


def copy_corpus(target: Path, limit: int | None = None, must_include: list[str] = ()) -> int:
    """Copy the BBC corpus (or `limit` articles of it, spread over its categories) into `target`.

    `must_include` are corpus-relative paths (`bbc-news/tech/x.txt`) that the subset keeps.
    Returns the number of articles copied.
    """
    if not BBC.is_dir():
        raise BenchError(f"The BBC corpus is missing at {BBC}: the benchmarks need ../shared/corpora/bbc-news.")
    files = sorted(p.relative_to(BBC) for p in BBC.rglob("*.txt"))
    if limit:
        keep = {Path(s).relative_to("bbc-news") for s in must_include if s.startswith("bbc-news/")}
        by_category: dict[str, list[Path]] = {}
        for rel in files:
            by_category.setdefault(rel.parts[0], []).append(rel)
        # round-robin over categories, so the subset has every category as distractors
        queues = [iter(v) for v in by_category.values()]
        while len(keep) < limit and queues:
            for queue in list(queues):
                nxt = next(queue, None)
                if nxt is None:
                    queues.remove(queue)
                elif len(keep) < limit:
                    keep.add(nxt)
        files = sorted(keep)
    if target.exists():
        shutil.rmtree(target)
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BBC / rel, target / rel)
    return len(files)


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.txt") if not p.name.startswith("."))
