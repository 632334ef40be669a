"""Sentence-aware chunking with exact character offsets.

Chunks are what retrieval returns and the LLM cites, so they are made of whole sentences (a passage that
starts mid-sentence reads badly in a citation) and carry `start`/`end` offsets into the article text:
`article_text[chunk.start:chunk.end] == chunk.text` always holds, which lets the UI highlight evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import ConfigError
from core.text import sentence_spans

__all__ = ["Chunk", "chunk_text", "count_tokens"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\S+")


@dataclass
class Chunk:
    """A piece of an article; `text == article_text[start:end]`."""

    text: str
    index: int
    start: int
    end: int


def count_tokens(text: str) -> int:
    """A cheap token estimate (words plus punctuation marks), close enough to size chunks for an embedder."""
    return sum(1 for _ in _TOKEN.finditer(text))


def chunk_text(text: str, chunk_tokens: int = 220, overlap_tokens: int = 40) -> list[Chunk]:
    """Pack whole sentences into chunks of about `chunk_tokens`, overlapping by whole sentences.

    A sentence longer than a chunk is split at word boundaries; a chunk that is past half full ends at a
    paragraph break rather than carrying the next paragraph's first sentence. Deterministic.
    """
    if chunk_tokens < 1:
        raise ConfigError(f"chunk_tokens must be at least 1, got {chunk_tokens}")
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ConfigError(f"overlap_tokens must be between 0 and chunk_tokens - 1, got {overlap_tokens}")
    units = _units(text, chunk_tokens)
    if not units:
        return []
    paragraph_starts = _paragraph_starts(text, units)

    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, (_, _, tokens) in enumerate(units):
        full = current and size + tokens > chunk_tokens
        at_paragraph = current and i in paragraph_starts and size * 2 >= chunk_tokens
        if full or at_paragraph:
            groups.append(current)
            current = _overlap(units, current, overlap_tokens, chunk_tokens - tokens)
            size = sum(units[j][2] for j in current)
        current.append(i)
        size += tokens
    groups.append(current)

    chunks = []
    for index, group in enumerate(groups):
        start, end = units[group[0]][0], units[group[-1]][1]
        chunks.append(Chunk(text=text[start:end], index=index, start=start, end=end))
    return chunks


def _units(text: str, chunk_tokens: int) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, tokens), with over-long ones cut at word boundaries."""
    units: list[tuple[int, int, int]] = []
    for start, end in sentence_spans(text):
        tokens = count_tokens(text[start:end])
        if tokens <= chunk_tokens:
            units.append((start, end, tokens))
            continue
        # Equal-sized pieces, so the sentence does not end in a tiny leftover chunk.
        target = -(-tokens // -(-tokens // chunk_tokens))
        piece_start = piece_end = None
        piece_tokens = 0
        for word in _WORD.finditer(text, start, end):
            word_tokens = count_tokens(word.group())
            if piece_start is not None and piece_tokens + word_tokens > target:
                units.append((piece_start, piece_end, piece_tokens))
                piece_start, piece_tokens = None, 0
            if piece_start is None:
                piece_start = word.start()
            piece_end = word.end()
            piece_tokens += word_tokens
        if piece_start is not None:
            units.append((piece_start, piece_end, piece_tokens))
    return units


def _paragraph_starts(text: str, units: list[tuple[int, int, int]]) -> set[int]:
    """Indexes of units that open a paragraph: after a blank line, or after any line break in text
    that has no blank lines at all (one paragraph per line, as in many scraped articles)."""
    separator = "\n\n" if "\n\n" in text else "\n"
    starts = set()
    for i in range(1, len(units)):
        if separator in text[units[i - 1][1] : units[i][0]]:
            starts.add(i)
    return starts


def _overlap(units: list[tuple[int, int, int]], group: list[int], overlap_tokens: int, room: int) -> list[int]:
    """The trailing sentences of `group` to repeat at the start of the next chunk (never all of them).

    Sentences are added from the end while they total at most `overlap_tokens`; the last sentence alone
    may be up to twice that, so long-sentence prose still gets some overlap. `room` keeps the next chunk
    within its size.
    """
    if overlap_tokens <= 0:
        return []
    chosen: list[int] = []
    total = 0
    for j in reversed(group[1:]):
        tokens = units[j][2]
        limit = 2 * overlap_tokens if not chosen else overlap_tokens
        if total + tokens > min(limit, room):
            break
        chosen.insert(0, j)
        total += tokens
    return chosen
