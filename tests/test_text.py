"""core.text: sentences, abbreviations, glued sentences, tokens, stems and stopwords of news text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import (
    ABBREVIATIONS,
    SEARCH_STOPWORDS,
    STOPWORDS,
    content_words,
    is_abbreviation,
    repair_glued_sentences,
    sentence_spans,
    split_sentences,
    stem,
    tokens,
)

# (text, its sentences)
SENTENCES = [
    ("Apple Inc. said it grew. Sales rose.", ["Apple Inc. said it grew.", "Sales rose."]),
    ("Apple Inc. Chief Executive Tim Cook spoke.", ["Apple Inc. Chief Executive Tim Cook spoke."]),
    ("It shipped on Jan. 5 the firm said. Then it sold out.", ["It shipped on Jan. 5 the firm said.", "Then it sold out."]),
    ("Due on Sept. 30. Then more.", ["Due on Sept. 30.", "Then more."]),
    ("Sen. Warren said so. Rep. Smith and Gov. Newsom agreed.", ["Sen. Warren said so.", "Rep. Smith and Gov. Newsom agreed."]),
    ("Mr. Li and Dr. Ng met at St. Mary's.", ["Mr. Li and Dr. Ng met at St. Mary's."]),
    ("Acme Corp. Chairman Li and Foo Ltd. Boss Ng met Bar Co. Staff.", ["Acme Corp. Chairman Li and Foo Ltd. Boss Ng met Bar Co. Staff."]),
    ("The U.S. Senate voted. The U.K. Parliament did too.", ["The U.S. Senate voted.", "The U.K. Parliament did too."]),
    ("J. K. Rowling and J.K. Simmons came.", ["J. K. Rowling and J.K. Simmons came."]),
    ("Chips, e.g. The P800, i.e. Kunlun.", ["Chips, e.g. The P800, i.e. Kunlun."]),
    ("It runs at 1.5 GHz. Version 3.1 shipped.", ["It runs at 1.5 GHz.", "Version 3.1 shipped."]),
    ("It costs $2.5 billion. It ships in 2025.", ["It costs $2.5 billion.", "It ships in 2025."]),
    ("Competition is intense.In late August, OpenAI spoke.", ["Competition is intense.", "In late August, OpenAI spoke."]),
    ("Sales rose 6%.Sources said so.", ["Sales rose 6%.", "Sources said so."]),
    ('He said "Great!" Then he left.', ['He said "Great!"', "Then he left."]),
    ('He said "No." Then he left.', ['He said "No."', "Then he left."]),
    ("It is No. 1 in sales. Asked again, he said no. Then he left.", ["It is No. 1 in sales.", "Asked again, he said no.", "Then he left."]),
    ("Hosts Ant and Dec. Natalie quit.", ["Hosts Ant and Dec.", "Natalie quit."]),
    ("Phones, tablets etc. The firm sells them.", ["Phones, tablets etc.", "The firm sells them."]),
    ("It closes at 5 p.m. The shop opens at 9.", ["It closes at 5 p.m.", "The shop opens at 9."]),
    ("Plan b. Then plan c.", ["Plan b.", "Then plan c."]),
    ("See www.bbc.co.uk and https://example.com/News.Html today.", ["See www.bbc.co.uk and https://example.com/News.Html today."]),
    ("Mail John.Smith@example.com now.", ["Mail John.Smith@example.com now."]),
    ("Wait... What happened?", ["Wait...", "What happened?"]),
    ("Wait...What happened?", ["Wait...What happened?"]),
    ("A line that is\nwrapped here.\nNext line\n\nnew paragraph", ["A line that is\nwrapped here.", "Next line", "new paragraph"]),
    ("第一句。第二句！", ["第一句。", "第二句！"]),
    ("", []),
    ("  \n ", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "sentences"), SENTENCES)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences
    assert [text[a:b] for a, b in sentence_spans(text)] == sentences


# (text, repaired): a missing space after a sentence end is put back, nothing else is touched.
GLUED = [
    ("intense.In late August", "intense. In late August"),
    ("rose 6%.Sources said", "rose 6%. Sources said"),
    ('to "capabilities."In the future', 'to "capabilities." In the future'),
    ("he said.\u201cThe end\u201d", "he said. \u201cThe end\u201d"),
    ("he said no.Then he left", "he said no. Then he left"),
    ("Mr.Smith and Dr.Jones", "Mr.Smith and Dr.Jones"),
    ("Apple Inc.Chief Tim Cook", "Apple Inc.Chief Tim Cook"),
    ("1.5 GHz and the U.S. market", "1.5 GHz and the U.S. market"),
    ("Node.js at https://example.com/News.Html", "Node.js at https://example.com/News.Html"),
    ("wait...What and wait\u2026Then", "wait...What and wait\u2026Then"),
]


@pytest.mark.parametrize(("text", "repaired"), GLUED)
def test_repair_glued_sentences(text: str, repaired: str) -> None:
    assert repair_glued_sentences(text) == repaired


@pytest.mark.parametrize(
    ("word", "following", "expected"),
    [
        ("Inc", "C", True),
        ("Sen", "W", True),
        ("U.S", "S", True),
        ("e.g", "T", True),
        ("J", "K", True),
        ("Jan", "5", True),
        ("Jan", "T", False),
        ("No", "1", True),
        ("no", "T", False),
        ("etc", "T", False),
        ("b", "T", False),
        ("p.m", "T", False),
        ("chips", "T", False),
    ],
)
def test_is_abbreviation(word: str, following: str, expected: bool) -> None:
    assert is_abbreviation(word, following) is expected


def test_abbreviations_hold_the_union_of_the_old_lists() -> None:
    for word in "mr dr st sen rep gov inc corp ltd co jan feb sept e.g i.e etc u.s".split():
        assert word in ABBREVIATIONS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alibaba's chips-maker rose 7.5% to $2,500", ["alibaba's", "chips", "maker", "rose", "7.5%", "to", "$2,500"]),
        ("Don\u2019t stop", ["don't", "stop"]),
        ("Baidu's P800", ["baidu's", "p800"]),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("chips", "chip"),
        ("chip", "chip"),
        ("companies", "compani"),
        ("trained", "train"),
        ("training", "train"),
        ("stopped", "stop"),
        ("need", "need"),
        ("speed", "speed"),
        ("us", "us"),
        ("baidu's", "baidu"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_stem_matches_word_forms() -> None:
    assert stem("company") == stem("companies")
    assert stem("announce") == stem("announced") == stem("announces")


def test_content_words_drop_stopwords_and_filler_and_keep_numbers() -> None:
    words = content_words("According to the passages, the chips were trained in three weeks")
    assert words == {"chip", "train", "#3", "week"}
    assert content_words("It costs $2.5bn, up 7%") == {"#2.5bn", "#2.5", "cost", "#7"}
    assert content_words("Based on the information in the passages:") == set()
    assert content_words("the Z1's price") == content_words("the Z1 price") == {"#z1", "pric"}  # a model's possessive


def test_search_stopwords_extend_the_claim_stopwords() -> None:
    assert STOPWORDS < SEARCH_STOPWORDS
    assert SEARCH_STOPWORDS - STOPWORDS == {"article", "articles", "news", "tell", "many"}
    assert stem("many") in content_words("Many chips")  # a claim may be about how many


_PIECES = [*"aZz.!?\"')%@/: \n\t7wW\u201c\u2026", "Inc", "Jan", "U.S", "e.g", "In"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES)).map("".join))
def test_spans_cover_every_visible_character_and_repair_is_idempotent(text: str) -> None:
    spans = sentence_spans(text)
    covered = {i for a, b in spans for i in range(a, b)}
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())
    assert all(a < b and not text[a].isspace() and not text[b - 1].isspace() for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))
    once = repair_glued_sentences(text)
    assert repair_glued_sentences(once) == once
