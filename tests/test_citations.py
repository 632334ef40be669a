"""Citation post-processing: a table of raw model answers -> cleaned text and cited passage order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.text import split_sentences
from rag.citations import clean_citations, marker_numbers, parse_answer

VALID = {1, 2, 3, 4}

# (raw model output, cleaned text, original passage numbers in citation order)
CASES = [
    ("Alibaba uses its own chips [1].", "Alibaba uses its own chips [1].", [1]),
    # renumbered in order of first citation; only cited passages listed
    (
        "Baidu uses Kunlun [3]. Alibaba uses Dharma chips [1].",
        "Baidu uses Kunlun [1]. Alibaba uses Dharma chips [2].",
        [3, 1],
    ),
    # lists and ranges
    ("Both moved training in-house [1, 3].", "Both moved training in-house [1][2].", [1, 3]),
    ("Both moved training in-house [2-4].", "Both moved training in-house [1][2][3].", [2, 3, 4]),
    ("Both moved training in-house [2–3].", "Both moved training in-house [1][2].", [2, 3]),
    ("Chips got faster [1][2].", "Chips got faster [1][2].", [1, 2]),
    # labelled variants
    ("Baidu uses P800 chips [Passage 2].", "Baidu uses P800 chips [1].", [2]),
    ("Baidu uses P800 chips (Passage 2).", "Baidu uses P800 chips [1].", [2]),
    ("Baidu uses P800 chips [passages 2, 4].", "Baidu uses P800 chips [1][2].", [2, 4]),
    ("Baidu uses P800 chips [Source 2].", "Baidu uses P800 chips [1].", [2]),
    ("Baidu uses P800 chips[^2].", "Baidu uses P800 chips [1].", [2]),
    # hallucinated numbers removed, valid ones kept
    ("Nvidia lost share [7].", "Nvidia lost share.", []),
    ("Nvidia lost share [2, 9].", "Nvidia lost share [1].", [2]),
    ("Nvidia lost share [0].", "Nvidia lost share.", []),
    # duplicates merged
    ("Alibaba rose 7% [1][1]. Baidu rose 6% [1].", "Alibaba rose 7% [1]. Baidu rose 6% [1].", [1]),
    ("Alibaba rose 7% [2, 2, 2].", "Alibaba rose 7% [1].", [2]),
    # marker after the full stop belongs to the sentence before it
    ("Alibaba rose 7%. [2] Baidu rose 6%. [1]", "Alibaba rose 7% [1]. Baidu rose 6% [2].", [2, 1]),
    # whitespace before markers and doubled punctuation tidied
    ("Alibaba rose 7%   [1] .", "Alibaba rose 7% [1].", [1]),
    ("Alibaba rose 7%[1].", "Alibaba rose 7% [1].", [1]),
    # markers on a line of their own join the sentence before
    ("Alibaba rose 7%.\nSources: [1][2]", "Alibaba rose 7% [1][2].", [1, 2]),
    # mid-sentence markers move to the end of their sentence
    ("Alibaba [1] and Baidu [2] rose.", "Alibaba and Baidu rose [1][2].", [1, 2]),
    # bullet lists become sentences
    ("- Alibaba rose 7% [1]\n- Baidu rose 6% [2]", "Alibaba rose 7% [1]. Baidu rose 6% [2].", [1, 2]),
    # a numbered list written inline: its items are the sentences, its lead-in is not a claim
    (
        "The reasons include: 1. Chips are scarce [1]. 2. Costs rose [2].",
        "Chips are scarce [1]. Costs rose [2].",
        [1, 2],
    ),
    ("Doubts include:\n1. It is slow [2].\n2. It is dear [1].", "It is slow [1]. It is dear [2].", [2, 1]),
    # numbers that are not citations stay
    ("The P800 has 256 TOPS [3].", "The P800 has 256 TOPS [1].", [3]),
    ("No citation at all.", "No citation at all.", []),
]


@pytest.mark.parametrize(("raw", "text", "order"), CASES, ids=[c[0][:40] for c in CASES])
def test_raw_answer_is_cleaned(raw, text, order):
    assert clean_citations(raw, VALID) == (text, order)


def test_sentences_keep_their_own_citations():
    sentences = parse_answer("Alibaba rose 7% [1]. It uses Dharma chips. Baidu rose 6% [2].", VALID)
    assert [(s.text, s.numbers) for s in sentences] == [
        ("Alibaba rose 7%.", [1]),
        ("It uses Dharma chips.", []),
        ("Baidu rose 6%.", [2]),
    ]


def test_glued_sentences_and_abbreviations_split_correctly():
    text = "Competition is intense.In late August, OpenAI spoke. Mr. Li of the U.S. team agreed. Sales rose 6%.Sources said so."
    assert split_sentences(text) == [
        "Competition is intense.",
        "In late August, OpenAI spoke.",
        "Mr. Li of the U.S. team agreed.",
        "Sales rose 6%.",
        "Sources said so.",
    ]


def test_decimal_numbers_are_not_sentence_breaks():
    assert split_sentences("It costs $2.5 billion. Version 3.1 shipped.") == [
        "It costs $2.5 billion.",
        "Version 3.1 shipped.",
    ]


# --- properties ---------------------------------------------------------------------------------

_words = st.sampled_from(
    ["Alibaba", "rose", "7%", "chips", "in", "2024", "Baidu", "e.g.", "U.S.", "and", ".", "!", "\n"]
)
_markers = st.builds(
    lambda ns: "[" + ", ".join(map(str, ns)) + "]", st.lists(st.integers(-2, 12), min_size=1, max_size=3)
)
_raw = st.lists(st.one_of(_words, _markers, st.text(max_size=6)), max_size=40).map(" ".join)


@hypothesis_settings(max_examples=300, deadline=None)
@given(raw=_raw, n_passages=st.integers(0, 6))
def test_cleaned_citations_are_valid_and_numbered_in_order_of_first_use(raw, n_passages):
    text, order = clean_citations(raw, range(1, n_passages + 1))
    # every cited original number is a real passage, each listed once
    assert all(1 <= n <= n_passages for n in order) and len(order) == len(set(order))
    # the markers left in the text are exactly 1..len(order), first used in that order
    used = marker_numbers(text)
    assert set(used) == set(range(1, len(order) + 1))
    first_uses = list(dict.fromkeys(used))
    assert first_uses == sorted(first_uses)
    # cleaning again keeps every source and its number (sentence splits may differ after re-joining lines)
    assert clean_citations(text, range(1, len(order) + 1))[1] == list(range(1, len(order) + 1))


def test_narrated_sources_become_plain_cited_claims():
    raw = "The passage [1] states that broadband is competitive. [2] mentions that there is a vast choice."
    assert [(s.text, s.numbers) for s in parse_answer(raw, {1, 2})] == [
        ("Broadband is competitive.", [1]),
        ("There is a vast choice.", [2]),
    ]
    assert parse_answer("The passage states that banks switch [1].", {1})[0].text == "Banks switch."
    assert (
        parse_answer("Sony states that it will cut prices [1].", {1})[0].text == "Sony states that it will cut prices."
    )


def test_markers_written_before_their_sentences_cite_those_sentences():
    parsed = parse_answer("[1] The chip is fast. [2] It is cheap.", {1, 2})
    assert [(s.text, s.numbers) for s in parsed] == [("The chip is fast.", [1]), ("It is cheap.", [2])]
    # the usual style, markers after a stop included, is unchanged
    parsed = parse_answer("The chip is fast. [1] It is cheap [2].", {1, 2})
    assert [(s.text, s.numbers) for s in parsed] == [("The chip is fast.", [1]), ("It is cheap.", [2])]
