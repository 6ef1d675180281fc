"""Which precision a model runs in on this CPU: measured once per machine, then cached.

Whether bfloat16 beats float32 depends on the CPU (AMX, AVX512-BF16 or neither), the torch build, the
thread count and the model, and a guess from CPU flags was wrong on some machines (issue 13). So `auto`
times both on a fixed batch of passage-length texts the first time a model loads (a few seconds), keeps
bfloat16 only when it is faster and its results match float32's, and remembers the choice per CPU
model, torch version, core count and model in the user cache folder. ARTICLE_QA_PRECISION forces one.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

ENV_PRECISION = "ARTICLE_QA_PRECISION"
ENV_CACHE = "ARTICLE_QA_CACHE_DIR"  # where the choices are kept (default: the per-user cache folder)
MIN_COSINE = 0.999  # bfloat16 vectors must stay this close to float32's (mean over the timing batch)

# A fixed, passage-length timing batch (about 150-250 tokens each, like the passages ingest embeds).
_SENTENCES = (
    "The city council voted on Tuesday to expand the harbor ferry service with two new electric boats.",
    "Officials said the plan would cost about $42 million, most of it from a federal grant awarded last year.",
    "Residents who spoke at the meeting asked for later evening service and lower fares for students.",
    "The transit authority expects construction of the new landing to begin next spring if funding arrives.",
    "Ridership fell sharply during the pandemic but has since recovered to about 90 percent of its peak.",
    "Critics argued that the money would be better spent on road repairs and on the aging bus fleet.",
)


def timing_texts(n: int = 12) -> list[str]:
    return [" ".join(_SENTENCES[(i + j) % len(_SENTENCES)] for j in range(6 + i % 5)) for i in range(n)]


def forced() -> Optional[str]:
    value = (os.environ.get(ENV_PRECISION) or "").lower()
    return value if value in ("float32", "bfloat16") else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "unknown"


def machine_key(kind: str, model_id: str) -> str:
    """What the choice depends on: the CPU, the torch build, the cores and the model."""
    return f"{kind} | {model_id} | {cpu_model()} | torch {_torch_version()} | {os.cpu_count()} cores"


def cache_path() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]) / "precision.json"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("article-qa", appauthor=False)) / "precision.json"


def _read() -> dict:
    try:
        data = json.loads(cache_path().read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: measure again


def cached(key: str) -> Optional[dict]:
    entry = _read().get(key)
    return entry if isinstance(entry, dict) and entry.get("choice") in ("float32", "bfloat16") else None


def remember(key: str, entry: dict):
    """Add one choice to the cache file (written whole, atomically; a failure only costs a re-measure)."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read()
        data[key] = entry
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".precision.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except OSError:
        pass


def decide(t32: float, t16: float, same: bool, agreement: str) -> tuple[str, str]:
    """(choice, how) from the two timings and whether bfloat16's results match."""
    ratio = t32 / t16 if t16 > 0 else 0.0
    if same and ratio > 1.0:
        return "bfloat16", f"measured: bfloat16 {ratio:.2f}x the speed of float32, {agreement}"
    why = f"bfloat16 {ratio:.2f}x the speed of float32" + ("" if same else f", but {agreement}")
    return "float32", f"measured: {why}"


def choose(kind: str, model_id: str, measure: Callable[[], tuple[float, float, bool, str]]) -> tuple[str, str]:
    """(precision, how it was chosen): forced by ARTICLE_QA_PRECISION, cached for this machine, or measured
    now with `measure()` -> (float32 seconds, bfloat16 seconds, same results, agreement text)."""
    f = forced()
    if f:
        return f, f"{ENV_PRECISION}={f}"
    key = machine_key(kind, model_id)
    entry = cached(key)
    if entry:
        return entry["choice"], f"{entry['how']} (cached {entry.get('when', '')})".replace(" ()", "")
    choice, how = decide(*measure())
    remember(key, {"choice": choice, "how": how, "when": time.strftime("%Y-%m-%d")})
    return choice, how


def timed(fn, repeat: int = 2) -> float:
    """Seconds of the best of `repeat` calls after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
