"""Dates in questions: a table of (question, today) -> since/until, and end to end over dated articles."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fakes import ScriptedLLM

from rag.api import NewsQA
from rag.timeq import parse_time, today_for

FRI = date(2025, 9, 12)  # a Friday
TUE = date(2026, 2, 3)  # a Tuesday early in a year: "last month" is in the year before

CASES = [
    # relative to today
    ("What happened today?", FRI, "2025-09-12", "2025-09-12"),
    ("What did Apple announce yesterday?", FRI, "2025-09-11", "2025-09-11"),
    ("What did Nvidia announce last week?", FRI, "2025-09-01", "2025-09-07"),
    ("What did Nvidia announce last week?", TUE, "2026-01-26", "2026-02-01"),
    ("Which airline announced a deal this week?", FRI, "2025-09-06", "2025-09-12"),
    ("Any chip news in the past week?", FRI, "2025-09-05", "2025-09-12"),
    ("What happened last month?", FRI, "2025-08-01", "2025-08-31"),
    ("What happened last month?", TUE, "2026-01-01", "2026-01-31"),
    ("What happened this month?", FRI, "2025-09-01", "2025-09-12"),
    ("Who raised prices this year?", FRI, "2025-01-01", "2025-09-12"),
    ("Who raised prices this year?", TUE, "2026-01-01", "2026-02-03"),
    ("What happened last year?", FRI, "2024-01-01", "2024-12-31"),
    ("What did they say 3 days ago?", FRI, "2025-09-09", "2025-09-09"),
    ("What was reported two weeks ago?", FRI, "2025-08-25", "2025-08-31"),
    ("What changed in the last 10 days?", FRI, "2025-09-02", "2025-09-12"),
    ("What happened last Monday?", FRI, "2025-09-08", "2025-09-08"),
    # calendar dates
    ("What did the BBC report in March 2005?", FRI, "2005-03-01", "2005-03-31"),
    ("What was announced in Sept. 2025?", FRI, "2025-09-01", "2025-09-30"),
    ("What happened during 2004?", FRI, "2004-01-01", "2004-12-31"),
    ("Which chips has Baidu used since 2024?", FRI, "2024-01-01", None),
    ("What has happened since last week?", FRI, "2025-09-01", None),
    ("What did Sony sell before 2005?", FRI, None, "2004-12-31"),
    ("What happened after March 2024?", FRI, "2024-04-01", None),
    ("What happened on 12 September 2025?", FRI, "2025-09-12", "2025-09-12"),
    ("What happened on September 12, 2025?", FRI, "2025-09-12", "2025-09-12"),
    ("Stocks on 2025-09-11?", FRI, "2025-09-11", "2025-09-11"),
    ("What happened between March and May 2005?", FRI, "2005-03-01", "2005-05-31"),
    # no date filter
    ("Why are Alibaba and Baidu training AI on their own chips?", FRI, None, None),
    ("What is the latest news on AI chips?", FRI, None, None),
    ("What did Theresa May say about the 2004 election?", FRI, None, None),
    ("What may happen to broadband prices?", FRI, None, None),
    ("What happened before the iPhone launch?", FRI, None, None),
    ("How many of the 2024 models sold?", FRI, None, None),
    ("What was announced in March?", FRI, None, None),  # no year: it may quote an article of any year
    ("Why did shares jump on September 12?", TUE, None, None),
    ("Did shares rise in May?", FRI, None, None),
]


@pytest.mark.parametrize(("question", "today", "since", "until"), CASES)
def test_time_words_become_date_filters(question, today, since, until):
    found = parse_time(question, today)
    got = (None, None) if found is None else (found.since, found.until)
    want = (date.fromisoformat(since) if since else None, date.fromisoformat(until) if until else None)
    assert got == want, f"{question!r} on {today}: {found}"
    if found is not None:
        assert found.text.lower() in question.lower()


def test_today_comes_from_now_then_the_setting():
    assert today_for("2022-06-16") == date(2022, 6, 16)
    assert today_for(None, "2005-03-01") == date(2005, 3, 1)
    assert today_for(None, None) == date.today()
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        today_for("last tuesday")


NOW = "2025-09-12"
DATED = [  # (date, title, text): the same story over several weeks
    ("2025-09-04", "Nvidia shows the H300", "Nvidia announced the H300 accelerator for data centres on Thursday."),
    ("2025-09-02", "Nvidia and Broadcom", "Nvidia announced a networking partnership with Broadcom for AI clusters."),
    ("2025-08-20", "Nvidia earnings", "Nvidia announced record earnings from data centre accelerator sales."),
    ("2025-09-10", "Nvidia cuts prices", "Nvidia announced price cuts on gaming accelerator cards this week."),
    (None, "Nvidia undated", "Nvidia announced a new driver for accelerator cards, says an undated post."),
]


@pytest.fixture
def dated_qa(settings, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    rows = [
        {"title": t, "text": text, "url": f"https://news.example.com/{n}", "source": "Example", "published": d}
        for n, (d, t, text) in enumerate(DATED)
    ]
    (folder / "nvidia.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}), llm=ScriptedLLM())
    assert qa.ingest([folder]).ok
    return qa


def test_last_week_answers_from_last_weeks_articles_only(dated_qa):
    qa = dated_qa
    qa._llm.queue("Nvidia announced the H300 accelerator for data centres [1].")
    answer = qa.ask("What did Nvidia announce last week?", now=NOW)
    assert answer.time_filter is not None and answer.time_filter.describe() == "last week: 2025-09-01 to 2025-09-07"
    assert answer.passages and {p.published.date().isoformat() for p in answer.passages} <= {"2025-09-02", "2025-09-04"}
    prompt = qa._llm.prompts[-1]
    assert "H300" in prompt and "Broadcom" in prompt
    assert "record earnings" not in prompt and "price cuts" not in prompt and "undated" not in prompt
    assert not answer.refused
    assert answer.text.startswith("As of 4 September 2025, Nvidia announced the H300")
    assert answer.to_dict()["time_filter"] == {"text": "last week", "since": "2025-09-01", "until": "2025-09-07"}

    # The same question without time understanding searches every date.
    passages = qa.retrieve("What did Nvidia announce last week?", now=NOW, understand_time=False)
    assert {"2025-08-20", "2025-09-10"} & {p.published.date().isoformat() for p in passages if p.published}
    # Explicit since/until win over the words.
    passages = qa.retrieve("What did Nvidia announce last week?", since="2025-08-01", until="2025-08-31", now=NOW)
    assert {p.published.date().isoformat() for p in passages} == {"2025-08-20"}


def test_a_time_questions_prompt_has_today_and_its_answer_cites_in_date_order(dated_qa):
    qa = dated_qa
    qa._llm.queue(
        "Nvidia announced the H300 accelerator for data centres [1]. "
        "Nvidia announced a networking partnership with Broadcom [2]."
    )
    answer = qa.ask("What did Nvidia announce last week?", now=NOW)
    assert f"Today's date: {NOW}." in qa._llm.prompts[-1]
    assert [c.passage.published.date().isoformat() for c in answer.citations] == ["2025-09-02", "2025-09-04"]
    assert answer.text.index("Broadcom") < answer.text.index("H300")
    qa._llm.queue("Nvidia will ship the H300 in October [1].", "Nvidia will ship the H300 in October [1].")
    qa.ask("When will Nvidia ship the H300 accelerator?", now=NOW)
    assert "Today's date" not in qa._llm.prompts[-1]  # given it, the model answered "when?" with today's date
    qa._llm.replies.clear()  # the second reply is used only if the first answer is asked again


def test_a_date_filter_that_leaves_nothing_says_so_without_asking_the_model(dated_qa):
    answer = dated_qa.ask("What did Nvidia announce in March 2005?", now=NOW)
    assert answer.refused and not answer.passages
    assert "No indexed article is dated in March 2005: 2005-03-01 to 2005-03-31" in answer.refusal_detail
    assert dated_qa._llm.calls == 0


def test_latest_prefers_newer_and_states_the_date_it_cites(dated_qa):
    qa = dated_qa
    passages = qa.retrieve("What is the latest Nvidia accelerator news?", now=NOW)
    assert passages[0].published.date().isoformat() == "2025-09-10"
    qa._llm.queue("Nvidia announced price cuts on gaming accelerator cards [1].")
    answer = qa.ask("What is the latest Nvidia accelerator news?", now=NOW)
    assert answer.time_filter is None
    assert answer.text.startswith("As of 10 September 2025, Nvidia announced price cuts")


def test_now_setting_is_today_for_questions(settings, dated_qa):
    qa = NewsQA(settings=dated_qa.settings.model_copy(update={"now": "2025-08-25"}), llm=ScriptedLLM())
    assert qa.time_filter("What happened last week?").describe() == "last week: 2025-08-18 to 2025-08-24"
    assert {p.published.date().isoformat() for p in qa.retrieve("Nvidia announced last week")} == {"2025-08-20"}


def test_cli_shows_the_date_filter(dated_qa, monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(dated_qa.settings.data_dir))
    monkeypatch.setenv("NEWSRAG_EMBED_MODEL", "hash")
    assert main(["search", "What did Nvidia announce last week?", "--now", NOW, "--mode", "keyword"]) == 0
    out = capsys.readouterr().out
    assert "(date filter from the question: last week: 2025-09-01 to 2025-09-07;" in out
    assert "H300" in out and "price cuts" not in out
    assert main(["search", "What did Nvidia announce last week?", "--now", NOW, "--no-date-filter"]) == 0
    out = capsys.readouterr().out
    assert "date filter" not in out and "price cuts" in out


def test_the_seed_article_carries_its_date_and_unknown_dates_stay_unknown(settings):
    from paths import SAMPLE_CORPUS

    from ingest.readers import load_sources

    outcomes = {o.item: o for o in load_sources([SAMPLE_CORPUS], settings)}
    seed = next(o.articles[0] for item, o in outcomes.items() if item.endswith("alibaba-baidu-ai-chips.txt"))
    assert seed.published.date() == date(2025, 9, 12) and seed.source == "seed"
    assert seed.title.startswith("Alibaba Baidu develops its own AI chips") and "---" not in seed.text
    bbc = [o.articles[0] for item, o in outcomes.items() if "/tech/" in item]
    assert len(bbc) > 30 and all(a.published is None for a in bbc)  # the BBC sample is undated: kept so


def test_inside_a_date_window_relevance_ranks_not_the_last_day(settings, tmp_path):
    folder = tmp_path / "week"
    folder.mkdir()
    rows = [
        {"title": "Nvidia H300", "text": "Nvidia announced the H300 accelerator, its fastest accelerator chip.",
         "url": "https://x.example/a", "published": "2025-09-06"},
        {"title": "Markets", "text": "Stocks moved on Friday; one accelerator maker fell.",
         "url": "https://x.example/b", "published": "2025-09-12"},
        {"title": "Old H300 rumour", "text": "Nvidia H300 accelerator rumoured.", "url": "https://x.example/c",
         "published": "2025-06-01"},
    ]  # fmt: skip
    (folder / "w.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}))
    assert qa.ingest([folder]).ok
    passages = qa.retrieve("Which Nvidia accelerator was announced this week?", now=NOW)
    assert [p.url for p in passages] == ["https://x.example/a", "https://x.example/b"]


def test_in_a_mostly_undated_index_a_questions_year_cannot_rule_articles_out(settings, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    rows = [
        {
            "title": "IBM tops patent list",
            "text": "IBM received 3,248 US patents in 2004, more than any firm.",
            "url": "https://news.example.com/ibm",
        },
        {
            "title": "Sony cuts prices",
            "text": "Sony cut the price of its handheld console.",
            "url": "https://news.example.com/sony",
        },
        {
            "title": "Dated news",
            "text": "Intel shipped chips.",
            "url": "https://news.example.com/intel",
            "published": "2025-09-12",
        },
    ]
    (folder / "old.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    qa = NewsQA(settings=settings.model_copy(update={"retrieval_mode": "keyword"}), llm=ScriptedLLM())
    assert qa.ingest([folder]).ok
    passages = qa.retrieve("How many patents did IBM receive in 2004?", now=NOW)
    assert passages and passages[0].title == "IBM tops patent list"
    assert all(p.published is None for p in passages)  # never the article dated outside the window


def test_in_a_mostly_dated_index_an_empty_window_stays_empty(dated_qa):
    assert dated_qa.retrieve("What did Nvidia announce in March 2005?", now=NOW) == []
