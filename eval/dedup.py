"""Near-duplicate detection measured on labelled pairs of BBC articles (eval/dedup_pairs.jsonl).

    python -m eval.dedup            # precision and recall of index.stories on the committed pairs
    python -m eval.dedup --build    # rebuild the pairs from ../shared/corpora/bbc-news

The labels do not come from the detector. A pair is a duplicate when at least half of the shorter article's
sentences appear word for word in the other: one text, syndicated, shortened or lightly edited, under any
headline. The candidates are every pair sharing enough 3-word phrases (exact counts, no MinHash) and random
pairs from the same category; same-event articles written separately are labelled as not duplicates.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

from core.text import split_sentences

PAIRS = Path(__file__).with_name("dedup_pairs.jsonl")
BBC = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "bbc-news"
DUPLICATE_SHARE = 0.5  # of the shorter article's sentences found verbatim in the other
CANDIDATE_JACCARD = 0.05
CANDIDATE_CONTAINMENT = 0.2
RANDOM_PAIRS = 100
COMMON_PHRASE = 30  # phrases in more articles than this ("said in a statement") do not make candidates


def _texts(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.glob("*/*.txt"))
    }


def _sentences(text: str) -> set[str]:
    return {" ".join(s.split()) for s in split_sentences(text) if len(s.split()) > 3}


def label(a: str, b: str) -> tuple[bool, float]:
    """(duplicate?, share of the shorter article's sentences found verbatim in the other)."""
    sa, sb = _sentences(a), _sentences(b)
    share = len(sa & sb) / max(1, min(len(sa), len(sb)))
    return share >= DUPLICATE_SHARE, share


def build(root: Path = BBC, seed: int = 13) -> list[dict]:
    from index.stories import shingles

    texts = _texts(root)
    sets = {name: shingles(text) for name, text in texts.items()}
    holders: dict[str, list[str]] = defaultdict(list)
    for name, phrases in sets.items():
        for phrase in phrases:
            holders[phrase].append(name)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for names in holders.values():
        if len(names) <= COMMON_PHRASE:
            for pair in itertools.combinations(names, 2):
                shared[pair] += 1
    candidates = {
        pair
        for pair, n in shared.items()
        if n / len(sets[pair[0]] | sets[pair[1]]) >= CANDIDATE_JACCARD
        or n / min(len(sets[pair[0]]), len(sets[pair[1]])) >= CANDIDATE_CONTAINMENT
    }
    rng = random.Random(seed)
    by_category: dict[str, list[str]] = defaultdict(list)
    for name in texts:
        by_category[name.split("/")[0]].append(name)
    target = len(candidates) + RANDOM_PAIRS
    while len(candidates) < target:
        names = by_category[rng.choice(sorted(by_category))]
        candidates.add(tuple(sorted(rng.sample(names, 2))))
    rows = []
    for a, b in sorted(candidates):
        duplicate, share = label(texts[a], texts[b])
        rows.append({"a": a, "b": b, "duplicate": duplicate, "shared_sentences": round(share, 3)})
    return rows


def measure(rows: list[dict], root: Path = BBC) -> dict[str, float]:
    """Precision and recall of index.stories' copy detection (MinHash LSH, as at ingest) on the pairs."""
    from core.settings import Settings
    from index.stories import StoryIndex, profile_for

    names = sorted({r["a"] for r in rows} | {r["b"] for r in rows})
    index = StoryIndex.from_settings(Settings())
    for name in names:
        title, _, text = (root / name).read_text(encoding="utf-8", errors="replace").partition("\n")
        index.add(profile_for(name, title.strip(), text.strip(), [[1.0]], None))
    found = {name: {other.article_id for _, other in index.copies_of(index.profiles[name])} for name in names}
    tp = sum(r["duplicate"] and r["b"] in found[r["a"]] for r in rows)
    fp = sum(not r["duplicate"] and r["b"] in found[r["a"]] for r in rows)
    fn = sum(r["duplicate"] and r["b"] not in found[r["a"]] for r in rows)
    return {
        "pairs": len(rows),
        "duplicates": tp + fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "false_positives": [[r["a"], r["b"]] for r in rows if not r["duplicate"] and r["b"] in found[r["a"]]],
        "missed": [
            [r["a"], r["b"], r["shared_sentences"]] for r in rows if r["duplicate"] and r["b"] not in found[r["a"]]
        ],
    }


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.dedup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="rebuild eval/dedup_pairs.jsonl from the BBC corpus")
    parser.add_argument("--corpus", type=Path, default=BBC, help="the bbc-news folder")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: no BBC corpus at {args.corpus}", file=sys.stderr)
        return 2
    if args.build:
        rows = build(args.corpus)
        PAIRS.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} pairs ({sum(r['duplicate'] for r in rows)} duplicates) to {PAIRS}")
    result = measure(load_pairs(), args.corpus)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
