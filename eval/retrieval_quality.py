"""Retrieval quality against two baselines, on the seed article plus all 2,095 BBC articles.

For every answerable question of the `seed` and `bbc-tech` sets it measures, for three retrievers side by side:
- gold@5: a gold article is among the top 5 passages;
- answer@2400: an accepted answer appears within the first 2,400 characters of the ranked passages
  (what a small LLM can afford to read).
Retrievers: newsrag hybrid (the default), newsrag dense-only, and LlamaIndex's defaults on the same files and
embedder (`VectorStoreIndex.from_documents` with its default splitter, dense only).

    python -m eval.retrieval_quality [--corpora ../shared/corpora] [--work DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_CHARS = 2400
K = 5


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def load_questions(limit: int | None) -> list[dict]:
    questions = []
    for name in ("seed", "bbc-tech"):
        for line in (REPO / "eval" / "datasets" / f"{name}.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if row["type"] != "unanswerable":
                    questions.append(row)
    return questions[:limit] if limit else questions


def score(ranked: list[tuple[str, str]], question: dict, gold_urls: set[str]) -> tuple[bool, bool]:
    """ranked: (url, passage text) best first."""
    gold_hit = any(url in gold_urls for url, _ in ranked[:K])
    window = _norm(" ".join(text for _, text in ranked))[:BUDGET_CHARS]
    answer_hit = any(_norm(a) in window for a in question["answers"])
    return gold_hit, answer_hit


def newsrag_retriever(corpora: Path, data_dir: Path):
    from core.settings import Settings
    from rag.api import NewsQA

    qa = NewsQA(settings=Settings(data_dir=data_dir))
    started = time.perf_counter()
    report = qa.ingest([corpora / "seed", corpora / "bbc-news"])
    logging.info("newsrag index: %s (%.0f s)", report.summary(), time.perf_counter() - started)

    def run(question: str, mode: str):
        return [(p.url, p.text) for p in qa.retrieve(question, k=K, mode=mode)]

    return run


def llamaindex_retriever(corpora: Path, persist_dir: Path):
    from core.settings import offline_hub

    offline_hub()  # before llama-index's HuggingFaceEmbedding imports huggingface_hub
    from llama_index.core import Settings as LISettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex, load_index_from_storage
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from index.embed import bundled_model_path

    LISettings.embed_model = HuggingFaceEmbedding(model_name=str(bundled_model_path()), device="cpu")
    LISettings.llm = None
    if (persist_dir / "docstore.json").exists():
        index = load_index_from_storage(StorageContext.from_defaults(persist_dir=str(persist_dir)))
    else:
        started = time.perf_counter()
        files = sorted((corpora / "seed").glob("*.txt")) + sorted((corpora / "bbc-news").glob("*/*.txt"))
        documents = SimpleDirectoryReader(input_files=[str(f) for f in files]).load_data()
        index = VectorStoreIndex.from_documents(documents)
        index.storage_context.persist(persist_dir=str(persist_dir))
        logging.info("LlamaIndex default index: %d documents (%.0f s)", len(documents), time.perf_counter() - started)
    retriever = index.as_retriever(similarity_top_k=K)

    def run(question: str):
        nodes = retriever.retrieve(question)
        return [(Path(n.node.metadata["file_path"]).resolve().as_uri(), n.node.get_content()) for n in nodes]

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=REPO / "eval" / "runs" / "retrieval-quality")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--skip-llamaindex", action="store_true")
    args = parser.parse_args(argv)
    from core.settings import offline_hub

    offline_hub()  # both retrievers load the local embedding model
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    questions = load_questions(args.limit)
    corpora = args.corpora.resolve()

    ours = newsrag_retriever(corpora, args.work / "newsrag")
    systems = {
        "newsrag hybrid": lambda q: ours(q, "hybrid"),
        "newsrag dense-only": lambda q: ours(q, "dense"),
    }
    if not args.skip_llamaindex:
        systems["LlamaIndex defaults"] = llamaindex_retriever(corpora, args.work / "llamaindex")

    results: dict[str, dict] = {}
    misses: dict[str, list[str]] = {}
    for name, run in systems.items():
        gold = answer = 0
        misses[name] = []
        for q in questions:
            gold_urls = {(corpora / s).resolve().as_uri() for s in q["sources"]}
            g, a = score(run(q["question"]), q, gold_urls)
            gold += g
            answer += a
            if not (g and a):
                misses[name].append(f"{q['id']}: gold@5={g} answer@2400={a}")
        results[name] = {"gold@5": gold / len(questions), "answer@2400": answer / len(questions)}

    print(f"\n{len(questions)} answerable questions (seed + bbc-tech), index of seed + 2,095 BBC articles\n")
    print(f"{'retriever':<22} {'gold@5':>8} {'answer@2400':>12}")
    for name, r in results.items():
        print(f"{name:<22} {r['gold@5']:>8.1%} {r['answer@2400']:>12.1%}")
    print("\nTargets: gold@5 >= 97%, answer@2400 >= 90%, newsrag hybrid above both baselines on both.")
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "results.json").write_text(
        json.dumps({"questions": len(questions), "results": results, "misses": misses}, indent=2)
    )
    print(f"Misses per retriever: {args.work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
