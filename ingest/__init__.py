"""newsrag's ingestion side: sources become clean articles, chunks, embeddings and index rows.

Importing this package stays cheap: nothing heavy loads until it is used.
"""

from ingest.article import Article, LoadOutcome

__all__ = ["Article", "LoadOutcome"]
