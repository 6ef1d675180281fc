"""Adding articles: skip duplicates, chunk, encode in batches, commit whole articles at a time."""
from __future__ import annotations

import sys
from typing import Callable, Iterable, Optional, Union

import numpy as np

from corpus.records import Article, LoadFailure, Passage


def _bar(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="passage", desc=desc, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False)


def prepare(library, items: Iterable[Union[Article, LoadFailure]], report):
    """Chunk new articles; duplicates (same content hash, in the library or earlier in this run) are skipped."""
    seen: dict[str, str] = {}
    pending: list[tuple[Article, str, list[Passage]]] = []
    for item in items:
        if isinstance(item, LoadFailure):
            report.failed.append((item.source, item.reason))
            continue
        if item.id in seen or library.store.has_article(item.id):
            report.duplicates.append((item.source or item.title, item.id))
            continue
        seen[item.id] = item.source
        prefix, passages = library.chunk(item)
        pending.append((item, prefix, passages))
    return pending


def ingest(library, items, progress: bool = False,
           on_article: Optional[Callable[[str, str], None]] = None):
    from .library import ENCODE_BATCH, AddReport

    report = AddReport()
    pending = prepare(library, items, report)
    total = sum(len(p) for _, _, p in pending)
    bar = _bar(total, progress and total > 0, "Embedding")
    try:
        i = 0
        while i < len(pending):
            group, n = [], 0
            while i < len(pending) and (not group or n + len(pending[i][2]) <= ENCODE_BATCH):
                group.append(pending[i])
                n += len(pending[i][2])
                i += 1
            texts = [library.embedding_input(prefix, p.text) for _, prefix, ps in group for p in ps]
            vecs = library.encoder.encode(texts, batch_size=32) if texts else np.zeros((0, 1), np.float32)
            links = library.near_duplicate_links([(a, ps) for a, _, ps in group], vecs) \
                if hasattr(library, "near_duplicate_links") else None
            library.commit_articles([(a, ps) for a, _, ps in group], vecs, links)
            for a, _, ps in group:
                report.added.append((a.id, a.title))
                report.passages += len(ps)
                if on_article:
                    on_article(a.id, a.title)
            bar.update(n)
    finally:
        bar.close()
    return report
