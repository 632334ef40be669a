"""Answers across articles, built deterministically from the articles' own sentences.

The 1.5B model is weak at putting events in order and at keeping sources apart, so these answers do not go
through it:

- **timelines** ("How did X develop?", "timeline of X", "what happened with X"): one event sentence per
  matching article (the sentence nearest the question among its lead and retrieved sentences), in order of the
  article's publication date; undated articles come last, marked "undated", never given a date;
- **who said what** ("What do different sources say about X?"): one attributed sentence per source;
- both end with rag.conflicts' note when two reports give different figures for the same fact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.dates import format_day
from core.text import content_words
from core.types import Answer, Citation, Passage, TimelineEvent
from rag.citations import CitedSentence, render_answer
from rag.conflicts import (
    COMPARED_KINDS,
    CONFLICT_MARGIN,
    INFERRED_KINDS,
    describe_difference,
    differing_reports,
    values,
)
from rag.context import Embed, Sentence, score_sentences
from rag.focus import QuestionFocus, analyse

MAX_EVENTS = 8  # bullets in a timeline: one per article, the articles nearest the question
MAX_SOURCES = 4  # sources quoted in a who-said-what answer
LEAD_SENTENCES = 5  # an article's event is usually told in its first sentences
ABOUT_SHARE = 0.5  # share of the topic's words an article must hold to be about it
SAME_EVENT_OVERLAP = 0.6  # content-word Jaccard at which two same-day articles' sentences tell one event
REPEATED = 0.9  # ... at which a later article repeats an earlier one's sentence (the earlier date is kept)

_TIMELINE_RE = re.compile(
    r"\b(?:time ?line|chronology|sequence of events|history of)\b"
    r"|\bhow (?:did|has|have|is|are|was|were)\b.*\b(?:develop(?:ed|ing)?|unfold(?:ed|ing)?|evolve[sd]?|evolving"
    r"|progress(?:ed)?|play(?:ed)? out)\b"
    r"|\bwhat (?:has )?happened (?:with|to|in|over|during)\b(?!.*\b(?:on (?:mon|tues|wednes|thurs|fri|satur|sun)day"
    r"|yesterday|today|on (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d|on \d{1,2}(?:st|nd|rd|th)? \w+)\b)"
    r"|\bwhat (?:were|are) the (?:key |main )?(?:events|developments|milestones)\b",
    re.IGNORECASE,
)
_SOURCES_RE = re.compile(
    r"\bwhat (?:do|did|does) (?:the )?(?:different |various |other |several |each )?"
    r"(?:sources|outlets|reports|papers|newspapers|publications|media|articles)\b.*\b(?:say|said|report|reported|claim)\b"
    r"|\bwho said what\b"
    r"|\bhow do (?:the )?(?:sources|outlets|reports|articles) (?:differ|compare|disagree)\b",
    re.IGNORECASE,
)
_FRAMING_WORDS = content_words(
    "how did has have develop developed developing unfold unfolded evolve evolved progress progressed play played "
    "timeline time line chronology sequence events event history happened happen give me key main milestones "
    "developments what do does different various other several sources outlets reports papers newspapers media "
    "articles say said report reported claim who"
)
_LOWER_FIRST = {"The", "A", "An", "It", "Its", "They", "Their", "There", "This", "These", "That", "Those", "In", "On"}


def question_mode(question: str) -> str | None:
    """ "timeline", "sources" (who said what), or None for a question answered the usual way."""
    if _SOURCES_RE.search(question):
        return "sources"
    if _TIMELINE_RE.search(question):
        return "timeline"
    return None


@dataclass
class ArticleEvidence:
    """One article's candidate passages: its lead first, then the passages retrieval found in it."""

    passages: list[Passage] = field(default_factory=list)

    @property
    def first(self) -> Passage:
        return self.passages[0]


def topic_words(question: str) -> set[str]:
    """The question's content words without the framing ("How did ... develop?", "what do sources say")."""
    return content_words(question) - _FRAMING_WORDS


def best_sentence(
    question: str, focus: QuestionFocus, article: ArticleEvidence, embed: Embed | None, figures: bool = False
) -> Sentence | None:
    """The article's sentence nearest the question among its lead sentences, else among its retrieved ones; None when
    the article is not about the topic (its title and passages hold under half of the topic's words) or no
    sentence names any of them. With `figures`, a sentence nearly as near that states a figure (rag.conflicts'
    kinds) is preferred: what a source reports is its numbers, and they are what sources disagree on."""
    topic = topic_words(question)
    seen = content_words(" ".join([article.first.title, *(p.text for p in article.passages)]))
    if topic and len(topic & seen) < ABOUT_SHARE * len(topic):
        return None
    ranked = [
        s
        for s in score_sentences(question, focus, article.passages, embed)
        if s.passage > 0 or s.position < LEAD_SENTENCES
    ]
    about = [s for s in ranked if not topic or content_words(s.text) & topic]
    lead = [s for s in about if s.passage == 0]
    if lead and not figures:  # the news is in the lead; a retrieved sentence further down is often background
        return lead[0]
    if figures and about:
        kinds = [focus.kind] if focus.kind in COMPARED_KINDS else INFERRED_KINDS
        near = [s for s in about if s.score >= about[0].score - CONFLICT_MARGIN]
        return next((s for s in near if any(values(k, s.text) for k in kinds)), about[0])
    return about[0] if about else None


def _same_event(a: str, b: str, overlap: float = SAME_EVENT_OVERLAP) -> bool:
    wa, wb = content_words(a), content_words(b)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= overlap


def _chosen(
    question: str,
    focus: QuestionFocus,
    articles: Sequence[ArticleEvidence],
    embed: Embed | None,
    most: int,
    figures: bool = False,
) -> list[tuple[Sentence, Passage]]:
    """Each article's best sentence with the passage it comes from, in the articles' order, at most `most`."""
    picked: list[tuple[Sentence, Passage]] = []
    for article in articles:
        sentence = best_sentence(question, focus, article, embed, figures)
        if sentence is not None:
            sentence.text = " ".join(sentence.text.split())
            picked.append((sentence, article.passages[sentence.passage]))
        if len(picked) >= most:
            break
    return picked


def build_timeline(
    question: str, articles: Sequence[ArticleEvidence], embed: Embed | None = None, passages: Sequence[Passage] = ()
) -> Answer | None:
    """A timeline Answer from the matching articles (best match first), or None when no article tells an event.

    Events are ordered by their article's publication date (ties: the better match first), undated ones
    last and labelled "undated". Two articles telling one event (copies, same-day rewrites) share a bullet.
    """
    focus = analyse(question)
    picked = _chosen(question, focus, articles, embed, MAX_EVENTS)
    if not picked:
        return None
    order = sorted(range(len(picked)), key=lambda i: (picked[i][1].published is None, picked[i][1].published or 0, i))
    bullets: list[tuple[str, list[int]]] = []  # (sentence, indices into picked)
    for i in order:
        text = picked[i][0].text
        same = next((b for b in bullets if _same_event(b[0], text)), None)
        if same is not None and (
            picked[same[1][0]][1].published == picked[i][1].published or _same_event(same[0], text, REPEATED)
        ):  # one event told twice the same day, or the same sentence again later (a rerun): one bullet
            same[1].append(i)
        else:
            bullets.append((text, [i]))
    sentences = []
    for text, members in bullets:
        when = picked[members[0]][1].published
        sentences.append(CitedSentence(f"{format_day(when)}: {text}", [m + 1 for m in members]))
    return _answer(question, sentences, picked, passages, focus, bullets_layout=True, dated=True)


def build_sources(
    question: str, articles: Sequence[ArticleEvidence], embed: Embed | None = None, passages: Sequence[Passage] = ()
) -> Answer | None:
    """Who said what: one attributed sentence per source ("According to Reuters, ... [1]."), best match first."""
    focus = analyse(question)
    by_source: dict[str, list[ArticleEvidence]] = {}
    for article in articles:
        by_source.setdefault(article.first.source or "an unnamed source", []).append(article)
    picked: list[tuple[Sentence, Passage]] = []
    for group in by_source.values():
        picked += _chosen(question, focus, group, embed, 1, figures=True)
        if len(picked) >= MAX_SOURCES:
            break
    if not picked:
        return None
    sentences = [
        CitedSentence(f"According to {passage.source or 'an unnamed source'}, {_lower_first(s.text)}", [i + 1])
        for i, (s, passage) in enumerate(picked)
    ]
    return _answer(question, sentences, picked, passages, focus, bullets_layout=len(sentences) > 1, dated=False)


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if first in _LOWER_FIRST else text


def _answer(
    question: str,
    sentences: list[CitedSentence],
    picked: list[tuple[Sentence, Passage]],
    passages: Sequence[Passage],
    focus: QuestionFocus,
    *,
    bullets_layout: bool,
    dated: bool,
) -> Answer:
    """The rendered Answer: citations numbered in order of first use, the differing-reports note at the end."""
    differ = differing_reports(focus, [(s.text, p) for s, p in picked])
    text, order = render_answer(sentences, bullets=bullets_layout)
    citations = [
        Citation(number=n + 1, passage=picked[old - 1][1], evidence=[picked[old - 1][0].text])
        for n, old in enumerate(order)
    ]
    events = []
    if dated:
        new = {old: n + 1 for n, old in enumerate(order)}
        for s, line in zip(sentences, text.split("\n"), strict=True):
            day = picked[s.numbers[0] - 1][1].published
            events.append(
                TimelineEvent(
                    day.date().isoformat() if day else None,
                    line.removeprefix("- ").split(": ", 1)[1],
                    [new[n] for n in s.numbers],
                )  # fmt: skip
            )
    if differ is not None:
        new = {old: n + 1 for n, old in enumerate(order)}
        marks = [f"[{new[next(i + 1 for i, (_, p) in enumerate(picked) if p is report[1])]}]" for report in differ]
        text += ("\n" if bullets_layout else " ") + describe_difference(differ, marks)
    return Answer(
        question=question,
        text=text,
        citations=citations,
        passages=list(passages),
        timeline=events,
        debug={"kind": "timeline" if dated else "sources", "differ": differ is not None},
    )
