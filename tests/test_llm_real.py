"""The real bundled model (Qwen2.5-Coder-1.5B, llama.cpp) answering over the seed article.

Slow (seconds per answer): run with `pytest tests/test_llm_real.py -m real`. The model loads once
per module. Latencies are printed (-s) and kept in the module's LATENCIES for the report.
"""

from __future__ import annotations

import time

import pytest
from fakes import seed_passages
from paths import SEED_ARTICLE

from core.settings import Settings
from rag.answer import REFUSAL, Answerer

pytestmark = pytest.mark.real

LATENCIES: dict[str, float] = {}


@pytest.fixture(scope="module")
def answerer():
    from rag.llm import ModelError, get_llm

    if not SEED_ARTICLE.is_file():
        pytest.skip("../shared/corpora is not beside this checkout")
    settings = Settings(llm="local")  # the shared models_dir: the GGUF is assembled once per machine
    try:
        llm = get_llm(settings)
    except ModelError as e:
        pytest.skip(f"local model unavailable: {e}")
    return Answerer(lambda: llm, settings)


@pytest.fixture(scope="module")
def docs():
    return seed_passages()


def ask(answerer, docs, question):
    start = time.perf_counter()
    answer = answerer.answer(question, docs)
    LATENCIES[question] = time.perf_counter() - start
    print(f"\n{LATENCIES[question]:.1f}s {question!r} -> {answer.text!r} raw={answer.debug.get('raw')!r}")
    return answer


def cited_text(answer) -> str:
    return " ".join(c.passage.text for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "must_say", "evidence_says"),
    [
        (
            "Which companies are moving AI model training onto their own chips?",
            ["Alibaba", "Baidu"],
            "self-developed chips",
        ),
        ("Which company is OpenAI developing its own AI chips with?", ["Broadcom"], "Broadcom"),
        ("What process technology does the Baidu Kunlun P800 use?", ["7nm"], "7nm"),
    ],
)
def test_answers_from_the_article_with_correct_citations(answerer, docs, question, must_say, evidence_says):
    answer = ask(answerer, docs, question)
    assert not answer.refused, answer.debug
    for word in must_say:
        assert word.lower() in answer.text.lower()
    assert "[1]" in answer.text and answer.citations
    assert evidence_says in cited_text(answer)  # the cited passage really holds the fact
    evidence = " ".join(e for c in answer.citations for e in c.evidence)
    for word in must_say:  # and the highlighted sentences show it
        assert word.lower() in evidence.lower()
    for c in answer.citations:
        assert c.evidence and all(e in c.passage.text for e in c.evidence)


@pytest.mark.parametrize(
    "question",
    [
        "What did Apple announce about the iPhone 17 battery?",
        "How many electric cars did Tesla sell in China in August?",
    ],
)
def test_refuses_questions_the_article_does_not_answer(answerer, docs, question):
    answer = ask(answerer, docs, question)
    assert answer.refused and answer.text == REFUSAL and answer.citations == []
    # Neither Apple nor Tesla is in the article: refused before the model is called (not_addressed)
    assert answer.refusal_reason in ("model_declined", "unsupported", "not_addressed")


def test_streaming_matches_the_final_answer(answerer, docs):
    question = "Which company is OpenAI developing its own AI chips with?"
    items = list(answerer.stream(question, docs))
    assert len(items) > 2 and "Broadcom" in items[-1].text
    assert "".join(items[:-1]).strip() == items[-1].debug["raw"].strip()


def test_follow_up_is_condensed_into_a_standalone_question(answerer):
    history = [("Which companies are moving AI model training onto their own chips?", "Alibaba and Baidu are [1].")]
    start = time.perf_counter()
    question = answerer.condense("And what about OpenAI?", history)
    LATENCIES["condense"] = time.perf_counter() - start
    print(f"\n{LATENCIES['condense']:.1f}s condensed -> {question!r}")
    assert "openai" in question.lower()
    assert "chip" in question.lower()


def test_the_model_doubts_passages_that_do_not_state_the_answer(answerer, docs):
    """The yes/no probe read from the model's token probabilities separates an answered question from one whose
    article discusses the subject but never states what is asked (reusing the evaluated prompt start)."""
    from rag.answer import Plan, _probe_messages
    from rag.context import select_context
    from rag.focus import analyse

    def p_yes(question: str) -> float:
        focus = analyse(question)
        plan = Plan(question, focus, select_context(question, focus, docs, 1200), docs, [(question, focus)])
        start = time.perf_counter()
        p = answerer.llm.yes_probability(_probe_messages(plan))
        print(f"\nP(yes) {p:.2f} in {time.perf_counter() - start:.2f}s for {question!r}")
        return p

    answered = p_yes("On what date did Alibaba and Baidu shares jump in Hong Kong trading?")
    assert p_yes("What did Alibaba's chip cost to design?") < answered - 0.15
    assert p_yes("On what date did Alibaba and Baidu shares jump in Hong Kong trading?") == pytest.approx(
        answered, abs=0.02
    )


def test_a_why_question_is_answered_with_the_articles_reasons_quoted(answerer, docs):
    """The real model's yes/no over each candidate sentence picks the points; they are the article's own sentences."""
    answer = ask(answerer, docs, "Why are Alibaba and Baidu training AI models on their own chips?")
    assert not answer.refused, answer.debug
    probabilities = answer.debug["points_probe"]  # the points path answered: nothing was generated
    assert 2 <= len(probabilities) <= 8 and all(0.0 <= p <= 1.0 for p in probabilities)
    assert "raw" not in answer.debug
    points = [line.removeprefix("- ") for line in answer.text.splitlines()]
    assert 1 <= len(points) <= 3
    assert all(point.endswith("].") for point in points)  # each point cited
    for citation in answer.citations:  # and each a sentence of the passage it cites
        assert citation.evidence and all(e in citation.passage.text for e in citation.evidence)
    reasons = ("export", "supply", "security", "cost", "efficien", "nvidia")
    assert any(r in answer.text.lower() for r in reasons), answer.text


def test_the_model_vouches_for_a_sentence_that_answers_and_not_for_a_tempting_one(answerer):
    """The real model's P(yes) that a sentence, shown alone, states the answer: what lets a sentence that names the
    asked attribute in other words count (Answerer._vouch, threshold VOUCH_MIN_YES)."""
    from rag.answer import VOUCH_MIN_YES

    question = "What is the battery life of the Lumo Z1 phone?"
    answers = answerer.answer_probability(question, "Lumo says the Z1 phone lasts 12 hours before it needs charging.")
    tempting = answerer.answer_probability(question, "The Lumo Z1 phone went on sale in Oslo for 300 euros in March.")
    print(f"\nP(yes) answering {answers:.2f}, tempting {tempting:.2f}")
    assert answers >= VOUCH_MIN_YES > tempting
