"""Shared fixtures: a network blocker, settings over a temporary data dir, the fakes, and the shared corpora.

Paths live in paths.py, the fakes in fakes.py, servers and processes in servers.py: test modules import those,
never conftest or another test module.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
from paths import BBC_DIR, SHARED_CORPORA

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


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
    from fakes import fake_settings

    return fake_settings(tmp_path / "data")


@pytest.fixture
def need_corpora():
    if not BBC_DIR.is_dir():
        pytest.skip("../shared/corpora is not beside this checkout")
    return SHARED_CORPORA


@pytest.fixture
def scripted_llm():
    """A fresh ScriptedLLM with nothing queued: queue replies with `.queue(...)`, or set `.rule`."""
    from fakes import ScriptedLLM

    return ScriptedLLM()


@pytest.fixture
def hash_embedder():
    """The deterministic bag-of-words hash embedder (list of texts -> list of vectors)."""
    from fakes import hash_embed

    return hash_embed
