"""Reading and validating evaluation datasets (JSONL, one question per line; see eval/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UsageError
from eval.normalize import collapse_whitespace, contains

DATASETS_DIR = Path(__file__).parent / "datasets"
QUESTION_TYPES = ("single", "multi", "unanswerable", "nearmiss", "synthesis", "followup", "timeline", "conflict")
POINT_TYPES = ("synthesis", "timeline", "conflict")  # scored on `points`, not on `answers`
UNANSWERABLE_TYPES = ("unanswerable", "nearmiss")  # the articles don't answer these: refusing is right
SPLITS = ("dev", "test")


class DatasetError(UsageError):
    """A dataset file is malformed; the message names the file and line to fix."""


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    sources: list[str]
    type: str
    evidence: list[str] = field(default_factory=list)
    split: str | None = None  # "dev" (tune on it) or "test" (report only)
    # synthesis: key points; timeline: the events in their expected order; conflict: the reports' differing
    # figures. Each a list of accepted phrasings.
    points: list[list[str]] = field(default_factory=list)
    min_points: int = 0  # points a good answer must contain
    history: list[str] = field(default_factory=list)  # followup: the user's earlier turns, oldest first

    @property
    def answerable(self) -> bool:
        return self.type not in UNANSWERABLE_TYPES


def _parse_line(raw: str, where: str) -> Question:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc.msg}); write one JSON object per line") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    missing = [k for k in ("id", "question", "answers", "sources", "type") if k not in data]
    if missing:
        raise DatasetError(f"{where}: missing field(s) {', '.join(missing)}")
    if data["type"] not in QUESTION_TYPES:
        raise DatasetError(f"{where}: type {data['type']!r} is not one of {', '.join(QUESTION_TYPES)}")
    for key in ("answers", "sources", "evidence"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DatasetError(f"{where}: {key} must be a list of strings")
    if not str(data["question"]).strip():
        raise DatasetError(f"{where}: empty question")
    if data.get("split") is not None and data["split"] not in SPLITS:
        raise DatasetError(f"{where}: split {data['split']!r} is not one of {', '.join(SPLITS)}")
    points = data.get("points", [])
    if not isinstance(points, list) or not all(
        isinstance(p, list) and p and all(isinstance(x, str) for x in p) for p in points
    ):
        raise DatasetError(f"{where}: points must be a list of non-empty lists of phrases")
    if data["type"] in POINT_TYPES and (len(points) < 2 or not 1 <= int(data.get("min_points", 2)) <= len(points)):
        raise DatasetError(
            f"{where}: a {data['type']} question needs 2+ points and min_points between 1 and their count"
        )
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise DatasetError(f"{where}: history must be a list of strings")
    if data["type"] == "followup" and not history:
        raise DatasetError(f"{where}: a followup question needs the earlier turn(s) in history")
    return Question(
        id=str(data["id"]),
        question=str(data["question"]),
        answers=list(data["answers"]),
        sources=list(data["sources"]),
        type=data["type"],
        evidence=list(data.get("evidence", [])),
        split=data.get("split"),
        points=[list(p) for p in points],
        min_points=int(data.get("min_points", 2)) if data["type"] in POINT_TYPES else 0,
        history=list(history),
    )


def resolve_dataset(name_or_path: str | Path) -> Path:
    """A suite name ("seed" -> eval/datasets/seed.jsonl) or a path to a JSONL file."""
    path = Path(name_or_path)
    if path.suffix == ".jsonl" or path.exists():
        if not path.is_file():
            raise DatasetError(f"No dataset file {path}")
        return path
    candidate = DATASETS_DIR / f"{name_or_path}.jsonl"
    if not candidate.is_file():
        known = ", ".join(sorted(p.stem for p in DATASETS_DIR.glob("*.jsonl")))
        raise DatasetError(f"No suite named {name_or_path!r} (known: {known}); or pass a path to a .jsonl file")
    return candidate


def load_dataset(name_or_path: str | Path) -> list[Question]:
    """All questions of a dataset; raises DatasetError on the first malformed line or duplicate id."""
    path = resolve_dataset(name_or_path)
    questions: list[Question] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        q = _parse_line(raw, f"{path}:{lineno}")
        if q.id in seen:
            raise DatasetError(f"{path}:{lineno}: duplicate id {q.id!r}")
        seen.add(q.id)
        questions.append(q)
    return questions


def source_problems(q: Question, corpus_root: Path) -> list[str]:
    """What is wrong with a question's sources, evidence and answers against the corpus text.

    Empty when the question is consistent: evidence occurs verbatim in a source, every answer
    occurs in the evidence (when given) and in at least one source; unanswerable has no answers.
    """
    problems: list[str] = []
    if q.type == "unanswerable":
        if q.answers:
            problems.append(f"{q.id}: unanswerable but has answers")
        return problems
    if q.type == "nearmiss" and q.answers:
        problems.append(f"{q.id}: nearmiss questions are unanswerable but this one has answers")
    if q.type not in (*POINT_TYPES, "nearmiss") and not q.answers:
        problems.append(f"{q.id}: answerable but has no answers")
    if q.type == "multi" and len(q.sources) < 2:
        problems.append(f"{q.id}: multi needs at least two sources")
    texts = []
    for src in q.sources:
        path = corpus_root / src
        if not path.is_file():
            problems.append(f"{q.id}: source {src} not found under {corpus_root}")
            continue
        texts.append(path.read_text(encoding="utf-8", errors="replace"))
    flat = [collapse_whitespace(t) for t in texts]
    for sentence in q.evidence:
        if not any(collapse_whitespace(sentence) in t for t in flat):
            problems.append(f"{q.id}: evidence not found verbatim in its sources: {sentence[:60]!r}")
    for i, point in enumerate(q.points, start=1):
        if q.evidence and not any(contains(e, phrase) for e in q.evidence for phrase in point):
            problems.append(f"{q.id}: no phrasing of point {i} ({point[0]!r}) in its evidence")
        if q.type in ("timeline", "conflict") and texts and not any(contains(t, ph) for t in texts for ph in point):
            problems.append(f"{q.id}: no phrasing of point {i} ({point[0]!r}) in its sources")
    for answer in q.answers:
        if q.evidence and not any(contains(e, answer) for e in q.evidence):
            problems.append(f"{q.id}: answer {answer!r} not in its evidence")
        if texts and not any(contains(t, answer) for t in texts):
            problems.append(f"{q.id}: answer {answer!r} not in any source")
    return problems
