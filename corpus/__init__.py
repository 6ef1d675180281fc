"""Articles in, passages out. No ML imports on this floor."""
from .chunking import chunk_article
from .loaders import iter_files, load_file, load_paths
from .records import AlsoIn, Answer, Article, Citation, Highlight, LoadFailure, Passage, Span
from .sentences import split_sentences

__all__ = ["AlsoIn", "Answer", "Article", "Citation", "Highlight", "LoadFailure", "Passage", "Span",
           "chunk_article", "iter_files", "load_file", "load_paths", "split_sentences"]
