"""Shared helpers for the bench scripts: data, synthetic libraries, timing, tables and JSON output."""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SHARED = ROOT.parent / "shared" / "data"
SCIFACT = SHARED / "beir-scifact" / "beir"
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    """Context for every result: the CPU is shared, so the load average matters when reading numbers."""
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}


def save(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n", "utf-8")
    print(f"wrote {path}")
    return path


def table(rows: list[dict], cols: list[str]) -> None:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) and abs(v) < 1000 else (f"{v:,.0f}" if isinstance(v, float) else str(v))
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)))


def pct(values, p) -> float:
    return float(np.percentile(values, p)) if len(values) else float("nan")


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, (time.perf_counter() - t) * 1000


def _proc_kb(path: str, key: str) -> int:
    """A "Key: N kB" line of a /proc file, in bytes (0 when absent)."""
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes() -> int:
    return _proc_kb("/proc/self/status", "VmRSS")


def available_bytes() -> int:
    return _proc_kb("/proc/meminfo", "MemAvailable")


def articles(limit: int):
    """Real articles: SciFact abstracts when ../shared/data is present, else the bundled and test news."""
    from corpus.loaders import load_paths
    from qa.config import samples_dir
    from qa.evaluation.datasets import load_beir

    if SCIFACT.exists():
        return load_beir(SCIFACT).articles[:limit], "beir-scifact"
    found = [a for a in load_paths([samples_dir(), ROOT / "tests" / "data" / "news"]) if hasattr(a, "id")]
    return found[:limit], "bundled samples + tests/data/news"


def questions(limit: int) -> list[str]:
    from qa.evaluation.datasets import load_beir

    if SCIFACT.exists():
        return [it.question for it in load_beir(SCIFACT).items[:limit]]
    lines = (ROOT / "tests" / "data" / "news_questions.jsonl").read_text("utf-8").splitlines()
    return [json.loads(x)["question"] for x in lines[:limit]]


def synthetic_library(n: int, encoder, workdir=None, seed: int = 0):
    """A Library of n synthetic passages (random unit vectors, Zipf-sampled real words), built once and cached.

    Rows are written straight into the store (no encoding), the FAISS cache is rebuilt from them."""
    from corpus.records import Passage
    from corpus.sentences import split_sentences
    from corpus.text import make_article
    from embeddings import DEFAULT_MODEL
    from qa import Library

    folder = Path(workdir or Path.home() / ".cache" / "article-qa" / "bench") / f"synthetic-{n}-{encoder.model_id.replace('/', '_')}"
    lib = Library(folder, encoder)
    have = lib.store.counts()[1]
    if have >= n:
        return lib, folder
    if have:
        raise SystemExit(f"{folder} holds a partial synthetic library ({have} passages); delete it and rerun")
    print(f"building a synthetic library of {n:,} passages in {folder} ...", file=sys.stderr)
    words = _vocabulary()
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(words) + 1)
    p /= p.sum()
    dim, per_article, made = 384, 5, 0
    while made < n:
        m = min(5000, n - made)
        picks = rng.choice(len(words), size=(m, 8, 15), p=p)  # 8 sentences of 15 words: ~160 tokens
        vecs = rng.standard_normal((m, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with lib.store.transaction() as db:
            if lib.store.meta("model_id") is None:
                lib.store.set_meta(db, model_id=getattr(encoder, "model_id", DEFAULT_MODEL), dim=dim,
                                   schema_version=1, target_tokens=160)
            for a0 in range(0, m, per_article):
                paras = [" ".join(" ".join(words[j] for j in sent).capitalize() + "." for sent in picks[i])
                         for i in range(a0, min(m, a0 + per_article))]
                art = make_article(paras, f"synthetic#{made + a0}", title=" ".join(paras[0].split()[:6]))
                lib.store.insert_article(db, art)
                for j, sp in enumerate(art.paragraphs):
                    ps = Passage(article_id=art.id, index=j, paragraphs=(j,), start=sp.start, end=sp.end,
                                 text=art.text[sp.start:sp.end],
                                 sentences=tuple(split_sentences(art.text, sp.start, sp.end)))
                    lib.store.insert_passage(db, ps, art.title, vecs[a0 + j])
            lib.store.bump(db)
        made += m
    lib.rebuild_index(save=True)
    return lib, folder


def _vocabulary() -> list[str]:
    import re
    from collections import Counter

    arts, _ = articles(2000)
    counts = Counter(w for a in arts for w in re.findall(r"[a-z]{2,}", a.text.lower()))
    return [w for w, _ in counts.most_common(20000)]
