"""Choose the sentences the model reads: few, on the question, and grouped by the passage they come from.

A 1.5B model given five trimmed passages from five articles borrows a number from the wrong one,
and answers "why" with the headline. So the prompt is built from sentences, not passages: every
sentence of the retrieved passages is scored against the question (the embedder's similarity plus
keyword overlap, plus a value of the asked kind and, for "why" questions, causal wording), the best
are kept within a small character budget, and each keeps its passage and so its citation number.
Passages are shown best first, sentences in their article order, so facts stay with their article.
Fewer tokens also make the first token come sooner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.text import content_words, repair_glued_sentences, split_sentences
from core.types import Passage
from rag.claims import cosine, is_instruction
from rag.focus import QuestionFocus, has_value

Embed = Callable[[list[str]], list[list[float]]]

MAX_ARTICLES = 3  # articles shown to the model: more invites mixing their facts
# A "why" or "how" answer lists one story's reasons: given three articles, the model (and the extra points
# added after it) took "reasons" from unrelated stories (trust-dev: a charity's spokeswoman as a reason for a
# research lab's closure). One article gets the whole budget, so more of its reasons reach the model.
EXPLANATION_ARTICLES = 1
KEYWORD_WEIGHT = 0.5  # weight of the question-word overlap beside the embedder's cosine
EXPLANATION_KEYWORD_WEIGHT = 0.2  # "why" questions: every sentence of the article shares the topic words
VALUE_BONUS = 0.08  # a sentence holding a value of the asked kind (a number for "how many")
CAUSAL_BONUS = 0.15  # a sentence with causal wording, for why / how questions
FIRST_PASSAGE_BONUS = 0.05  # retrieval's own ranking still counts
_CAUSAL_RE = re.compile(
    r"\b(because|due to|as a result|so that|in order to|aims? to|aimed at|reasons?|driven by|thanks to|since"
    r"|amid|in response to|in a bid to|to deal with|to avoid|to reduce|to cut|to boost|to improve|pressure"
    r"|concerns?|worr(?:y|ies|ied)|fears?|risks?|threats?|warn(?:s|ed)?|help(?:s|ed)?|allow(?:s|ed)?|enabl(?:e|es|ed)"
    r"|restrict(?:s|ed|ions?)?|bans?|banned|controls?|shortages?|shocks?|costs?|cheaper|efficien(?:t|cy)"
    r"|means?|lets?|would|could|so\b|therefore|led to|leading to|benefits?|advantages?|problems?)\b",
    re.IGNORECASE,
)
_BACK_REFERENCE_RE = re.compile(
    r"^(?:it|its|they|their|he|she|his|her|this|that|these|those|the (?:firm|company|group|move|deal|device|chip|system|service|report|study))\b",
    re.I,
)
_TAG_RE = re.compile(r"</?\s*passage\b[^>]*>", re.IGNORECASE)
_vector_cache: dict[str, list[float]] = {}
_CACHE_LIMIT = 20_000


@dataclass
class Sentence:
    text: str
    passage: int  # index into the retrieved passages
    position: int  # order within its passage
    score: float = 0.0
    similarity: float = 0.0  # the embedder's cosine to the question
    overlap: float = 0.0  # share of the question's content words in the sentence (and its title)


@dataclass
class Context:
    """The numbered passages the model is shown: number -> text, and the sentences each one holds."""

    shown: dict[int, str] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)  # passages[number - 1] is passage `number`
    sentences: dict[int, list[Sentence]] = field(default_factory=dict)
    ranked: list[Sentence] = field(default_factory=list)  # every candidate sentence, best first


def clean_passage_text(text: str) -> str:
    """Passage text as the model may read it: no passage tags (they delimit passages in the prompt), and
    glued sentences (common in scraped news, they blur who did what for a small model) unglued."""
    return repair_glued_sentences(_TAG_RE.sub(" ", text))


def embed_cached(embed: Embed, texts: list[str]) -> list[list[float]]:
    """Vectors of texts, computing only those not seen before (passages recur across questions)."""
    missing = list(dict.fromkeys(t for t in texts if t not in _vector_cache))
    if missing:
        if len(_vector_cache) + len(missing) > _CACHE_LIMIT:
            _vector_cache.clear()
        for text, vector in zip(missing, embed(missing), strict=True):
            _vector_cache[text] = vector
    return [_vector_cache[t] for t in texts]


def score_sentences(
    question: str,
    focus: QuestionFocus,
    passages: Sequence[Passage],
    embed: Embed | None,
    question_vector: Sequence[float] | None = None,
) -> list[Sentence]:
    """Every sentence of the passages with its score against the question, best first."""
    candidates: list[Sentence] = []
    seen: set[tuple[str, str]] = set()
    for index, passage in enumerate(passages):
        for position, text in enumerate(split_sentences(clean_passage_text(passage.text))):
            key = (passage.article_id, text)
            if len(text) > 12 and not is_instruction(text) and key not in seen:  # chunks overlap: once each
                seen.add(key)
                candidates.append(Sentence(text, index, position))
    if not candidates:
        return []
    wanted = set(focus.words)
    sims = [0.0] * len(candidates)
    if embed is not None:
        vectors = embed_cached(embed, [c.text for c in candidates])
        qv = question_vector if question_vector is not None else embed_cached(embed, [question])[0]
        sims = [cosine(qv, v) for v in vectors]
    weight = EXPLANATION_KEYWORD_WEIGHT if focus.explanation else KEYWORD_WEIGHT
    top_article = passages[0].article_id if passages else ""
    for candidate, sim in zip(candidates, sims, strict=True):
        words = content_words(candidate.text)  # not the title: it would give every sentence of an article the same
        overlap = len(words & wanted) / len(wanted) if wanted else 0.0
        score = sim + weight * overlap
        candidate.similarity, candidate.overlap = sim, overlap
        if focus.kind not in ("reason", "how", "other", "yesno") and has_value(focus.kind, candidate.text, focus.words):
            score += VALUE_BONUS
        if focus.explanation and _CAUSAL_RE.search(candidate.text):
            score += CAUSAL_BONUS
        if candidate.passage == 0 or (focus.explanation and passages[candidate.passage].article_id == top_article):
            score += FIRST_PASSAGE_BONUS
        candidate.score = score
    return sorted(candidates, key=lambda c: -c.score)


def has_causal_wording(text: str) -> bool:
    return bool(_CAUSAL_RE.search(text))


def select_context(
    question: str,
    focus: QuestionFocus,
    passages: Sequence[Passage],
    budget: int,
    embed: Embed | None = None,
    question_vector: Sequence[float] | None = None,
) -> Context:
    """The best sentences within budget characters, grouped by passage, passages best first."""
    ranked = score_sentences(question, focus, passages, embed, question_vector)
    most_articles = EXPLANATION_ARTICLES if focus.explanation else MAX_ARTICLES
    return _assemble(_choose(ranked, passages, budget, most_articles), passages, ranked)


def select_context_for_parts(
    question: str,
    focus: QuestionFocus,
    parts: Sequence[tuple[str, QuestionFocus]],
    passages: Sequence[Passage],
    budget: int,
    embed: Embed | None = None,
) -> Context:
    """A question that asks two things, often of two articles ("What does the Mac mini cost in the US, and what
    speed is the chip in the UK model?"): each part chooses its own best sentences within its share of the
    budget, so one part's article cannot take all of it; the model reads them together."""
    chosen: dict[int, list[Sentence]] = {}
    for part, part_focus in parts:
        ranked = score_sentences(part, part_focus, passages, embed)
        for index, sentences in _choose(ranked, passages, budget // len(parts), MAX_ARTICLES).items():
            have = {s.position for s in chosen.get(index, [])}
            chosen.setdefault(index, []).extend(s for s in sentences if s.position not in have)
    whole = score_sentences(question, focus, passages, embed)
    best = {(s.passage, s.position): s.score for s in whole}
    for sentences in chosen.values():  # ranked by the whole question, so passages come best first overall
        for s in sentences:
            s.score = max(s.score, best.get((s.passage, s.position), s.score))
    return _assemble(chosen, passages, whole)


def _choose(
    ranked: Sequence[Sentence], passages: Sequence[Passage], budget: int, most_articles: int
) -> dict[int, list[Sentence]]:
    """The best-ranked sentences within budget characters from at most most_articles articles, by passage."""
    by_passage: dict[int, list[Sentence]] = {}
    articles: list[str] = []
    used = 0
    by_position = {(s.passage, s.position): s for s in ranked}
    for sentence in ranked:
        article = passages[sentence.passage].article_id or str(sentence.passage)
        if article not in articles and len(articles) >= most_articles:
            continue
        group = [sentence]
        previous = by_position.get((sentence.passage, sentence.position - 1))
        if _BACK_REFERENCE_RE.match(sentence.text) and previous is not None:
            group.insert(0, previous)  # "It runs at ..." needs the sentence that says what "it" is
        group = [s for s in group if s not in by_passage.get(s.passage, [])]
        cost = sum(len(s.text) + 1 for s in group)
        if not group or (used + cost > budget and used):
            continue
        if article not in articles:
            articles.append(article)
        for s in group:
            by_passage.setdefault(s.passage, []).append(s)
        used += cost
        if used >= budget:
            break
    return by_passage


def _assemble(by_passage: dict[int, list[Sentence]], passages: Sequence[Passage], ranked: list[Sentence]) -> Context:
    """Passages in order of their best sentence; sentences in their own order, gaps marked."""
    order = sorted(by_passage, key=lambda i: -max(s.score for s in by_passage[i]))
    context = Context(ranked=list(ranked))
    for number, index in enumerate(order, start=1):
        chosen = sorted(by_passage[index], key=lambda s: s.position)
        parts: list[str] = []
        for i, s in enumerate(chosen):
            if i and s.position != chosen[i - 1].position + 1:
                parts.append("...")
            parts.append(s.text)
        context.shown[number] = " ".join(parts)
        context.passages.append(passages[index])
        context.sentences[number] = chosen
    return context
