"""Storage: articles, passages and vectors (SQLite + FAISS cache, or Milvus), FTS terms, near-duplicates."""
