"""The command-line face (`article-qa`, `python -m qa`); `main` is its one way in."""
from .commands import build_parser, main

__all__ = ["build_parser", "main"]
