"""The index layer: the embedder, the Chroma vector store and the FTS5 keyword index, kept in step.

Written by `ingest/`, read by `rag/`; imports only `core/`.
"""
