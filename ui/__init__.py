"""The public web page: a Chinese-first chat with cited answers, mounted at ``/`` by ``rag.api.app``."""
