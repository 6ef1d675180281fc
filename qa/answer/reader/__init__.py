"""The reader: a cross-encoder trained here that picks the answering sentence, the answer phrase, and
whether a passage answers at all."""
