"""qa.evaluation: metrics against hand-computed values, loader refusals, and a tiny end-to-end run."""
from __future__ import annotations

import json
import math
import shutil

import pytest

from corpus.errors import ArticleQAError
from corpus.records import Answer, Citation, Highlight
from qa.evaluation import load_dataset, run_eval
from qa.evaluation.datasets import Item
from qa.evaluation.metrics import (abstention_scores, contains_answer, has_trec_eval, latency_stats,
                                   per_query_ranking, ranking_metrics, span_scores)

from .conftest import DATA, shared_or_skip

BACKENDS = ["python", pytest.param("trec_eval", marks=pytest.mark.skipif(not has_trec_eval(),
                                                                           reason="pytrec_eval not installed"))]
L2, L3 = math.log2(3), math.log2(4)
QRELS = {"q1": {"d1": 1, "d3": 1}, "q2": {"d2": 1}, "q3": {"a": 2, "b": 1}, "q4": {"x": 1}, "q5": {"z": 0}}
RUNS = {"q1": ["d2", "d1", "d3"], "q2": [f"n{i}" for i in range(11)] + ["d2"], "q3": ["b", "a"], "q5": ["z"]}
# Hand-computed: q1 DCG = 1/log2(3) + 1/log2(4), IDCG = 1 + 1/log2(3); q3 graded DCG = 1 + 2/log2(3),
# IDCG = 2 + 1/log2(3); q2's only relevant document is at rank 12; q4 has no run; q5 has no relevant doc.
EXPECTED = {
    "q1": {"ndcg@10": (1 / L2 + 1 / L3) / (1 + 1 / L2), "mrr@10": 0.5, "recall@1": 0.0, "recall@5": 1.0,
           "recall@10": 1.0, "recall@100": 1.0},
    "q2": {"ndcg@10": 0.0, "mrr@10": 0.0, "recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "recall@100": 1.0},
    "q3": {"ndcg@10": (1 + 2 / L2) / (2 + 1 / L2), "mrr@10": 1.0, "recall@1": 0.5, "recall@5": 1.0,
           "recall@10": 1.0, "recall@100": 1.0},
    "q4": {m: 0.0 for m in ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100")},
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_ranking_metrics_match_hand_computed_values(backend):
    per = per_query_ranking(QRELS, RUNS, backend=backend)
    assert set(per) == {"q1", "q2", "q3", "q4"}  # q5 has no relevant document: not scored
    for q, want in EXPECTED.items():
        assert per[q] == pytest.approx(want, abs=1e-9), q
    assert EXPECTED["q1"]["ndcg@10"] == pytest.approx(0.693426, abs=1e-6)
    mean = ranking_metrics(QRELS, RUNS, backend=backend)
    assert mean["ndcg@10"] == pytest.approx((0.693426404 + 0 + 0.859720358 + 0) / 4, abs=1e-6)
    assert mean["mrr@10"] == pytest.approx(1.5 / 4) and mean["recall@100"] == pytest.approx(3 / 4)


def _answer(highlight: str, texts: list[str], articles: list[str], abstained=False):
    cites = tuple(Citation(n=i + 1, article_id=a, title="t", authors=(), outlet=None, date=None, source=a,
                           paragraph=1, start=0, end=len(t), text=t, score=0.5) for i, (t, a) in enumerate(zip(texts, articles)))
    hl = Highlight(citation=1, start=0, end=len(highlight), text=highlight) if highlight else None
    return Answer(question="q", answer=highlight, abstained=abstained, confidence=0.5, highlight=hl, citations=cites)


def test_span_metrics():
    assert contains_answer("The council passed a  $612\n MILLION budget.", ["$612 million"])
    assert not contains_answer("The council passed a budget.", ["$612 million", ""])
    item = Item(qid="1", question="q", gold={"doc-a": 1}, answers=["$612 million"], answerable=True)
    docs = {"A": ["doc-a"], "B": ["doc-b"]}
    s = span_scores(_answer("Budget of $612 Million.", ["Budget of $612 Million.", "Other."], ["A", "B"]), item, docs)
    assert (s["evidence_hit"], s["answer_in_citations"], s["citation_precision"]) == (1.0, 1.0, 0.5)
    s = span_scores(_answer("Other.", ["Other.", "It is $612 million."], ["B", "B"]), item, docs)
    assert (s["evidence_hit"], s["answer_in_citations"], s["citation_precision"]) == (0.0, 1.0, 0.0)
    s = span_scores(_answer("", [], [], abstained=True), item, docs)
    assert (s["evidence_hit"], s["answer_in_citations"], s["citation_precision"]) == (0.0, 0.0, None)
    rows = [(True, False), (True, True), (False, True), (False, False), (None, True)]
    assert abstention_scores(rows) == {"abstention_accuracy": 0.5, "false_abstention_rate": 0.5}
    assert abstention_scores([(True, False), (None, True)]) == {}  # nothing unanswerable: not scored
    lat = latency_stats([{"encode_ms": 1.0, "search_ms": 2.0, "answer_ms": 3.0, "reader_ms": 2.0},
                         {"encode_ms": 3.0, "search_ms": 2.0, "answer_ms": 5.0, "reader_ms": 4.0}])
    assert lat["latency_p50_ms"] == pytest.approx(8.0) and lat["encode_p50_ms"] == pytest.approx(2.0)
    assert lat["reader_p50_ms"] == pytest.approx(3.0)  # a part of the answer step: reported, not added
    assert lat["latency_p95_ms"] == pytest.approx(6 + 0.95 * 4)


def _beir_copy(tmp_path):
    root = tmp_path / "beir"
    shutil.copytree(DATA / "beir-tiny", root)
    return root


@pytest.mark.parametrize("target, content, where", [
    ("corpus.jsonl", '{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": \n', "corpus.jsonl line 2"),
    ("corpus.jsonl", '{"_id": "d1", "text": "ok"}\n\n["not", "an", "object"]\n', "corpus.jsonl line 3"),
    ("corpus.jsonl", '{"_id": "d1"}\n', "corpus.jsonl line 1"),
    ("queries.jsonl", '{"_id": "q1", "text": ""}\n', "queries.jsonl line 1"),
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\n", "test.tsv line 3"),
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\thigh\n", "test.tsv line 2"),
    ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq9\td1\t1\n", "test.tsv line 2"),
])
def test_beir_loader_rejects_malformed_files(tmp_path, target, content, where):
    root = _beir_copy(tmp_path)
    (root / target).write_text(content, "utf-8")
    with pytest.raises(ArticleQAError, match=where):
        load_dataset("beir", root)


def test_loaders_name_missing_files_and_bad_records(tmp_path):
    root = _beir_copy(tmp_path)
    with pytest.raises(ArticleQAError, match=r"qrels/dev\.tsv: not found"):
        load_dataset("beir", root, split="dev")
    squad = tmp_path / "squad.json"
    squad.write_text('{"data": [\n  {"title": "T", "paragraphs": [}\n]}', "utf-8")
    with pytest.raises(ArticleQAError, match=r"squad\.json line 2"):
        load_dataset("squad", squad)
    squad.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [
        {"context": "Some text.", "qas": [{"id": "1", "question": "What?", "answers": []}]}]}]}), "utf-8")
    with pytest.raises(ArticleQAError, match=r"data\[0\]\.paragraphs\[0\]\.qas\[0\]"):
        load_dataset("squad", squad)
    mtrag = tmp_path / "m.jsonl"
    good = {"task_id": "c<::>1", "input": [{"speaker": "user", "text": "Hi?"}], "contexts": [],
            "answerability": ["UNANSWERABLE"]}
    mtrag.write_text(json.dumps(good) + "\n" + json.dumps({"task_id": "x", "contexts": []}) + "\n", "utf-8")
    with pytest.raises(ArticleQAError, match=r"m\.jsonl line 2"):
        load_dataset("mtrag", mtrag)
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Who?", "article": "a01-riverton-city-budget.md", "answer": "x"}\n'
                         '{"question": "Who?", "article": "nope.md", "answer": "x"}\n', "utf-8")
    with pytest.raises(ArticleQAError, match=r"q\.jsonl line 2.*nope\.md"):
        load_dataset("articles", DATA / "news", questions=questions)


def test_squad_and_mtrag_loaders_build_items(tmp_path):
    squad = tmp_path / "s.json"
    squad.write_text(json.dumps({"version": "2.0", "data": [{"title": "Port_Elm", "paragraphs": [
        {"context": "The ferry costs $3. It sails hourly.", "qas": [
            {"id": "a", "question": "Cost?", "answers": [{"text": "$3", "answer_start": 16}]},
            {"id": "b", "question": "Captain?", "answers": [], "is_impossible": True}]}]}]}), "utf-8")
    ds = load_dataset("squad", squad)
    assert [a.source for a in ds.articles] == ["Port_Elm#0"] and ds.articles[0].title == "Port Elm"
    assert ds.items[0].gold == {"Port_Elm#0": 1} and ds.items[0].answers == ["$3"]
    assert ds.items[1].answerable is False and ds.items[1].gold == {}
    mtrag = tmp_path / "m.jsonl"
    turns = [{"speaker": "user", "text": "Tell me about ferries."}, {"speaker": "agent", "text": "Sure."},
             {"speaker": "user", "text": "How much?"}]
    mtrag.write_text(json.dumps({"task_id": "c<::>3", "input": turns, "Collection": "govt",
                                 "contexts": [{"document_id": "p1", "text": "Ferries cost $3."}],
                                 "answerability": ["ANSWERABLE"]}) + "\n", "utf-8")
    ds = load_dataset("mtrag", mtrag)
    assert ds.items[0].question == "How much?" and ds.items[0].history == ["Tell me about ferries."]
    assert ds.items[0].gold == {"p1": 1} and ds.items[0].answerable is True
    with pytest.raises(ArticleQAError, match="collection 'fiqa'"):
        load_dataset("mtrag", mtrag, split="fiqa")


def test_tiny_beir_end_to_end(tmp_path, fake_encoder, monkeypatch):
    ds = load_dataset("beir", DATA / "beir-tiny")
    assert len(ds.articles) == 6 and len(ds.items) == 3
    out, cache = tmp_path / "out", tmp_path / "cache"
    results = run_eval(ds, fake_encoder, ["bm25", "dense", "hybrid"], out, k=3, cache_root=cache, progress=False)
    saved = json.loads((out / "results.json").read_text())
    assert saved["dataset"] == "beir:beir-tiny" and saved["split"] == "test" and saved["model"] == "fake-hashing-v1"
    assert list(saved["modes"]) == ["bm25", "dense", "hybrid"] and saved == json.loads(json.dumps(results))
    for mode, m in saved["modes"].items():
        for name in ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100", "citation_precision"):
            assert 0.0 <= m[name] <= 1.0, (mode, name)
        assert m["recall@100"] == 1.0 and m["latency_p95_ms"] >= m["latency_p50_ms"] > 0
    assert saved["modes"]["bm25"]["ndcg@10"] == 1.0  # each query shares distinctive words with its documents
    md = (out / "results.md").read_text()
    assert "| metric | bm25 | dense | hybrid |" in md and "| ndcg@10 |" in md
    assert len((out / "per_question.jsonl").read_text().splitlines()) == 9
    pytest.importorskip("matplotlib")
    for png in ("metrics.png", "latency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The cached library is reused: nothing is added again.
    from qa import Library

    monkeypatch.setattr(Library, "add", lambda *a, **k: pytest.fail("the cached library was rebuilt"))
    run_eval(ds, fake_encoder, ["bm25"], tmp_path / "out2", cache_root=cache, progress=False, charts=False)
    assert len(list(cache.iterdir())) == 1


def test_cli_eval(tmp_path, fake_encoder, monkeypatch, capsys):
    import qa.config
    from qa.cli import main

    monkeypatch.setattr(qa.config, "make_encoder", lambda model=None, precision=None: fake_encoder)
    out = tmp_path / "out"
    rc = main(["eval", "--format", "beir", str(DATA / "beir-tiny"), "--modes", "bm25,hybrid", "--limit", "2",
               "--out", str(out), "--cache", str(tmp_path / "c"), "-q", "--no-charts"])
    assert rc == 0 and "| metric | bm25 | hybrid |" in capsys.readouterr().out
    saved = json.loads((out / "results.json").read_text())
    assert saved["questions"] == 2 and saved["limit"] == 2
    assert main(["eval", "--format", "beir", str(DATA / "beir-tiny"), "--modes", "sparse"]) == 2
    assert "sparse" in capsys.readouterr().err


def test_shared_datasets_load():
    scifact = load_dataset("beir", shared_or_skip("beir-scifact", "beir"), split="test")
    assert len(scifact.items) == 300 and len(scifact.articles) == 5183
    assert all(q.gold for q in scifact.items)
    xquad = load_dataset("squad", shared_or_skip("xquad-en", "xquad.en.json"))
    assert len(xquad.items) == 1190 and len(xquad.articles) == 240
    mtrag = load_dataset("mtrag", shared_or_skip("mtrag-un", "reference.jsonl"))
    assert len(mtrag.items) == 507 and len({d for it in mtrag.items for d in it.gold}) == 1152
    assert {it.answerable for it in mtrag.items} == {True, False, None}


def test_news_questions_load():
    ds = load_dataset("articles", DATA / "news", questions=DATA / "news_questions.jsonl")
    assert len(ds.articles) == 24 and len(ds.items) == 100
    assert all(len(it.gold) == 1 and it.answers for it in ds.items)


def test_retrieval_only_run(tmp_path, fake_encoder):
    ds = load_dataset("beir", DATA / "beir-tiny")
    res = run_eval(ds, fake_encoder, ["dense"], tmp_path / "o", cache_root=tmp_path / "c", progress=False,
                   charts=False, answers=False)
    m = res["modes"]["dense"]
    assert m["ndcg@10"] == 1.0 and "citation_precision" not in m and m["search_p50_ms"] > 0
