"""The eval runner end to end over a tiny corpus, with the hash embedder and a fake LLM."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import ScriptedLLM
from paths import REPO

from core.settings import Settings
from eval.gate import check_report, check_summary
from eval.gate import main as gate_main
from eval.runner import Config, corpus_items, main, run_eval
from rag.answer import REFUSAL

ARTICLES = {
    "tech/bloglines.txt": "Ask Jeeves buys Bloglines\n\nAsk Jeeves has bought the Bloglines website to improve the way it handles blogs. The price was not revealed.",
    "tech/asimo.txt": "Honda robot learns to run\n\nHonda's humanoid robot Asimo can now run. Asimo stands for Advanced Step in Innovative Mobility.",
    # two identical stories: ingestion stores the first (santy-copy.txt) and skips the other as a duplicate
    "tech/santy-copy.txt": "Santy worm defaces forums\n\nThe Santy worm exploited a flaw in the phpBB forum software. It hit 40,000 websites within a day.",
    "tech/santy.txt": "Santy worm defaces forums\n\nThe Santy worm exploited a flaw in the phpBB forum software. It hit 40,000 websites within a day.",
    "sport/match.txt": "United win the cup\n\nUnited beat City two goals to one in the cup final on Saturday.",
}

QUESTIONS = [
    {"id": "q1", "question": "Which blog reading website did Ask Jeeves buy?", "answers": ["Bloglines"], "sources": ["tech/bloglines.txt"], "type": "single",
     "evidence": ["Ask Jeeves has bought the Bloglines website to improve the way it handles blogs."]},
    {"id": "q2", "question": "What does the name of Honda's robot Asimo stand for?", "answers": ["Advanced Step in Innovative Mobility"], "sources": ["tech/asimo.txt"], "type": "single"},
    {"id": "q3", "question": "Which forum software did the Santy worm exploit?", "answers": ["phpBB"], "sources": ["tech/santy.txt"], "type": "single"},
    {"id": "q4", "question": "Which robot learnt to run, and which firm bought Bloglines?", "answers": ["Asimo", "Ask Jeeves"], "sources": ["tech/asimo.txt", "tech/bloglines.txt"], "type": "multi"},
    {"id": "q5", "question": "How much did Google pay for the mapping firm Keyhole?", "answers": [], "sources": [], "type": "unanswerable"},
    {"id": "q6", "question": "Which robot explodes the test harness?", "answers": ["Asimo"], "sources": ["tech/asimo.txt"], "type": "single"},
]  # fmt: skip

# question keyword -> (reply, a phrase of the passage to cite); None replies with the refusal, "raise" fails
REPLIES: dict[str, tuple[str, str] | str | None] = {
    "Ask Jeeves buy": ("Ask Jeeves bought the Bloglines website [{n}].", "Bloglines website"),
    "Asimo stand": ("Asimo stands for Advanced Step in Innovative Mobility [{n}].", "Innovative Mobility"),
    "Santy": ("The Santy worm exploited the phpBB forum software [{n}].", "phpBB"),
    "learnt to run": ("Honda's humanoid robot Asimo can now run [{n}].", "Asimo can now run"),
    "Keyhole": None,
    "explodes": "raise",
}
PASSAGE_RE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def keyed_reply(prompt: str) -> str:
    """Answers by question keyword and cites whichever passage holds the needed phrase."""
    question = prompt.rsplit("Question:", 1)[1]
    for key, spec in REPLIES.items():
        if key in question:
            if spec is None:
                return REFUSAL
            if spec == "raise":
                raise RuntimeError("the model crashed")
            reply, phrase = spec
            number = next(n for n, text in PASSAGE_RE.findall(prompt) if phrase in text)
            return reply.format(n=number)
    raise AssertionError(f"no reply for {question!r}")


def keyed_llm() -> ScriptedLLM:
    return ScriptedLLM(rule=keyed_reply, piece_chars=10_000)  # a stream in one piece


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    for rel, text in ARTICLES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    return path


def _settings(settings, **kw) -> Settings:
    return settings.model_copy(update=kw)


def _by_id(run: dict) -> dict[str, dict]:
    return {q["id"]: q for q in run["questions"]}


def test_full_run_scores_answers_refusals_citations_and_survives_a_failure(tmp_path, settings, corpus, dataset):
    llm = keyed_llm()
    report = run_eval(
        dataset,
        corpus=[corpus],
        configs=[Config("hybrid", _settings(settings))],
        sources_root=corpus,
        llm=llm,
        progress=False,
    )
    (run,) = report["runs"]
    questions = _by_id(run)
    assert questions["q1"]["answer"] == "Ask Jeeves bought the Bloglines website [1]."
    assert questions["q1"]["scores"]["match"] is True and questions["q1"]["scores"]["f1"] > 0
    assert questions["q1"]["scores"]["citation"] == 1.0
    assert questions["q1"]["citations"][0]["url"] == (corpus / "tech/bloglines.txt").resolve().as_uri()
    assert questions["q1"]["timings"]["total"] >= questions["q1"]["timings"]["retrieve"] >= 0
    # the gold article was stored under its identical twin's name: still a hit
    assert questions["q3"]["scores"]["hit@1"] == 1.0
    assert questions["q5"]["refused"] is True and questions["q5"]["scores"]["match"] is None
    # the crashing question is recorded and the run went on
    assert questions["q6"]["error"].startswith("RuntimeError") and "the model crashed" in questions["q6"]["error"]
    # the question about names no article mentions is refused before any LLM call
    assert questions["q5"]["refusal_reason"] == "not_addressed"
    assert llm.calls == len(QUESTIONS) - 1
    overall = run["summary"]["overall"]
    assert overall["n"] == 6 and overall["failed"] == 1
    assert overall["match"] == 1.0
    assert overall["refusal_recall"] == 1.0 and overall["refusal_precision"] == 1.0
    assert run["summary"]["multi"]["hit@5"] == 1.0 and run["summary"]["multi"]["all_gold@5"] == 1.0
    assert overall["total_median"] is not None


def test_retrieval_only_compares_configs_on_one_shared_index_without_an_llm(tmp_path, settings, corpus, dataset):
    configs = [Config("hybrid", _settings(settings)), Config("keyword", _settings(settings, retrieval_mode="keyword"))]
    report = run_eval(
        dataset, corpus=[corpus], configs=configs, sources_root=corpus, retrieval_only=True, progress=False
    )
    hybrid, keyword = report["runs"]
    assert hybrid["index_dir"] == keyword["index_dir"]
    assert hybrid["ingest"].startswith("4 added")  # santy.txt is a duplicate
    assert keyword["ingest"] == ""  # reused, not ingested again
    assert keyword["settings"]["retrieval_mode"] == "keyword"
    for run in (hybrid, keyword):
        assert run["summary"]["overall"]["failed"] == 0
        assert run["summary"]["overall"]["match"] is None  # no answers asked for
        assert _by_id(run)["q1"]["scores"]["hit@1"] == 1.0
        assert _by_id(run)["q1"]["answer"] is None


def test_index_is_cached_and_chunking_changes_get_their_own(tmp_path, settings, corpus, dataset):
    first = run_eval(
        dataset,
        corpus=[corpus],
        configs=[Config("a", _settings(settings))],
        sources_root=corpus,
        retrieval_only=True,
        limit=1,
        progress=False,
    )
    again = run_eval(
        dataset,
        corpus=[corpus],
        configs=[Config("a", _settings(settings))],
        sources_root=corpus,
        retrieval_only=True,
        limit=1,
        progress=False,
    )
    assert again["runs"][0]["index_dir"] == first["runs"][0]["index_dir"]
    assert again["runs"][0]["ingest"].startswith("0 added, 0 updated, 4 unchanged")
    other = run_eval(
        dataset,
        corpus=[corpus],
        configs=[Config("b", _settings(settings, chunk_tokens=100))],
        sources_root=corpus,
        retrieval_only=True,
        limit=1,
        progress=False,
    )
    assert other["runs"][0]["index_dir"] != first["runs"][0]["index_dir"]
    assert len(first["runs"][0]["questions"]) == 1


def test_manifest_corpus_lists_paths_relative_to_itself(tmp_path, corpus):
    manifest = corpus / "list.manifest"
    manifest.write_text("# two articles\ntech/asimo.txt\n\nhttps://example.com/story\n", encoding="utf-8")
    assert corpus_items([manifest]) == [str((corpus / "tech/asimo.txt").resolve()), "https://example.com/story"]


def test_cli_writes_reports_and_gate_fails_below_thresholds(tmp_path, corpus, dataset):
    config = tmp_path / "fast.toml"
    config.write_text('embed_model = "hash"\nretrieval_mode = "keyword"\n', encoding="utf-8")
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(
        json.dumps({"suite": "tiny", "min": {"overall.hit@1": 1.01, "overall.match": 0.9}}), encoding="utf-8"
    )
    out = tmp_path / "out"
    argv = ["--suite", str(dataset), "--corpus", str(corpus), "--sources-root", str(corpus), "--config", str(config),
            "--data-dir", str(tmp_path / "data"), "--retrieval-only", "--out", str(out), "-q"]  # fmt: skip
    assert main([*argv, "--gate", "--thresholds", str(thresholds)]) == 1  # hit@1 can never reach 1.01
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["suite"] == "tiny" and report["runs"][0]["config"] == "fast"
    assert {"id", "question", "answer", "refused", "citations", "scores", "timings", "error"} <= report["runs"][0][
        "questions"
    ][0].keys()
    assert "| hit@1 |" in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    thresholds.write_text(
        json.dumps({"suite": "tiny", "min": {"overall.hit@5": 0.5, "overall.match": 0.9}}), encoding="utf-8"
    )
    assert main([*argv, "--gate", "--thresholds", str(thresholds)]) == 0  # match is not measured without the LLM
    assert (
        gate_main(
            [
                "--report",
                str(out / "report.json"),
                "--thresholds",
                str(thresholds),
                "--baseline",
                str(tmp_path / "none.json"),
            ]
        )
        == 0
    )


def test_cli_reports_an_unknown_suite_without_a_traceback(capsys):
    assert main(["--suite", "no-such-suite"]) == 2
    assert "No suite named 'no-such-suite'" in capsys.readouterr().err


# the gate on its own ------------------------------------------------------------------------

SUMMARY = {"overall": {"hit@5": 0.9, "match": 0.6, "failed": 0.0}, "unanswerable": {"refusal_recall": 0.5}}


def test_gate_passes_and_fails_on_minimums_and_maximums():
    assert check_summary(SUMMARY, {"min": {"overall.hit@5": 0.8}, "max": {"overall.failed": 0}}) == []
    failures = check_summary(
        SUMMARY, {"min": {"overall.hit@5": 0.95, "unanswerable.refusal_recall": 0.5}, "max": {"overall.match": 0.5}}
    )
    assert failures == [
        "overall.hit@5 = 0.900 is below the minimum 0.95",
        "overall.match = 0.600 is above the maximum 0.5",
    ]


def test_gate_fails_on_unmeasured_scores_except_answers_in_retrieval_only_runs():
    thresholds = {"min": {"overall.citation": 0.5, "overall.mrr@10": 0.5}}
    assert check_summary(SUMMARY, thresholds) == [
        "overall.citation was not measured",
        "overall.mrr@10 was not measured",
    ]
    assert check_summary(SUMMARY, thresholds, retrieval_only=True) == ["overall.mrr@10 was not measured"]


def test_gate_limits_the_drop_from_the_baseline():
    baseline = {"overall": {"hit@5": 1.0, "match": 0.62}}
    failures = check_summary(SUMMARY, {"max_drop": {"overall.hit@5": 0.05, "overall.match": 0.05}}, baseline=baseline)
    assert failures == ["overall.hit@5 = 0.900 fell 0.100 below the baseline 1.000 (allowed 0.05)"]


def test_gate_refuses_a_report_of_another_suite(tmp_path):
    report = {"suite": "bbc-tech", "runs": [{"summary": SUMMARY}]}
    assert check_report(report, {"suite": "seed"}, baseline_path=None) == [
        "thresholds are for suite 'seed', the report is of 'bbc-tech'"
    ]


def test_committed_thresholds_are_for_the_seed_suite_and_name_real_metrics():
    from eval.metrics import summarize

    thresholds = json.loads((REPO / "eval" / "thresholds.json").read_text(encoding="utf-8"))
    assert thresholds["suite"] == "seed"
    known = summarize([])["overall"].keys()
    for kind in ("min", "max", "max_drop"):
        for key in thresholds.get(kind, {}):
            group, _, metric = key.partition(".")
            assert group in ("overall", "single", "multi", "unanswerable") and metric in known, key


def test_importing_eval_loads_no_heavy_library():
    code = "import sys, eval.runner, eval.gate, eval.metrics, eval.report; print(sorted(m for m in ('torch', 'chromadb', 'llama_index', 'matplotlib') if m in sys.modules))"
    got = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "[]"
