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
from typing import TYPE_CHECKING, Any

from rag.citations import CitedSentence, parse_answer, render_answer
from rag.claims import ClaimChecker, Embed, content_words, is_decline
from rag.prompts import prompt
from rag.settings import Settings
from rag.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from llama_index.core.llms import LLM, ChatMessage

log = logging.getLogger(__name__)

REFUSAL = prompt("answer", "refusal")
MIN_PASSAGE_CHARS = 300  # below this share of the budget a passage is dropped rather than cut
HISTORY_TURNS = 3
_TAG_RE = re.compile(r"</?\s*passage\b[^>]*>", re.IGNORECASE)
_GLUED_RE = re.compile(r"(?<=[a-z0-9%)][.!?])(?=[A-Z][a-z])")  # "stage.Baidu" -> "stage. Baidu"


# --- prompt building ---------------------------------------------------------------------------


def _cut_to_sentences(text: str, limit: int, question: str = "") -> str:
    """A run of whole sentences within limit characters: the run that shares most words with the
    question (the start of the text when none does), so that trimming keeps the likely answer."""
    if len(text) <= limit:
        return text
    from rag.citations import split_sentences

    sentences = split_sentences(text)
    wanted = content_words(question)
    best, best_score = "", -1
    for first in range(len(sentences)):
        window, words = "", set()
        for sentence in sentences[first:]:
            candidate = f"{window} {sentence}".strip()
            if len(candidate) > limit:
                break
            window = candidate
            words |= content_words(sentence)
        score = len(words & wanted)
        if window and score > best_score:
            best, best_score = window, score
        if not wanted:
            break
    return best or text[:limit].rsplit(" ", 1)[0] + " ..."


def fit_passages(passages: Sequence[Passage], budget: int, question: str = "") -> list[str]:
    """Passage texts cut to fit budget characters in total: long ones are trimmed first
    (an equal share each, to the whole sentences nearest the question), and the lowest-ranked
    dropped if shares get too small.
    """
    texts = [p.text.strip() for p in passages]
    while texts:
        if sum(len(t) for t in texts) <= budget:
            return texts
        # Water-filling: the largest per-passage cap that fits the budget.
        lengths = sorted(len(t) for t in texts)
        remaining, cap = budget, 0
        for i, length in enumerate(lengths):
            share = remaining // (len(lengths) - i)
            if length > share:
                cap = share
                break
            remaining -= length
        if cap >= min(MIN_PASSAGE_CHARS, budget) or len(texts) == 1:
            return [_cut_to_sentences(t, cap, question) for t in texts]
        texts.pop()  # the lowest-ranked passage goes
    return texts


def _attr(value: str) -> str:
    return re.sub(r"\s+", " ", value.replace('"', "'")).strip()


def format_passages(passages: Sequence[Passage], budget: int, question: str = "") -> dict[int, str]:
    """Numbered passage texts as shown to the model: {1: text, ...}, within budget characters."""
    texts = fit_passages(passages, budget, question)
    # Glued sentences (common in scraped news) blur who did what for a small model: unglue them.
    return {i + 1: _GLUED_RE.sub(" ", _TAG_RE.sub(" ", text)) for i, text in enumerate(texts)}


def build_messages(question: str, passages: Sequence[Passage], shown: dict[int, str]) -> list[ChatMessage]:
    """System and user chat messages for one question over the numbered passages."""
    from llama_index.core.llms import ChatMessage

    blocks = []
    for number, text in shown.items():
        p = passages[number - 1]
        date = p.published.date().isoformat() if p.published else "unknown"
        blocks.append(
            prompt("answer", "passage").format(
                number=number, title=_attr(p.title), source=_attr(p.source), date=date, text=text
            )
        )
    user = prompt("answer", "user").format(
        passages="\n\n".join(blocks),
        ids=", ".join(f"[{n}]" for n in shown),
        question=question.strip(),
        refusal=REFUSAL,
    )
    return [
        ChatMessage(role="system", content=prompt("answer", "system").format(refusal=REFUSAL)),
        ChatMessage(role="user", content=user),
    ]


# --- answering ---------------------------------------------------------------------------------


def refusal(question: str, reason: str, passages: Sequence[Passage] = (), **debug: Any) -> Answer:
    """The fixed refusal answer; reason is one of no_passages, low_relevance, model_declined, unsupported."""
    return Answer(
        question=question, text=REFUSAL, refused=True, refusal_reason=reason, passages=list(passages), debug=debug
    )


class Answerer:
    """Cited answers from an LLM created on first use (loading a local model takes seconds)."""

    def __init__(self, llm_factory: Callable[[], LLM], settings: Settings, embed: Embed | None = None) -> None:
        self._llm_factory = llm_factory
        self._llm: LLM | None = None
        self._llm_lock = threading.Lock()
        self.settings = settings
        self.embed = embed

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

    def answer(self, question: str, passages: list[Passage], *, best_relevance: float | None = None) -> Answer:
        """A cited answer to question from passages (ranked best first), or a refusal."""
        early = self._early_refusal(question, passages, best_relevance)
        if early:
            return early
        shown = format_passages(passages, self.settings.context_chars, question)
        messages = build_messages(question, passages, shown)
        start = time.perf_counter()
        raw = _call(lambda: self.llm.chat(messages).message.content or "")
        return self.finish(question, raw, passages, shown, time.perf_counter() - start)

    def stream(
        self, question: str, passages: list[Passage], *, best_relevance: float | None = None
    ) -> Iterator[str | Answer]:
        """Raw text pieces as the model writes them, then the final cleaned Answer.

        Refusals decided before generation yield only the Answer. The streamed pieces are the
        model's raw text: show them as a preview and replace them with the Answer's text.
        """
        early = self._early_refusal(question, passages, best_relevance)
        if early:
            yield early
            return
        shown = format_passages(passages, self.settings.context_chars, question)
        messages = build_messages(question, passages, shown)
        start = time.perf_counter()
        pieces: list[str] = []
        for delta in _call_stream(lambda: self.llm.stream_chat(messages)):
            pieces.append(delta)
            yield delta
        yield self.finish(question, "".join(pieces), passages, shown, time.perf_counter() - start)

    def finish(
        self, question: str, raw: str, passages: Sequence[Passage], shown: dict[int, str], seconds: float
    ) -> Answer:
        """Citations cleaned, claims checked, sources renumbered: the Answer the user sees."""
        timings = {"generate": seconds}
        sentences = parse_answer(raw, shown.keys())
        declines = [s for s in sentences if is_decline(s.text)]
        claims = [s for s in sentences if not is_decline(s.text)]
        if declines and not _substantive(claims):
            return _with_timings(refusal(question, "model_declined", passages, raw=raw), timings)
        checker = ClaimChecker(
            {n: passages[n - 1].text for n in shown},
            self.embed,
            labels={n: f"{passages[n - 1].title} {passages[n - 1].source}" for n in shown},
        )
        checked = checker.check(claims)
        debug = {"raw": raw, "dropped": checked.dropped}
        if not checked.kept:
            return _with_timings(refusal(question, "unsupported", passages, **debug), timings)
        text, order = render_answer(checked.kept)
        citations = [
            Citation(number=i + 1, passage=passages[old - 1], evidence=checked.evidence.get(old, []))
            for i, old in enumerate(order)
        ]
        log.debug("Answer kept %d sentences, dropped %d", len(checked.kept), len(checked.dropped))
        return Answer(
            question=question, text=text, citations=citations, timings=timings, passages=list(passages), debug=debug
        )

    def condense(self, message: str, history: list[tuple[str, str]] | list[dict]) -> str:
        """Rewrite a follow-up ("and what about Baidu?") into a standalone question.

        Without history, or when the message already stands alone, it is returned unchanged;
        otherwise the LLM rewrites it, and a rewrite that looks wrong falls back to the message
        plus the previous user question (still good enough for retrieval).
        """
        message = message.strip()
        turns = _turns(history)
        if not turns or _standalone(message):
            return message
        previous = [text for role, text in turns if role == "user"]
        fallback = f"{message} {previous[-1]}".strip() if previous else message
        from llama_index.core.llms import ChatMessage

        lines = []
        for role, text in turns[-2 * HISTORY_TURNS :]:
            text = re.sub(r"\s*\[\d+\]", "", text)
            lines.append(f"{'User' if role == 'user' else 'Assistant'}: {text[:400]}")
        names = _names(message)
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
        if not _good_rewrite(cleaned, message, fallback):
            log.info("Rejected question rewrite %r; using %r", rewrite, fallback)
            return fallback
        return cleaned


def _with_timings(answer: Answer, timings: dict[str, float]) -> Answer:
    answer.timings.update(timings)
    return answer


def _substantive(sentences: list[CitedSentence]) -> bool:
    return any(content_words(s.text) for s in sentences)


@contextmanager
def _llm_errors() -> Iterator[None]:
    """Turn LLM client errors into a ModelError that says what to check."""
    from rag.llm import ModelError

    try:
        yield
    except ModelError:
        raise
    except Exception as e:
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
_PRONOUNS = {"it", "they", "them", "this", "that", "these", "those", "he", "she", "him", "her", "there"}
_NOT_NAMES = {
    "what", "and", "how", "why", "who", "when", "where", "which", "is", "are", "was", "were", "did",
    "does", "do", "can", "could", "will", "would", "tell", "also", "but", "so", "then", "about", "i",
    "the", "a", "an", "in", "on", "please", "has", "have", "had",
}  # fmt: skip


def _names(message: str) -> list[str]:
    """Capitalised words that are likely names (Baidu, OpenAI, H100), not sentence starters."""
    return [w for w in re.findall(r"\b[A-Z][A-Za-z0-9]+", message) if w.lower() not in _NOT_NAMES]


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
    """Cheap check: a message with enough words of its own and no reference back stands alone."""
    if _FOLLOW_UP_START.match(message.strip()) or len(content_words(message)) < 3:
        return False
    for word in re.findall(r"[A-Za-z0-9']+", message):
        if word.lower() in _PRONOUNS:
            return False  # "What did they announce?" - unless a name came first
        if word in _names(word):
            return True
    return True


def _clean_rewrite(text: str) -> str:
    text = re.sub(r"<\|[^|]*\|>", "", text).strip()
    text = text.splitlines()[0].strip() if text else ""
    text = re.sub(r"^(standalone question|question|rewritten question)\s*:\s*", "", text, flags=re.I)
    return text.strip().strip('"').strip("'").strip()


def _good_rewrite(rewrite: str, message: str, fallback: str) -> bool:
    """A rewrite must be one short line that keeps the names the user just typed."""
    if not rewrite or len(rewrite) > 2 * len(fallback) + 80 or is_decline(rewrite):
        return False
    if any(name.lower() not in rewrite.lower() for name in _names(message)):
        return False
    return len(content_words(rewrite)) >= 2
