"""The one interface every newsrag embedder implements (index/embed.py, index/embed_server.py): `embed`, with
llama-index's method names built on it so that NewsQA also accepts any llama-index BaseEmbedding."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Embedder(BaseModel):
    """Texts to unit-length vectors. One method to implement, `embed`; the two NewsQA calls are built on it."""

    model_config = ConfigDict(protected_namespaces=())

    model_name: str = Field(description="The model's name, recorded in the index: other models' vectors are refused.")

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order, of unit length (dot products are read as cosines)."""
        raise NotImplementedError

    def get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0]

    def get_text_embedding_batch(self, texts: list[str], **_: object) -> list[list[float]]:
        """All the texts in one call, not in fixed slices: the models sort them by length before batching, which cut
        the padding of BBC chunks from 38% to 7% of the tokens encoded."""
        return self.embed(list(texts)) if texts else []
