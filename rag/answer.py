"""Turn a question and retrieved passages into a cited answer, or a fixed refusal.

The model sees numbered, delimited passages; its raw text is then post-processed
deterministically (rag.citations) and checked claim by claim (rag.claims), so that what the
user reads is grounded in the passages it cites. Refusals never depend on the model alone:
no passages or low relevance refuse before any LLM call, and unsupported answers refuse after.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from core.text import STOPWORDS, content_words, split_sentences, stem
from core.types import Answer, Citation, Passage, RefusalReason
from rag.citations import CitedSentence, parse_answer, render_answer
from rag.claims import ClaimChecker, Embed, cosine, is_decline, numbers_in
from rag.conflicts import describe_difference, differing_in_ranked
from rag.context import (
    Context,
    Sentence,
    clean_passage_text,
    embed_cached,
    has_causal_wording,
    select_context,
    select_context_for_parts,
)
from rag.focus import (
    NAME_KINDS,
    PLACES,
    Coverage,
    QuestionFocus,
    adds_information,
    analyse,
    coverage,
    describe_gap,
    question_parts,
)
from rag.prompts import prompt

if TYPE_CHECKING:
    from llama_index.core.llms import LLM, ChatMessage

log = logging.getLogger(__name__)

REFUSAL = prompt("answer", "refusal")
EXPLANATION_BUDGET = 1.5  # "why" and "how" questions get this many times the context: their points are spread out
EXPLANATION_POINTS = 3  # most points a "why" answer lists
# A "why" answer's points are the context's best-scored sentences that the model, shown each alone with the
# question, most believes give a reason (P("Yes") at least POINT_MIN_YES). Dev sets (47 synthesis questions):
# sentences ranked this way gave 2+ key points in their top three for 20-22 questions, by score alone 12.
POINT_CANDIDATES = 8
POINT_MIN_YES = 0.5
# A direct question that no retrieved sentence answers in its own words, only because the asked attribute goes by
# another word ("job" for "senior technologist"), is answered when the model, shown one of those sentences alone,
# believes it states the answer. Dev sets (`python -m eval.sentence_probe`): the gold sentences of 242 answerable
# questions pass 0.5 in 42%, the tempting sentences of 89 near-miss questions in 8%.
VOUCH_CANDIDATES = 2
VOUCH_MIN_YES = 0.5
DIRECT_MAX_TOKENS = 96  # a direct answer is one or two sentences
ADDRESS_CANDIDATES = 12  # best-scored retrieved sentences looked at for the focus check and repairs
EXTRACTIVE_MIN_SCORE = 0.55  # question-to-sentence score (cosine + keyword overlap) a repair sentence needs
# A direct answer taken from a passage sentence when the model's failed its checks must be close to the
# question on both counts (trust-dev: looser repairs were wrong 10 times out of 13).
EXTRACTIVE_MIN_SIMILARITY = 0.6
EXTRACTIVE_MIN_OVERLAP = 0.6
HISTORY_TURNS = 3
# The passage sentence an answer that failed its checks came from holds at least this share of the words the
# answer added to the question (and all of its numbers).
MODEL_PICK_SHARE = 0.5
VALUE_KINDS = ("count", "money", "percent", "date", *NAME_KINDS)  # questions answered by a number, a date or a name
FIGURE_KINDS = ("count", "money", "percent")  # questions answered by a figure
_FIGURE_RE = re.compile(r"\d(?:[\d,]*\d)?(?:\.\d+)?")


# --- prompt building ---------------------------------------------------------------------------


def _attr(value: str) -> str:
    return re.sub(r"\s+", " ", value.replace('"', "'")).strip()


def _instruction(focus: QuestionFocus) -> str:
    if focus.explanation:
        return prompt("answer", "explain")
    return prompt("answer", "direct")


def build_messages(
    question: str, context: Context, focus: QuestionFocus, today: date | None = None, earlier: str | None = None
) -> list[ChatMessage]:
    """System and user chat messages for one question over the numbered passages of the context; `today`, when
    given, tells the model the date that the question's "this week" or "latest" is relative to, and `earlier` the
    conversation's previous question, which a follow-up that could not be rewritten refers to."""
    from llama_index.core.llms import ChatMessage

    blocks = []
    for number, text in context.shown.items():
        p = context.passages[number - 1]
        date = p.published.date().isoformat() if p.published else "unknown"
        blocks.append(
            prompt("answer", "passage").format(
                number=number,
                title=_attr(p.title),
                source=_attr(p.source),
                date=date,
                text=clean_passage_text(text),
            )
        )
    user = prompt("answer", "user").format(
        passages="\n\n".join(blocks),
        ids=", ".join(f"[{n}]" for n in context.shown),
        question=question.strip(),
        instruction=_instruction(focus),
        today=f"Today's date: {today.isoformat()}.\n" if today else "",
        earlier=prompt("answer", "earlier").format(question=earlier.strip()) if earlier else "",
    )
    return [
        ChatMessage(role="system", content=prompt("answer", "system")),
        ChatMessage(role="user", content=user),
    ]


# --- answering ---------------------------------------------------------------------------------


def refusal(
    question: str, reason: RefusalReason, passages: Sequence[Passage] = (), detail: str | None = None, **debug: Any
) -> Answer:
    """The fixed refusal answer, with the reason and (when known) what the articles leave out."""
    return Answer(
        question=question,
        text=REFUSAL,
        refused=True,
        refusal_reason=reason,
        refusal_detail=detail,
        passages=list(passages),
        debug=debug,
    )


@dataclass
class FollowUp:
    """A conversation's new message made standalone: the question answered, the text searched, and, when the
    message could not be rewritten, the previous question it follows (shown to the model beside it)."""

    question: str
    search: str
    earlier: str | None = None


@dataclass
class Plan:
    """One question ready for the model: what it asks for and the sentences chosen to answer it."""

    question: str
    focus: QuestionFocus
    context: Context
    passages: list[Passage]  # everything retrieved, best first
    parts: list[tuple[str, QuestionFocus]]  # a question asking two things, as its parts; else the question
    today: date | None = None  # told to the model
    earlier: str | None = None  # the conversation's previous question, for a follow-up that could not be rewritten
    chronological: bool = False  # a question about time: the answer cites dated passages in date order
    retried: bool = False  # asked again over the best article alone after the first answer failed its checks
    passages_probe: float | None = None  # the model's P("Yes") to "do the passages state the answer?"
    points_probe: list[float] | None = None  # a why/how question: P("Yes") that each candidate sentence is a point
    articles: dict[str, str] = field(default_factory=dict)  # article id -> its whole text, for the retrieved ones
    # sentences the model said state the answer, though they name the asked attribute in other words (_vouched)
    vouched: set[str] = field(default_factory=set)


class Answerer:
    """Cited answers from an LLM created on first use (loading a local model takes seconds)."""

    def __init__(
        self,
        llm_factory: Callable[[], LLM],
        settings: Settings,
        embed: Embed | None = None,
        read_articles: Callable[[list[str]], dict[str, str]] | None = None,
    ) -> None:
        """`read_articles` gives stored articles' whole texts by article id: a question's names may be stated
        anywhere in the article an answer cites ("Drink Or Die" in one paragraph, "Operation Buccaneer" in another)."""
        self._llm_factory = llm_factory
        self._llm: LLM | None = None
        self._llm_lock = threading.Lock()
        self.settings = settings
        self.embed = embed
        self.read_articles = read_articles

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = self._llm_factory()
            return self._llm

    def _early_refusal(self, question: str, passages: Sequence[Passage], best_relevance: float | None) -> Answer | None:
        if not passages:
            return refusal(question, "no_passages")
        if best_relevance is not None and best_relevance < self.settings.min_relevance:
            log.info(
                "Best relevance %.3f < %.3f: refusing without the LLM", best_relevance, self.settings.min_relevance
            )
            return refusal(question, "low_relevance", passages, best_relevance=best_relevance)
        return None

    def _similar(self, word: str, candidates: Sequence[str]) -> list[float]:
        """The embedder's similarity of one word to each candidate word (focus words vs evidence words)."""
        if self.embed is None:
            return [0.0] * len(candidates)
        vectors = embed_cached(self.embed, [word, *candidates])
        return [cosine(vectors[0], v) for v in vectors[1:]]

    def plan(
        self,
        question: str,
        passages: list[Passage],
        best_relevance: float | None = None,
        typed: Sequence[str] | None = None,
        earlier: str | None = None,
    ) -> Plan | Answer:
        """The question's focus and the context for the model, or a refusal decided before any LLM call.

        `typed` is what the user wrote when `question` is a rewrite of a follow-up (this message, then the earlier
        ones): only the names the user typed must be in the passages, not names the rewrite borrowed from an
        earlier answer. `earlier` is the previous question of a follow-up answered beside it.
        """
        early = self._early_refusal(question, passages, best_relevance)
        if early:
            return early
        focus = _typed_names(analyse(question), typed)
        if earlier:
            focus = replace(focus, earlier_words=frozenset(content_words(earlier)))
        budget = self._budget(focus)
        parts = [(part, _typed_names(analyse(part), typed)) for part in question_parts(question)]
        articles = self._articles(passages)
        if len(parts) == 1:
            parts = [(question, focus)]
            context = select_context(question, focus, passages, budget, self.embed)
        else:
            context = select_context_for_parts(question, focus, parts, passages, budget, self.embed)
        if not context.shown:
            return refusal(question, "no_passages", passages)
        gaps = [(part, f, self._best_gap(f, context.ranked, passages, articles)) for part, f in parts]
        vouched: set[str] = set()
        if all(gap is not None for _, _, gap in gaps) and len(parts) == 1:
            vouched = self._vouched(question, focus, context.ranked, passages, articles)
        if all(gap is not None for _, _, gap in gaps) and not vouched:
            part, f, gap = gaps[0]
            log.info("No retrieved sentence gives what %r asks: %s", question, gap)
            return refusal(question, "not_addressed", passages, detail=describe_gap(f, gap, part))
        return Plan(question, focus, context, list(passages), parts, articles=articles, vouched=vouched)

    def _articles(self, passages: Sequence[Passage]) -> dict[str, str]:
        """The whole texts of the retrieved passages' articles (empty without a store to read them from)."""
        if self.read_articles is None:
            return {}
        ids = list(dict.fromkeys(p.article_id for p in passages if p.article_id))
        try:
            return self.read_articles(ids)
        except Exception:  # names are then looked for in the retrieved passages only, as before
            log.warning("Could not read the articles of %s", ids, exc_info=True)
            return {}

    def _coverage(
        self,
        focus: QuestionFocus,
        evidence: str,
        passage: Passage,
        answer: str = "",
        strict: bool = True,
        articles: dict[str, str] | None = None,
    ) -> Coverage:
        year = str(passage.published.year) if passage.published else None
        article = (articles or {}).get(passage.article_id)
        return coverage(
            focus,
            evidence,
            f"{passage.title} {article or passage.text}",
            title=passage.title,
            answer=answer,
            strict=strict,
            published_year=year,
            similar=self._similar,
            source=f"{passage.source} {passage.url}",
            lead=_lead(article),
        )

    def _vouched(
        self,
        question: str,
        focus: QuestionFocus,
        ranked: Sequence[Sentence],
        passages: Sequence[Passage],
        articles: dict[str, str],
    ) -> set[str]:
        """The best sentences that state all the question asks but the asked attribute's word, which the model,
        asked of each alone, believes state the answer (P("Yes") at least VOUCH_MIN_YES); empty without token
        probabilities (Ollama, OpenAI-compatible servers)."""
        if not focus.focus_words:
            return set()
        unnamed = [
            s.text
            for s in ranked[:ADDRESS_CANDIDATES]
            if _only_attribute_missing(
                self._coverage(focus, s.text, passages[s.passage], strict=False, articles=articles)
            )
        ]
        return self._vouch(question, unnamed[:VOUCH_CANDIDATES])

    def answer_probability(self, question: str, sentence: str) -> float | None:
        """The model's P("Yes") to "does this sentence state the answer?", the sentence shown alone; None when the
        backend gives no token probabilities (Ollama, OpenAI-compatible servers). eval.sentence_probe calibrates it."""
        probe = getattr(self.llm, "yes_probability", None)
        if probe is None:
            return None
        with _llm_errors():
            return probe(_answer_check_messages(question, sentence))

    def _vouch(self, question: str, sentences: Sequence[str]) -> set[str]:
        """Those of the sentences that the model, asked of each alone, believes state the answer (P("Yes") at least
        VOUCH_MIN_YES), as _key gives them; none without token probabilities."""
        vouched: set[str] = set()
        if not sentences:
            return vouched
        for text in sentences:
            yes = self.answer_probability(question, text)
            if yes is None:
                break
            if yes >= VOUCH_MIN_YES:
                vouched.add(_key(text))
        log.info("Sentences naming the asked attribute in other words, vouched for by the model: %d", len(vouched))
        return vouched

    def _answers(self, plan: Plan, sentence: str, passage: Passage, strict: bool = True) -> bool:
        """A passage sentence gives what the question asks, itself or as the model vouched for it (_vouched).
        `strict` as for `coverage` (False: names and places may be anywhere in the article, as before the model)."""
        gap = self._coverage(plan.focus, sentence, passage, answer=sentence, strict=strict, articles=plan.articles)
        return gap.ok or (_key(sentence) in plan.vouched and _only_attribute_missing(gap))

    def _best_gap(
        self,
        focus: QuestionFocus,
        ranked: Sequence[Sentence],
        passages: Sequence[Passage],
        articles: dict[str, str] | None = None,
    ) -> Coverage | None:
        """None when some retrieved sentence covers what the question asks; else the smallest gap found."""
        best: Coverage | None = None
        for sentence in ranked[:ADDRESS_CANDIDATES]:
            gap = self._coverage(focus, sentence.text, passages[sentence.passage], strict=False, articles=articles)
            if gap.ok:
                return None
            if best is None or _gap_size(gap) < _gap_size(best):
                best = gap
        return best

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        best_relevance: float | None = None,
        typed: Sequence[str] | None = None,
        today: date | None = None,
        chronological: bool = False,
        earlier: str | None = None,
    ) -> Answer:
        """A cited answer to question from passages (ranked best first), or a refusal. `today` goes into the
        prompt; `chronological` (a question about time) orders the answer's sentences by their passages' dates."""
        plan = self.plan(question, passages, best_relevance, typed, earlier)
        if isinstance(plan, Answer):
            return plan
        plan.today, plan.chronological, plan.earlier = today, chronological, earlier
        return self._doubted(plan) or self._points(plan) or self._generate(plan)

    def _generate(self, plan: Plan) -> Answer:
        """The model's answer over the plan's context, checked (one call, not streamed)."""
        messages = build_messages(plan.question, plan.context, plan.focus, plan.today, plan.earlier)
        start = time.perf_counter()
        raw = _call(lambda: self.llm.chat(messages, max_tokens=self._max_tokens(plan)).message.content or "")
        return self.finish(plan, raw, time.perf_counter() - start)

    def stream(
        self,
        question: str,
        passages: list[Passage],
        *,
        best_relevance: float | None = None,
        typed: Sequence[str] | None = None,
        today: date | None = None,
        chronological: bool = False,
        earlier: str | None = None,
    ) -> Iterator[str | Answer]:
        """Raw text pieces as the model writes them, then the final cleaned Answer.

        Refusals decided before generation yield only the Answer. The streamed pieces are the
        model's raw text: show them as a preview and replace them with the Answer's text.
        """
        plan = self.plan(question, passages, best_relevance, typed, earlier)
        if isinstance(plan, Answer):
            yield plan
            return
        plan.today, plan.chronological, plan.earlier = today, chronological, earlier
        start = time.perf_counter()  # the first token's wait includes the probe
        decided = self._doubted(plan) or self._points(plan)
        if decided is not None:
            yield decided
            return
        messages = build_messages(question, plan.context, plan.focus, today, earlier)
        pieces: list[str] = []
        first: float | None = None
        for delta in _call_stream(lambda: self.llm.stream_chat(messages, max_tokens=self._max_tokens(plan))):
            if first is None:
                first = time.perf_counter() - start
            pieces.append(delta)
            yield delta
        answer = self.finish(plan, "".join(pieces), time.perf_counter() - start)
        if first is not None:
            answer.timings["first_token"] = first
        yield answer

    def _doubted(self, plan: Plan) -> Answer | None:
        """A refusal when the model, asked whether the chosen passages state the answer, says no with confidence
        (settings.passages_probe_min; off by default, see its description and eval/README.md "Session 6").

        Not asked for "why" and "how" questions (it doubts passages that give reasons without the word "because"),
        nor by backends that cannot give token probabilities (Ollama, OpenAI-compatible servers)."""
        threshold = self.settings.passages_probe_min
        if threshold <= 0 or plan.focus.explanation:
            return None
        probe = getattr(self.llm, "yes_probability", None)
        if probe is None:
            return None
        start = time.perf_counter()
        with _llm_errors():
            plan.passages_probe = probe(_probe_messages(plan))
        if plan.passages_probe is None or plan.passages_probe >= threshold:
            return None
        log.info("The model doubts the passages answer %r (P(yes) %.2f)", plan.question, plan.passages_probe)
        detail = self._closest_gap(plan)
        answer = refusal(plan.question, "not_addressed", plan.passages, detail, passages_probe=plan.passages_probe)
        return _with_timings(answer, {"probe": time.perf_counter() - start})

    def _points(self, plan: Plan) -> Answer | None:
        """A "why" or "how" answer without generating: the context sentences that the model, asked of each alone,
        most believes give a reason, a concern or a means, quoted and cited, best first.

        Grounded by construction, and faster than writing (one short prompt read per candidate, nothing sampled).
        None, and the model writes the answer, when the backend cannot give token probabilities (Ollama,
        OpenAI-compatible servers), for other questions, and when no candidate convinces it.
        """
        probe = getattr(self.llm, "yes_probability", None)
        if not plan.focus.explanation or probe is None:
            return None
        start = time.perf_counter()
        shown = {(s.passage, s.position) for sentences in plan.context.sentences.values() for s in sentences}
        candidates: list[Sentence] = []
        for sentence in plan.context.ranked:
            if len(candidates) >= POINT_CANDIDATES:
                break
            if (sentence.passage, sentence.position) in shown and adds_information(sentence.text, plan.question):
                candidates.append(sentence)
        believed: list[tuple[float, Sentence]] = []
        with _llm_errors():
            for sentence in candidates:
                yes = probe(_point_messages(plan.question, sentence.text, plan.earlier))
                if yes is None:
                    return None
                believed.append((yes, sentence))
        chosen: list[Sentence] = []
        for yes, sentence in sorted(believed, key=lambda b: -b[0]):
            if yes < POINT_MIN_YES or len(chosen) >= EXPLANATION_POINTS:
                break
            if not any(_similar_words(sentence.text, c.text) for c in chosen):
                chosen.append(sentence)
        probabilities = plan.points_probe = [round(yes, 3) for yes, _ in believed]
        if not chosen:
            log.info(
                "No context sentence gives a reason for %r (P(yes) %s); the model answers", plan.question, probabilities
            )
            return None
        kept, context = _quoted(chosen, plan.passages)
        debug = {"points_probe": probabilities, "repaired": False}
        return self._render(plan, kept, context, debug, {"points": time.perf_counter() - start})

    def _closest_gap(self, plan: Plan) -> str:
        """For a not_addressed refusal: what the closest retrieved sentences mention and what they leave out."""
        gap = self._best_gap(plan.focus, plan.context.ranked, plan.passages, plan.articles)
        return describe_gap(plan.focus, gap or Coverage(missing_focus=[plan.focus.focus_text]), plan.question)

    def _budget(self, focus: QuestionFocus) -> int:
        """Characters of context for the model: "why" and "how" questions get more, their points are spread out."""
        budget = self.settings.context_chars
        return int(budget * EXPLANATION_BUDGET) if focus.explanation else budget

    def _max_tokens(self, plan: Plan) -> int:
        limit = self.settings.max_new_tokens
        return limit if plan.focus.explanation else min(limit, DIRECT_MAX_TOKENS)

    def finish(self, plan: Plan, raw: str, seconds: float) -> Answer:
        """Citations cleaned, claims checked, the question's focus checked, repaired or refused: the Answer."""
        question, focus, context = plan.question, plan.focus, plan.context
        timings = {"generate": seconds}
        shown = context.shown
        sentences = parse_answer(raw, shown.keys())
        declines = [s for s in sentences if is_decline(s.text)]
        claims = [s for s in sentences if not is_decline(s.text) and adds_information(s.text, question)]
        checker = ClaimChecker(
            {n: p.text for n, p in enumerate(context.passages, start=1)},
            self.embed,
            labels={n: f"{p.title} {p.source}" for n, p in enumerate(context.passages, start=1)},
            question=question,
        )
        checked = checker.check(claims)
        debug: dict[str, Any] = {
            "raw": raw,
            "dropped": checked.dropped,
            "declined": bool(declines),
            "context_chars": sum(len(t) for t in shown.values()),
            "passages_probe": plan.passages_probe,
            "points_probe": plan.points_probe,
        }
        kept = checked.kept
        unanswered: list[str] = []
        if kept and not focus.explanation:
            gaps = [(part, f, self._answer_gap(f, checker, kept, context, plan)) for part, f in plan.parts]
            if all(not gap.ok for _, _, gap in gaps):
                debug["off_target"] = [s.text for s in kept]
                kept = []
            else:  # answered in part: say what the articles leave out
                unanswered = [describe_gap(f, gap, part) for part, f, gap in gaps if not gap.ok]
        if focus.explanation and kept:
            kept = kept + self._more_points(plan, kept)
        if not kept:
            picked = self._model_pick(plan, [*checked.dropped, *debug.get("off_target", [])])
            quoted = None if picked else self._extractive(plan)
            vouched = None if picked or quoted else self._vouched_quote(plan)
            repaired = picked or quoted or vouched
            declined = bool(declines) and not checked.dropped
            again = None if repaired or declined else self._ask_again(plan)
            if again is not None:
                again.timings["generate"] = seconds + again.timings.get("generate", 0.0)
                again.debug.update(first_raw=raw, asked_again=True)
                return again
            if repaired is None:
                reason: RefusalReason = "model_declined" if declined else "unsupported"
                if debug.get("off_target"):
                    reason = "not_addressed"
                detail = self._closest_gap(plan) if reason == "not_addressed" else None
                return _with_timings(refusal(question, reason, plan.passages, detail, **debug), timings)
            debug["repaired"] = "model_pick" if picked else "extractive" if quoted else "vouched"
            kept, context = repaired
            return self._render(plan, kept, context, debug, timings)

        def evidence(number: int) -> list[str]:  # the checked sentences' evidence; for added "why" points, their own
            return checked.evidence.get(number) or [
                e for s in kept if number in s.numbers for e in checker.support(s.text, number).evidence
            ]

        if unanswered:
            debug["unanswered_parts"] = unanswered
        log.debug("Answer kept %d sentences, dropped %d", len(kept), len(checked.dropped))
        return self._render(plan, kept, context, debug, timings, evidence)

    def _render(
        self,
        plan: Plan,
        kept: list[CitedSentence],
        context: Context,
        debug: dict[str, Any],
        timings: dict[str, float],
        evidence: Callable[[int], list[str]] | None = None,
    ) -> Answer:
        """The Answer: kept sentences with renumbered citations, what the articles leave out, differing reports.
        `evidence` gives a passage's evidence sentences by its number; without it the answer quotes the passages'
        own sentences, which are their evidence."""
        focus, question = plan.focus, plan.question
        if plan.chronological:
            kept = in_date_order(kept, context.passages)
        text, order = render_answer(kept, bullets=focus.explanation and len(kept) > 1)
        if debug.get("unanswered_parts"):
            text += " " + " ".join(debug["unanswered_parts"])
        citations = []
        for i, old in enumerate(order):
            shown = evidence(old) if evidence else [s.text for s in kept if old in s.numbers]
            citations.append(
                Citation(number=i + 1, passage=context.passages[old - 1], evidence=list(dict.fromkeys(shown)))
            )

        def answers(sentence: str, passage: Passage) -> bool:
            return self._coverage(focus, sentence, passage, strict=False, articles=plan.articles).ok

        differ = differing_in_ranked(focus, context.ranked, plan.passages, answers, ADDRESS_CANDIDATES, question)
        text = _note_differing_reports(text, citations, differ, debug)
        return Answer(
            question=question, text=text, citations=citations, timings=timings, passages=plan.passages, debug=debug
        )

    def _ask_again(self, plan: Plan) -> Answer | None:
        """When the answer failed its checks and no retrieved sentence answers alone: ask once more over the best
        article's sentences only, so that nothing of a neighbouring article can be mixed in (the small model took
        a figure from the wrong one). The new answer goes through the same checks; None if it fails them too."""
        articles = {p.article_id for p in plan.context.passages}
        if plan.retried or len(plan.parts) > 1 or len(articles) < 2 or not plan.context.ranked:
            return None
        best = plan.passages[plan.context.ranked[0].passage].article_id
        own = [p for p in plan.passages if p.article_id == best]
        context = select_context(plan.question, plan.focus, own, self._budget(plan.focus), self.embed)
        if not context.shown:
            return None
        answer = self._generate(replace(plan, context=context, retried=True))
        log.info("Asked again over %s alone: %s", best, "refused" if answer.refused else "answered")
        return None if answer.refused else answer

    def _answer_gap(
        self,
        focus: QuestionFocus,
        checker: ClaimChecker,
        kept: list[CitedSentence],
        context: Context,
        plan: Plan,
    ) -> Coverage:
        """What of the question the supported answer leaves out, judged on the passage sentences it rests on
        (all of its sentences together: a question about two things may take one from each article)."""
        evidence = [e for s in kept for n in s.numbers for e in checker.support(s.text, n).evidence]
        cited = [context.passages[n - 1] for n in dict.fromkeys(n for s in kept for n in s.numbers)]
        year = str(cited[0].published.year) if cited[0].published else None
        # Names may be stated anywhere in the cited articles ("Grand Theft Auto: San Andreas" in one passage,
        # "San Andreas ... £24m" in the cited one): their whole texts count as context (without a store to read
        # them from, their other retrieved passages).
        articles = {p.article_id for p in cited}
        around = [p for p in plan.passages if p.article_id in articles and p not in cited]
        whole = [plan.articles[a] for a in articles if a in plan.articles]
        context_text = " ".join([*(f"{p.title} {p.text}" for p in [*cited, *around]), *whole])
        titles = " ".join(p.title for p in cited)
        answer = " ".join(s.text for s in kept)

        def gap(text: str) -> Coverage:
            return coverage(
                focus,
                text,  # the passages' sentences, never the model's own words
                context_text,
                title=titles,
                answer=answer,
                published_year=year,
                similar=self._similar,
                source=" ".join(f"{p.source} {p.url}" for p in cited),
                lead=_lead(plan.articles.get(cited[0].article_id)),
            )

        together = gap(" ".join(evidence))
        if _only_attribute_missing(together) and len(plan.parts) == 1:
            unasked = [e for e in dict.fromkeys(evidence) if _key(e) not in plan.vouched]
            plan.vouched |= self._vouch(plan.question, unasked[:VOUCH_CANDIDATES])
            if any(_key(e) in plan.vouched for e in evidence):
                return Coverage()  # the model vouched for the sentence: the attribute is named in other words
        figures = _figures(answer) - _figures(plan.question) if focus.kind in FIGURE_KINDS else set()
        if not together.ok or (len(evidence) < 2 and not figures):
            return together
        # The asked attribute, its value, the value's own qualifiers ("per share", "a year") and a price's market
        # must be stated together, in one sentence: "power" in one and "consumption" in another, or "$15 a month"
        # of the US beside "launch in the UK", is a neighbouring fact, not the answer. So is a figure the answer
        # took from one sentence while another states the asked one ("£1.5m per share": the £1.5m bid, the 31p a
        # share). (Names and years may come from the other sentences.)
        places = set(focus.qualifiers) if focus.kind in ("money", "percent") else set()

        def states_answer(sentence: str, g: Coverage) -> bool:
            return (
                not g.missing_focus
                and g.has_value
                and not places & set(g.missing_qualifiers)
                and not g.missing_of_value
                and (not figures or bool(figures & _figures(sentence)))
            )

        each = {sentence: gap(sentence) for sentence in dict.fromkeys(evidence)}
        if any(states_answer(sentence, g) for sentence, g in each.items()):
            return together
        closest = min(each.values(), key=_gap_size)
        return closest if not closest.ok else replace(closest, has_value=False)  # its figure is not the answer's

    def _extractive(self, plan: Plan) -> tuple[list[CitedSentence], Context] | None:
        """When the model's answer failed its checks: the retrieved sentences that answer the question, cited.

        Grounded by construction (they are the articles' own sentences); used only when a sentence scores
        well against the question and covers its focus, so a question the articles don't answer still refuses.
        """
        focus, passages = plan.focus, plan.passages
        wanted = EXPLANATION_POINTS if focus.explanation else 1
        chosen: list[Sentence] = []
        for sentence in plan.context.ranked[:ADDRESS_CANDIDATES]:
            if sentence.score < EXTRACTIVE_MIN_SCORE:
                break
            if not adds_information(sentence.text, plan.question):
                continue
            passage = passages[sentence.passage]
            if not focus.explanation:
                close = sentence.similarity >= EXTRACTIVE_MIN_SIMILARITY and sentence.overlap >= EXTRACTIVE_MIN_OVERLAP
                if not close or not self._answers(plan, sentence.text, passage):
                    continue
            if any(_similar_words(sentence.text, c.text) for c in chosen):
                continue
            chosen.append(sentence)
            if len(chosen) >= wanted:
                break
        return _quoted(chosen, passages) if chosen else None

    def _vouched_quote(self, plan: Plan) -> tuple[list[CitedSentence], Context] | None:
        """When the model's answer failed its checks and no sentence is close enough to the question to quote on
        scores alone: the best retrieved sentences that state all the question asks (its names, years and a value
        of the asked kind, checked as before the model was asked) are shown to the model alone, and the first it
        believes states the answer (P("Yes") at least VOUCH_MIN_YES) is quoted and cited.

        The small model often reads the right passage and then answers with its neighbouring sentence (asked who
        was the youngest MP ever, it named one of "a handful of 21-year-olds" beside the sentence naming him);
        judging one sentence at a time it does better. Only for questions asking for a name, a number or a date,
        as `_model_pick`: for other questions any sentence passes the focus check and the model's yes is the only
        guard (trust-dev6: "how much was the fine?", rewritten "did the AMF fine Vivendi?", was answered with "AMF
        has begun proceedings"). None too for questions of several parts and backends without token probabilities.
        """
        if plan.focus.kind not in VALUE_KINDS or len(plan.parts) > 1:
            return None
        candidates: list[Sentence] = []
        for sentence in plan.context.ranked[:ADDRESS_CANDIDATES]:
            if len(candidates) >= VOUCH_CANDIDATES:
                break
            if adds_information(sentence.text, plan.question) and self._answers(
                plan, sentence.text, plan.passages[sentence.passage], strict=False
            ):
                candidates.append(sentence)
        for sentence in candidates:
            if _key(sentence.text) not in plan.vouched:  # one vouched for before the answer is not asked again
                yes = self.answer_probability(plan.question, sentence.text)
                if yes is None:
                    return None
                if yes < VOUCH_MIN_YES:
                    continue
            log.info("Answered with a sentence the model vouched for: %r", sentence.text)
            return _quoted([sentence], plan.passages)
        return None

    def _model_pick(self, plan: Plan, claims: Sequence[str]) -> tuple[list[CitedSentence], Context] | None:
        """When the model's answer failed its checks: the retrieved sentence that states what the model answered
        (most of its words beyond the question's, all of its numbers), quoted and cited, if it answers the question.

        The model often reads the right sentence and then words its answer loosely: it repeats the rewritten
        follow-up's words ("The EU is using the BBC drama Gormenghast ...") or joins two facts of the passage, and
        the claim check rightly drops the sentence. The passage's own sentence is grounded by construction, and it
        must pass the same focus check as any answer, so a question the articles don't answer still refuses. Only for
        questions asking for a name, a number or a date: what other questions ask ("what did the court decide?") is
        no word the check can look for, and a quote the model leaned on would pass it.
        """
        if plan.focus.kind not in VALUE_KINDS or len(plan.parts) > 1:
            return None
        asked = content_words(plan.question)
        # The sentence or its article's title names the question's subject: "The game sold more than 1 million
        # copies" may be about another game of the article, and the model's claim that named the asked one was
        # dropped for a reason.
        subject = plan.focus.names - plan.focus.side_names
        ranked = [(sentence, content_words(sentence.text)) for sentence in plan.context.ranked]
        titles = {s.passage: content_words(plan.passages[s.passage].title) for s, _ in ranked}
        best: tuple[int, Sentence] | None = None
        for claim in claims:
            added = content_words(claim) - asked
            numbers = numbers_in(added)
            if not added:
                continue
            for sentence, words in ranked:
                found = added & words
                if not numbers <= found or len(found) < MODEL_PICK_SHARE * len(added):
                    continue
                if subject and not subject & (words | titles[sentence.passage]):
                    continue  # the title may name it: "Five sent out 55,000 packs" under "Five rapped for CSI ad"
                if best is None or len(found) > best[0]:
                    best = (len(found), sentence)
        if best is None:
            return None
        sentence = best[1]
        passage = plan.passages[sentence.passage]
        if not adds_information(sentence.text, plan.question):
            return None
        if not self._answers(plan, sentence.text, passage):
            return None
        log.info("Answered with the passage sentence the model's answer came from: %r", sentence.text)
        return _quoted([sentence], plan.passages)

    def _more_points(self, plan: Plan, kept: list[CitedSentence]) -> list[CitedSentence]:
        """A "why" answer of one point, when the cited passages give more: their next best sentences, cited."""
        if len(kept) >= EXPLANATION_POINTS:
            return []
        numbers = {p.chunk_id or id(p): n for n, p in enumerate(plan.context.passages, start=1)}
        cited = {plan.context.passages[n - 1].article_id for s in kept for n in s.numbers}
        extra: list[CitedSentence] = []
        for sentence in plan.context.ranked[:ADDRESS_CANDIDATES]:
            if len(kept) + len(extra) >= EXPLANATION_POINTS or sentence.score < EXTRACTIVE_MIN_SCORE:
                break
            passage = plan.passages[sentence.passage]
            number = numbers.get(passage.chunk_id or id(passage))
            if number is None or passage.article_id not in cited or not adds_information(sentence.text, plan.question):
                continue  # more points of the story already cited, not of another one
            if not has_causal_wording(sentence.text) and sentence.similarity < EXTRACTIVE_MIN_SIMILARITY:
                continue  # a point gives a reason, a concern or a means, or is close to the question
            if any(_similar_words(sentence.text, s.text) for s in [*kept, *extra]):
                continue
            extra.append(CitedSentence(clean_passage_text(sentence.text).strip(), [number]))
        return extra

    def condense(self, message: str, history: list[tuple[str, str]] | list[dict]) -> str:
        """Rewrite a follow-up ("and what about Baidu?") into a standalone question: `follow_up`'s search."""
        return self.follow_up(message, history).search

    def follow_up(self, message: str, history: list[tuple[str, str]] | list[dict]) -> FollowUp:
        """A follow-up ("and what about Baidu?") made standalone: what to search for and what to answer.

        Without history, or when the message already stands alone, both are the message; otherwise the LLM
        rewrites it. A rewrite that looks wrong falls back to searching the message plus the previous user
        question (still good enough for retrieval) while the answer is to the message itself, with the previous
        question beside it: given the two glued together, the model answered the previous one.
        """
        message = message.strip()
        turns = _turns(history)
        if not turns or _standalone(message):
            return FollowUp(message, message)
        earlier = next((text for role, text in reversed(turns) if role == "user"), None)
        fallback = FollowUp(message, f"{message} {earlier}" if earlier else message, earlier)
        from llama_index.core.llms import ChatMessage

        recent = turns[-2 * HISTORY_TURNS :]
        lines = []
        for role, text in recent:
            if role != "user" and all(is_decline(s) for s in split_sentences(text)):
                continue  # a refusal names nothing to refer back to ("what do the indexed articles say ...?")
            text = re.sub(r"\s*\[\d+\]", "", text)
            lines.append(f"{'User' if role == 'user' else 'Assistant'}: {text[:400]}")
        names = _must_keep(message)
        hint = prompt("condense", "hint").format(names=", ".join(names)) if names else ""
        messages = [
            ChatMessage(role="system", content=prompt("condense", "system")),
            ChatMessage(
                role="user",
                content=prompt("condense", "user").format(history="\n".join(lines), message=message, hint=hint),
            ),
        ]
        try:
            rewrite = _call(lambda: self.llm.chat(messages).message.content or "")
        except Exception:  # the rewrite is an optimisation: never lose the user's turn over it
            log.warning("Condensing the question failed; using the fallback", exc_info=True)
            return fallback
        cleaned = _clean_rewrite(rewrite)
        if not _good_rewrite(cleaned, message, fallback.search, [text for _, text in recent], earlier):
            log.info("Rejected question rewrite %r; searching %r", rewrite, fallback.search)
            return fallback
        return FollowUp(cleaned, cleaned)


def _quoted(chosen: Sequence[Sentence], passages: Sequence[Passage]) -> tuple[list[CitedSentence], Context]:
    """Retrieved sentences as an answer: each cited to its passage, in a context of just those passages."""
    context = Context()
    numbers: dict[int, int] = {}
    kept = []
    for sentence in chosen:
        if sentence.passage not in numbers:
            context.passages.append(passages[sentence.passage])
            numbers[sentence.passage] = len(context.passages)
            context.shown[numbers[sentence.passage]] = passages[sentence.passage].text
        kept.append(CitedSentence(clean_passage_text(sentence.text).strip(), [numbers[sentence.passage]]))
    return kept, context


def _probe_messages(plan: Plan) -> list[ChatMessage]:
    """The answer's own prompt with its instruction replaced by the yes/no question: the same start, so llama.cpp
    evaluates only the new end, and the answer that follows reuses the passages already read."""
    messages = build_messages(plan.question, plan.context, plan.focus, plan.today, plan.earlier)
    messages[-1].content = messages[-1].content.replace(_instruction(plan.focus), prompt("answer", "check_passages"))
    return messages


def _point_messages(question: str, sentence: str, earlier: str | None = None) -> list[ChatMessage]:
    """One candidate point, asked alone: the question comes first, so llama.cpp reads it once for all candidates;
    `earlier` is the previous question that a follow-up which could not be rewritten refers to."""
    from llama_index.core.llms import ChatMessage

    user = prompt("answer", "check_point").format(
        question=question.strip(), sentence=clean_passage_text(sentence).strip()
    )
    if earlier:
        user = prompt("answer", "earlier").format(question=earlier.strip()) + user
    return [
        ChatMessage(role="system", content=prompt("answer", "point_system")),
        ChatMessage(role="user", content=user),
    ]


def _answer_check_messages(question: str, sentence: str) -> list[ChatMessage]:
    """One sentence asked alone whether it states the answer; the question first, read once for all sentences."""
    from llama_index.core.llms import ChatMessage

    user = prompt("answer", "check_answer").format(
        question=question.strip(), sentence=clean_passage_text(sentence).strip()
    )
    return [
        ChatMessage(role="system", content=prompt("answer", "point_system")),
        ChatMessage(role="user", content=user),
    ]


def _only_attribute_missing(gap: Coverage) -> bool:
    """The sentence names everything the question asks but the attribute: its names, years, places and a value."""
    return bool(gap.missing_focus) and not gap.missing_qualifiers and not gap.missing_names and gap.has_value


def _figures(text: str) -> set[str]:
    """The figures a text states, as written without separators: "£1.53m" and "1,530" give "1.53" and "1530"."""
    return {f.replace(",", "").rstrip(".") for f in _FIGURE_RE.findall(text)}


@lru_cache(maxsize=256)
def _lead(article: str | None) -> str:
    """An article's first sentence (empty without the whole article: a passage's first is no lead)."""
    sentences = split_sentences(article) if article else []
    return sentences[0] if sentences else ""


def _key(sentence: str) -> str:
    return " ".join(clean_passage_text(sentence).split()).lower()


def _note_differing_reports(text: str, citations: list[Citation], differ: tuple | None, debug: dict[str, Any]) -> str:
    """When two articles give different figures of the asked kind (rag.conflicts), the answer says so and cites
    both, adding a citation for a report the model's sentences did not cite, instead of keeping one figure."""
    if differ is None:
        return text
    marks = []
    for _value, passage, sentence in differ:
        cited = next((c for c in citations if c.passage.article_id == passage.article_id), None)
        if cited is None:
            cited = Citation(number=len(citations) + 1, passage=passage, evidence=[sentence])
            citations.append(cited)
        elif sentence not in cited.evidence:
            cited.evidence.append(sentence)
        marks.append(f"[{cited.number}]")
    debug["differ"] = True
    return f"{text} {describe_difference(differ, marks)}"


def _with_timings(answer: Answer, timings: dict[str, float]) -> Answer:
    answer.timings.update(timings)
    return answer


def _typed_names(focus: QuestionFocus, typed: Sequence[str] | None) -> QuestionFocus:
    """The focus with only the names the user typed (`typed`: this message, then the conversation's earlier ones).

    When the question asks for a name, names typed only in earlier turns are the conversation's subject, which
    the answering sentence need not repeat ("who edits the blog that published them?", after a question about a
    Sri Lankan blogger, is answered by "Indian writer Rohit Gupta edits a group blog called Dogs without Borders"):
    like a cited source, they need only be in the cited article."""
    if typed is None:
        return focus
    names = focus.names & content_words(" ".join(typed))
    earlier = names - content_words(typed[0]) if focus.kind in NAME_KINDS else set()
    return replace(focus, names=frozenset(names), side_names=focus.side_names | earlier)


def _gap_size(gap: Coverage) -> int:
    return 3 * len(gap.missing_names) + 2 * len(gap.missing_qualifiers) + len(gap.missing_focus) + (not gap.has_value)


def in_date_order(sentences: list[CitedSentence], passages: Sequence[Passage]) -> list[CitedSentence]:
    """Sentences ordered by the earliest date among the passages each cites (a stable sort); sentences citing
    only undated passages keep their place after the dated ones, since no date is invented for them."""

    def when(sentence: CitedSentence):
        dates = [passages[n - 1].published for n in sentence.numbers if 0 < n <= len(passages)]
        dated = [d for d in dates if d is not None]
        return (0, min(dated)) if dated else (1, None)

    dated = sorted((s for s in sentences if when(s)[0] == 0), key=lambda s: when(s)[1])
    return dated + [s for s in sentences if when(s)[0] == 1]


def _similar_words(a: str, b: str) -> bool:
    """Two sentences that say mostly the same thing (one point, not two)."""
    wa, wb = content_words(a), content_words(b)
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) >= 0.6


# Libraries whose exceptions mean the model backend failed (server down, timeout, bad reply), not a newsrag bug.
_BACKEND_MODULES = ("httpx", "httpcore", "openai", "ollama", "requests", "urllib3", "llama_cpp", "aiohttp")


def _is_backend_error(e: Exception) -> bool:
    return isinstance(e, OSError | TimeoutError) or type(e).__module__.split(".")[0] in _BACKEND_MODULES


@contextmanager
def _llm_errors() -> Iterator[None]:
    """Turn the model backend's client errors into a ModelError that says what to check; anything else is a
    bug and propagates as it is (the app and the CLI log it with its traceback)."""
    from rag.llm import ModelError

    try:
        yield
    except ModelError:
        raise
    except Exception as e:
        if not _is_backend_error(e):
            raise
        raise ModelError(
            f"The language model failed ({type(e).__name__}: {e}). Check the model server or NEWSRAG_LLM settings."
        ) from e


def _call(fn: Callable[[], str]) -> str:
    with _llm_errors():
        return fn()


def _call_stream(fn: Callable[[], Any]) -> Iterator[str]:
    with _llm_errors():
        for chunk in fn():
            if chunk.delta:
                yield chunk.delta


# --- multi-turn helpers ------------------------------------------------------------------------

_FOLLOW_UP_START = re.compile(r"^(and|but|also|so|what about|how about|what else|why|how come|then)\b", re.I)
_PRONOUNS = {
    "it", "its", "they", "them", "their", "theirs", "this", "that", "these", "those", "he", "she", "him", "her", "hers",
    "his", "there",
}  # fmt: skip
# "the travel one"; "Apple's equivalent" (of what was just discussed)
_THE_ONE_RE = re.compile(
    r"\bthe (?:\w+ )?ones?\b|\b(?:equivalent|counterpart|rival|version|answer|response)\b(?!\s+(?:of|to|for)\b)", re.I
)
_NOT_NAMES = {
    "what", "and", "how", "why", "who", "when", "where", "which", "is", "are", "was", "were", "did",
    "does", "do", "can", "could", "will", "would", "tell", "also", "but", "so", "then", "about", "i",
    "the", "a", "an", "in", "on", "please", "has", "have", "had",
}  # fmt: skip


def _names(message: str) -> list[str]:
    """Capitalised words that are likely names (Baidu, OpenAI, H100), not sentence starters ("Roughly how many")."""
    names = []
    for m in re.finditer(r"\b[A-Z][A-Za-z0-9]+", message):
        word = m.group(0)
        if word.lower() in _NOT_NAMES:
            continue
        if not message[: m.start()].strip() and (word.lower() in STOPWORDS or word.lower().endswith(("ly", "ing"))):
            continue  # "Roughly", "Exactly", "Assuming": the message's first word, capitalised as such
        names.append(word)
    return names


_NEW_SUBJECT_RE = re.compile(  # "what about the DS?", "and the pigs?", "and by year end?": not "and how many ...?"
    r"^\s*(?:(?:and\s+)?(?:what|how)\s+about|and(?!\s+(?:what|how|who|whom|whose|when|where|which|why|is|are|was|were"
    r"|did|does|do|can|could|will|would|has|have|had|should)\b))\s+(?:the\s+)?(?P<subject>[^?.!]+?)\s*[?.!]*\s*$",
    re.I,
)


_TIME_SHIFT_RE = re.compile(r"\b(?:year|month|week|day|quarter|before|after|end|earlier|later|today|now|then)\b", re.I)


def _new_subject(message: str) -> list[str]:
    """The words of the new subject of "what about creative's zen micro?" or "and the pigs?" (however it is
    typed): the rewrite must keep them. Not a shift in time ("and the year before?" becomes "in 2003")."""
    m = _NEW_SUBJECT_RE.match(message)
    if not m or len(m.group("subject").split()) > 5 or _TIME_SHIFT_RE.search(m.group("subject")):
        return []
    return [w for w in re.findall(r"[A-Za-z0-9][\w-]+", m.group("subject")) if w.lower() not in STOPWORDS]


def _must_keep(message: str) -> list[str]:
    """The words of a follow-up that its rewrite must keep: the names typed, else the new subject."""
    return _names(message) or _new_subject(message)


def _content(content: Any) -> str:
    """Text of a chat message's content: a string, or gradio's list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    if isinstance(content, list | tuple):
        return " ".join(_content(c) for c in content if c)
    return ""


def _turns(history: Sequence[Any]) -> list[tuple[str, str]]:
    """[(role, text), ...] from [(user, assistant), ...] pairs or [{"role", "content"}] dicts."""
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            role = str(item.get("role", "user"))
            text = _content(item.get("content"))
            if text.strip() and role in ("user", "assistant"):
                turns.append((role, text.strip()))
        elif isinstance(item, list | tuple) and len(item) == 2:
            for role, text in zip(("user", "assistant"), item, strict=True):
                if _content(text).strip():
                    turns.append((role, _content(text).strip()))
    return turns


def _standalone(message: str) -> bool:
    """Cheap check: a message stands alone when it names its subject and refers back to nothing. "which BBC drama
    are they using?" names the BBC but "they" are the conversation's; "what's the next version going to look
    like?" names nothing, so its subject is the conversation's."""
    # A short message stands alone only with a name: "who's Federated's chairman?", not "and the price?"
    short = len(content_words(message)) < (2 if _names(message) else 3)
    if _FOLLOW_UP_START.match(message.strip()) or short or _THE_ONE_RE.search(message):
        return False
    named = False
    for word in re.findall(r"[A-Za-z0-9'’]+", message):
        if re.split(r"['’]", word.lower())[0] in _PRONOUNS:  # "it'll", "they're" refer back too
            return False
        base = re.split(r"['’]", word)[0]  # "Federated's" names Federated
        if base in _names(base) and stem(base.lower()) not in PLACES:  # "which European project is that" refers back
            named = True
    return named


def _clean_rewrite(text: str) -> str:
    text = re.sub(r"<\|[^|]*\|>", "", text).strip()
    text = text.splitlines()[0].strip() if text else ""
    text = re.sub(r"^(standalone question|question|rewritten question)\s*:\s*", "", text, flags=re.I)
    return text.strip().strip('"').strip("'").strip()


_ASKING_WORDS = content_words("many much actually really exactly else")  # words that ask and name nothing
_ASKS_RE = re.compile(
    r"\b(?:what|which|who|whom|whose|when|where|why|how(?:\s+(?:many|much|long|big|old|far))?)\b", re.I
)


def _asks(question: str) -> str:
    """The question word ("how many", "why"): "why did he argue X?" asks something new of "who argued X?"."""
    m = _ASKS_RE.search(question)
    return m.group(0).lower() if m else ""


def _good_rewrite(
    rewrite: str, message: str, fallback: str, conversation: Sequence[str], earlier: str | None = None
) -> bool:
    """A rewrite must be one short line that keeps the names the user just typed, takes something from the
    conversation ("Who is backing the travel one?" took nothing: it is the follow-up again) and is not just the
    previous question again."""
    if not rewrite or len(rewrite) > 2 * len(fallback) + 80 or is_decline(rewrite):
        return False
    if any(name.lower() not in rewrite.lower() for name in _must_keep(message)):
        return False
    if not _names(message) and not _names(rewrite) and any(_names(text) for text in conversation):
        return False  # the subject lost: "how many offences could a station lose its licence?" of the US bill
    if (
        earlier
        and content_words(rewrite) <= content_words(earlier) | _ASKING_WORDS
        and _asks(rewrite) == _asks(earlier)
    ):
        return False  # "and how many less serious fixes?" rewritten as the previous question again
    said = content_words(" ".join(conversation))
    if not content_words(rewrite) & (said - content_words(message)):
        # Nothing taken from the conversation: right only when the message stood alone, which shows in names the
        # model wrote that the conversation does not have ("and when did sony ship the psp?" -> "Sony", "PSP").
        return any(not content_words(name) <= said for name in _names(rewrite))
    return len(content_words(rewrite)) >= 2
