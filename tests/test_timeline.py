"""Answers across articles (issue 13): timelines in date order with undated events marked, who said what, and
reports that give different figures; routing from ask/stream, `newsrag timeline` and the chat rendering."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fakes import ScriptedLLM, fake_settings, passage

import cli.main as cli
from core.types import Answer
from rag.answer import Answerer
from rag.conflicts import differing_reports, values
from rag.focus import analyse
from rag.timeline import ArticleEvidence, build_timeline, question_mode
from ui import present

# Four reports of one merger, fed out of date order, one undated; and an unrelated article.
MERGER = [
    ("Zentro and Pavic agree merger", "Zentro and Pavic agreed to merge on Monday, creating Europe's largest "
     "drone maker. The deal values Pavic at $900m. Both boards backed it.", "Wire One", "2024-03-04"),
    ("Regulators open Zentro probe", "European regulators opened an inquiry into the Zentro merger with Pavic on "
     "Thursday. They fear higher drone prices. A decision is due in the summer.", "Wire Two", "2024-05-16"),
    ("Zentro merger cleared", "Regulators cleared the Zentro merger with Pavic after Zentro agreed to sell its "
     "camera business. The combined firm starts trading next month.", "Wire One", "2024-08-20"),
    ("Zentro staff react", "Zentro staff said the merger with Pavic had left them uncertain about their jobs. "
     "Many have worked there for a decade.", "Staff Blog", None),
    ("Gardening tips for spring", "Plant tomatoes after the last frost. Water them in the morning.", "Garden", "2024-04-01"),
]  # fmt: skip
# Two same-day reports of one price that disagree.
PRICES = [
    ("Korvex unveils X2 phone", "Korvex unveiled the X2 folding phone, which will cost $799 in the US when it "
     "goes on sale next month. It opens into a tablet.", "TechDaily", "2025-03-04"),
    ("Korvex X2 goes premium", "The Korvex X2 folding phone is priced at $849 in the US, the firm told "
     "retailers.", "GadgetWire", "2025-03-04"),
]  # fmt: skip


def corpus(tmp_path, rows) -> str:
    path = tmp_path / "news.jsonl"
    records = [
        {"title": t, "text": x, "url": f"https://n{n}.example/a", "source": s, "published": d}
        for n, (t, x, s, d) in enumerate(rows)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


@pytest.fixture
def qa(tmp_path):
    from rag.api import NewsQA

    settings = fake_settings(tmp_path / "data", retrieval_mode="keyword", now="2025-06-01")
    qa = NewsQA(settings=settings, llm=ScriptedLLM())  # no reply queued: a model call fails the test
    qa.ingest([corpus(tmp_path, MERGER + PRICES)])
    return qa


@pytest.mark.parametrize(
    ("question", "mode"),
    [
        ("How did the Zentro merger develop?", "timeline"),
        ("Give me a timeline of the Twitter takeover", "timeline"),
        ("What happened with the Artemis I launch?", "timeline"),
        ("How has the dispute unfolded?", "timeline"),
        ("What do different sources say about the Korvex X2?", "sources"),
        ("What did the outlets report about the fine?", "sources"),
        ("How much does the Korvex X2 cost?", None),
        ("How did Zentro pay for Pavic?", None),
        ("What happened to Zentro's shares on Monday?", None),  # one day: not a timeline
        ("What happened with Zentro after the merger?", "timeline"),
        ("Why did regulators open a probe?", None),
    ],
)
def test_question_mode(question, mode):
    assert question_mode(question) == mode


def test_timeline_lists_one_cited_event_per_article_in_date_order_undated_last(qa):
    answer = qa.timeline("How did the Zentro merger with Pavic develop?")
    assert not answer.refused and qa._llm.calls == 0
    lines = answer.text.split("\n")
    assert [line.split(":")[0] for line in lines] == ["- 4 Mar 2024", "- 16 May 2024", "- 20 Aug 2024", "- undated"]
    assert "agreed to merge" in lines[0] and "inquiry" in lines[1] and "cleared" in lines[2] and "staff" in lines[3]
    assert [line.rstrip(".").rsplit(" ", 1)[1] for line in lines] == ["[1]", "[2]", "[3]", "[4]"]
    assert [c.passage.published.date().isoformat() if c.passage.published else None for c in answer.citations] == [
        "2024-03-04", "2024-05-16", "2024-08-20", None,
    ]  # fmt: skip
    assert [e.date for e in answer.timeline] == ["2024-03-04", "2024-05-16", "2024-08-20", None]
    assert all("Gardening" not in c.passage.title for c in answer.citations)
    assert all(c.evidence and c.evidence[0] in c.passage.text for c in answer.citations)


def test_ask_and_stream_route_timeline_questions_without_the_model(qa):
    asked = qa.ask("How did the Zentro merger with Pavic develop?")
    streamed = list(qa.stream("How did the Zentro merger with Pavic develop?"))
    assert len(streamed) == 1 and isinstance(streamed[0], Answer)
    assert asked.text == streamed[0].text and asked.timeline and qa._llm.calls == 0


def test_timeline_respects_the_date_filter_of_the_question(qa):
    answer = qa.timeline("Timeline of the Zentro merger with Pavic since May 2024")
    assert answer.time_filter is not None
    assert [e.date for e in answer.timeline] == ["2024-05-16", "2024-08-20"]


def test_same_day_copies_share_one_bullet_and_ties_keep_the_better_match_first():
    day = datetime(2024, 1, 5)
    text = "Orlo launched its first satellite phone on Friday in Lisbon."
    a, b = passage(text, 1, source="A"), passage(text + " It costs little.", 2, source="B")
    later = passage("Orlo recalled its satellite phone after battery fires.", 3, source="C")
    a.published = b.published = day
    later.published = datetime(2024, 2, 1)
    answer = build_timeline(
        "What happened with the Orlo satellite phone?", [ArticleEvidence([p]) for p in (later, a, b)]
    )
    assert answer.text.split("\n")[0].startswith("- 5 Jan 2024: Orlo launched") and "[1][2]" in answer.text
    assert answer.text.split("\n")[1].startswith("- 1 Feb 2024: Orlo recalled")
    assert len(answer.citations) == 3


def test_timeline_refuses_when_no_article_is_about_the_topic(qa):
    answer = qa.timeline("How did the Quorvane treaty develop?")
    assert answer.refused and qa._llm.calls == 0


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("money", "It costs $799, up from £650.", [("$799", 799.0, "USD"), ("£650", 650.0, "GBP")]),
        ("money", "Halden paid $2.1bn in cash.", [("$2.1bn", 2.1e9, "USD")]),
        ("money", "A fine of 180 million euros.", [("180 million euros", 1.8e8, "EUR")]),
        ("count", "It cut 1,200 jobs in 2024.", [("1,200", 1200.0, "")]),
        ("count", "The breach hit 3.2 million customers.", [("3.2 million", 3.2e6, "")]),
        ("count", "Shares rose 12% to $5.", []),
        ("percent", "Revenue grew 12.5 per cent.", [("12.5 per cent", 12.5, "%")]),
        ("date", "It launches on 14 March, not March 21st.", [("14 March", 314, "day"), ("March 21st", 321, "day")]),
    ],
)
def test_values(kind, text, expected):
    assert [(v.text, v.amount, v.unit) for v in values(kind, text)] == expected


def _report(text, n, source, day="2025-03-04", title="Korvex X2 phone"):
    p = passage(text, n, source=source, title=title)
    p.published = datetime.fromisoformat(day) if day else None
    return (text, p)


def test_differing_reports_needs_the_same_subject_close_dates_and_different_values():
    focus = analyse("How much does the Korvex X2 cost?")
    a = _report("The X2 costs $799.", 1, "TechDaily")
    differ = differing_reports(focus, [a, _report("The X2 is priced at $849.", 2, "GadgetWire")])
    assert differ is not None and [v.text for v, _, _ in differ] == ["$799", "$849"]
    assert differing_reports(focus, [a, _report("It is priced at $799.00.", 2, "GadgetWire")]) is None  # same
    assert differing_reports(focus, [a, _report("The X2 costs $849.", 2, "W", day="2025-06-01")]) is None  # later
    other = _report("The Blip costs $849.", 2, "GadgetWire", title="Blip tablet")
    assert differing_reports(focus, [a, other]) is None  # another product
    assert differing_reports(focus, [a, _report("The X2 costs £849.", 2, "UK Wire")]) is None  # another currency
    same_article = _report("Earlier it cost $849.", 1, "TechDaily")
    assert differing_reports(focus, [a, same_article]) is None


def test_a_model_answer_says_when_the_reports_differ_and_cites_both(settings):
    docs = [_report(text, n, source)[1] for n, (_, text, source, _) in enumerate(PRICES, start=1)]
    for d, (title, *_rest) in zip(docs, PRICES, strict=True):
        d.title = title
    llm = ScriptedLLM(["The Korvex X2 costs $799 [1]."])
    answer = Answerer(lambda: llm, settings).answer("How much does the Korvex X2 cost?", docs)
    assert "The reports differ: TechDaily says $799 [1]; GadgetWire says $849 [2]." in answer.text
    assert [c.passage.source for c in answer.citations] == ["TechDaily", "GadgetWire"]
    assert answer.citations[1].evidence == [PRICES[1][1].split(", the firm")[0] + ", the firm told retailers."]


def test_a_how_much_question_of_no_named_kind_compares_amounts(settings):
    def doc(n, text, source):
        p = passage(text, n, source=source, title="Halden buys Quillsoft")
        p.published = datetime(2025, 6, 3)
        return p

    docs = [doc(1, "Halden is paying $2.4bn for Quillsoft.", "BizReport"),
            doc(2, "Halden agreed to pay $2.1bn in cash for Quillsoft.", "MarketWire")]  # fmt: skip
    assert analyse("How much is Halden handing over for Quillsoft?").kind == "other"  # rag.focus names no kind
    llm = ScriptedLLM(["Halden is paying $2.4bn for Quillsoft [1]."])
    answer = Answerer(lambda: llm, settings).answer("How much is Halden handing over for Quillsoft?", docs)
    assert answer.text.endswith("The reports differ: BizReport says $2.4bn [1]; MarketWire says $2.1bn [2].")
    llm = ScriptedLLM(["Halden is buying Quillsoft [1]."])
    answer = Answerer(lambda: llm, settings).answer("What is Halden buying?", docs)
    assert "differ" not in answer.text  # no figure asked for


def test_who_said_what_attributes_one_statement_per_source_and_notes_the_difference(qa):
    answer = qa.ask("What do different sources say about the price of the Korvex X2 phone?")
    assert not answer.refused and qa._llm.calls == 0
    lines = answer.text.split("\n")
    assert {line.split(",")[0] for line in lines[:2]} == {"- According to TechDaily", "- According to GadgetWire"}
    assert lines[-1].startswith("The reports differ:") and "$799" in lines[-1] and "$849" in lines[-1]
    assert {c.passage.source for c in answer.citations} == {"TechDaily", "GadgetWire"}


def test_timeline_renders_as_dated_list_in_chat(qa):
    answer = qa.timeline("How did the Zentro merger with Pavic develop?")
    html = present.answer_message(answer, turn=0)
    assert html.count('<span class="nr-when">') == 4 and '<ol class="nr-timeline">' in html
    assert ">4 Mar 2024</span>" in html and ">undated</span>" in html
    assert 'href="#nr-src-0-1"' in html and 'href="#nr-src-0-4"' in html


def test_timeline_command(qa, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_qa", lambda args: qa)
    assert cli.main(["timeline", "the Zentro merger with Pavic"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert out.index("4 Mar 2024") < out.index("20 Aug 2024") < out.index("undated") < out.index("Sources:")
    assert cli.main(["timeline", "the Zentro merger with Pavic", "--json"]) == cli.EXIT_OK
    assert [e["date"] for e in json.loads(capsys.readouterr().out)["timeline"]][:3] == [
        "2024-03-04", "2024-05-16", "2024-08-20",
    ]  # fmt: skip
