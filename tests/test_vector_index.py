"""The FAISS cache: exact while small, IVF past the threshold with recall@10 >= 0.98, filters, removal."""
import numpy as np

from qa import Library
from qa.store import vectors as V

from .conftest import DATA


def _clustered(n, dim=64, centers=200, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, dim)).astype(np.float32)
    x = c[rng.integers(0, centers, n)] + 0.35 * rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_ivf_recall_at_10_against_exact_search():
    x = _clustered(40_000)
    ids = np.arange(1, len(x) + 1, dtype=np.int64)
    exact = V.VectorIndex.build(64, [(ids, x)], len(x), kind="flat")
    approx = V.VectorIndex.build(64, [(ids, x)], len(x), kind="ivf")
    q = _clustered(200, seed=1)
    recall = []
    for row in q:
        want = set(exact.search(row, 10)[0][0].tolist())
        got = set(approx.search(row, 10)[0][0].tolist())
        recall.append(len(want & got) / 10)
    assert np.mean(recall) >= 0.98
    # nprobe was tuned at build on the vectors themselves, no higher than the safe start
    assert approx.nprobe <= V.ivf_shape(len(x))[1] and approx.recall >= V.RECALL_TARGET
    # filters and removal work on IVF too
    allowed = ids[:500]
    got = approx.search(q[0], 10, allowed)[0][0]
    assert set(got.tolist()) <= set(allowed.tolist())
    approx.remove(ids[:20000])
    assert approx.ntotal == 20000


def test_library_switches_to_ivf_past_the_threshold_and_back(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setattr(V, "APPROX_MIN", 100)
    lib = Library(tmp_path / "lib", fake_encoder)
    lib.add_paths([DATA / "news"])
    assert lib.store.counts()[1] >= 100 and lib.index.kind == "ivf"
    lib.close()
    again = Library(tmp_path / "lib", fake_encoder)
    assert again.index.kind == "ivf" and again.ask("storm").citations
    for r in again.list()[:20]:
        again.remove(r["id"])
    assert again.index.kind == "flat" and again.index.ntotal == again.store.counts()[1]
