"""A non-editable install carries its data: presets, prompts, the sample corpus, eval datasets and thresholds.
The wheel is built from this checkout (no network: setuptools from this environment)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        cwd=build,
        timeout=300,
    )
    (wheel,) = out.glob("newsrag-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_every_package_of_the_layers_is_in_the_wheel(wheel_files):
    for package in ("core", "index", "ingest", "rag", "ui", "serve", "cli", "eval"):
        assert f"{package}/__init__.py" in wheel_files, package
    assert "app.py" in wheel_files and "rag/prompts/__init__.py" in wheel_files


def test_packaged_data_is_in_the_wheel(wheel_files):
    expected = {
        *(f"core/presets/{p.name}" for p in (REPO / "core" / "presets").glob("*.toml")),
        *(f"rag/prompts/{p.name}" for p in (REPO / "rag" / "prompts").glob("*.toml")),
        *(str(p.relative_to(REPO)) for p in (REPO / "ingest" / "sample" / "articles").rglob("*.txt")),
        *(f"eval/datasets/{p.name}" for p in (REPO / "eval" / "datasets").glob("*.jsonl")),
        *(f"eval/corpora/conflicts/{p.name}" for p in (REPO / "eval" / "corpora" / "conflicts").glob("*.json")),
        "eval/thresholds.json",
        "eval/thresholds-trust.json",
        "ingest/sample/README.md",
    }
    assert len(expected) > 45
    assert not expected - wheel_files, sorted(expected - wheel_files)
