"""The sentence-transformers embedder's process-wide settings: the hub kept offline."""

from __future__ import annotations

import os

import pytest

from core.settings import offline_hub


def test_offline_hub_sets_the_variable_unless_the_user_did(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert offline_hub()["HF_HUB_OFFLINE"] == "1"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    offline_hub()
    assert os.environ["HF_HUB_OFFLINE"] == "0"
    child: dict[str, str] = {"PATH": "/bin"}
    assert offline_hub(child) is child and child["HF_HUB_OFFLINE"] == "1"
    assert offline_hub({"HF_HUB_OFFLINE": "0"})["HF_HUB_OFFLINE"] == "0"


def test_bench_children_get_it_through_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.common import bench_env

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert bench_env()["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert bench_env()["HF_HUB_OFFLINE"] == "0"
