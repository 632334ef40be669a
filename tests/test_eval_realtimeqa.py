"""The RealTimeQA suite's scoring on a few of its articles (hash embedder, no LLM): both conditions run, and
time understanding keeps another week's articles out."""

from __future__ import annotations

import pytest

from eval import realtimeqa
from rag.api import NewsQA


@pytest.fixture
def corpus():
    if not realtimeqa.CORPUS.is_dir():
        pytest.skip("../shared/corpora/realtimeqa-2022 is not beside this checkout")
    return realtimeqa.CORPUS


def test_scores_side_by_side_on_gold_and_other_weeks_articles(corpus, settings):
    questions = [q for q in realtimeqa.load_questions(corpus) if "this week" in q["question"]][:6]
    paths = {corpus.parent / s for q in questions for s in q["sources"]}
    others = sorted((corpus / "articles").glob("*.json"))[:40]  # other stories, mostly other weeks
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}))
    assert qa.ingest(sorted(paths | set(others))).ok

    rows = {name: [realtimeqa.score_question(qa, q, on, answers=False) for q in questions] for name, on in
            realtimeqa.CONDITIONS}  # fmt: skip
    with_time, without = rows["with time understanding"], rows["without"]
    assert all(r["filter"] and r["filter"].startswith("this week:") for r in with_time)
    assert all(r["filter"] is None for r in without)
    spread = set()
    for q in questions:  # with the filter, every retrieved article is from the quiz's week; without, not
        found = qa.time_filter(q["question"], q["now"])
        passages = qa.retrieve(q["question"], now=q["now"])
        assert passages and all(found.since <= p.published.date() <= found.until for p in passages)
        unfiltered = qa.retrieve(q["question"], now=q["now"], understand_time=False)
        spread |= {p.published is None or not found.since <= p.published.date() <= found.until for p in unfiltered}
    assert True in spread
    summary = realtimeqa.summarize(with_time)
    assert summary["questions"] == 6 and summary["with a date filter"] == 6 and 0 < summary["gold@5"] <= 1
