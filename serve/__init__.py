"""The interfaces other tools speak: an OpenAI-compatible HTTP API and an MCP server, both over `rag.NewsQA`."""
