"""Shared fixtures: a network blocker, settings over a temporary data dir, and paths to the shared corpora."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
BBC = CORPORA / "bbc-news"
SEED_ARTICLE = CORPORA / "seed" / "alibaba-baidu-ai-chips.txt"
SAMPLE_CORPUS = REPO / "ingest" / "sample" / "articles"


def _is_loopback(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:  # unix sockets
        return True
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def block_network(monkeypatch):
    """Unit tests reach nothing beyond loopback; tests that need a server start it on 127.0.0.1."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(method):
        def connect(self, address, *args, **kwargs):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
                raise OSError(f"network access blocked in tests: {address!r}")
            return method(self, address, *args, **kwargs)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))


@pytest.fixture
def settings(tmp_path):
    """Settings over a fresh data dir with the fast hash embedder."""
    from core.settings import Settings

    return Settings(data_dir=tmp_path / "data", embed_model="hash", min_relevance=0.0)


@pytest.fixture
def need_corpora():
    if not BBC.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    return CORPORA
