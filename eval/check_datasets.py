"""Check datasets against the corpus: consistency, and how unique each answer is in the corpus.

    python -m eval.check_datasets [DATASET ...] [--corpus DIR] [--all]

For every answer it prints in how many corpus files the (normalized) answer occurs and whether
those include the gold articles. An answer found in many other articles makes a question that
another article could answer too, so prefer answers that occur only in the gold article(s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.datasets_io import DATASETS_DIR, load_dataset, source_problems
from eval.normalize import normalize

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def load_corpus(root: Path) -> dict[str, str]:
    """Normalized text of every .txt file under root, keyed by path relative to root."""
    return {
        p.relative_to(root).as_posix(): f" {normalize(p.read_text(encoding='utf-8', errors='replace'))} "
        for p in sorted(root.rglob("*.txt"))
    }


def occurrences(answer: str, corpus: dict[str, str]) -> list[str]:
    needle = f" {normalize(answer)} "
    return [key for key, text in corpus.items() if needle in text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", help="dataset names or paths (default: all in eval/datasets)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus root the sources are relative to")
    parser.add_argument("--all", action="store_true", help="list every answer, not only the doubtful ones")
    args = parser.parse_args(argv)

    names = args.datasets or [p.stem for p in sorted(DATASETS_DIR.glob("*.jsonl"))]
    corpus = load_corpus(args.corpus)
    bad = 0
    for name in names:
        questions = load_dataset(name)
        print(f"== {name}: {len(questions)} questions")
        for q in questions:
            for problem in source_problems(q, args.corpus):
                print(f"  PROBLEM {problem}")
                bad += 1
            for answer in q.answers:
                found = occurrences(answer, corpus)
                others = [f for f in found if f not in q.sources]
                if args.all or others:
                    mark = "ok " if not others else ("~  " if len(others) <= 2 else "!! ")
                    extra = f" also in {len(others)}: {', '.join(others[:3])}" if others else ""
                    print(f"  {mark}{q.id} {answer!r}: {len(found)} file(s){extra}")
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
