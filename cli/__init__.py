"""The `newsrag` command line: a thin face over `rag.NewsQA`, the app and the servers."""
