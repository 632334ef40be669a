"""The benchmark suite's own pieces: statistics, the corpus subset, tables, and the synthetic index."""

from __future__ import annotations

import json

import pytest
from paths import SHARED_CORPORA

from bench.common import Report, percentile, summarize
from bench.corpus import copy_corpus, corpus_files, retrieval_questions

CORPORA = SHARED_CORPORA


def test_percentile_and_summary_match_hand_computed_values():
    values = [10.0, 20.0, 30.0, 40.0, 100.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(88.0)  # 40 + 0.8 * (100 - 40)
    stats = summarize(values)
    assert (stats["median"], stats["min"], stats["max"], stats["n"]) == (30.0, 10.0, 100.0, 5)
    assert summarize([]) == {"n": 0}


@pytest.mark.skipif(not (CORPORA / "bbc-news").is_dir(), reason="needs ../shared/corpora/bbc-news")
def test_quick_subset_keeps_required_articles_and_every_category(tmp_path):
    needed = ["bbc-news/tech/2d-metal-slug-offers-retro-fun.txt", "bbc-news/sport/" + _first("sport")]
    n = copy_corpus(tmp_path / "corpus", 20, must_include=needed)
    files = corpus_files(tmp_path / "corpus")
    assert n == len(files) == 20
    rel = {str(p.relative_to(tmp_path / "corpus")) for p in files}
    assert {s.removeprefix("bbc-news/") for s in needed} <= rel
    assert {r.split("/")[0] for r in rel} == {"business", "entertainment", "politics", "sport", "tech"}


def _first(category: str) -> str:
    return sorted(p.name for p in (CORPORA / "bbc-news" / category).glob("*.txt"))[0]


def test_retrieval_questions_are_at_least_one_hundred():
    assert len(retrieval_questions(100)) >= 100


def test_report_marks_unmet_targets_in_table_and_json(tmp_path):
    report = Report("demo", "Demo")
    report.add("p95", 140.0, "ms", target="< 100 ms", met=False)
    report.add("median", 42.5, "ms")
    table = report.table()
    assert "| p95 | 140 | ms | < 100 ms | NOT MET |" in table
    assert "| median | 42.5 | ms |" in table
    saved = json.loads(report.write(tmp_path, {"commit": "abc"}).read_text())
    assert saved["meta"]["commit"] == "abc"
    assert saved["figures"][0]["met"] is False


def test_synthetic_index_is_searchable_with_date_filter(tmp_path):
    """A small synthetic index answers retrieve(), and the date filter keeps only that year's articles."""
    from bench.retrieval import DATE_FILTER, build_synthetic
    from core.settings import Settings
    from rag.api import NewsQA

    pytest.importorskip("chromadb")
    if not (CORPORA / "bbc-news").is_dir():
        pytest.skip("needs ../shared/corpora/bbc-news")
    built = build_synthetic(str(tmp_path), 300, batch_articles=25)
    assert (built["chunks"], built["articles"]) == (300, 60)

    class Fixed384:  # the synthetic vectors are 384-dim; any unit query vector will do
        model_name = "all-MiniLM-L6-v2"

        def get_query_embedding(self, text):
            return [1.0] + [0.0] * 383

    qa = NewsQA(settings=Settings(data_dir=tmp_path), embedder=Fixed384())
    assert len(qa.retrieve("government election", k=5)) == 5
    dated = qa.retrieve("government election", k=5, **DATE_FILTER)
    assert dated and all(p.published.year == 2023 for p in dated)


@pytest.mark.skipif(not (CORPORA / "bbc-news").is_dir(), reason="needs ../shared/corpora/bbc-news")
def test_llm_settings_bench_prompts_are_answer_prompts_sharing_the_system_prompt():
    from bench.llm import SETTINGS, _prompts
    from rag.llm import chatml_messages_to_prompt
    from rag.prompts import prompt

    prompts = _prompts(3, chatml_messages_to_prompt)
    assert len(prompts) == 3 and len(set(prompts)) == 3
    assert all(p.startswith(f"<|im_start|>system\n{prompt('answer', 'system')}<|im_end|>") for p in prompts)
    assert all(p.endswith("<|im_start|>assistant\n") and '<passage id="1"' in p for p in prompts)
    assert SETTINGS[0][1] == {}  # the shipped setting comes first: the others are compared with it
