"""Crash consistency: SIGKILL an indexing process at random moments, then prove nothing was torn.

    python bench/crash_test.py [--trials 20] [--articles 40] [--fake] [--seed 1]

Generates original synthetic articles (random made-up words), indexes them once without
interruption (the baseline: expected passages per article, and how long indexing takes), then for
each trial starts a fresh indexing subprocess (tests/crash_driver.py, which prints CONFIRMED <id>
after each commit), kills it with SIGKILL at a random moment and checks the library:

  * qa.integrity.check passes before it is opened (a stale cache is only a warning),
  * after opening, the FAISS cache holds exactly the SQLite passages and check() passes,
  * every article present is whole (its passage count equals the baseline) and was in the corpus,
  * every article the process confirmed is present.

Prints N/TRIALS passed; exits 1 on any failure. Uses the real bundled model unless --fake.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "dri", "pel", "sun", "ar", "ith", "mor", "ne", "qua", "zel",
             "bro", "fin", "gal", "hu", "jor", "ku", "lim", "nas", "ost", "pra", "rul", "sef", "tor", "ub", "wen")


def make_corpus(folder: Path, n: int, seed: int = 1) -> None:
    """n small original .md articles of made-up words (deterministic for a seed)."""
    rng = random.Random(seed)
    vocab = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(3000)})
    folder.mkdir(parents=True, exist_ok=True)

    def sentence():
        words = [rng.choice(vocab) for _ in range(rng.randint(5, 18))]
        return " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"])

    for i in range(n):
        title = " ".join(rng.choice(vocab) for _ in range(rng.randint(3, 7))).title()
        paras = [" ".join(sentence() for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 7))]
        (folder / f"a{i:04d}.md").write_text(f"# {title} {i}\n\nBy Synthetic Writer {i % 17}\nDate: 2024-0{1 + i % 9}-1{i % 10}\n\n"
                                             + "\n\n".join(paras) + "\n", "utf-8")


def start_driver(lib: Path, corpus: Path, real: bool):
    cmd = [sys.executable, "-m", "tests.crash_driver", str(lib), str(corpus)] + (["--real"] if real else [])
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, ready = [], threading.Event()

    def pump():
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("READY"):
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return proc, lines, ready, reader


def run_to_end(lib: Path, corpus: Path, real: bool, timeout: float = 600) -> float:
    """Index without interruption; returns seconds from READY to exit."""
    proc, lines, ready, reader = start_driver(lib, corpus, real)
    ready.wait(timeout)
    t = time.monotonic()
    proc.wait(timeout)
    reader.join(10)
    if proc.returncode != 0 or "DONE" not in lines:
        raise RuntimeError(f"baseline indexing failed (exit {proc.returncode}): {proc.stderr.read()[-2000:]}")
    return time.monotonic() - t


def passages_per_article(lib: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{lib / 'library.sqlite3'}?mode=ro", uri=True)
    try:
        counts = dict(db.execute("SELECT a.id, COUNT(p.id) FROM articles a LEFT JOIN passages p "
                                 "ON p.article_id = a.id GROUP BY a.id"))
    finally:
        db.close()
    return counts


def kill_at_random(lib: Path, corpus: Path, real: bool, delay: float, timeout: float = 600):
    """Start indexing, SIGKILL it `delay` seconds after READY; (confirmed ids, was it killed)."""
    proc, lines, ready, reader = start_driver(lib, corpus, real)
    if not ready.wait(timeout):
        proc.kill()
        raise RuntimeError("the driver never became ready")
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout)
    reader.join(10)
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"the driver failed on its own (exit {proc.returncode}): {proc.stderr.read()[-2000:]}")
    proc.stderr.close()
    return {ln.split()[1] for ln in lines if ln.startswith("CONFIRMED ")}, killed


def verify(lib: Path, confirmed: set[str], expected: dict[str, int]) -> list[str]:
    """Everything wrong with the library after a kill (empty list: it is consistent)."""
    from qa import Library
    from qa.integrity import StoredModel, check

    errors = []
    if not (lib / "library.sqlite3").exists():
        return [] if not confirmed else [f"no database, but {len(confirmed)} article(s) were confirmed"]
    before = check(lib)
    errors += [f"before open: {p}" for p in before.problems]
    db = sqlite3.connect(f"file:{lib / 'library.sqlite3'}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    library = Library(lib, StoredModel(meta.get("model_id", "unknown"), int(meta.get("dim", 1))))
    try:
        n_articles, n_passages = library.store.counts()
        if n_passages and library.index.ntotal != n_passages:
            errors.append(f"FAISS holds {library.index.ntotal} vectors for {n_passages} passages")
    finally:
        library.close()
    after = check(lib)
    errors += [f"after open: {p}" for p in after.problems]
    errors += [f"after open: {w}" for w in after.warnings if "temporary file" not in w]
    present = passages_per_article(lib)
    for aid, n in present.items():
        if aid not in expected:
            errors.append(f"article {aid} is not one of the corpus articles")
        elif n != expected[aid]:
            errors.append(f"article {aid} has {n} passages, expected {expected[aid]} (torn article)")
    missing = confirmed - set(present)
    if missing:
        errors.append(f"{len(missing)} confirmed article(s) are missing: {sorted(missing)[:5]}")
    return errors


def run_trials(trials: int, articles: int, real: bool, seed: int = 1, workdir: Path | None = None,
               log=lambda m: print(m, flush=True)) -> tuple[int, list[str]]:
    """(trials passed, failure descriptions)."""
    rng = random.Random(seed)
    work = Path(workdir or tempfile.mkdtemp(prefix="aqa-crash-"))
    corpus = work / "corpus"
    make_corpus(corpus, articles, seed)
    base = work / "baseline"
    duration = run_to_end(base, corpus, real)
    expected = passages_per_article(base)
    if len(expected) != articles:
        raise RuntimeError(f"the baseline indexed {len(expected)} of {articles} articles")
    log(f"baseline: {articles} articles, {sum(expected.values())} passages indexed in {duration:.1f}s")
    passed, failures = 0, []
    for t in range(1, trials + 1):
        lib = work / f"trial{t}"
        if rng.random() < 0.3 and t > 1:  # sometimes crash an add into a library that already holds articles
            shutil.copytree(work / f"trial{t - 1}", lib)
        delay = rng.uniform(0, duration * 1.1)
        confirmed, killed = kill_at_random(lib, corpus, real, delay)
        errors = verify(lib, confirmed, expected)
        present = len(passages_per_article(lib)) if (lib / "library.sqlite3").exists() else 0
        status = "ok" if not errors else "FAILED"
        log(f"trial {t:2d}: {'killed' if killed else 'finished'} after {delay:5.2f}s, {len(confirmed):4d} confirmed, "
            f"{present:4d} present: {status}")
        for e in errors:
            log(f"    {e}")
        if errors:
            failures.append(f"trial {t}: " + "; ".join(errors))
        else:
            passed += 1
    if workdir is None and not failures:
        shutil.rmtree(work, ignore_errors=True)
    return passed, failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--fake", action="store_true", help="use the tests' FakeEncoder (fast) instead of the real model")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t = time.monotonic()
    passed, failures = run_trials(args.trials, args.articles, not args.fake, args.seed)
    print(f"{passed}/{args.trials} passed in {time.monotonic() - t:.0f}s")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
