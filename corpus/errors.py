"""Every error the product raises. Each message names the file or value, what was expected, and the fix."""
from __future__ import annotations


class ArticleQAError(Exception):
    """Base class: catch this to handle any article-qa error."""


class LoadError(ArticleQAError):
    """A file or record could not be turned into an article."""

    def __init__(self, source: str, problem: str, fix: str):
        self.source, self.problem, self.fix = source, problem, fix
        super().__init__(f"{source}: {problem}. {fix}")


class QuestionError(ArticleQAError, ValueError):
    """The question (or its options) cannot be asked."""


class LibraryError(ArticleQAError):
    """The library on disk cannot be used as asked."""


class ModelMismatchError(LibraryError):
    def __init__(self, path, library_model: str, configured_model: str):
        super().__init__(
            f"Library {path} was built with model '{library_model}', but the configured model is "
            f"'{configured_model}'. Use --model '{library_model}' (or ARTICLE_QA_MODEL) to read it, or run "
            f"'article-qa reindex --library {path}' to re-embed it with '{configured_model}'."
        )
        self.library_model, self.configured_model = library_model, configured_model


class IntegrityError(LibraryError):
    """A library file is damaged or disagrees with the database."""


class DiskFullError(LibraryError):
    """A write failed for lack of space; the previous state is intact."""


class UnsafeURLError(ArticleQAError):
    """A URL was refused (scheme, private address, size or content type)."""


class MissingExtraError(ArticleQAError, ImportError):
    def __init__(self, feature: str, extra: str):
        super().__init__(f"{feature} needs the optional extra: pip install 'article-qa[{extra}]'")


class ReaderModelError(ArticleQAError):
    """The reader's shipped weights are missing, damaged, or do not fit the base model."""


class AuthFileError(ArticleQAError):
    """The sign-in file (serve --auth-file) is missing, unreadable or malformed, or a user name is invalid."""
