"""Test doubles shared by the test modules: one scripted LLM, one hash embedder, and passage builders.

`ScriptedLLM` is a real llama-index LLM (complete, stream_complete, and chat/stream_chat through them) that
records every prompt and answers each call with, in order of precedence:
  - the next queued reply (`ScriptedLLM([...])` or `.queue(...)`); a queued exception is raised instead;
  - otherwise `rule(prompt)`, a function of the prompt (it may raise);
  - otherwise it raises `UnexpectedLLMCall`, so a test can prove that a code path made no LLM call at all.
Streamed replies arrive in pieces of `piece_chars`, `piece_delay` seconds apart; `delay` slows `complete`;
`busy`, a context manager, is held while a reply is being produced (to count calls in flight).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from paths import SEED_ARTICLE

from core.types import Passage


class UnexpectedLLMCall(AssertionError):
    """The code under test called the LLM although no reply was queued."""


class ScriptedLLM(CustomLLM):
    """Replies from a queue, then by rule; records each (formatted) prompt it was given. Thread-safe."""

    replies: list[Any] = Field(default_factory=list)  # str replies, or exceptions to raise
    prompts: list[str] = Field(default_factory=list)
    rule: Callable[[str], str] | None = Field(default=None, exclude=True)
    piece_chars: int = 7  # streamed replies arrive in pieces of this many characters
    piece_delay: float = 0.0  # seconds before each streamed piece
    delay: float = 0.0  # seconds `complete` takes
    busy: Any = Field(default=None, exclude=True)  # a context manager held while a reply is produced

    def __init__(self, replies: Iterable[Any] = (), **data: Any) -> None:
        super().__init__(replies=list(replies), **data)

    @classmethod
    def class_name(cls) -> str:
        return "scripted_llm"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted", context_window=4096, num_output=256)

    def queue(self, *replies: Any) -> ScriptedLLM:
        self.replies.extend(replies)
        return self

    def _next(self, prompt: str) -> str:
        self.prompts.append(prompt)
        try:
            reply = self.replies.pop(0)
        except IndexError:
            if self.rule is None:
                raise UnexpectedLLMCall(
                    f"ScriptedLLM called with no reply queued; prompt was:\n{prompt[:500]}"
                ) from None
            return self.rule(prompt)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    @property
    def calls(self) -> int:
        return len(self.prompts)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        with self.busy or nullcontext():
            time.sleep(self.delay)
            return CompletionResponse(text=self._next(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        reply = self._next(prompt)

        def gen() -> CompletionResponseGen:
            with self.busy or nullcontext():
                text = ""
                for i in range(0, len(reply), self.piece_chars):
                    time.sleep(self.piece_delay)
                    delta = reply[i : i + self.piece_chars]
                    text += delta
                    yield CompletionResponse(text=text, delta=delta)

        return gen()


def fake_settings(data_dir: Path, **overrides: Any):
    """Settings for the fast fakes over data_dir: the hash embedder, no relevance cut-off (the `settings` fixture;
    module-scoped fixtures call this with their own data dir)."""
    from core.settings import Settings

    return Settings(data_dir=data_dir, embed_model="hash", min_relevance=0.0, **overrides)


def passage(
    text: str, n: int = 1, *, title: str | None = None, source: str = "example.com", score: float = 0.8
) -> Passage:
    """A Passage with plausible metadata; n makes ids and titles distinct."""
    return Passage(
        text=text,
        score=score,
        article_id=f"article-{n}",
        title=title or f"Article {n}",
        source=source,
        url=f"https://{source}/article-{n}",
        published=datetime(2025, 9, 12),
        start=0,
        end=len(text),
        chunk_id=f"article-{n}:0",
        chunk_index=0,
    )


def passages(*texts: str) -> list[Passage]:
    """Passages numbered 1..k in the order given (the rank order retrieval would return)."""
    return [passage(text, i + 1, score=0.9 - 0.1 * i) for i, text in enumerate(texts)]


def seed_passages(max_chars: int = 1200) -> list[Passage]:
    """The seed article split into passages by paragraph (joined up to max_chars), with real offsets."""
    raw = SEED_ARTICLE.read_text(encoding="utf-8")
    title = raw.splitlines()[0].strip()
    out: list[Passage] = []
    pos = raw.index("\n") + 1
    current, start = "", pos
    for para in raw[pos:].split("\n"):
        offset = raw.index(para, pos) if para else pos
        pos = offset + len(para)
        if not para.strip() or para.startswith("·Original") or para.startswith("Disclaimer"):
            continue
        if current and len(current) + len(para) > max_chars:
            out.append(_seed(current, start, len(out)))
            current = ""
        if not current:
            start = offset
        current = f"{current}\n{para}" if current else para
    if current:
        out.append(_seed(current, start, len(out)))
    for p in out:
        p.title = title
    return out


def _seed(text: str, start: int, index: int) -> Passage:
    return Passage(
        text=text,
        score=0.7,
        article_id="seed-alibaba-baidu",
        title="",
        source="Hawk Insight",
        url="https://www.hawkinsight.com/en/article/alibaba-baidu-ai-chips",
        published=datetime(2025, 9, 12),
        start=start,
        end=start + len(text),
        chunk_id=f"seed-alibaba-baidu:{index}",
        chunk_index=index,
    )


def hash_embed(texts: list[str], dim: int = 64) -> list[list[float]]:
    """A deterministic bag-of-words embedder: similar wording gives similar vectors."""
    import hashlib

    from core.text import content_words

    out = []
    for text in texts:
        vec = [0.0] * dim
        for word in content_words(text):
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
        out.append(vec)
    return out
