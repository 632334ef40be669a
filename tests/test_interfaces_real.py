"""Smoke test of the open interfaces on the real models: the bundled embedder and LLM answer over the seed
article through the OpenAI-compatible API (served on loopback, `openai` client, streaming)."""

from __future__ import annotations

import re

import pytest
from paths import SAMPLE_CORPUS
from servers import uvicorn_server

pytestmark = pytest.mark.real


def test_openai_client_gets_a_cited_answer_from_the_real_models(tmp_path):
    import openai
    from starlette.applications import Starlette

    from core.settings import Settings
    from rag.api import NewsQA
    from serve import openai_api

    qa = NewsQA(settings=Settings(data_dir=tmp_path / "data", llm="local"))
    assert qa.ingest([SAMPLE_CORPUS / "seed"]).ok
    with uvicorn_server(Starlette(routes=[openai_api.mount(qa)])) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=300)
        chunks = list(
            client.chat.completions.create(
                model="newsrag",
                messages=[
                    {"role": "user", "content": "Roughly how much did Alibaba's share price gain early in the session?"}
                ],
                stream=True,
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    extra = chunks[-1].model_extra["newsrag"]
    print(f"\n{text!r}")
    assert extra["refused"] is False, text
    answer, sources = text.split("\n\nSources:\n")
    assert "7%" in answer
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    assert numbers and numbers == {c["number"] for c in extra["citations"]}
    assert all(c["evidence"] and c["source"] == "seed" for c in extra["citations"])
    assert sources.count("\n") + 1 == len({c["article_id"] for c in extra["citations"]})  # one line per article
