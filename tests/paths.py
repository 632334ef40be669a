"""Paths the tests read: the checkout, its bundled sample corpus, and the shared corpora beside the checkout.

The shared corpora sit at ../shared/corpora (next to this checkout); tests that need them skip when they are absent.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "ingest" / "sample" / "articles"
SAMPLE_SEED = SAMPLE_CORPUS / "seed" / "alibaba-baidu-ai-chips.txt"

SHARED_CORPORA = REPO.parent / "shared" / "corpora"
BBC_DIR = SHARED_CORPORA / "bbc-news"
BBC_TECH = BBC_DIR / "tech"
SEED_ARTICLE = SHARED_CORPORA / "seed" / "alibaba-baidu-ai-chips.txt"
REALTIMEQA_DIR = SHARED_CORPORA / "realtimeqa-2022"
