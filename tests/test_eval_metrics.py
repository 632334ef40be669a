"""Evaluation metrics on hand-made cases: each expected number was worked out by hand."""

from __future__ import annotations

import pytest

from eval.metrics import (
    QuestionScore,
    answer_match,
    citation_score,
    dedupe_articles,
    latency_stats,
    percentile,
    refusal_scores,
    retrieval_scores,
    score_answer,
    summarize,
    token_f1,
)
from eval.normalize import contains, normalize

# normalization -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("£1bn", "1 billion"),
        ("7%", "7 per cent"),
        ("three million", "3m"),
        ("The Dharma Institute", "dharma institute"),
        ("U.S.", "US"),
        ("1,000,000", "1000000"),
        ("1.3 metres", "1.3m"),
        ("4.2 feet", "4.2ft"),
        ("13 kilograms", "13kg"),
    ],
)
def test_normalize_merges_spellings_of_the_same_answer(a, b):
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize(("a", "b"), [("1.5", "15"), ("7nm", "7"), ("Intel", "Intelligence"), ("4.2 feet", "4.2m")])
def test_normalize_keeps_different_answers_apart(a, b):
    assert normalize(a) != normalize(b)


def test_contains_needs_whole_tokens_and_sees_through_glued_sentences():
    assert contains("Baidu also rose more than 6%.Sources said", "6%")
    assert not contains("It sold 160,000 units", "60,000")
    assert not contains("anything", "")


# retrieval -------------------------------------------------------------------------


def test_dedupe_keeps_first_appearance_order():
    assert dedupe_articles(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_hit_and_mrr_for_a_gold_article_at_rank_three():
    scores = retrieval_scores(["x", "y", "gold", "z"], ["gold"])
    assert scores == {"hit@1": 0.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": pytest.approx(1 / 3)}


def test_passages_of_one_article_count_once_in_the_ranking():
    # five passages of "x" then the gold article: after dedup the gold article is second
    scores = retrieval_scores(["x"] * 5 + ["gold"], ["gold"])
    assert scores["hit@1"] == 0.0 and scores["hit@5"] == 1.0
    assert scores["mrr@10"] == pytest.approx(0.5)


def test_miss_scores_zero_everywhere():
    scores = retrieval_scores([f"a{i}" for i in range(20)], ["gold"])
    assert set(scores.values()) == {0.0}


def test_gold_beyond_ten_is_no_reciprocal_rank():
    ranked = [f"a{i}" for i in range(10)] + ["gold"]
    assert retrieval_scores(ranked, ["gold"])["mrr@10"] == 0.0


def test_multi_article_hit_needs_one_gold_and_all_gold_needs_both():
    ranked = ["first", "x", "y", "z", "w", "v", "second"]
    scores = retrieval_scores(ranked, ["first", "second"])
    assert scores["hit@1"] == 1.0
    assert scores["all_gold@5"] == 0.0
    assert scores["all_gold@10"] == 1.0


def test_single_gold_has_no_all_gold_score():
    assert "all_gold@5" not in retrieval_scores(["gold"], ["gold"])
    # a single-article question whose story ran twice: either copy is a hit, all_gold is not asked for
    assert "all_gold@5" not in retrieval_scores(["copy", "x"], ["story", "copy"], all_gold=False)
    assert retrieval_scores(["copy", "x"], ["story", "copy"], all_gold=False)["hit@1"] == 1.0


def test_retrieval_of_a_question_without_gold_is_an_error():
    with pytest.raises(ValueError, match="unanswerable"):
        retrieval_scores(["a"], [])


def test_empty_ranking_is_a_miss():
    assert retrieval_scores([], ["gold"])["hit@10"] == 0.0


# answers ------------------------------------------------------------------------------


def test_answer_matches_through_an_alias_only():
    accepted = ["Lionhead Studios", "Lionhead"]
    assert answer_match("He runs Lionhead, based in Surrey [1].", accepted)
    assert not answer_match("He runs a studio in Surrey [1].", accepted)


def test_answer_match_normalizes_currency_and_scale():
    assert answer_match("Shoppers will spend 4 billion pounds online.", ["£4bn"])
    assert not answer_match("Shoppers will spend £14bn online.", ["£4bn"])


def test_token_f1_takes_the_best_alias():
    # prediction tokens: [jez, san]; vs "Jez San" -> F1 1.0; vs "San" -> 2/3
    assert token_f1("Jez San", ["San", "Jez San"]) == pytest.approx(1.0)
    # prediction [it, was, jez, san] vs [jez, san]: P=2/4, R=1 -> F1 = 2/3
    assert token_f1("It was Jez San.", ["Jez San"]) == pytest.approx(2 / 3)
    assert token_f1("Nobody", ["Jez San"]) == 0.0
    assert token_f1("", ["Jez San"]) == 0.0


def test_refused_answerable_question_scores_no_match():
    got = score_answer("single", ["Bloglines"], "I cannot answer (Bloglines?)", True, [], ["g"], [])
    assert got == {
        "refused": True, "match": False, "f1": 0.0, "citation": None, "crag": 0, "events": None, "order": None,
        "flagged": None,
    }  # fmt: skip


def test_unanswerable_question_has_no_answer_scores():
    got = score_answer("unanswerable", [], "Some answer", False, [], [], [])
    assert got["match"] is None and got["f1"] is None and got["refused"] is False


# refusals --------------------------------------------------------------------------


def test_refusals_counted_both_ways():
    outcomes = [
        (True, False),  # refused unanswerable: true positive
        (True, False),  # true positive
        (True, True),  # refused answerable: false positive
        (False, False),  # answered unanswerable: false negative
        (False, True),  # answered answerable: true negative
    ]
    got = refusal_scores(outcomes)
    assert got["refusal_precision"] == pytest.approx(2 / 3)
    assert got["refusal_recall"] == pytest.approx(2 / 3)
    assert got["refusal_rate"] == pytest.approx(3 / 5)


def test_refusal_scores_undefined_without_refusals_or_positives():
    got = refusal_scores([(False, True), (False, True)])
    assert got["refusal_precision"] is None and got["refusal_recall"] is None
    assert got["refusal_rate"] == 0.0
    assert refusal_scores([]) == {"refusal_precision": None, "refusal_recall": None, "refusal_rate": None}


# citations --------------------------------------------------------------------------


def test_citation_score_needs_gold_article_and_support():
    gold = ["gold"]
    evidence = ["Ask Jeeves has bought the Bloglines website to improve the way it handles blogs."]
    citations = [
        ("gold", "In March Ask Jeeves bought Bloglines."),  # gold, holds the answer
        ("other", "Ask Jeeves bought Bloglines."),  # holds the answer, wrong article
        ("gold", "The weather was fine."),  # gold article, nothing supporting
        ("gold", "ask jeeves has bought the website to improve the way it handles blogs"),  # most evidence words
    ]
    assert citation_score(citations, gold, ["Bloglines"], evidence) == pytest.approx(2 / 4)


def test_citation_score_without_citations_is_none():
    assert citation_score([], ["gold"], ["x"], []) is None


# latency ----------------------------------------------------------------------------------


def test_percentiles_interpolate_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile([], 50) is None


def test_latency_stats_per_stage_ignore_missing_stages():
    timings = [{"retrieve": 0.1, "total": 1.0}, {"retrieve": 0.3, "generate": 2.0, "total": 3.0}]
    got = latency_stats(timings)
    assert got["retrieve_median"] == pytest.approx(0.2)
    assert got["generate_median"] == pytest.approx(2.0)
    assert got["total_p95"] == pytest.approx(2.9)
    assert latency_stats([])["total_median"] is None


# summary ------------------------------------------------------------------------------


def test_summary_per_type_and_overall():
    scores = [
        QuestionScore(
            "s1",
            "single",
            retrieval={"hit@1": 1.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": 1.0},
            refused=False,
            match=True,
            f1=1.0,
            citation=1.0,
            timings={"total": 1.0},
        ),
        QuestionScore(
            "s2",
            "single",
            retrieval={"hit@1": 0.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": 0.5},
            refused=True,
            match=False,
            f1=0.0,
            timings={"total": 3.0},
        ),
        QuestionScore(
            "m1",
            "multi",
            retrieval={"hit@1": 1.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": 1.0, "all_gold@5": 0.0, "all_gold@10": 1.0},
            refused=False,
            match=True,
            f1=0.5,
            citation=0.5,
        ),
        QuestionScore("u1", "unanswerable", refused=True),
        QuestionScore("u2", "unanswerable", refused=False),
        QuestionScore("s3", "single", error="LLM crashed"),
    ]
    summary = summarize(scores)
    overall = summary["overall"]
    assert overall["n"] == 6 and overall["failed"] == 1
    assert overall["hit@1"] == pytest.approx(2 / 3)
    assert overall["mrr@10"] == pytest.approx(2.5 / 3)
    assert overall["all_gold@5"] == 0.0 and overall["all_gold@10"] == 1.0
    assert overall["match"] == pytest.approx(2 / 3)
    assert overall["f1"] == pytest.approx(1.5 / 3)
    assert overall["citation"] == pytest.approx(0.75)
    assert overall["refusal_precision"] == pytest.approx(1 / 2)  # u1 right, s2 wrong
    assert overall["refusal_recall"] == pytest.approx(1 / 2)  # u1 refused, u2 answered
    assert overall["total_median"] == pytest.approx(2.0)
    assert summary["single"]["n"] == 3 and summary["single"]["failed"] == 1
    assert summary["single"]["all_gold@5"] is None
    assert summary["unanswerable"]["hit@1"] is None
    assert summary["unanswerable"]["refusal_recall"] == pytest.approx(1 / 2)


def test_summary_of_nothing():
    summary = summarize([])
    assert list(summary) == ["overall"]
    assert summary["overall"]["n"] == 0 and summary["overall"]["hit@1"] is None


def test_timeline_scores_events_found_and_their_order():
    from eval.metrics import score_answer

    events = [["agreed to merge"], ["inquiry"], ["cleared"]]
    good = "- 4 Mar 2024: They agreed to merge [1].\n- 16 May 2024: An inquiry opened [2].\n- 20 Aug 2024: Cleared [3]."
    got = score_answer("timeline", [], good, False, [], [], [], events, 2)
    assert got["match"] and got["events"] == 1.0 and got["order"] == 1.0
    swapped = "- Cleared [1].\n- An inquiry opened [2].\n- They agreed to merge [3]."
    got = score_answer("timeline", [], swapped, False, [], [], [], events, 2)
    assert not got["match"] and got["events"] == 1.0 and got["order"] == 0.0
    got = score_answer("timeline", [], "- An inquiry opened [1].", False, [], [], [], events, 2)
    assert not got["match"] and got["events"] == 1 / 3 and got["order"] is None


def test_conflict_needs_both_figures_and_flags_are_counted_for_any_answer():
    from eval.metrics import score_answer

    figures = [["799"], ["849"]]
    both = "It costs $799 [1]. The reports differ: A says $799 [1]; B says $849 [2]."
    got = score_answer("conflict", [], both, False, [], [], [], figures, 2)
    assert got["match"] and got["flagged"] is True
    got = score_answer("conflict", [], "It costs $799 [1].", False, [], [], [], figures, 2)
    assert not got["match"] and got["flagged"] is False
    assert score_answer("single", ["3bn"], "Tessaro invests $3bn [1].", False, [], [], [])["flagged"] is False
    assert score_answer("single", ["3bn"], "No answer.", True, [], [], [])["flagged"] is None


def test_a_date_answer_may_be_written_day_first_or_month_first() -> None:
    assert answer_match("Stalker is out on PC on March 1, 2005.", ["1 March"])
    assert answer_match("It ships on 1 March.", ["March 1st"])
    assert not answer_match("It ships on 2 March.", ["1 March"])
    assert not answer_match("It ships on March 11.", ["1 March"])
