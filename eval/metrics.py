"""Evaluation metrics: pure functions over plain data, so each can be checked by hand.

Definitions are in eval/README.md ("Metrics"). Every score is computed per question, then averaged
per question type (single, multi, unanswerable) and overall by `summarize`. A score that does not
apply (retrieval of an unanswerable question, a citation score without citations) is None and is
left out of the averages rather than counted as zero.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eval.normalize import contains, normalize, tokens

RETRIEVAL_KS = (1, 5, 10)
MRR_K = 10
EVIDENCE_OVERLAP = 0.7  # share of an evidence sentence's tokens a passage must hold to support it
STAGES = ("retrieve", "first_token", "generate", "total")
QUESTION_TYPES = ("single", "multi", "unanswerable", "nearmiss", "synthesis", "followup", "timeline", "conflict")
UNANSWERABLE = ("unanswerable", "nearmiss")
# Groups in the summary: overall, each type, and the two that the refusal targets are stated on.
GROUPS = ("overall", *QUESTION_TYPES, "answerable", "not_answerable")


# retrieval ------------------------------------------------------------------


def dedupe_articles(article_ids: Iterable[str]) -> list[str]:
    """Passages ranked best first -> the articles they come from, each once, in order of first appearance."""
    seen: set[str] = set()
    ranked: list[str] = []
    for article in article_ids:
        if article not in seen:
            seen.add(article)
            ranked.append(article)
    return ranked


def retrieval_scores(
    ranked: Sequence[str], gold: Iterable[str], ks: Sequence[int] = RETRIEVAL_KS, *, all_gold: bool | None = None
) -> dict[str, float]:
    """Hit@k, MRR@10 and, for questions that need several articles, all_gold@k for one question.

    `ranked` is the article ranking (deduplicated here); a hit at k means at least one gold article
    is in the top k. all_gold@k means every gold article is; it is computed when `all_gold` is true
    (the runner passes it for `multi` questions; by default: when there are 2+ gold articles).
    A `single` question may list several gold articles when the same story ran twice: any one answers it.
    """
    gold_set = set(gold)
    if not gold_set:
        raise ValueError("retrieval_scores needs at least one gold article; unanswerable questions have none")
    ranked = dedupe_articles(ranked)
    first = next((i for i, a in enumerate(ranked) if a in gold_set), None)
    scores: dict[str, float] = {}
    for k in ks:
        scores[f"hit@{k}"] = float(first is not None and first < k)
    scores[f"mrr@{MRR_K}"] = 1.0 / (first + 1) if first is not None and first < MRR_K else 0.0
    if all_gold if all_gold is not None else len(gold_set) > 1:
        for k in ks[1:]:
            scores[f"all_gold@{k}"] = float(gold_set <= set(ranked[:k]))
    return scores


# answers --------------------------------------------------------------------


def answer_match(answer_text: str, accepted: Iterable[str]) -> bool:
    """Whether any accepted answer (or alias) occurs, normalized, in the answer text; a date may be written day
    first or month first ("1 March", "March 1")."""
    return any(contains(answer_text, a) for answer in accepted for a in _date_spellings(answer))


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY_MONTH_RE = re.compile(rf"^(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})$", re.IGNORECASE)
_MONTH_DAY_RE = re.compile(rf"^({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?$", re.IGNORECASE)


def _date_spellings(answer: str) -> list[str]:
    """The accepted answer, and a day-and-month answer in the other order."""
    if m := _DAY_MONTH_RE.match(answer.strip()):
        return [answer, f"{m.group(2)} {m.group(1)}"]
    if m := _MONTH_DAY_RE.match(answer.strip()):
        return [answer, f"{m.group(2)} {m.group(1)}"]
    return [answer]


def token_f1(answer_text: str, accepted: Iterable[str]) -> float:
    """SQuAD token F1 between the answer text and the best-matching accepted answer."""
    predicted = tokens(answer_text)
    best = 0.0
    for gold in accepted:
        gold_tokens = tokens(gold)
        common = sum((Counter(predicted) & Counter(gold_tokens)).values())
        if common == 0:
            continue
        precision = common / len(predicted)
        recall = common / len(gold_tokens)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def points_covered(answer_text: str, points: Iterable[Sequence[str]]) -> int:
    """How many key points (each a list of accepted phrasings) the answer states."""
    return sum(any(contains(answer_text, phrase) for phrase in point) for point in points)


def event_positions(answer_text: str, points: Iterable[Sequence[str]]) -> list[int | None]:
    """For each expected event, where its earliest accepted phrasing first occurs in the (normalized) answer."""
    text = f" {normalize(answer_text)} "
    found: list[int | None] = []
    for point in points:
        at = [text.find(f" {normalize(phrase)} ") for phrase in point]
        at = [a for a in at if a >= 0]
        found.append(min(at) if at else None)
    return found


def order_score(positions: Sequence[int | None]) -> float | None:
    """Share of consecutive pairs of the events found (in their expected order) that the answer tells in that
    order; None when fewer than two were found."""
    seen = [p for p in positions if p is not None]
    if len(seen) < 2:
        return None
    return sum(a < b for a, b in zip(seen, seen[1:], strict=False)) / (len(seen) - 1)


DIFFER_RE = re.compile(r"\b(?:differ|differs|disagree|disagrees|conflict|conflicting|contradict|inconsistent)\b", re.I)


def says_reports_differ(answer_text: str) -> bool:
    """Whether the answer says that its sources disagree (conflict questions; a false flag elsewhere)."""
    return bool(DIFFER_RE.search(answer_text))


def crag_score(answerable: bool, refused: bool, correct: bool | None) -> int:
    """CRAG-style: +1 a right answer or an honest refusal, 0 refusing an answerable question,
    -1 a wrong answer given with confidence (including any answer to an unanswerable question)."""
    if refused:
        return 0 if answerable else 1
    if not answerable:
        return -1
    return 1 if correct else -1


# refusals -------------------------------------------------------------------


def refusal_scores(outcomes: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Precision and recall of refusing, from (refused, answerable) pairs.

    Positives are unanswerable questions: refusing one is a true positive, refusing an answerable
    question a false positive, answering an unanswerable one a false negative. None when undefined
    (no refusals for precision, no unanswerable questions for recall).
    """
    tp = fp = fn = n = refused_count = 0
    for refused, answerable in outcomes:
        n += 1
        refused_count += refused
        if refused and not answerable:
            tp += 1
        elif refused and answerable:
            fp += 1
        elif not refused and not answerable:
            fn += 1
    return {
        "refusal_precision": tp / (tp + fp) if tp + fp else None,
        "refusal_recall": tp / (tp + fn) if tp + fn else None,
        "refusal_rate": refused_count / n if n else None,
    }


# citations ------------------------------------------------------------------


def _overlap(evidence: str, passage: str) -> float:
    wanted = set(tokens(evidence))
    if not wanted:
        return 0.0
    return len(wanted & set(tokens(passage))) / len(wanted)


def citation_supported(
    passage_article: str, passage_text: str, gold: Iterable[str], answers: Iterable[str], evidence: Iterable[str]
) -> bool:
    """A citation is good when its passage is from a gold article and holds the answer or the evidence.

    Evidence counts when it occurs in the passage (normalized) or when most of its words do: chunk
    boundaries can cut a sentence.
    """
    if passage_article not in set(gold):
        return False
    if any(contains(passage_text, a) for a in answers):
        return True
    return any(contains(passage_text, e) or _overlap(e, passage_text) >= EVIDENCE_OVERLAP for e in evidence)


def citation_score(
    citations: Sequence[tuple[str, str]], gold: Iterable[str], answers: Iterable[str], evidence: Iterable[str]
) -> float | None:
    """The share of (article, passage text) citations that are supported; None without citations."""
    if not citations:
        return None
    gold, answers, evidence = list(gold), list(answers), list(evidence)
    good = sum(citation_supported(article, text, gold, answers, evidence) for article, text in citations)
    return good / len(citations)


# latency --------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), interpolated linearly between ranks as numpy does by default."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_stats(timings: Iterable[dict[str, float]], stages: Sequence[str] = STAGES) -> dict[str, float | None]:
    """Median and p95 seconds per stage ("retrieve_median", "total_p95", ...) over questions that timed it."""
    timings = list(timings)
    out: dict[str, float | None] = {}
    for stage in stages:
        values = [t[stage] for t in timings if stage in t]
        out[f"{stage}_median"] = percentile(values, 50)
        out[f"{stage}_p95"] = percentile(values, 95)
    return out


# per question and summary ------------------------------------------------------


@dataclass
class QuestionScore:
    """Everything measured on one question; None where a score does not apply or was not measured."""

    id: str
    type: str
    retrieval: dict[str, float] | None = None
    refused: bool | None = None
    match: bool | None = None
    f1: float | None = None
    citation: float | None = None
    crag: int | None = None
    events: float | None = None  # timeline: share of the expected events stated
    order: float | None = None  # timeline: share of consecutive found events in the expected order
    flagged: bool | None = None  # the answer says the reports differ
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def answerable(self) -> bool:
        return self.type not in UNANSWERABLE


def score_answer(
    qtype: str,
    accepted: Sequence[str],
    answer_text: str,
    refused: bool,
    citations: Sequence[tuple[str, str]],
    gold: Sequence[str],
    evidence: Sequence[str],
    points: Sequence[Sequence[str]] = (),
    min_points: int = 0,
) -> dict[str, object]:
    """Answer-side scores of one question: a refused answerable question scores no match and F1 0.

    A synthesis question matches when the answer states at least min_points of its key points.
    """
    if qtype in UNANSWERABLE:
        return {
            "refused": refused,
            "match": None,
            "f1": None,
            "citation": None,
            "crag": crag_score(False, refused, None),
            "events": None,
            "order": None,
            "flagged": None if refused else says_reports_differ(answer_text),
        }
    extra: dict[str, object] = {
        "events": None,
        "order": None,
        "flagged": None if refused else says_reports_differ(answer_text),
    }
    if qtype == "timeline":
        positions = [None] * len(points) if refused else event_positions(answer_text, points)
        found = sum(p is not None for p in positions)
        extra["events"] = found / len(points) if points else None
        extra["order"] = order_score(positions)
        match = found >= max(min_points, 1) and extra["order"] == 1.0
        f1 = None
    elif qtype in ("synthesis", "conflict"):
        match = not refused and points_covered(answer_text, points) >= max(min_points, 1)
        f1 = None
    else:
        match = False if refused else answer_match(answer_text, accepted)
        f1 = 0.0 if refused else token_f1(answer_text, accepted)
    cite_terms = list(accepted) + [phrase for point in points for phrase in point]
    return {
        "refused": refused,
        "match": match,
        "f1": f1,
        "citation": None if refused else citation_score(citations, gold, cite_terms, evidence),
        "crag": crag_score(True, refused, match),
        **extra,
    }


def _mean(values: Iterable[float | bool | None]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return sum(got) / len(got) if got else None


def summarize_group(scores: Sequence[QuestionScore]) -> dict[str, float | None]:
    """Averages of one group of questions; failed questions are counted, not scored."""
    ok = [s for s in scores if s.error is None]
    out: dict[str, float | None] = {"n": float(len(scores)), "failed": float(len(scores) - len(ok))}
    keys = [f"hit@{k}" for k in RETRIEVAL_KS] + [f"mrr@{MRR_K}"] + [f"all_gold@{k}" for k in RETRIEVAL_KS[1:]]
    for key in keys:
        out[key] = _mean(s.retrieval.get(key) for s in ok if s.retrieval)
    out["match"] = _mean(s.match for s in ok)
    out["f1"] = _mean(s.f1 for s in ok)
    out.update(refusal_scores((s.refused, s.answerable) for s in ok if s.refused is not None))
    out["citation"] = _mean(s.citation for s in ok)
    out["crag"] = _mean(s.crag for s in ok)
    for key in ("events", "order", "flagged"):
        out[key] = _mean(getattr(s, key) for s in ok)
    out.update(latency_stats(s.timings for s in ok))
    return out


def summarize(scores: Sequence[QuestionScore]) -> dict[str, dict[str, float | None]]:
    """Scores per group: overall and per question type (types without questions are left out)."""
    summary = {"overall": summarize_group(scores)}
    for qtype in QUESTION_TYPES:
        members = [s for s in scores if s.type == qtype]
        if members:
            summary[qtype] = summarize_group(members)
    answerable = [s for s in scores if s.answerable]
    refusable = [s for s in scores if not s.answerable]
    if answerable and refusable:
        summary["answerable"] = summarize_group(answerable)
        summary["not_answerable"] = summarize_group(refusable)
    return summary
