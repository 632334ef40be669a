"""Run an evaluation suite through the public API (`NewsQA`) and score it.

    newsrag eval --suite seed|bbc-tech|PATH [--corpus PATH ...] [--config NAME|FILE ...]
                 [--limit N] [--out DIR] [--data-dir DIR] [--retrieval-only] [--gate]

Every config is run over the same questions; configs that share the index settings (corpus,
embedding model, chunking) share one cached index under DATA_DIR/eval-index/, which ingestion
updates incrementally, so a second run starts asking at once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.datasets_io import DatasetError, Question, load_dataset, resolve_dataset
from eval.metrics import QuestionScore, dedupe_articles, retrieval_scores, score_answer, summarize

log = logging.getLogger(__name__)

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
DEFAULT_CORPORA = {  # relative to CORPORA
    "seed": ["seed"],
    "bbc-tech": ["bbc-news", "seed"],
    "trust-dev": ["bbc-news", "seed"],
    "trust-test": ["bbc-news", "seed"],
    "followup-dev": ["bbc-news", "seed"],
    "trust-dev2": ["bbc-news", "seed"],
    "trust-dev3": ["bbc-news", "seed"],
    "trust-dev4": ["bbc-news", "seed"],
    "trust-dev5": ["bbc-news", "seed"],
    "trust-dev6": ["bbc-news", "seed"],
    "trust-dev7": ["bbc-news", "seed"],
    "trust-dev8": ["bbc-news", "seed"],
    # Issue 13's answers across articles: the dated RealTimeQA articles and the invented conflicting reports
    # (eval/corpora/conflicts), one index for both suites.
    "timeline": ["realtimeqa-2022/articles", str(Path(__file__).resolve().parent / "corpora" / "conflicts")],
    "conflict": ["realtimeqa-2022/articles", str(Path(__file__).resolve().parent / "corpora" / "conflicts")],
}
RUNS_DIR = Path(__file__).resolve().parent / "runs"  # git-ignored
RANK_DEPTH = 30  # passages retrieved for the ranking; enough to fill ten distinct articles
INDEX_FIELDS = ("embed_model", "chunk_tokens", "chunk_overlap")  # settings that need their own index
LLM_FIELDS = ("llm", "llm_model", "llm_base_url", "max_new_tokens", "temperature", "context_window", "llm_threads")
REPORTED_FIELDS = (
    *INDEX_FIELDS,
    "retrieval_mode",
    "top_k",
    "candidates",
    "min_relevance",
    *LLM_FIELDS,
    "context_chars",
)


class EvalError(RuntimeError):
    """The evaluation cannot start; the message says what to pass instead."""


@dataclass
class Config:
    """One named settings variant to evaluate."""

    label: str
    settings: Any  # core.settings.Settings
    make_qa: Callable[..., Any] | None = None  # another system behind NewsQA's interface (a baseline)

    def index_key(self, corpus: Sequence[str]) -> str:
        basis = {"corpus": list(corpus), **{f: getattr(self.settings, f) for f in INDEX_FIELDS}}
        return hashlib.sha1(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass
class RunResult:
    """The outcome of one config over the suite."""

    config: str
    settings: dict[str, Any]
    index_dir: str
    questions: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, dict[str, float | None]] = field(default_factory=dict)
    ingest: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "settings": self.settings,
            "index_dir": self.index_dir,
            "ingest": self.ingest,
            "summary": self.summary,
            "questions": self.questions,
        }


# corpus and gold articles -----------------------------------------------------------


def default_corpus(suite: str) -> list[Path]:
    names = DEFAULT_CORPORA.get(suite)
    if names is None:
        raise EvalError(
            f"Suite {suite!r} has no default corpus: pass --corpus FOLDER (or a manifest file listing paths/URLs)."
        )
    return [CORPORA / n for n in names]


def corpus_items(corpus: Sequence[str | Path]) -> list[str]:
    """What to ingest: folders as they are; a manifest file becomes the paths/URLs it lists.

    A manifest has one path or URL per line (lines starting with '#' are comments); relative paths are relative
    to the manifest's folder.
    """
    items: list[str] = []
    for entry in corpus:
        text = str(entry)
        if "://" in text:
            items.append(text)
            continue
        path = Path(entry).expanduser()
        if path.is_dir():
            items.append(str(path.resolve()))
        elif path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                items.append(line if "://" in line else str((path.parent / line).resolve()))
        else:
            raise EvalError(f"Corpus {path} does not exist: pass a folder or a manifest file with --corpus.")
    return items


def _roots(corpus: Sequence[str | Path], sources_root: Path) -> list[Path]:
    roots = [sources_root]
    for entry in corpus:
        if "://" in str(entry):
            continue
        path = Path(entry).expanduser().resolve()
        folder = path if path.is_dir() else path.parent
        roots += [folder, folder.parent]
    return roots


def resolve_source(source: str, roots: Sequence[Path]) -> str:
    """A dataset source (a path relative to the corpus root, or a URL) -> the Passage.url it will have."""
    if "://" in source:
        return source
    for root in roots:
        candidate = root / source
        if candidate.is_file():
            return _record_url(candidate) or candidate.resolve().as_uri()
    log.warning("Source %s not found under %s; it can never be retrieved", source, ", ".join(map(str, roots)))
    return (roots[0] / source).resolve().as_uri()


def _record_url(path: Path) -> str | None:
    """A JSON article file's own URL (its passages carry that one, not the file's)."""
    if path.suffix != ".json":
        return None
    try:
        url = json.loads(path.read_text(encoding="utf-8")).get("url")
    except (ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and "://" in url else None


def _as_key(item: str) -> str:
    return item if "://" in item else Path(item).resolve().as_uri()


def duplicate_aliases(report: Any) -> dict[str, str]:
    """Ingestion stores one copy of identical articles: map each skipped copy to the stored one."""
    return {_as_key(item): stored for item, stored in getattr(report, "duplicates", [])}


# configs ---------------------------------------------------------------------------


def load_configs(names: Sequence[str]) -> list[Config]:
    """Presets (dense, hybrid, keyword) or TOML files; none given means the current settings."""
    from core.settings import Settings, load_preset

    if not names:
        return [Config("default", Settings())]
    configs, seen = [], set()
    for name in names:
        label = Path(name).stem if Path(name).suffix else name
        while label in seen:
            label += "'"
        seen.add(label)
        configs.append(Config(label, load_preset(name)))
    return configs


def index_dir(base: Path, corpus: Sequence[str], config: Config) -> Path:
    label = "+".join(Path(c).name or "corpus" for c in corpus if "://" not in c)[:60] or "corpus"
    suffix = f"-{config.label}" if config.make_qa else ""  # a baseline keeps its own index
    return base / "eval-index" / f"{label}-{config.index_key(corpus)}{suffix}"


BASELINES = ("llamaindex",)


def baseline_config(name: str) -> Config:
    """A baseline system run beside newsrag on the same questions, LLM and embedder."""
    from core.settings import Settings

    if name != "llamaindex":
        raise EvalError(f"Unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    from eval.baseline_llamaindex import LABEL, LlamaIndexQA

    return Config(LABEL, Settings(), make_qa=LlamaIndexQA)


# asking -------------------------------------------------------------------------------


def _citations(answer: Any) -> list[dict[str, Any]]:
    return [
        {"number": c.number, "url": c.passage.url, "title": c.passage.title, "text": c.passage.text[:400]}
        for c in answer.citations
    ]


def _ask(qa: Any, question: str, history: list[tuple[str, str]] | None = None) -> Any:
    """The final Answer, through the streaming path so that time to first token is measured too."""
    answer = None
    for piece in qa.stream(question, history=history or None):
        answer = piece
    return answer


def evaluate_question(
    qa: Any, q: Question, gold: list[str], retrieval_only: bool
) -> tuple[QuestionScore, dict[str, Any]]:
    """Ask one question; any exception is recorded on the result, never raised.

    A followup question is asked after its history: each earlier turn is asked and answered
    first, and the follow-up is scored with that conversation as its history.
    """
    record: dict[str, Any] = {
        "id": q.id, "type": q.type, "question": q.question, "accepted": q.answers, "gold": gold,
        "answer": None, "refused": None, "refusal_reason": None, "citations": [], "retrieved": [], "timings": {}, "error": None,
    }  # fmt: skip
    score = QuestionScore(q.id, q.type)
    try:
        history: list[tuple[str, str]] = []
        if q.history and not retrieval_only and getattr(qa, "keeps_conversation", True):
            for turn in q.history:
                earlier = _ask(qa, turn, history)
                history.append((turn, earlier.text))
            record["history"] = [list(h) for h in history]
        started = time.perf_counter()
        passages = qa.retrieve(q.question, k=RANK_DEPTH)
        took = time.perf_counter() - started
        ranked = dedupe_articles(p.url or p.article_id for p in passages)
        if retrieval_only:
            score.timings = {"retrieve": took, "total": took}
        else:
            answer = _ask(qa, q.question, history)
            if q.history:  # a follow-up is searched as its standalone rewrite
                ranked = dedupe_articles(p.url or p.article_id for p in answer.passages) or ranked
                record["standalone"] = answer.standalone_question
            score.timings = dict(answer.timings)
            cited = [(c.passage.url or c.passage.article_id, c.passage.text) for c in answer.citations]
            got = score_answer(
                q.type, q.answers, answer.text, answer.refused, cited, gold, q.evidence, q.points, q.min_points
            )
            score.refused, score.match, score.f1, score.citation, score.crag = (
                got["refused"],
                got["match"],
                got["f1"],
                got["citation"],
                got["crag"],
            )
            score.events, score.order, score.flagged = got["events"], got["order"], got["flagged"]
            record.update(
                answer=answer.text,
                refused=answer.refused,
                refusal_reason=answer.refusal_reason,
                refusal_detail=getattr(answer, "refusal_detail", None),
                citations=_citations(answer),
            )
            debug = getattr(answer, "debug", None) or {}
            record["raw"] = debug.get("raw")  # the model's own text, for diagnosis
            record["repaired"] = debug.get("repaired") or False  # how, if repaired
            record["passages_probe"] = debug.get("passages_probe")
        record["retrieved"] = ranked[:10]
        if q.answerable and gold:
            score.retrieval = retrieval_scores(ranked, gold, all_gold=q.type == "multi")
    except Exception as exc:  # one broken question must not end the run
        log.warning("Question %s failed: %s", q.id, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        score.error = f"{type(exc).__name__}: {exc}"
    record["timings"] = score.timings
    record["error"] = score.error
    record["scores"] = {
        **(score.retrieval or {}), "match": score.match, "f1": score.f1, "citation": score.citation, "crag": score.crag,
        "events": score.events, "order": score.order, "flagged": score.flagged,
    }  # fmt: skip
    return score, record


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="q" if total else "file", disable=not enabled, leave=False, file=sys.stderr
    )


def run_eval(
    suite: str | Path,
    *,
    corpus: Sequence[str | Path] | None = None,
    configs: Sequence[Config] | None = None,
    base_data_dir: Path | None = None,
    limit: int | None = None,
    retrieval_only: bool = False,
    sources_root: Path | None = None,
    llm: Any = None,
    embedder: Any = None,
    progress: bool = True,
    make_qa: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Run every config over the suite and return the report (what report.json holds).

    `llm` / `embedder` replace the models of every config (tests pass fakes); otherwise models are
    built from each config's settings, and configs with the same model settings share them.
    """
    from rag import NewsQA

    make_qa = make_qa or NewsQA
    dataset = resolve_dataset(suite)
    suite_name = dataset.stem
    questions = load_dataset(dataset)[:limit] if limit else load_dataset(dataset)
    corpus = list(corpus) if corpus else default_corpus(suite_name)
    items = corpus_items(corpus)
    roots = _roots(corpus, sources_root or CORPORA)
    configs = list(configs) if configs else load_configs([])
    base = Path(base_data_dir) if base_data_dir else Path(configs[0].settings.data_dir)

    embedders: dict[str, Any] = {}
    llms: dict[tuple, Any] = {}
    ingested: dict[Path, dict[str, str]] = {}
    runs: list[RunResult] = []
    for config in configs:
        folder = index_dir(base, [str(c) for c in corpus], config)
        settings = config.settings.model_copy(update={"data_dir": folder})
        emb = embedder
        if emb is None:
            from rag import get_embedder

            if settings.embed_model not in embedders:
                embedders[settings.embed_model] = get_embedder(settings)
            emb = embedders[settings.embed_model]
        model = llm
        if model is None and not retrieval_only:
            from rag import get_llm

            key = tuple(getattr(settings, f) for f in LLM_FIELDS)
            if key not in llms:  # models are kept in the base data dir, not in each eval index
                llms[key] = get_llm(config.settings.model_copy(update={"data_dir": base}))
            model = llms[key]
        qa = (config.make_qa or make_qa)(settings=settings, llm=model, embedder=emb)
        run = RunResult(config.label, {f: getattr(settings, f) for f in REPORTED_FIELDS}, str(folder))
        if folder not in ingested:
            log.info("Indexing %d corpus item(s) into %s", len(items), folder)
            bar = _progress(None, f"index ({config.label})", progress)
            report = qa.ingest(items, progress=lambda done, item, bar=bar: bar.update(1))
            bar.close()
            ingested[folder] = duplicate_aliases(report)
            run.ingest = report.summary() if hasattr(report, "summary") else ""
        aliases = ingested[folder]
        scores: list[QuestionScore] = []
        bar = _progress(len(questions), config.label, progress)
        for q in questions:
            gold = [resolve_source(s, roots) for s in q.sources]
            gold += [aliases[g] for g in gold if g in aliases and aliases[g] not in gold]
            score, record = evaluate_question(qa, q, gold, retrieval_only)
            scores.append(score)
            run.questions.append(record)
            bar.update(1)
        bar.close()
        run.summary = summarize(scores)
        runs.append(run)
    return {
        "suite": suite_name,
        "dataset": str(dataset),
        "corpus": [str(c) for c in corpus],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "retrieval_only": retrieval_only,
        "limit": limit,
        "runs": [r.to_dict() for r in runs],
    }


# command line --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsrag eval", description="Run an evaluation suite and write report.json, report.md and chart.png."
    )
    p.add_argument("--suite", required=True, help="seed, bbc-tech, or a path to a .jsonl dataset")
    p.add_argument(
        "--corpus", action="append", help="corpus folder or manifest file (repeatable; default depends on the suite)"
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        help="preset name (dense, hybrid, keyword) or TOML file; repeat to compare",
    )
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        choices=BASELINES,
        help="also run a baseline system on the same questions and models (llamaindex: its default query engine)",
    )
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--out", type=Path, help="report folder (default: eval/runs/SUITE-TIMESTAMP)")
    p.add_argument(
        "--data-dir", type=Path, help="base data folder; the cached eval indexes live in DATA_DIR/eval-index"
    )
    p.add_argument(
        "--sources-root", type=Path, help=f"folder the dataset's source paths are relative to (default {CORPORA})"
    )
    p.add_argument("--retrieval-only", action="store_true", help="skip the LLM and score retrieval only (fast)")
    p.add_argument(
        "--compare", type=Path, action="append", default=[], help="an earlier report.json to show beside this run"
    )
    p.add_argument("--gate", action="store_true", help="exit 1 when the first config scores below eval/thresholds.json")
    p.add_argument("--thresholds", type=Path, help="thresholds file for --gate (default eval/thresholds.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    """`newsrag eval ...`: returns 0, 1 when --gate fails, 2 on bad input."""
    from eval.report import format_table, write_reports

    args = build_parser().parse_args(argv)
    try:
        configs = load_configs(args.config) + [baseline_config(b) for b in args.baseline]
        report = run_eval(
            args.suite,
            corpus=args.corpus,
            configs=configs,
            base_data_dir=args.data_dir,
            limit=args.limit,
            retrieval_only=args.retrieval_only,
            sources_root=args.sources_root,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except (EvalError, DatasetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    compared = [json.loads(p.read_text(encoding="utf-8")) for p in args.compare]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or RUNS_DIR / f"{report['suite']}-{stamp}"
    paths = write_reports(report, out, compared=compared)
    print(format_table(report, compared=compared))
    print(f"\nreport: {paths['json']}\n        {paths['md']}\n        {paths['png']}")
    if args.gate:
        from eval.gate import baseline_for, check_report, load_thresholds

        failures = check_report(report, load_thresholds(args.thresholds), baseline_for(report["suite"]))
        for failure in failures:
            print(f"GATE FAILED: {failure}", file=sys.stderr)
        if failures:
            return 1
        print("gate passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
