"""The CI quality gate: the seed suite on the real models must stay above eval/thresholds.json."""

from __future__ import annotations

import json

import pytest

from eval.gate import EVAL_DIR
from eval.runner import main as eval_main


@pytest.mark.real
@pytest.mark.timeout(1200)
def test_seed_suite_passes_its_quality_gate(tmp_path, need_corpora):
    out = tmp_path / "report"
    code = eval_main(["--suite", "seed", "--data-dir", str(tmp_path / "data"), "--out", str(out), "--gate", "-q"])
    summary = json.loads((out / "report.json").read_text())["runs"][0]["summary"]
    assert code == 0, f"seed suite below eval/thresholds.json: {json.dumps(summary['overall'], indent=1)}"


@pytest.mark.real
@pytest.mark.timeout(2400)
def test_trust_suite_passes_its_quality_gate(tmp_path, need_corpora):
    """The test half of the trust questions (nearmiss, synthesis, followup, single, unanswerable) over the
    seed article and all 2,095 BBC articles, against eval/thresholds-trust.json."""
    out = tmp_path / "report"
    thresholds = str(EVAL_DIR / "thresholds-trust.json")
    args = ["--suite", "trust-test", "--data-dir", str(tmp_path / "data"), "--out", str(out), "-q"]
    code = eval_main([*args, "--gate", "--thresholds", thresholds])
    summary = json.loads((out / "report.json").read_text())["runs"][0]["summary"]
    assert code == 0, f"trust-test below eval/thresholds-trust.json: {json.dumps(summary, indent=1)[:3000]}"
