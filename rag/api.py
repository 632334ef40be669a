"""NewsQA: the Python API everything else (CLI, app, eval, benchmarks) stands on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from core.settings import Settings
from core.types import Answer, Passage, Story

log = logging.getLogger(__name__)

SAMPLE_CORPUS = Path(__file__).resolve().parent.parent / "ingest" / "sample" / "articles"

DateLike = date | datetime | str | None
BEST_ARTICLE_EXTRA = 4  # most extra passages of the best article given to the answerer
MOSTLY_UNDATED = 0.5  # share of undated articles above which a question's date cannot exclude them
UNDATED_SEARCH_FACTOR = 4  # a date window with no dated article: search this many times k for undated ones
ACROSS_SEARCH_FACTOR = 3  # timelines and who-said-what search this many times k passages: one per article counts
ACROSS_ARTICLES = 12  # most articles (retrieved ones, then their stories' other articles) a timeline looks at


class NewsQA:
    """Opens (or creates) an index in a data directory; models load on first use.

    `llm` and `embedder` may be passed in (tests pass fakes; the embedder may be an index.embedder.Embedder or any
    llama-index BaseEmbedding); otherwise settings choose them.
    """

    def __init__(
        self, data_dir: str | Path | None = None, *, settings: Settings | None = None, llm=None, embedder=None
    ):
        settings = settings or Settings()
        if data_dir is not None:
            settings = settings.model_copy(update={"data_dir": Path(data_dir)})
        self.settings = settings
        self._llm = llm
        self._embedder = embedder
        self._init_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self._keyword_checked_articles: int | str | None = None  # _index_version() when last in line

    # components, built on first use -------------------------------------

    @cached_property
    def embedder(self):
        if self._embedder is not None:
            return self._embedder
        from index.embed import get_embedder

        return get_embedder(self.settings)

    @cached_property
    def store(self):
        from index.store import ChromaStore

        return ChromaStore(self.settings, self.embedder.model_name)

    @cached_property
    def keyword(self):
        from index.keyword import KeywordIndex

        return KeywordIndex(self.settings.keyword_path)

    @cached_property
    def retriever(self):
        from rag.retrieve import HybridRetriever

        return HybridRetriever(self.store, self.keyword, self.embedder, self.settings)

    @cached_property
    def ingest_embedder(self):
        """What ingestion embeds with: the same model in settings.ingest_embed_runtime (vectors equal to the query
        embedder's within cosine 0.999), so questions stay torch-free while ingests keep torch's faster batches."""
        settings = self.settings
        if self._embedder is not None or settings.ingest_embed_runtime == settings.embed_runtime:
            return self.embedder
        if settings.embed_backend != "local" or settings.embed_model == "hash":
            return self.embedder
        from index.embed import get_embedder

        return get_embedder(settings.model_copy(update={"embed_runtime": settings.ingest_embed_runtime}))

    @cached_property
    def ingestor(self):
        from ingest.pipeline import Ingestor

        return Ingestor(self.store, self.keyword, self.ingest_embedder, self.settings)

    @cached_property
    def answerer(self):
        from rag.answer import Answerer

        return Answerer(
            self._get_llm,
            self.settings,
            embed=self.embedder.get_text_embedding_batch,
            read_articles=self._read_articles,
        )

    def _read_articles(self, article_ids: list[str]) -> dict[str, str]:
        """Stored articles' whole texts by article id (the answerer looks for a question's names in them)."""
        chunks = self.store.article_chunks(article_ids)
        return {aid: " ".join(text for _, text, _ in rows) for aid, rows in chunks.items()}

    @cached_property
    def feeds(self):
        """Feed subscriptions over this data directory: an ingest.feeds.FeedRefresher (its `state` lists them)."""
        from ingest.feeds import open_refresher

        return open_refresher(self)

    def _get_llm(self):
        with self._init_lock:
            if self._llm is None:
                from rag.llm import get_llm

                self._llm = get_llm(self.settings)
        return self._llm

    def warm_up(self, llm: bool = True) -> None:
        """Load the models and the article filter data now rather than on the first question (at 200,000 articles
        reading the filter data takes about 9 s)."""
        self.embedder.get_query_embedding("warm up")
        self.store.count_chunks()
        self._keyword_in_line()  # (a re-sync forgets the filter data: first)
        self.retriever.undated_share()
        if llm:
            self._get_llm()

    # ingestion ------------------------------------------------------------

    def ingest(self, sources, progress=None):
        """Ingest paths, folders or URLs; returns an IngestReport. One ingest at a time per NewsQA."""
        if isinstance(sources, (str, Path)):
            sources = [sources]
        with self._ingest_lock:
            report = self.ingestor.ingest(sources, progress=progress)
            self._mark_keyword_in_line()
            self.retriever.forget_articles()
        return report

    def ingest_outcomes(self, outcomes, progress=None):
        """Store articles already read (feed entries built by ingest.feeds); same locking as `ingest`."""
        with self._ingest_lock:
            report = self.ingestor.ingest_outcomes(outcomes, progress=progress)
            self._mark_keyword_in_line()
            self.retriever.forget_articles()
        return report

    def ensure_sample_corpus(self, progress=None):
        """Index the bundled sample corpus when the index is empty; returns the report, or None if nothing was done."""
        if self.store.count_articles():
            return None
        return self.ingest([SAMPLE_CORPUS], progress=progress)

    def delete(self, ref: str) -> list[str]:
        """Delete articles by id, URL, key or path; returns the ids deleted."""
        records = self.store.article_records()
        candidates = {ref}
        path = Path(ref)
        if path.exists():
            candidates.add(path.resolve().as_uri())
        ids = [
            aid
            for aid, meta in records.items()
            if aid in candidates or meta.get("key") in candidates or meta.get("url") in candidates
        ]
        with self._ingest_lock:
            self.ingestor.delete(ids)
            self._mark_keyword_in_line()
            self.retriever.forget_articles()
        return ids

    # reading the index ---------------------------------------------------

    def stats(self) -> dict[str, Any]:
        records = self.store.article_records()
        dates = sorted(m["published"] for m in records.values() if m.get("published"))
        sources: dict[str, int] = {}
        for meta in records.values():
            sources[meta.get("source", "")] = sources.get(meta.get("source", ""), 0) + 1
        return {
            "articles": len(records),
            "chunks": self.store.count_chunks(),
            "sources": dict(sorted(sources.items())),
            "earliest": dates[0] if dates else None,
            "latest": dates[-1] if dates else None,
            "undated": len(records) - len(dates),
        }

    def articles(self, query: str = "", limit: int = 200, sort: str = "published") -> list[dict[str, Any]]:
        """Stored articles, newest first by publication date (sort="published") or by when they were added
        (sort="added"), optionally those whose title, source or URL contains `query`."""
        needle = query.lower().strip()
        from rag.stories import article_row

        rows = [article_row(aid, meta) for aid, meta in self.store.article_records().items()]
        if needle:
            rows = [r for r in rows if needle in f"{r['title']} {r['source']} {r['url']}".lower()]
        by = "ingested_at" if sort == "added" else "published"
        rows.sort(key=lambda r: (r[by] or "", r["title"]), reverse=True)
        return rows[:limit]

    def stories(
        self, query: str = "", since: DateLike = None, until: DateLike = None, limit: int = 200, min_articles: int = 1
    ) -> list[Story]:
        """Stories (core.types.Story), newest first: articles grouped at ingest as copies or reports of one event.
        `query` keeps those with an article whose title or source contains it; since/until (YYYY-MM-DD) those
        with an article published in that window; min_articles those with at least that many articles."""
        from core.dates import to_timestamp
        from rag.stories import build_stories, matches

        since_ts, until_ts = to_timestamp(since, field="since"), to_timestamp(until, end_of_day=True, field="until")
        records = self.store.article_records()
        needle = query.lower().strip()
        found = []
        for story in build_stories(records):
            if len(story.articles) < min_articles or (needle and not matches(story, needle)):
                continue
            if since_ts is not None or until_ts is not None:
                stamps = [records[a["id"]].get("published_ts") for a in story.articles]
                if not any(
                    ts is not None and (since_ts is None or ts >= since_ts) and (until_ts is None or ts <= until_ts)
                    for ts in stamps
                ):
                    continue
            found.append(story)
        return found[:limit]

    def story(self, story_id: str) -> Story | None:
        """One story with its articles in date order (undated ones last), or None when no article has that id."""
        from rag.stories import build_stories

        records = {aid: m for aid, m in self.store.article_records().items() if (m.get("story_id") or aid) == story_id}
        return build_stories(records)[0] if records else None

    def article_text(self, article_id: str) -> str:
        """The article's text rebuilt from its chunks (chunks overlap; offsets put them back in place)."""
        got = self.store.get_chunks(where={"article_id": article_id})
        parts = sorted(zip(got["metadatas"], got["documents"], strict=True), key=lambda p: p[0]["start"])
        text = ""
        for meta, doc in parts:
            if meta["end"] > len(text):
                text = text[: meta["start"]].ljust(meta["start"]) + doc
        return text

    def sources(self) -> list[str]:
        return sorted(self.stats()["sources"])

    # questions ------------------------------------------------------------

    def _index_version(self):
        """What changes when another process changes the articles: their count in the embedded store; on a shared
        server, where another instance may edit an article without changing the count, every record's hash."""
        if not self.settings.chroma_url:
            return self.store.count_articles()
        import hashlib

        records = self.store.article_records()
        digest = hashlib.sha256()
        for article_id in sorted(records):
            digest.update(f"{article_id}:{records[article_id].get('content_hash', '')}\n".encode())
        return digest.hexdigest()

    def _mark_keyword_in_line(self) -> None:
        """After this process's own ingest or delete, which kept its keyword index in line. On a shared server
        another process may have written meanwhile (a parallel ingest), so the mark stays and the next question
        compares the records with the keyword index."""
        if not self.settings.chroma_url:
            self._keyword_checked_articles = self._index_version()

    def _keyword_in_line(self) -> None:
        """Another process (a shared Chroma server) may have changed the articles: re-sync the keyword index."""
        version = self._index_version()
        if version == self._keyword_checked_articles:
            return
        # An ingest or delete running in this process keeps the keyword index in line itself: do not make the
        # question wait for it (it may take minutes); the next question checks again.
        if not self._ingest_lock.acquire(blocking=False):
            return
        try:
            from index.sync import reconcile_keyword

            reconcile_keyword(self.store, self.keyword)
            self._keyword_checked_articles = version
            self.retriever.forget_articles()
        finally:
            self._ingest_lock.release()

    def retrieve(
        self,
        question: str,
        k: int = 5,
        sources=None,
        since: DateLike = None,
        until: DateLike = None,
        mode: str | None = None,
        now: DateLike = None,
        understand_time: bool = True,
    ) -> list[Passage]:
        """Passages for a question. Dates in its words ("last week") filter by date, relative to `now`
        (default NEWSRAG_NOW, else today), unless since/until are given or understand_time is False."""
        found = self._question_dates(question, now, understand_time, since, until)
        return self._search(question, k, sources, since, until, mode, found)

    def _search(self, question, k, sources, since, until, mode, found) -> list[Passage]:
        """Retrieval with the date filter read from the question (`found`), when there is one.

        In an index whose articles are mostly undated (a folder of old articles, the BBC corpus), a date in the
        question cannot rule them out: when no dated article is in the window, the undated ones answer ("How many
        patents did IBM receive in 2004?"), never articles dated outside it. Elsewhere the empty window stands.
        """
        self._keyword_in_line()
        if found is None:
            return self.retriever.retrieve(question, k=k, sources=sources, since=since, until=until, mode=mode)
        passages = self.retriever.retrieve(
            question, k=k, sources=sources, since=found.since, until=found.until, mode=mode
        )
        if passages or self.retriever.undated_share() <= MOSTLY_UNDATED:
            return passages
        wider = self.retriever.retrieve(question, k=k * UNDATED_SEARCH_FACTOR, sources=sources, mode=mode)
        return [p for p in wider if p.published is None][:k]

    def _question_dates(self, question, now, understand_time, since, until):
        """The question's own date filter, unless time understanding is off or since/until were given."""
        return self.time_filter(question, now) if understand_time and not (since or until) else None

    def time_filter(self, question: str, now: DateLike = None):
        """The date filter (core.types.TimeFilter) the question's own words ask for, or None."""
        from rag.timeq import parse_time, today_for

        return parse_time(question, today_for(now, self.settings.now))

    def _prepare(self, question, k, sources, since, until, history, now=None, understand_time=True):
        """(the follow-up made standalone, passages, timings, the date filter read from the question or None)."""
        from rag.answer import FollowUp

        timings: dict[str, float] = {}
        follow_up = FollowUp(question, question)
        if history:
            started = time.perf_counter()
            follow_up = self.answerer.follow_up(question, history)
            timings["condense"] = time.perf_counter() - started
        standalone = follow_up.search
        started = time.perf_counter()
        found = self._question_dates(standalone, now, understand_time, since, until)
        passages = self._search(standalone, k or self.settings.top_k, sources, since, until, None, found)
        passages = self._with_parts(standalone, passages, k or self.settings.top_k, sources, since, until, found)
        passages = self._with_best_article(passages)
        timings["retrieve"] = time.perf_counter() - started
        return follow_up, passages, timings, found

    def _with_parts(self, question, passages, k, sources, since, until, found) -> list[Passage]:
        """A question that asks two things is searched for each part too, and the rankings are interleaved
        (whole question, part 1, part 2, ...; at most 2k passages): each part's best article reaches the
        answerer even when the other part's article dominates the whole question's ranking."""
        from rag.focus import question_parts

        parts = question_parts(question)
        if len(parts) < 2:
            return passages
        rankings = [passages] + [self._search(part, k, sources, since, until, None, found) for part in parts]
        merged: dict[str, Passage] = {}
        for rank in range(k):
            for ranking in rankings:
                if rank < len(ranking) and ranking[rank].chunk_id not in merged:
                    merged[ranking[rank].chunk_id] = ranking[rank]
        return list(merged.values())[: 2 * k]

    def _with_best_article(self, passages: list[Passage]) -> list[Passage]:
        """The retrieved passages, then the best article's other passages: the answer (or the second reason
        of a "why") is often in a part of the best article that retrieval's per-article cap left out."""
        if not passages:
            return passages
        from rag.retrieve import to_passage

        top = passages[0]
        got = self.store.get_chunks(where={"article_id": top.article_id})
        have = {p.chunk_id for p in passages}
        rest = [
            to_passage(cid, doc, meta, top.score)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            if cid not in have
        ]
        rest.sort(key=lambda p: p.start)
        return passages + rest[:BEST_ARTICLE_EXTRA]

    def _time_options(self, question: str, now: DateLike, found) -> dict[str, Any]:
        """A time question (with a date filter, or asking for the latest news) gets today's date in its prompt
        and an answer that cites dated passages in date order; other questions get neither."""
        from core.dates import today_for
        from rag.timeq import LATEST_WORDS

        chronological = found is not None or bool(LATEST_WORDS.search(question))
        # Only a question about time gets today's date: given it always, the small model answered "when will it
        # be ready?" with today's date.
        today = today_for(now, self.settings.now) if chronological else None
        return {"today": today, "chronological": chronological}

    @staticmethod
    def _finish(
        answer: Answer, question: str, standalone: str, timings: dict[str, float], started: float, found=None
    ) -> Answer:
        from rag.timeq import date_the_answer

        date_the_answer(answer, found, standalone)
        answer.question = question
        answer.standalone_question = standalone if standalone != question else None
        answer.timings = {**timings, **answer.timings, "total": time.perf_counter() - started}
        answer.timings.setdefault("generate", 0.0)
        return answer

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        sources=None,
        since: DateLike = None,
        until: DateLike = None,
        history=None,
        now: DateLike = None,
        understand_time: bool = True,
    ) -> Answer:
        """A cited answer. Dates in the question filter the articles (see `retrieve`); Answer.time_filter says which.
        A timeline question ("How did X develop?") gets `timeline`'s answer, and "What do different sources say
        about X?" one attributed statement per source (rag.timeline)."""
        from rag.timeline import question_mode

        mode = question_mode(question)
        if mode is not None:
            return self._across(question, mode, k, sources, since, until, history, now, understand_time)
        started = time.perf_counter()
        follow_up, passages, timings, found = self._prepare(
            question, k, sources, since, until, history, now, understand_time
        )
        answer = self.answerer.answer(
            follow_up.question,
            passages,
            best_relevance=_best(passages),
            typed=_typed(question, follow_up.search, history),
            earlier=follow_up.earlier,
            **self._time_options(follow_up.search, now, found),
        )
        return self._finish(answer, question, follow_up.search, timings, started, found)

    def stream(
        self,
        question: str,
        *,
        k: int | None = None,
        sources=None,
        since: DateLike = None,
        until: DateLike = None,
        history=None,
        now: DateLike = None,
        understand_time: bool = True,
    ) -> Iterator[str | Answer]:
        """Yields text pieces as the model writes them, then the final Answer (timelines and who-said-what
        answers, built without the model, yield only the Answer)."""
        from rag.timeline import question_mode

        mode = question_mode(question)
        if mode is not None:
            yield self._across(question, mode, k, sources, since, until, history, now, understand_time)
            return
        started = time.perf_counter()
        follow_up, passages, timings, found = self._prepare(
            question, k, sources, since, until, history, now, understand_time
        )
        options = self._time_options(follow_up.search, now, found)
        for piece in self.answerer.stream(
            follow_up.question,
            passages,
            best_relevance=_best(passages),
            typed=_typed(question, follow_up.search, history),
            earlier=follow_up.earlier,
            **options,
        ):
            if isinstance(piece, Answer):
                yield self._finish(piece, question, follow_up.search, timings, started, found)
            else:
                yield piece

    def timeline(
        self,
        topic: str,
        *,
        k: int | None = None,
        sources=None,
        since: DateLike = None,
        until: DateLike = None,
        now: DateLike = None,
        understand_time: bool = True,
    ) -> Answer:
        """A timeline of a topic ("the Twitter takeover" or "How did the Twitter takeover develop?"): one cited
        event per matching article, in order of the articles' dates, undated ones last and marked "undated";
        Answer.timeline holds the events. Built from the articles' sentences, without the model."""
        return self._across(topic, "timeline", k, sources, since, until, None, now, understand_time)

    def _across(self, question, mode, k, sources, since, until, history, now, understand_time) -> Answer:
        """Timelines and who-said-what (rag.timeline): the retrieved articles and their stories' other articles,
        one sentence chosen from each."""
        from rag.answer import refusal
        from rag.timeline import build_sources, build_timeline

        started = time.perf_counter()
        timings: dict[str, float] = {}
        standalone = question
        if history:
            standalone = self.answerer.condense(question, history)
            timings["condense"] = time.perf_counter() - started
        began = time.perf_counter()
        found = self._question_dates(standalone, now, understand_time, since, until)
        k = (k or self.settings.top_k) * ACROSS_SEARCH_FACTOR
        passages = self._search(standalone, k, sources, since, until, None, found)
        timings["retrieve"] = time.perf_counter() - began
        answer = self.answerer._early_refusal(standalone, passages, _best(passages))
        if answer is None:
            articles = self._articles_of(passages, found, since, until)
            build = build_timeline if mode == "timeline" else build_sources
            answer = build(standalone, articles, self.embedder.get_text_embedding_batch, passages) or refusal(
                standalone, "not_addressed", passages, detail="No retrieved article tells an event about it."
            )
        answer.time_filter = found
        answer.question = question
        answer.standalone_question = standalone if standalone != question else None
        answer.timings = {**timings, **answer.timings, "generate": 0.0, "total": time.perf_counter() - started}
        return answer

    def _articles_of(self, passages: list[Passage], found, since, until) -> list:
        """The relevant retrieved articles in order of their best passage, each followed by the other articles of
        its story (one copy of each text), within the date window; each as its lead passage then its retrieved
        ones (rag.timeline.ArticleEvidence)."""
        from core.dates import parse_day
        from rag.retrieve import to_passage
        from rag.stories import build_stories
        from rag.timeline import ArticleEvidence

        low = parse_day(since) if since else (found.since if found else None)
        high = parse_day(until) if until else (found.until if found else None)
        relevant = [p for p in passages if p.score >= self.settings.min_relevance]
        retrieved: dict[str, list[Passage]] = {}
        for p in relevant:
            retrieved.setdefault(p.article_id, []).append(p)
        records = self.store.article_records() if retrieved else {}
        stories: dict[str, list[str]] = {}
        for aid, meta in records.items():
            stories.setdefault(meta.get("story_id") or aid, []).append(aid)
        order: list[str] = []
        copies: set[str] = set()
        for article_id in retrieved:
            members = stories.get(records.get(article_id, {}).get("story_id") or article_id, [])
            story = build_stories({aid: records[aid] for aid in members})[0] if len(members) > 1 else None
            mates = [a for a in story.articles if a["id"] != article_id] if story else []
            for row in [{"id": article_id, "dup_id": ""}, *mates]:
                day = (row.get("published") or "")[:10]
                if row["id"] != article_id and day and ((low and day < str(low)) or (high and day > str(high))):
                    continue
                if row["id"] in order or (row.get("dup_id") and row["dup_id"] in copies):
                    continue
                order.append(row["id"])
                copies.add(row.get("dup_id") or row["id"])
            if len(order) >= ACROSS_ARTICLES:
                break
        articles = []
        for article_id in order[:ACROSS_ARTICLES]:
            got = self.store.get_chunks(where={"article_id": article_id})
            chunks = sorted(
                zip(got["ids"], got["documents"], got["metadatas"], strict=True), key=lambda c: c[2]["start"]
            )
            found_passages = retrieved.get(article_id, [])
            score = found_passages[0].score if found_passages else 0.0
            lead = [to_passage(*chunks[0], score)] if chunks else []
            rest = [p for p in found_passages if not lead or p.chunk_id != lead[0].chunk_id]
            if lead or rest:
                articles.append(ArticleEvidence(lead + rest))
        return articles

    def chat(self, message: str, history, **filters) -> Answer:
        """One turn of a conversation: the follow-up is made standalone from the history before retrieval."""
        return self.ask(message, history=history, **filters)

    # llama-index adapters (rag/llamaindex_adapters.py) ----------------------

    def as_retriever(self, *, k: int | None = None, sources=None, since: DateLike = None, until: DateLike = None):
        """A llama-index BaseRetriever over `retrieve`: NodeWithScores with the passage text and metadata."""
        from rag.llamaindex_adapters import NewsRetriever

        return NewsRetriever(self, k=k, sources=sources, since=since, until=until)

    def as_query_engine(self, *, k: int | None = None, sources=None, since: DateLike = None, until: DateLike = None):
        """A llama-index query engine that answers through `ask`; the Response's source_nodes are the citations."""
        from rag.llamaindex_adapters import NewsQueryEngine

        return NewsQueryEngine(self, k=k, sources=sources, since=since, until=until)


def _typed(question: str, standalone: str, history) -> list[str] | None:
    """What the user typed in this conversation, this message first, when the question searched was rewritten."""
    if standalone == question or not history:
        return None
    from rag.answer import _turns

    return [question, *(text for role, text in _turns(history) if role == "user")]


def _best(passages: list[Passage]) -> float | None:
    return max((p.score for p in passages), default=None)
