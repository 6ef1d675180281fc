"""Answering: retrieve passages for a question, let the reader pick the evidence, score confidence, follow a conversation."""
