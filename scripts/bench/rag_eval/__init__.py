"""Retrieval evaluation on real third-party PDFs: ``python -m scripts.bench.rag_eval``."""
