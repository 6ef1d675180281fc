"""Adding articles as a stream: skip duplicates, chunk, encode in batches, commit whole articles.

Memory stays bounded whatever the collection size: articles are read lazily, encoded ENCODE_BATCH
passages at a time and committed batch by batch. With a core to spare (or a GPU encoding), a writer
thread commits one batch while the next is encoded; on a CPU whose cores all run the encoder, writes
come between batches, because a writer thread there slows every encoder step more than the write
itself takes (2-core AMD EPYC: Library.add / raw encoding 0.67-0.97 with the thread; see bench/README.md).
A re-run after an interruption skips what was committed (content-hash duplicates), so nothing is
stored twice. The library calls this module; it is handed the library and never imports it.
"""
from __future__ import annotations

import queue
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Union

from corpus.records import Article, LoadFailure

ENCODE_BATCH = 256  # passages encoded and committed together (whole articles only)


@dataclass
class AddReport:
    """What an add did: ids added, duplicates (source, existing id), failures (source, reason)."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (article id, title)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    passages: int = 0

    def to_json(self) -> dict:
        return {"added": [{"id": i, "title": t} for i, t in self.added],
                "duplicates": [{"source": s, "id": i} for s, i in self.duplicates],
                "failed": [{"source": s, "reason": r} for s, r in self.failed], "passages": self.passages}


def progress_bar(total: Optional[int], enabled: bool, desc: str, unit: str = "passage"):
    """A tqdm bar on stderr: count of total, rate and time left (no total: count and rate)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, leave=False)


def batches(library, items: Iterable[Union[Article, LoadFailure]], report, size: int, skipped=lambda: None):
    """Groups of (article, title prefix, passages) holding about `size` passages, new articles only;
    `skipped()` is called for each failure or duplicate (they advance the progress bar too)."""
    seen: set[str] = set()
    group, n = [], 0
    for item in items:
        if isinstance(item, LoadFailure):
            report.failed.append((item.source, item.reason))
            skipped()
            continue
        if item.id in seen or library.store.has_article(item.id):
            report.duplicates.append((item.source or item.title, item.id))
            skipped()
            continue
        seen.add(item.id)
        prefix, passages = library.chunk(item)
        if group and n + len(passages) > size:
            yield group
            group, n = [], 0
        group.append((item, prefix, passages))
        n += len(passages)
    if group:
        yield group


def spare_core(encoder) -> bool:
    """Whether a writer thread can run beside the encoder without taking a core from it."""
    import os

    device = str(getattr(encoder, "device", None) or "")
    if device.startswith(("cuda", "mps")) or len(getattr(encoder, "devices", None) or []) > 1:
        return True
    return (os.cpu_count() or 1) > 2


def ingest(library, items, progress: bool = False, on_article: Optional[Callable[[str, str], None]] = None,
           batch_passages: Optional[int] = None, total: Optional[int] = None, overlap: Optional[bool] = None):
    """Chunk, embed and store `items`; `total` (articles expected, if known) gives the bar an end and an ETA.
    `overlap` (default: `spare_core`) commits in a writer thread while the next batch is encoded."""
    if overlap is None:
        overlap = spare_core(library.encoder)
    report = AddReport()
    bar = progress_bar(total, progress, "Indexing", unit="article")
    todo: queue.Queue = queue.Queue(maxsize=2)  # at most two encoded batches wait for the writer
    failure: list[BaseException] = []

    def commit(group, vecs):
        try:
            pairs = [(a, ps) for a, _, ps in group]
            library.commit_articles(pairs, vecs, library.near_duplicate_links(pairs, vecs))
            for a, ps in pairs:
                report.added.append((a.id, a.title))
                report.passages += len(ps)
                if on_article:
                    on_article(a.id, a.title)
            bar.update(len(pairs))
            bar.set_postfix(passages=report.passages, refresh=False)
        except BaseException as e:  # surfaced in the caller's thread below
            failure.append(e)

    def drain():  # the writer thread
        while (job := todo.get()) is not None:
            if not failure:  # after an error, drain: nothing more is written
                commit(*job)

    writer = threading.Thread(target=drain, name="article-qa-writer", daemon=True)
    if overlap:
        writer.start()
    try:
        for group in batches(library, items, report, batch_passages or ENCODE_BATCH, lambda: bar.update(1)):
            if failure:
                break
            texts = [library.embedding_input(prefix, p.text) for _, prefix, ps in group for p in ps]
            vecs = library.encoder.encode(texts, batch_size=32)
            if overlap:
                todo.put((group, vecs))
            else:
                commit(group, vecs)  # in this thread, between encoder batches
    finally:
        if overlap:
            todo.put(None)
            writer.join()
        bar.close()
    if failure:
        raise failure[0]
    return report
