"""The keyword (BM25) index: SQLite FTS5 in the data directory, updated per article, never rebuilt wholesale.

It mirrors the Chroma store. Each article row records the content hash it was indexed with, so `reconcile`
can compare it with Chroma's article records after a crash, or when another process changed a shared
Chroma server, and re-index only the articles that differ. A corrupt file is replaced and rebuilt.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from core.text import SEARCH_STOPWORDS
from index.rows import ArticleRows, Hit

log = logging.getLogger(__name__)


_TOKENIZER = "porter unicode61 remove_diacritics 2"
# A question's terms are matched rarest first while the chunks holding them add up to at most this many (see
# KeywordIndex._affordable_terms); below ~5,000 chunks per term no question ever loses one.
POSTINGS_BUDGET = 40_000

_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(
    text, title, chunk_id UNINDEXED, article_id UNINDEXED, source UNINDEXED, published_ts UNINDEXED,
    tokenize = '{_TOKENIZER}'
);
CREATE TABLE IF NOT EXISTS articles (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL);
"""


def query_terms(question: str) -> list[str]:
    """The question's distinct words worth matching, split as FTS5's unicode61 tokenizer splits the index."""
    words = re.findall(r"\w+", question.lower())
    seen: dict[str, None] = {}
    for word in words:
        if word not in SEARCH_STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen[word] = None
    return list(seen)


class KeywordIndex:
    """BM25 over chunk text and titles in SQLite FTS5; see index.protocols.KeywordSearch."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._stems: sqlite3.Connection | None = None  # an in-memory FTS5 table that stems terms as the index does
        self._doc_counts: dict[str, int] = {}  # stem -> chunks holding it; cleared when this process writes

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                log.warning("Keyword index %s is unreadable (%s): rebuilding it from Chroma.", self.path, exc)
                self._discard_file()
                self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        conn.execute("SELECT count(*) FROM articles").fetchone()
        conn.execute("SELECT count(*) FROM chunks").fetchone()
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_terms USING fts5vocab(main, chunks, 'row')")
        conn.commit()
        return conn

    def _discard_file(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._stems is not None:
                self._stems.close()
                self._stems = None

    def article_hashes(self) -> dict[str, str]:
        with self._lock:
            try:
                return dict(self._connect().execute("SELECT article_id, content_hash FROM articles"))
            except sqlite3.DatabaseError as exc:
                log.warning("Keyword index %s is corrupt (%s): rebuilding it from Chroma.", self.path, exc)
                self.close()
                self._discard_file()
                return {}

    def replace_articles(self, articles: Iterable[ArticleRows]) -> None:
        """Index articles, replacing any earlier rows of theirs, in one transaction."""
        with self._lock:
            self._doc_counts.clear()
            conn = self._connect()
            with conn:
                for article_id, content_hash, rows in articles:
                    # The delete scans the FTS table (UNINDEXED column): only pay for it when the article was indexed.
                    indexed = conn.execute("SELECT 1 FROM articles WHERE article_id = ?", (article_id,)).fetchone()
                    if indexed:
                        conn.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
                    conn.executemany(
                        "INSERT INTO chunks (text, title, chunk_id, article_id, source, published_ts) VALUES (?, ?, ?, ?, ?, ?)",
                        [(text, title, cid, article_id, source, ts) for text, title, cid, source, ts in rows],
                    )
                    conn.execute(
                        "INSERT OR REPLACE INTO articles (article_id, content_hash) VALUES (?, ?)",
                        (article_id, content_hash),
                    )

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        with self._lock:
            self._doc_counts.clear()
            conn = self._connect()
            with conn:
                for article_id in article_ids:
                    conn.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
                    conn.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))

    def count_chunks(self) -> int:
        with self._lock:
            return self._connect().execute("SELECT count(*) FROM chunks").fetchone()[0]

    def search(
        self,
        question: str,
        n: int,
        *,
        sources: Iterable[str] | None = None,
        since_ts: int | None = None,
        until_ts: int | None = None,
    ) -> list[Hit]:
        """Best chunks for the question, scored by BM25 (higher is better).

        When even the question's two rarest terms are common (held by more than POSTINGS_BUDGET chunks together),
        a chunk must hold all of them: scoring every chunk that holds either is what makes such questions slow (190
        ms at 1,000,000 chunks), and a chunk with only one of two common words ranks low anyway. Should fewer than
        n chunks hold them all, any of them will do.
        """
        terms = query_terms(question)
        if not terms:
            return []
        with self._lock:
            terms, common = self._affordable_terms(terms)
        quoted = ['"' + t.replace('"', "") + '"' for t in terms]
        if common:
            hits = self._search(" AND ".join(quoted), n, sources, since_ts, until_ts)
            if len(hits) >= n:
                return hits
        return self._search(" OR ".join(quoted), n, sources, since_ts, until_ts)

    def _search(self, match: str, n: int, sources, since_ts, until_ts) -> list[Hit]:
        sql = "SELECT chunk_id, bm25(chunks, 1.0, 0.5) AS rank FROM chunks WHERE chunks MATCH ?"
        params: list = [match]
        if sources:
            sources = list(sources)
            sql += f" AND source IN ({','.join('?' * len(sources))})"
            params += sources
        if since_ts is not None:
            sql += " AND published_ts IS NOT NULL AND published_ts >= ?"
            params.append(since_ts)
        if until_ts is not None:
            sql += " AND published_ts IS NOT NULL AND published_ts <= ?"
            params.append(until_ts)
        sql += " ORDER BY rank LIMIT ?"
        params.append(n)
        with self._lock:
            rows = self._connect().execute(sql, params).fetchall()
        return [Hit(cid, -rank) for cid, rank in rows]

    def _affordable_terms(self, terms: list[str]) -> tuple[list[str], bool]:
        """The question's terms, rarest first, while the chunks that hold them add up to POSTINGS_BUDGET (the two
        rarest are always kept), in the question's order; and whether the kept terms exceed the budget.

        FTS5 scores every chunk that holds any matched term, so at 100,000 chunks one word found in a third of them
        ("year", "new") costs more than the rest of the question while adding least to the BM25 score (its idf is the
        smallest): the idea of Lucene's common-terms cutoff. The index's term statistics (fts5vocab) give each term's
        document count; they are kept in memory, since reading one walks the term's whole postings list (10 ms a
        question at 1,000,000 chunks).
        """
        stemmed = self._stemmed(terms)
        counts = self._counts([stem for stems in stemmed.values() for stem in stems])
        postings = {term: sum(counts[stem] for stem in stems) for term, stems in stemmed.items()}
        kept, total = set(), 0
        for term in sorted(terms, key=lambda t: postings.get(t, 0)):
            if len(kept) >= 2 and total + postings.get(term, 0) > POSTINGS_BUDGET:
                break
            kept.add(term)
            total += postings.get(term, 0)
        return [t for t in terms if t in kept], total > POSTINGS_BUDGET

    def _counts(self, stems: list[str]) -> dict[str, int]:
        """stem -> the number of chunks that hold it."""
        unknown = [s for s in dict.fromkeys(stems) if s not in self._doc_counts]
        if unknown:
            if len(self._doc_counts) > 100_000:
                self._doc_counts.clear()
            self._doc_counts.update(dict.fromkeys(unknown, 0))
            marks = ",".join("?" * len(unknown))
            sql = f"SELECT term, doc FROM temp.chunk_terms WHERE term IN ({marks})"
            self._doc_counts.update(self._connect().execute(sql, unknown))
        return {s: self._doc_counts[s] for s in stems}

    def _stemmed(self, terms: list[str]) -> dict[str, list[str]]:
        """term -> the tokens FTS5 indexes it as (its porter stems), from a scratch in-memory FTS5 table."""
        if self._stems is None:
            self._stems = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._stems.executescript(
                f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize = '{_TOKENIZER}');"
                "CREATE VIRTUAL TABLE word_tokens USING fts5vocab(words, 'instance');"
            )
        self._stems.execute("DELETE FROM words")
        self._stems.executemany("INSERT INTO words (rowid, word) VALUES (?, ?)", enumerate(terms))
        tokens: dict[str, list[str]] = {}
        for row, token in self._stems.execute("SELECT doc, term FROM word_tokens ORDER BY doc, offset"):
            tokens.setdefault(terms[row], []).append(token)
        return tokens
