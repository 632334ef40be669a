"""Chunking: whole sentences, exact offsets, bounded sizes, overlap, paragraph-aware."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import REPO, SAMPLE_CORPUS, SHARED_CORPORA

from core.text import sentence_spans
from ingest.chunking import chunk_text, count_tokens
from ingest.normalize import normalize_text

CORPORA = SHARED_CORPORA


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_count_tokens_counts_words_and_punctuation() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("") == 0
    assert count_tokens("U.S. GDP rose 7.5%") == 10


def test_split_sentences_respects_abbreviations_and_initials() -> None:
    text = 'Dr. Smith met J. K. Rowling in the U.S. yesterday. She said: "Great!" Then they left.\nNew line here'
    assert _sentences(text) == [
        "Dr. Smith met J. K. Rowling in the U.S. yesterday.",
        'She said: "Great!"',
        "Then they left.",
        "New line here",
    ]


def test_split_sentences_keeps_hard_wrapped_lines_together_and_splits_cjk() -> None:
    assert _sentences("A sentence that is\nwrapped here. Next") == ["A sentence that is\nwrapped here.", "Next"]
    assert _sentences("第一句。第二句！") == ["第一句。", "第二句！"]


def test_empty_and_whitespace_text_has_no_chunks() -> None:
    assert chunk_text("") == []
    assert chunk_text(" \n\n\t ") == []


def test_short_text_is_one_trimmed_chunk() -> None:
    text = "\n  Only one sentence here.  \n"
    [chunk] = chunk_text(text)
    assert chunk.text == "Only one sentence here."
    assert text[chunk.start : chunk.end] == chunk.text
    assert chunk.index == 0


def test_seed_article_chunks_are_whole_sentences_with_overlap() -> None:
    text = normalize_text((CORPORA / "seed" / "alibaba-baidu-ai-chips.txt").read_text(encoding="utf-8"))
    chunks = chunk_text(text, chunk_tokens=120, overlap_tokens=30)
    assert len(chunks) > 5
    spans = set(sentence_spans(text))
    starts = {a for a, _ in spans}
    ends = {b for _, b in spans}
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.start in starts and chunk.end in ends  # never cut mid-sentence
        assert count_tokens(chunk.text) <= 120
    overlapping = sum(1 for a, b in zip(chunks, chunks[1:], strict=False) if b.start < a.end)
    assert overlapping >= len(chunks) // 2
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_no_overlap_when_overlap_is_zero() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_text(text, chunk_tokens=30, overlap_tokens=0)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start > a.end
    assert " ".join(c.text for c in chunks) == text


def test_overlong_sentence_is_split_at_word_boundaries() -> None:
    words = [f"word{i}" for i in range(500)]
    text = " ".join(words) + "."
    chunks = chunk_text(text, chunk_tokens=100, overlap_tokens=10)
    assert len(chunks) >= 5
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 100
        assert re.fullmatch(r"word\d+", chunk.text.split()[0])  # starts on a whole word
    assert chunks[-1].text.endswith("word499.")
    assert count_tokens(chunks[-1].text) > 50  # pieces are balanced, no tiny leftover


def test_chunk_prefers_paragraph_break_when_half_full() -> None:
    para1 = " ".join(f"First paragraph sentence {i}." for i in range(12))  # ~60 tokens
    para2 = " ".join(f"Second paragraph sentence {i}." for i in range(12))
    text = f"{para1}\n\n{para2}"
    chunks = chunk_text(text, chunk_tokens=100, overlap_tokens=0)
    assert chunks[0].text == para1
    assert chunks[1].text == para2


_CHUNK_SPANS = (
    "import json, sys\n"
    "from ingest.chunking import chunk_text\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "print(json.dumps([[c.index, c.start, c.end] for c in chunk_text(text, 80, 20)]))"
)


def test_chunking_is_deterministic_across_processes() -> None:
    """Chunk ids are the article id and the chunk's index, so a re-ingest in another process must cut the same
    text into the same chunks: no dependence on the hash seed, set order or anything else in the process."""
    path = SAMPLE_CORPUS / "tech" / "2d-metal-slug-offers-retro-fun.txt"
    text = path.read_text(encoding="utf-8")
    chunks = chunk_text(text, 80, 20)
    spans = [[c.index, c.start, c.end] for c in chunks]
    assert len(chunks) > 2 and [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.text == text[c.start : c.end] for c in chunks)
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        got = subprocess.run(
            [sys.executable, "-c", _CHUNK_SPANS, str(path)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout) == spans, f"other chunks with PYTHONHASHSEED={seed}"


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_bad_sizes_are_rejected(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        chunk_text("Some text.", size, overlap)


_ALPHABET = st.sampled_from(list("abcXYZ .!?\n\n,\"'()7\u3002\t-") + ["word", "Long", "e.g.", "Dr."])


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(max_size=400), st.lists(_ALPHABET, max_size=300).map("".join)),
    size=st.integers(min_value=1, max_value=60),
    overlap_fraction=st.floats(min_value=0, max_value=0.9),
)
def test_chunk_properties(text: str, size: int, overlap_fraction: float) -> None:
    overlap = min(size - 1, int(size * overlap_fraction))
    chunks = chunk_text(text, chunk_tokens=size, overlap_tokens=overlap)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    covered = [False] * len(text)
    for chunk in chunks:
        assert chunk.text and chunk.text == chunk.text.strip()
        assert text[chunk.start : chunk.end] == chunk.text
        for i in range(chunk.start, chunk.end):
            covered[i] = True
        single_word = len(chunk.text.split()) == 1
        assert count_tokens(chunk.text) <= size * 1.5 or single_word
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
    starts = [c.start for c in chunks]
    ends = [c.end for c in chunks]
    assert starts == sorted(starts) and ends == sorted(ends)
    assert len(set(starts)) == len(starts)
