"""Reports that differ: two articles giving different figures for the same fact (a price, a count, a date).

An answer built from one passage would silently pick one figure. Instead, the sentences chosen from different
articles are compared on the value the question asks for (an amount of money, a count, a percentage, a date):
when two reports about the same subject give different values, the answer says so and cites both.

Rules, so that a changed figure over time or another fact is not taken for a disagreement:
- the two sentences come from different articles published within REPORT_WINDOW_DAYS of each other (a later
  report often updates a figure; undated articles always compare);
- both articles name every name the question asks about (the same subject);
- the values are of the kind asked (or, for questions that name no kind, like "what do sources say about X",
  amounts of money or percentages) and differ by more than rounding (VALUE_TOLERANCE); amounts in different
  currencies are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.text import content_words
from core.types import Passage
from rag.focus import QuestionFocus

REPORT_WINDOW_DAYS = 3
VALUE_TOLERANCE = 0.01  # relative difference below which two figures are one figure rounded
COMPARED_KINDS = ("money", "count", "percent", "date")
INFERRED_KINDS = ("money", "percent")  # compared when the question names no kind
CONFLICT_MARGIN = 0.2  # who-said-what: a figure sentence scored this much below a source's best still speaks for it

_SCALES = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9, "tn": 1e12,
    "trillion": 1e12,
}  # fmt: skip
_CURRENCIES = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY", "dollar": "USD", "pound": "GBP", "euro": "EUR",
               "yen": "JPY"}  # fmt: skip
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_SCALE = r"(?:bn|mn|m|k|tn|million|billion|trillion|thousand)\b"
_MONEY_RE = re.compile(
    rf"(?P<cur>[$£€¥])\s?(?P<num>{_NUM})(?:\s?(?P<scale>{_SCALE}))?"
    rf"|(?P<num2>{_NUM})(?:\s?(?P<scale2>{_SCALE}))?\s?(?P<cur2>dollar|pound|euro|yen)s?\b",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(rf"(?P<num>{_NUM})\s?(?:%|per ?cent\b|percent\b)", re.IGNORECASE)
_COUNT_RE = re.compile(
    rf"(?<![$£€¥\w.,])(?P<num>{_NUM})(?:\s?(?P<scale>million|billion|thousand|bn|m|k)\b)?"
    r"(?!\s?(?:%|per ?cent|percent|dollar|pound|euro|yen|[.,]?\d))",
    re.IGNORECASE,
)
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH = r"(?P<{0}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
_DATE_RE = re.compile(
    rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH.format('m')}|\b{_MONTH.format('m2')}\s+(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?\b",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(r"^(?:19|20)\d\d$")
_HOW_MUCH_RE = re.compile(r"\s*how much\b", re.IGNORECASE)


@dataclass(frozen=True)
class Value:
    """A figure as written ("$2.1bn") and as compared (2.1e9, "USD")."""

    text: str
    amount: float
    unit: str = ""

    def same_as(self, other: Value) -> bool:
        if self.unit != other.unit:
            return True  # not comparable: treated as no disagreement
        return abs(self.amount - other.amount) <= VALUE_TOLERANCE * max(abs(self.amount), abs(other.amount))


def _number(num: str, scale: str | None) -> float:
    return float(num.replace(",", "")) * _SCALES.get((scale or "").lower(), 1.0)


def values(kind: str, text: str) -> list[Value]:
    """The figures of one kind in a sentence, in order."""
    found: list[Value] = []
    if kind == "money":
        for m in _MONEY_RE.finditer(text):
            cur = m.group("cur") or m.group("cur2").lower()
            num, scale = (m.group("num"), m.group("scale")) if m.group("num") else (m.group("num2"), m.group("scale2"))
            found.append(Value(m.group(0).strip(), _number(num, scale), _CURRENCIES.get(cur, cur)))
    elif kind == "percent":
        found = [
            Value(m.group(0).strip(), float(m.group("num").replace(",", "")), "%") for m in _PERCENT_RE.finditer(text)
        ]
    elif kind == "count":
        for m in _COUNT_RE.finditer(text):
            if _YEAR_RE.match(m.group("num")) and not m.group("scale"):
                continue  # "in 2024"
            found.append(Value(m.group(0).strip(), _number(m.group("num"), m.group("scale"))))
    elif kind == "date":
        for m in _DATE_RE.finditer(text):
            month = (m.group("m") or m.group("m2")).lower()[:3]
            day = int(m.group("d") or m.group("d2"))
            index = next(i for i, name in enumerate(_MONTHS) if name.startswith(month)) + 1
            found.append(Value(m.group(0).strip(), index * 100 + day, "day"))
    return found


def _same_subject(focus: QuestionFocus, passage: Passage) -> bool:
    return set(focus.names) <= content_words(f"{passage.title} {passage.text}")


def _close_in_time(a: Passage, b: Passage) -> bool:
    if a.published is None or b.published is None:
        return True
    return abs((a.published - b.published).days) <= REPORT_WINDOW_DAYS


Report = tuple[Value, Passage, str]  # the figure, its passage, the sentence it is in


def compared_kinds(focus: QuestionFocus, question: str = "") -> list[str]:
    """The kinds of figure compared: the asked kind; for a question that names none, money or percentages (a
    "how much" that rag.focus left open, "what do sources say about X")."""
    if focus.kind in COMPARED_KINDS:
        return [focus.kind]
    return list(INFERRED_KINDS)


def differing_reports(
    focus: QuestionFocus, statements: Sequence[tuple[str, Passage]], kinds: Sequence[str] | None = None
) -> tuple[Report, Report] | None:
    """The first two statements (sentence, passage), best first, from different articles about the same subject
    whose figures differ, or None. The first statement holding a figure is compared with each later one."""
    kinds = list(kinds) if kinds is not None else compared_kinds(focus)
    for kind in kinds:
        reports = [
            (vals[0], passage, text)
            for text, passage in statements
            if (vals := values(kind, text)) and _same_subject(focus, passage)
        ]
        if not reports:
            continue
        first = reports[0]
        for other in reports[1:]:
            if other[1].article_id == first[1].article_id or not _close_in_time(first[1], other[1]):
                continue
            if not first[0].same_as(other[0]):
                return first, other
    return None


def differing_in_ranked(
    focus: QuestionFocus,
    ranked: Sequence,
    passages: Sequence[Passage],
    answers: Callable[[str, Passage], bool],
    most: int = 12,
    question: str = "",
) -> tuple[Report, Report] | None:
    """differing_reports over the question's best scored sentences (rag.context.Sentence, best first, the first
    `most`): each article's best sentence holding a figure that `answers` the question (the answerer's focus
    check: names, attribute, qualifiers). Only for questions asking for a figure: a compared kind, or "how much"."""
    if focus.kind in COMPARED_KINDS:
        kinds = [focus.kind]
    elif _HOW_MUCH_RE.match(question):
        kinds = list(INFERRED_KINDS)
    else:
        return None
    statements: list[tuple[str, Passage]] = []
    seen: set[str] = set()
    for sentence in ranked[:most]:
        passage = passages[sentence.passage]
        if passage.article_id in seen or not any(values(kind, sentence.text) for kind in kinds):
            continue
        if answers(sentence.text, passage):
            seen.add(passage.article_id)
            statements.append((sentence.text, passage))
    return differing_reports(focus, statements, kinds)


def describe_difference(differ: tuple[Report, Report], marks: Sequence[str]) -> str:
    """ "The reports differ: TechDaily says $799 [1]; GadgetWire says $849 [2]." """
    (va, pa, _), (vb, pb, _) = differ
    name_a, name_b = pa.source or pa.title, pb.source or pb.title
    if name_a == name_b:
        name_a, name_b = f"{name_a} ({pa.title})", f"{name_b} ({pb.title})"
    return f"The reports differ: {name_a} says {va.text} {marks[0]}; {name_b} says {vb.text} {marks[1]}."
