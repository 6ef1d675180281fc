"""The library: a folder holding the SQLite store (truth) and the FAISS cache, behind one object."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

import numpy as np

from corpus.chunking import chunk_article
from corpus.errors import IntegrityError, LibraryError, ModelMismatchError
from corpus.loaders import count_articles, load_paths
from corpus.records import Article, LoadFailure, Passage
from embeddings.base import Encoder

from .ingest import ENCODE_BATCH, AddReport, ingest, progress_bar
from .store.sqlite import Store
from .store.vectors import VectorIndex, read_manifest

TARGET_TOKENS = 160  # passage size aimed for; the encoder's limit is the hard cap
TITLE_TOKENS = 32  # at most this much of the title is prepended to each passage for embedding


class Library:
    """Open with `Library(folder, encoder)`; the encoder is only loaded when text must be embedded, the
    reader (default: the shipped one) only when a question is answered."""

    def __init__(self, folder: Union[str, Path], encoder: Encoder, check_model: bool = True, reader=None):
        from .answer.reader.read import default_reader

        self.encoder = encoder
        self.reader = reader if reader is not None else default_reader()
        self._index_lock = threading.RLock()
        self._dirty = False
        if str(folder).startswith("milvus://"):
            from .store.milvus import MilvusStore, NullIndex

            self.store = MilvusStore(str(folder))
            self.folder = self.store.files
            self.folder.mkdir(parents=True, exist_ok=True)
            self._index = NullIndex(self.store)
        else:
            self._open_folder(folder)
        self.location = str(folder)
        stored = self.store.meta("model_id")
        if check_model and stored and stored != encoder.model_id:
            raise ModelMismatchError(self.location, stored, encoder.model_id)

    def _open_folder(self, folder):
        self.folder = Path(folder).expanduser()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LibraryError(f"Cannot create the library folder {self.folder} ({e.strerror}); "
                               "choose another with --library or ARTICLE_QA_LIBRARY.") from None
        self.store = Store(self.folder)
        self._index: Optional[VectorIndex] = None

    # -- model facts
    @property
    def model_id(self) -> Optional[str]:
        return self.store.meta("model_id")

    @property
    def dim(self) -> Optional[int]:
        d = self.store.meta("dim")
        return int(d) if d else None

    def embed_title(self, title: str) -> str:
        """The part of the title prepended to passages when embedding (bounded in tokens)."""
        words = title.split()
        while words and self.encoder.count_tokens(" ".join(words)) > TITLE_TOKENS:
            words = words[:-1]
        return " ".join(words)

    def embedding_input(self, title_prefix: str, text: str) -> str:
        return f"{title_prefix}\n{text}" if title_prefix else text

    # -- the FAISS cache
    @property
    def index(self) -> VectorIndex:
        with self._index_lock:
            if self._index is None:
                self._index = self._load_or_rebuild()
            return self._index

    def _load_or_rebuild(self) -> VectorIndex:
        m = read_manifest(self.folder)
        dim = self.dim
        if dim is None:
            return VectorIndex(self.encoder.dim)
        if m and m.get("generation") == self.store.generation() and m.get("model_id") == self.model_id:
            try:
                return VectorIndex.load(self.folder, m)
            except (OSError, ValueError, RuntimeError):
                pass  # damaged or stale cache: rebuild below from the stored vectors
        idx = self.rebuild_index(save=True)
        return idx

    def rebuild_index(self, save: bool = True) -> VectorIndex:
        """Rebuild the FAISS cache from the vectors stored in SQLite (no re-encoding)."""
        if getattr(self.store, "native_vectors", False):
            return self._index  # the store searches its own vectors (Milvus)
        dim = self.dim or self.encoder.dim
        idx = VectorIndex.build(dim, self.store.all_vectors(dim), self.store.counts()[1])
        with self._index_lock:
            self._index = idx
            if save:
                self._save_index()
        return idx

    def _manifest(self) -> dict:
        a, p = self.store.counts()
        return {"model_id": self.model_id, "generation": self.store.generation(), "articles": a, "passages": p,
                "schema_version": int(self.store.meta("schema_version", "1"))}

    def _save_index(self):
        with self._index_lock:
            if self._index is not None:
                with self.store.lock:  # the manifest must describe the same generation as the index
                    self._index.save(self.folder, self._manifest())
                self._dirty = False

    def flush(self):
        """Persist the FAISS cache if it changed; switch flat <-> IVF when the size crossed the threshold."""
        from .store.vectors import kind_for

        if self._dirty and hasattr(self.store, "flush"):
            self.store.flush()
            self._dirty = False
            return
        if self._dirty:
            if self._index is not None and self._index.kind != kind_for(self._index.ntotal):
                self.rebuild_index(save=True)
            else:
                self._save_index()

    def close(self):
        self.flush()
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- adding
    def add_paths(self, paths: Iterable[Union[str, Path]], progress: bool = False,
                  on_article: Optional[Callable[[str, str], None]] = None,
                  batch_passages: Optional[int] = None) -> AddReport:
        """Load files, folders and URLs and add every article found; failures are reported, not raised."""
        paths = list(paths)
        total = count_articles(paths) if progress else None
        report = ingest(self, load_paths(paths), progress=progress, on_article=on_article,
                        batch_passages=batch_passages, total=total)
        self.flush()
        return report

    def add(self, items: Iterable[Union[Article, LoadFailure]], progress: bool = False,
            on_article: Optional[Callable[[str, str], None]] = None,
            batch_passages: Optional[int] = None) -> AddReport:
        """Add articles as a stream (bounded memory); duplicates are skipped, never re-embedded."""
        report = ingest(self, items, progress=progress, on_article=on_article, batch_passages=batch_passages)
        self.flush()
        return report

    def _ensure_model_meta(self, db):
        if self.store.meta("model_id") is None:
            self.store.set_meta(db, model_id=self.encoder.model_id, dim=self.encoder.dim,
                                schema_version=1, target_tokens=TARGET_TOKENS)

    def chunk(self, article: Article) -> tuple[str, list[Passage]]:
        prefix = self.embed_title(article.title)
        budget = self.encoder.max_tokens - (self.encoder.count_tokens(prefix) + 1 if prefix else 0)
        return prefix, chunk_article(article, self.encoder.count_tokens, budget, min(TARGET_TOKENS, budget))

    def commit_articles(self, batch: list[tuple[Article, list[Passage]]], vecs: np.ndarray,
                        links: Optional[dict] = None):
        """Store whole articles with their passages and vectors in one transaction, then index them."""
        if not np.all(np.isfinite(vecs)):
            raise IntegrityError(f"The encoder '{self.encoder.model_id}' returned NaN or infinite values; "
                                 "nothing was stored. Check the model files or use another --model.")
        ids, row = [], 0
        index = self.index  # load the cache before writing, so the rebuild cannot see this batch
        with self._index_lock:  # one lock order everywhere: index lock, then the store's
            with self.store.transaction() as db:
                self._ensure_model_meta(db)
                for article, passages in batch:
                    link = (links or {}).get(article.id)
                    self.store.insert_article(db, article, canonical_id=link[0] if link else None,
                                              signature=link[1] if link else None)
                    for p in passages:
                        ids.append(self.store.insert_passage(db, p, article.title, vecs[row]))
                        row += 1
                self.store.bump(db)
            index.add(np.asarray(ids, np.int64), vecs[:row])  # only after COMMIT succeeded
            self._dirty = True
        if links:
            for article, _ in batch:
                root, sig = links[article.id]
                self.duplicates.added(article.id, root, np.frombuffer(sig, np.float32))

    # -- near-duplicates (see qa.store.dedup)
    @property
    def duplicates(self):
        from .store.dedup import DuplicateFinder

        if getattr(self, "_dups", None) is None:
            self._dups = DuplicateFinder(self.store)
        return self._dups

    def near_duplicate_links(self, batch, vecs):
        from .store.dedup import links_for_batch

        return links_for_batch(self, batch, vecs)

    def group_of(self, article_ids) -> dict[str, list[dict]]:
        """{root id: [{article_id, outlet, title}, ...]} for the duplicate groups of these articles."""
        rows = self.store.article_rows(article_ids)
        roots = {r["canonical_id"] or r["id"] for r in rows.values()}
        if not roots:
            return {}
        members = self.store.group_members(roots)
        out: dict[str, list[dict]] = {}
        for m in members:
            out.setdefault(m["root"], []).append({"article_id": m["id"], "outlet": m["outlet"], "title": m["title"]})
        return out

    # -- removing
    def remove(self, article_id: str) -> Article:
        article = self.store.article(article_id)
        if article is None:
            raise LibraryError(f"No article with id '{article_id}' in {self.folder}; run 'article-qa list' to see ids.")
        index = self.index
        with self._index_lock:
            with self.store.transaction() as db:
                ids = self.store.delete_article(db, article_id)
                self.store.bump(db)
            index.remove(ids)  # only after COMMIT succeeded
            self._dirty = True
        self.duplicates.reset()
        self.flush()
        return article

    # -- reading
    def get(self, article_id: str) -> Article:
        article = self.store.article(article_id)
        if article is None:
            raise LibraryError(f"No article with id '{article_id}' in {self.folder}; run 'article-qa list' to see ids.")
        return article

    def list(self, limit: int | None = None, offset: int = 0, query: str | None = None) -> list[dict]:
        return [{"id": r["id"], "title": r["title"], "authors": json.loads(r["authors"]), "outlet": r["outlet"],
                 "date": r["date"], "source": r["source"], "duplicate_of": r["canonical_id"]}
                for r in self.store.list_articles(limit, offset, query)]

    def __len__(self) -> int:
        return self.store.counts()[0]

    def stats(self) -> dict:
        a, p = self.store.counts()
        return {"library": str(self.folder), "articles": a, "passages": p, "model_id": self.model_id,
                "dim": self.dim, "generation": self.store.generation(),
                "index": {"type": self.index.kind, "vectors": self.index.ntotal, "nprobe": self.index.nprobe,
                          "recall@10": None if self.index.recall is None else round(self.index.recall, 3)},
                "precision": self.encoder.precision_facts() if hasattr(self.encoder, "precision_facts") else None,
                "reader": self._reader_facts()}

    def _reader_facts(self) -> dict:
        """The reader in use (without loading it): where its weights are and their held-out scores."""
        from .answer.reader.files import read_manifest, weights_dir

        try:
            m = read_manifest()
        except Exception as e:  # noqa: BLE001 - stats reports, `check` and `ask` raise
            return {"error": str(e)}
        facts = {"weights": str(weights_dir()), "sha256": m.get("sha256"), "heldout": m.get("heldout")}
        if getattr(self.reader, "precision", None):
            facts["precision"] = f"{self.reader.precision} ({self.reader.precision_reason})"
        return facts

    # -- re-embedding
    def reindex(self, progress: bool = False) -> AddReport:
        """Re-embed every stored article with the configured encoder, swapped in by one transaction."""
        rows = self.store.list_articles()
        articles = [self.store.article(r["id"]) for r in rows]
        roots = {r["id"]: r["canonical_id"] for r in rows}
        prepared = [(a, *self.chunk(a)) for a in articles]
        texts = [self.embedding_input(prefix, p.text) for _, prefix, ps in prepared for p in ps]
        bar = progress_bar(len(texts), progress, "Re-embedding")
        parts = []
        for i in range(0, len(texts), ENCODE_BATCH):
            parts.append(self.encoder.encode(texts[i:i + ENCODE_BATCH]))
            bar.update(len(parts[-1]))
        bar.close()
        vecs = np.concatenate(parts) if parts else np.zeros((0, self.encoder.dim), np.float32)
        if not np.all(np.isfinite(vecs)):
            raise IntegrityError(f"The encoder '{self.encoder.model_id}' returned NaN or infinite values; nothing changed.")
        with self.store.transaction() as db:
            for a in articles:
                self.store.delete_article(db, a.id)
            self.store.delete_meta(db, "model_id", "dim")
            self._ensure_model_meta(db)
            row = 0
            from .store.dedup import signature

            for a, _, ps in prepared:
                sig = signature(vecs[row:row + len(ps)]).tobytes() if ps else None
                self.store.insert_article(db, a, canonical_id=roots.get(a.id), signature=sig)
                for p in ps:
                    self.store.insert_passage(db, p, a.title, vecs[row])
                    row += 1
            self.store.bump(db)
        self.duplicates.reset()
        self.rebuild_index(save=True)
        report = AddReport(added=[(a.id, a.title) for a in articles], passages=len(texts))
        return report

    # -- searching (the store may search vectors itself, e.g. Milvus; else the FAISS cache does)
    def dense_search(self, qvec: np.ndarray, n: int, filters=None) -> list[tuple[int, float]]:
        active = filters is not None and filters.active
        if hasattr(self.store, "dense_search"):
            return self.store.dense_search(qvec, n, filters if active else None)
        allowed = self.store.filter_passage_ids(filters) if active else None
        ids, scores = self.index.search(qvec, n, allowed)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0])]

    def passage_count(self) -> int:
        """Passages in the library (cached per store generation: COUNT(*) reads the whole table)."""
        gen = self.store.generation()
        cached = getattr(self, "_count", None)
        if cached is None or cached[0] != gen:
            cached = self._count = (gen, self.store.counts()[1])
        return cached[1]

    def idf(self, terms: list[str]) -> dict[str, float]:
        """Smoothed inverse passage frequency per term (1.0 each where the store cannot count)."""
        gen = self.store.generation()
        # a local reference: other threads may swap the cache, never mutate the one read here
        cache = self._idf_cache if getattr(self, "_idf_gen", None) == gen else {}
        missing = [t for t in terms if t not in cache]
        if missing:
            cache = dict(cache)
            n = max(1, self.passage_count())
            counts = self.store.doc_freqs(missing) if hasattr(self.store, "doc_freqs") else {}
            for t in missing:
                df = counts.get(t)
                cache[t] = 1.0 if df is None else float(np.log1p((n - df + 0.5) / (df + 0.5)))
            self._idf_cache, self._idf_gen = cache, gen
        return {t: cache[t] for t in terms}

    def sources(self) -> dict:
        """The outlets, authors and dates of the stored articles, which a question may name ("according to
        the Overland Wire Service"); cached per store generation."""
        gen = self.store.generation()
        cached = getattr(self, "_sources", None)
        if cached is None or cached[0] != gen:
            rows = self.list()
            cached = (gen, {"outlets": sorted({r["outlet"] for r in rows if r["outlet"]}),
                            "authors": sorted({a for r in rows for a in r["authors"] if a}),
                            "dates": {r["id"]: r["date"] for r in rows if r["date"]}})
            self._sources = cached
        return cached[1]

    # -- asking (see qa.answer.ask)
    def ask(self, question: str, k: int = 5, mode: str = "hybrid", filters=None):
        from .answer.ask import ask

        return ask(self, question, k=k, mode=mode, filters=filters)
