"""article-qa: ask questions of your own articles and get answers with exact, checked citations.

    from qa import open_library
    lib = open_library("~/my-library")          # or open_library() for the default library
    lib.add_paths(["articles/"])
    answer = ask(lib, "What did the U.S. offer Maduro?")
"""
from corpus.errors import ArticleQAError, AuthFileError, LibraryError, ModelMismatchError, QuestionError
from corpus.records import AlsoIn, Answer, Article, Citation, Highlight, Passage

from .answer.ask import ask
from .answer.conversation import Conversation
from .answer.filters import Filters
from .answer.retrieval import MODES, retrieve
from .config import default_library_dir, make_encoder, open_library, samples_dir
from .ingest import AddReport
from .library import Library

__all__ = ["AddReport", "AlsoIn", "Answer", "Article", "ArticleQAError", "AuthFileError", "Citation", "Conversation", "Filters",
           "Highlight", "Library", "LibraryError", "MODES", "ModelMismatchError", "Passage", "QuestionError", "ask",
           "default_library_dir", "make_encoder", "open_library", "retrieve", "samples_dir"]
