"""The LlamaIndex default query engine baseline, run through the eval runner with a mock LLM and the hash embedder."""

from __future__ import annotations

import json

from llama_index.core.llms import MockLLM

from core.settings import Settings
from eval.runner import Config, baseline_config, run_eval
from rag import get_embedder  # what the runner shares between configs: a llama-index BaseEmbedding


def test_baseline_answers_every_question_with_its_source_nodes_and_never_refuses(tmp_path):
    corpus = tmp_path / "corpus" / "tech"
    corpus.mkdir(parents=True)
    (corpus / "bloglines.txt").write_text("Ask Jeeves buys Bloglines\n\nAsk Jeeves has bought the Bloglines website.")
    (corpus / "asimo.txt").write_text("Honda robot learns to run\n\nHonda's humanoid robot Asimo can now run.")
    dataset = tmp_path / "tiny.jsonl"
    rows = [
        {"id": "q1", "question": "Which website did Ask Jeeves buy?", "answers": ["Bloglines"],
         "sources": ["tech/bloglines.txt"], "type": "single"},
        {"id": "q2", "question": "What did Apple pay for Keyhole?", "answers": [], "sources": [], "type": "unanswerable"},
        {"id": "q3", "question": "and what can it do?", "history": ["Which robot did Honda build?"], "answers": ["run"],
         "sources": ["tech/asimo.txt"], "type": "followup"},
    ]  # fmt: skip
    dataset.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings = Settings(data_dir=tmp_path / "data", embed_model="hash")
    baseline = baseline_config("llamaindex")
    llm = MockLLM(max_tokens=8)
    report = run_eval(
        dataset,
        corpus=[tmp_path / "corpus"],
        configs=[Config(baseline.label, settings, make_qa=baseline.make_qa)],
        sources_root=tmp_path / "corpus",
        llm=llm,
        embedder=get_embedder(settings),
        progress=False,
    )
    (run,) = report["runs"]
    assert run["config"] == "llamaindex-default"
    by_id = {q["id"]: q for q in run["questions"]}
    assert all(q["error"] is None for q in by_id.values())
    assert all(q["refused"] is False and q["answer"] for q in by_id.values())  # no refusals of its own
    assert 1 <= len(by_id["q1"]["citations"]) <= 2  # its top-2 source nodes
    assert "history" not in by_id["q3"]  # no conversation: the follow-up is asked as typed
    assert run["summary"]["unanswerable"]["refusal_recall"] == 0.0
    assert (tmp_path / "data" / "eval-index").is_dir()
