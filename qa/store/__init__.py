"""Storage: passages, articles and vectors on disk (SQLite + FAISS cache, or Milvus), full-text search, near-duplicates."""
