"""Stories: which stored articles are copies of one another, and which tell the same story.

Two links join articles:
  - a *copy* (syndicated or lightly edited text): the Jaccard similarity of their sets of 3-word shingles is at
    least DUPLICATE_JACCARD, estimated by MinHash and found by MinHash LSH (datasketch), so a new article is
    compared with a few candidates, not with every stored one;
  - the *same event*: their embeddings (the mean of their chunk vectors) are at least settings.story_similarity
    alike, they share settings.story_entities named entities, and, when both are dated, they were published
    within settings.story_window_days.
An article's `dup_id` names its copy cluster (retrieval shows one copy of it); its `story_id` names its story
(copies always, same-event links too). Both are opaque ids: the id of the article that started the cluster, kept
when that article is deleted, so the others are never orphaned.

The LSH state is not persisted: each article record carries its MinHash signature, vector and entities, and
`StoryIndex.from_records` rebuilds the index from the records that every ingest reads anyway (one LSH insert and
one row of a vector matrix per article: tens of milliseconds per thousand articles). Nothing can then disagree with
the records, whichever process wrote them.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.text import STOPWORDS

NUM_PERM = 128
MINHASH_SCHEME = "affine32"  # datasketch 2 hashing; its values fit in uint32, so signatures store compactly
SHINGLE_WORDS = 3
DUPLICATE_JACCARD = 0.5  # more than half of the two articles' distinct 3-word phrases shared: one text, edited
# A text of fewer 3-word phrases than this (a sentence or two: a feed snippet) is too short to call a copy on
# shared phrases, since two such texts differ in a word or two even when their news differs; exact repeats are
# still caught by the content hash.
MIN_COPY_SHINGLES = 40
MAX_ENTITIES = 20  # the article's most frequent named entities kept for comparison
_DAY = 86400

_WORD = re.compile(r"\w+")
# A run of capitalised words ("Sony Ericsson", "BBC", "New York"), joined by single spaces.
_ENTITY = re.compile(r"\b[A-Z][\w&'-]*(?: [A-Z][\w&'-]*)*")


def shingles(text: str) -> set[str]:
    """The text's distinct 3-word phrases, lower-cased (a text shorter than that: its words)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        return set(words)
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def minhash(text: str, phrases: set[str] | None = None):
    """The datasketch MinHash of the text's shingles (or of `phrases`, its shingles already computed)."""
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, scheme=MINHASH_SCHEME)
    m.update_batch([s.encode("utf-8") for s in (shingles(text) if phrases is None else phrases)])
    return m


def encode_minhash(m) -> str:
    # datasketch keeps hash values below 2**32, so they fit in uint32.
    return base64.b64encode(np.asarray(m.hashvalues, dtype=np.uint32).tobytes()).decode("ascii")


def decode_minhash(text: str):
    from datasketch import MinHash

    values = np.frombuffer(base64.b64decode(text), dtype=np.uint32).copy()
    return MinHash(num_perm=len(values), hashvalues=values, scheme=MINHASH_SCHEME)


def encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype=np.float16).tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float16).astype(np.float32)


def article_vector(chunk_vectors: Iterable[Iterable[float]]) -> np.ndarray:
    """The article's embedding: the mean of its chunk vectors, unit length."""
    mean = np.asarray(list(chunk_vectors), dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean


def named_entities(title: str, text: str) -> frozenset[str]:
    """The article's most frequent names: runs of capitalised words, leading stopwords ("The") dropped; a single
    word the text also writes in lower case is an ordinary word that began a sentence ("Despite"), not a name."""
    whole = f"{title}\n{text}"
    lower_words = set(re.findall(r"\b[a-z][\w'-]*", whole))
    counts: Counter[str] = Counter()
    for found in _ENTITY.findall(whole):
        words = found.split(" ")
        while words and words[0].lower() in STOPWORDS:
            words = words[1:]
        if not words or len(words[0]) < 2 or (len(words) == 1 and words[0].lower() in lower_words):
            continue
        counts[" ".join(words).lower()] += 1
    return frozenset(name for name, _ in counts.most_common(MAX_ENTITIES))


@dataclass
class Profile:
    """What story assignment knows of an article."""

    article_id: str
    signature: Any  # datasketch MinHash
    vector: np.ndarray | None
    entities: frozenset[str]
    published_ts: int | None
    story_id: str = ""
    dup_id: str = ""
    shingles: int = MIN_COPY_SHINGLES  # how many distinct 3-word phrases the signature was made from

    @property
    def long_enough(self) -> bool:
        """Whether the text is long enough to be compared for copies (MIN_COPY_SHINGLES)."""
        return self.shingles >= MIN_COPY_SHINGLES

    def record_fields(self) -> dict[str, Any]:
        """The article-record fields that let a later run rebuild the profile (see `profile_of`)."""
        fields = {
            "story_id": self.story_id,
            "dup_id": self.dup_id,
            "minhash": encode_minhash(self.signature),
            "shingles": self.shingles,
            "entities": "|".join(sorted(self.entities)),
        }
        if self.vector is not None:
            fields["vector"] = encode_vector(self.vector)
        return fields


def profile_of(article_id: str, record: Mapping[str, Any]) -> Profile | None:
    """The profile stored in an article record, or None for a record written before stories existed."""
    if not record.get("minhash") or not record.get("story_id"):
        return None
    entities = frozenset(e for e in str(record.get("entities", "")).split("|") if e)
    vector = decode_vector(record["vector"]) if record.get("vector") else None
    return Profile(
        article_id,
        decode_minhash(record["minhash"]),
        vector,
        entities,
        record.get("published_ts"),
        record["story_id"],
        record.get("dup_id") or article_id,
        int(record.get("shingles", MIN_COPY_SHINGLES)),
    )


def profile_for(article_id: str, title: str, text: str, chunk_vectors, published_ts: int | None) -> Profile:
    """A new article's profile, its story not yet assigned (StoryIndex.assign does that)."""
    whole = f"{title}\n{text}"
    phrases = shingles(whole)
    return Profile(
        article_id,
        minhash(whole, phrases),
        article_vector(chunk_vectors),
        named_entities(title, text),
        published_ts,
        shingles=len(phrases),
    )


class StoryIndex:
    """Profiles of the stored articles, searchable for copies (LSH) and same-event neighbours (vectors)."""

    def __init__(self, similarity: float, entities: int, window_days: float):
        from datasketch import MinHashLSH

        self.similarity = similarity
        self.min_entities = entities
        self.window_s = window_days * _DAY
        self.profiles: dict[str, Profile] = {}
        self._lsh = MinHashLSH(threshold=DUPLICATE_JACCARD, num_perm=NUM_PERM)
        self._rows: list[str] = []  # article id of each matrix row ("" once removed)
        self._matrix = np.zeros((0, 0), dtype=np.float32)

    @classmethod
    def from_settings(cls, settings) -> StoryIndex:
        return cls(settings.story_similarity, settings.story_entities, settings.story_window_days)

    @classmethod
    def from_records(cls, records: Mapping[str, Mapping[str, Any]], settings) -> StoryIndex:
        index = cls.from_settings(settings)
        for article_id, record in records.items():
            profile = profile_of(article_id, record)
            if profile is not None:
                index.add(profile)
        return index

    # membership -----------------------------------------------------------

    def add(self, profile: Profile) -> None:
        self.remove(profile.article_id)
        self.profiles[profile.article_id] = profile
        if profile.long_enough:
            self._lsh.insert(profile.article_id, profile.signature)
        if profile.vector is not None:
            self._append_row(profile.article_id, profile.vector)

    def remove(self, article_id: str) -> Profile | None:
        profile = self.profiles.pop(article_id, None)
        if profile is not None:
            if profile.long_enough:
                self._lsh.remove(article_id)
            if article_id in self._rows:
                self._rows[self._rows.index(article_id)] = ""
        return profile

    def _append_row(self, article_id: str, vector: np.ndarray) -> None:
        n = len(self._rows)
        if self._matrix.shape[0] == n:  # grow by doubling: appends stay cheap over a long ingest
            grown = np.zeros((max(64, 2 * n), len(vector)), dtype=np.float32)
            grown[:n] = self._matrix[:n] if n else grown[:0]
            self._matrix = grown
        self._matrix[n] = vector
        self._rows.append(article_id)

    # links ------------------------------------------------------------------

    def is_copy(self, a: Profile, b: Profile) -> bool:
        return a.long_enough and b.long_enough and a.signature.jaccard(b.signature) >= DUPLICATE_JACCARD

    def same_event(self, a: Profile, b: Profile, similarity: float | None = None) -> bool:
        if a.vector is None or b.vector is None:
            return False
        if similarity is None:
            similarity = float(np.dot(a.vector, b.vector))
        if similarity < self.similarity or len(a.entities & b.entities) < self.min_entities:
            return False
        if a.published_ts is not None and b.published_ts is not None:
            return abs(a.published_ts - b.published_ts) <= self.window_s
        return True

    def copies_of(self, profile: Profile) -> list[tuple[float, Profile]]:
        """Stored copies of the article, most similar first."""
        if not profile.long_enough:
            return []
        found = []
        for other_id in self._lsh.query(profile.signature):
            other = self.profiles.get(other_id)
            if other is not None and other_id != profile.article_id:
                jaccard = profile.signature.jaccard(other.signature)
                if jaccard >= DUPLICATE_JACCARD:
                    found.append((jaccard, other))
        return sorted(found, key=lambda pair: (-pair[0], pair[1].article_id))

    def same_event_as(self, profile: Profile) -> list[tuple[float, Profile]]:
        """Stored articles about the same event, most similar first."""
        if profile.vector is None or not self._rows:
            return []
        scores = self._matrix[: len(self._rows)] @ profile.vector
        found = []
        for row in np.flatnonzero(scores >= self.similarity):
            other = self.profiles.get(self._rows[row])
            if other is not None and other.article_id != profile.article_id:
                if self.same_event(profile, other, float(scores[row])):
                    found.append((float(scores[row]), other))
        return sorted(found, key=lambda pair: (-pair[0], pair[1].article_id))

    # assignment -------------------------------------------------------------

    def assign(self, profile: Profile) -> Profile:
        """Give a new (or changed) article its copy cluster and story, and add it to the index."""
        copies = self.copies_of(profile)
        if copies:
            best = copies[0][1]
            profile.dup_id, profile.story_id = best.dup_id, best.story_id
        else:
            profile.dup_id = profile.article_id
            events = self.same_event_as(profile)
            profile.story_id = events[0][1].story_id if events else self._new_story_id(profile.article_id)
        self.add(profile)
        return profile

    def _new_story_id(self, article_id: str) -> str:
        taken = {p.story_id for p in self.profiles.values()}
        story_id, n = article_id, 1
        while story_id in taken:  # the article started a story once, was deleted, and that story lives on
            n += 1
            story_id = f"{article_id}-{n}"
        return story_id

    def withdraw(self, article_ids: Iterable[str]) -> dict[str, Profile]:
        """Remove articles; their stories' remaining articles are re-linked among themselves, since a deleted
        article may have been the only link between two parts. Returns the profiles whose ids changed."""
        touched: set[str] = set()
        for article_id in article_ids:
            profile = self.remove(article_id)
            if profile is not None:
                touched.add(profile.story_id)
        changed: dict[str, Profile] = {}
        for story_id in sorted(touched):
            members = [p for p in self.profiles.values() if p.story_id == story_id]
            self._split(members, lambda a, b: self.is_copy(a, b) or self.same_event(a, b), "story_id", changed)
            for dup_id in sorted({p.dup_id for p in members}):
                copies = [p for p in members if p.dup_id == dup_id]
                self._split(copies, self.is_copy, "dup_id", changed)
        return changed

    @staticmethod
    def _split(members: list[Profile], linked, field_name: str, changed: dict[str, Profile]) -> None:
        """Connected parts of members under `linked`: the largest keeps its id, each other part takes the id of
        its first article (by date, then id)."""
        if len(members) < 2:
            return
        parent = {p.article_id: p.article_id for p in members}

        def root(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if root(a.article_id) != root(b.article_id) and linked(a, b):
                    parent[root(a.article_id)] = root(b.article_id)
        parts: dict[str, list[Profile]] = {}
        for p in members:
            parts.setdefault(root(p.article_id), []).append(p)
        if len(parts) < 2:
            return
        ordered = sorted(parts.values(), key=lambda part: -len(part))
        for part in ordered[1:]:
            first = min(part, key=lambda p: (p.published_ts is None, p.published_ts or 0, p.article_id))
            for p in part:
                setattr(p, field_name, first.article_id)
                changed[p.article_id] = p
