"""Normalization: glued sentences repaired, everything else that looks like a glued sentence left alone."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import SHARED_CORPORA

from ingest.normalize import normalize_text, normalize_title

CORPORA = SHARED_CORPORA

GLUED = [
    ("intense.In late August", "intense. In late August"),
    ("rose more than 6%.Sources said", "rose more than 6%. Sources said"),
    ("such as Nvidia H100.This cooperation", "such as Nvidia H100. This cooperation"),
    ("It works!Then it broke", "It works! Then it broke"),
    ("Is it?Nobody knows", "Is it? Nobody knows"),
    ('to "full-stack capabilities."In the future', 'to "full-stack capabilities." In the future'),
    ("it said (in 2004).Analysts agree", "it said (in 2004). Analysts agree"),
    ("the year 2022.Especially after", "the year 2022. Especially after"),
    ("he said.\u201cThe end\u201d", "he said. \u201cThe end\u201d"),
]

UNCHANGED = [
    "Prices rose 7.5% this year.",
    "The U.S. market and the U.K. market.",
    "Some chips, e.g. the P800, i.e. Kunlun.",
    "Written in Node.js and served from example.com and www.bbc.co.uk today.",
    "See https://a.b/c.d?x=1.2 for details.",
    "See https://example.com/News.Html and http://www.Example.com/A.Bc now.",
    "Mail John.Smith@example.com or press.Office@bbc.co.uk today.",
    "Version v2.0.1 ships at 5.30pm on Monday.",
    "J.K. Rowling met Mr.Smith and Dr.Jones.",
    "Pi is 3.14159 and e is 2.71828.",
    "Just wait...What happened? Wait\u2026Then",
    "A sentence. Another one! And a third? Yes.",
]


@pytest.mark.parametrize(("raw", "fixed"), GLUED)
def test_glued_sentences_get_their_space(raw: str, fixed: str) -> None:
    assert normalize_text(raw) == fixed


@pytest.mark.parametrize("text", UNCHANGED)
def test_numbers_abbreviations_urls_and_names_are_left_alone(text: str) -> None:
    assert normalize_text(text) == text


def test_seed_article_glued_sentences_are_repaired() -> None:
    raw = (CORPORA / "seed" / "alibaba-baidu-ai-chips.txt").read_text(encoding="utf-8")
    assert "intense.In late August" in raw
    text = normalize_text(raw)
    assert "intense. In late August" in text
    assert "rose more than 6%. Sources said" in text
    assert "NVIDIA A100/H100 to China" in text  # a slash-separated model list is not a sentence break
    assert ".In " not in text
    assert normalize_text(text) == text


def test_whitespace_is_unified_and_paragraphs_kept() -> None:
    raw = "  First\tline   here  \r\nsecond line\u00a0\u00a0end\r\n\r\n\r\n\n  Next   paragraph.\n\n\n"
    assert normalize_text(raw) == "First line here\nsecond line end\n\nNext paragraph."


def test_control_and_invisible_characters_are_removed() -> None:
    raw = "Zero\u200bwidth\x00 and\x07 bell\ufeff, soft\u00adhyphen\x1b."
    assert normalize_text(raw) == "Zerowidth and bell, softhyphen."


def test_unicode_is_composed_to_nfc() -> None:
    decomposed = "Cafe\u0301 and nai\u0308ve"
    text = normalize_text(decomposed)
    assert text == "Caf\u00e9 and na\u00efve"
    assert unicodedata.is_normalized("NFC", text)


def test_literal_markup_stays_text() -> None:
    assert normalize_text("Use <script>alert(1)</script> carefully.") == "Use <script>alert(1)</script> carefully."


def test_title_is_one_clean_line() -> None:
    assert normalize_title("  Big\n  news\t\u00a0today\x00 ") == "Big news today"
    assert normalize_title("Cafe\u0301") == "Caf\u00e9"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\n\n\n" not in once
    assert once == once.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZz.!?\"')%@/: \n\t7wW\u201c\u2026")), max_size=60))
def test_normalize_idempotent_on_punctuation_heavy_text(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert normalize_title(normalize_title(text)) == normalize_title(text)
