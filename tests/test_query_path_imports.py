"""What `newsrag search` and `newsrag ask` import in a new process up to and through their first retrieval.

Issue 15's start-up budget (under 1.5 s before the first retrieval) has no room for llama-index-core (~0.8 s to
import) or torch: the question path must not import them. The LLM and llama-index's ChatMessage may come after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from paths import REPO

HEAVY = ("llama_index", "torch", "transformers", "sentence_transformers", "llama_cpp")

# Records the heavy modules loaded when the first retrieval starts and when it returns, then ends the process
# (for `ask`, before its answer loads the LLM).
PROBE = f"""
import json, os, sys
import rag.retrieve

HEAVY = {HEAVY!r}
retrieve = rag.retrieve.HybridRetriever.retrieve

def first_retrieval(self, *args, **kwargs):
    before = sorted(m for m in HEAVY if m in sys.modules)
    retrieve(self, *args, **kwargs)
    after = sorted(m for m in HEAVY if m in sys.modules)
    sys.__stdout__.write(json.dumps({{"before": before, "after": after}}) + "\\n")
    sys.__stdout__.flush()
    os._exit(0)

rag.retrieve.HybridRetriever.retrieve = first_retrieval
from cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["search", "ask"])
def test_a_question_in_a_new_process_imports_neither_llama_index_nor_torch_before_retrieving(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(HF_HUB_OFFLINE="1", NEWSRAG_EMBED_MODEL="hash", NEWSRAG_EMBED_BACKEND="local")
    got = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(tmp_path / "data"), command, "Which chips did Baidu make?"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    lines = got.stdout.strip().splitlines()
    assert lines, f"no retrieval happened: {got.stderr[-2000:]}"
    assert json.loads(lines[-1]) == {"before": [], "after": []}
