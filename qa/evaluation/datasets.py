"""Benchmark loaders: BEIR, SQuAD JSON, MTRAG-UN conversations, and our own article folder + questions.

Every loader returns a Dataset: the articles to index (each Article's `source` is the data set's
document id, so citations map back) and the questions (Items) with their gold documents and answers.
Malformed files raise ArticleQAError naming the file and line (or JSON record) and what to fix.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from corpus.errors import ArticleQAError, LoadError
from corpus.loaders import load_paths
from corpus.records import Article, LoadFailure
from corpus.text import make_article, split_paragraphs

FORMATS = ("beir", "squad", "mtrag", "articles")


@dataclass
class Item:
    """One question: gold document ids (relevance > 0 counts as relevant), answer strings, answerability."""

    qid: str
    question: str
    gold: dict[str, int] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)
    answerable: Optional[bool] = None  # None: unknown / not scored for abstention
    history: list[str] = field(default_factory=list)  # earlier user turns (conversations)


@dataclass
class Dataset:
    name: str
    split: str
    path: str
    articles: list[Article]
    items: list[Item]

    def doc_ids(self) -> dict[str, list[str]]:
        """Article id -> data set document ids (several when documents share the same text)."""
        out: dict[str, list[str]] = {}
        for a in self.articles:
            out.setdefault(a.id, []).append(a.source)
        return out

    def checksum(self) -> str:
        h = hashlib.sha256()
        for a in self.articles:
            h.update(f"{a.id}\x1f{a.source}\x1f{a.title}\x1e".encode("utf-8"))
        return h.hexdigest()[:16]

    def subset(self, limit: Optional[int] = None, max_docs: Optional[int] = None) -> "Dataset":
        """The first `limit` items; with `max_docs`, a smaller corpus: their gold documents plus the first others."""
        items = self.items[:limit] if limit else list(self.items)
        articles = self.articles
        if max_docs:
            gold = {d for it in items for d in it.gold}
            keep = [a for a in articles if a.source in gold]
            keep += [a for a in articles if a.source not in gold][:max(0, max_docs - len(keep))]
            articles = keep
        return dataclasses.replace(self, items=items, articles=articles)


def _fail(where: str, problem: str) -> ArticleQAError:
    return ArticleQAError(f"{where}: {problem}")


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise _fail(str(path), f"not found; a {what} file is expected there")
    return path


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-empty line; anything else is an error naming the line."""
    with open(path, encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise _fail(f"{path} line {lineno}", f"invalid JSON ({e.msg} at column {e.colno}); "
                            "write one JSON object per line") from None
            if not isinstance(rec, dict):
                raise _fail(f"{path} line {lineno}", "is not a JSON object; write one object per line")
            yield lineno, rec


def _str_field(rec: dict, key: str, where: str, allow_empty: bool = False) -> str:
    v = rec.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and key.endswith("id"):
        v = str(v)
    if not isinstance(v, str) or (not allow_empty and not v.strip()):
        raise _fail(where, f'has no {"" if allow_empty else "non-empty "}"{key}" string; add one')
    return v


def _article(doc_id: str, title: str, text: str) -> Optional[Article]:
    paragraphs = split_paragraphs(text) or split_paragraphs(title)
    if not paragraphs:
        return None  # nothing to index: the document can never be retrieved (counted as a miss)
    try:
        return make_article(paragraphs, doc_id, title=title)
    except LoadError:
        return None


# -- BEIR
def load_beir(path, split: str = "test") -> Dataset:
    root = Path(path)
    corpus, queries = _need(root / "corpus.jsonl", "BEIR corpus"), _need(root / "queries.jsonl", "BEIR queries")
    qrels_path = _need(root / "qrels" / f"{split}.tsv", f"BEIR qrels ({split} split)")
    articles = []
    for lineno, rec in read_jsonl(corpus):
        where = f"{corpus} line {lineno}"
        doc_id, title = _str_field(rec, "_id", where), rec.get("title") or ""
        text = _str_field(rec, "text", where, allow_empty=True)
        a = _article(doc_id, str(title), text)
        if a is not None:
            articles.append(a)
    texts = {}
    for lineno, rec in read_jsonl(queries):
        where = f"{queries} line {lineno}"
        texts[_str_field(rec, "_id", where)] = _str_field(rec, "text", where)
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            cols = line.rstrip("\r\n").split("\t")
            cols = cols if len(cols) == 3 else line.split()
            where = f"{qrels_path} line {lineno}"
            if len(cols) != 3:
                raise _fail(where, f"has {len(cols)} columns; expected query-id<TAB>corpus-id<TAB>score")
            if lineno == 1 and not cols[2].strip().lstrip("-").isdigit():
                continue  # the header
            try:
                score = int(cols[2])
            except ValueError:
                raise _fail(where, f"score '{cols[2].strip()}' is not an integer") from None
            if cols[0] not in texts:
                raise _fail(where, f"query id '{cols[0]}' is not in {queries}")
            qrels.setdefault(cols[0], {})[cols[1]] = score
    items = [Item(qid=q, question=texts[q], gold=g) for q, g in qrels.items()]
    return Dataset("beir:" + root.resolve().parent.name if root.name == "beir" else "beir:" + root.name,
                   split, str(root), articles, items)


# -- SQuAD (v1.1 and v2.0 JSON)
def load_squad(path, split: str = "dev") -> Dataset:
    path = _need(Path(path), "SQuAD JSON")
    try:
        data = json.loads(path.read_text("utf-8-sig"))
    except json.JSONDecodeError as e:
        raise _fail(f"{path} line {e.lineno}", f"invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise _fail(str(path), 'is not SQuAD JSON; expected {"version": ..., "data": [articles]}')
    articles, items = [], []
    for ai, art in enumerate(data["data"]):
        where = f"{path} data[{ai}]"
        if not isinstance(art, dict) or not isinstance(art.get("paragraphs"), list):
            raise _fail(where, 'has no "paragraphs" list')
        title = str(art.get("title") or "").replace("_", " ")
        for pi, para in enumerate(art["paragraphs"]):
            pwhere = f"{where}.paragraphs[{pi}]"
            if not isinstance(para, dict) or not isinstance(para.get("qas"), list):
                raise _fail(pwhere, 'has no "qas" list')
            context = _str_field(para, "context", pwhere)
            doc_id = f"{art.get('title') or ai}#{pi}"
            a = _article(doc_id, title, context)
            if a is not None:
                articles.append(a)
            for qi, qa in enumerate(para["qas"]):
                qwhere = f"{pwhere}.qas[{qi}]"
                if not isinstance(qa, dict) or not isinstance(qa.get("answers", []), list):
                    raise _fail(qwhere, 'is not a question object with an "answers" list')
                impossible = bool(qa.get("is_impossible", False))
                answers = [x.get("text") for x in qa.get("answers", []) if isinstance(x, dict)]
                if any(not isinstance(t, str) for t in answers) or (not answers and not impossible):
                    raise _fail(qwhere, 'needs "answers": [{"text": ..., "answer_start": ...}] (or "is_impossible": true)')
                items.append(Item(qid=str(qa.get("id", f"{ai}.{pi}.{qi}")), question=_str_field(qa, "question", qwhere),
                                  gold={} if impossible else {doc_id: 1}, answers=answers, answerable=not impossible))
    return Dataset("squad:" + path.stem, split, str(path), articles, items)


# -- MTRAG-UN (IBM mt-rag-benchmark generation tasks)
ANSWERABLE = {"ANSWERABLE": True, "PARTIAL": True, "UNANSWERABLE": False}  # UNDERSPECIFIED: not scored


def load_mtrag(path, split: str = "all") -> Dataset:
    """`split` is a Collection (clapnq, fiqa, govt, ibmcloud) or all/test; the corpus is the pooled gold passages."""
    path = _need(Path(path), "MTRAG JSONL")
    collection = None if split in ("all", "test") else split
    docs: dict[str, str] = {}
    items = []
    for lineno, rec in read_jsonl(path):
        where = f"{path} line {lineno}"
        turns, contexts = rec.get("input"), rec.get("contexts", [])
        if not isinstance(turns, list) or not all(isinstance(t, dict) and isinstance(t.get("text"), str) for t in turns):
            raise _fail(where, 'needs "input": a list of {"speaker", "text"} turns')
        if not isinstance(contexts, list) or not all(isinstance(c, dict) for c in contexts):
            raise _fail(where, '"contexts" must be a list of {"document_id", "text"}')
        user = [t["text"] for t in turns if t.get("speaker") == "user"]
        if not user:
            raise _fail(where, "has no user turn to ask")
        if collection and str(rec.get("Collection", "")).lower() != collection:
            continue
        gold = {}
        for c in contexts:
            doc_id = _str_field(c, "document_id", where)
            docs.setdefault(doc_id, _str_field(c, "text", where))
            gold[doc_id] = 1
        labels = rec.get("answerability") or []
        label = (labels[0] if isinstance(labels, list) and labels else str(labels)).upper()
        items.append(Item(qid=str(rec.get("task_id", lineno)), question=user[-1], gold=gold,
                          answerable=ANSWERABLE.get(label), history=user[:-1]))
    if collection and not items:
        raise _fail(str(path), f"has no tasks in collection '{split}'; use clapnq, fiqa, govt, ibmcloud or all")
    articles = [a for a in (_article(d, "", t) for d, t in docs.items()) if a is not None]
    return Dataset("mtrag:" + path.stem, split, str(path), articles, items)


# -- our own articles: a folder of files + questions JSONL {question, article, answer}
def load_articles(path, questions, split: str = "test") -> Dataset:
    root = Path(path)
    if not root.is_dir():
        raise _fail(str(root), "is not a folder of articles")
    if not questions:
        raise ArticleQAError("--format articles needs --questions FILE (JSONL with question, article, answer)")
    qpath = _need(Path(questions), "questions JSONL")
    articles, by_name = [], {}
    for item in load_paths([root]):
        if isinstance(item, LoadFailure):
            raise _fail(item.source, item.reason)
        doc_id = Path(item.source).relative_to(root).as_posix()
        articles.append(dataclasses.replace(item, source=doc_id))
        by_name.setdefault(doc_id, doc_id)
        by_name.setdefault(Path(doc_id).name, doc_id)
    items = []
    for lineno, rec in read_jsonl(qpath):
        where = f"{qpath} line {lineno}"
        question = _str_field(rec, "question", where)
        answer, art = rec.get("answer"), rec.get("article")
        if answer is not None and not isinstance(answer, str):
            raise _fail(where, '"answer" must be a string (or null for an unanswerable question)')
        if art is not None and (not isinstance(art, str) or art not in by_name):
            raise _fail(where, f'"article" {art!r} is not a file in {root}; give its file name')
        answerable = rec.get("answerable", answer is not None and art is not None)
        items.append(Item(qid=str(rec.get("id", lineno)), question=question,
                          gold={by_name[art]: 1} if art else {}, answers=[answer] if answer else [],
                          answerable=bool(answerable)))
    return Dataset("articles:" + root.name, split, str(root), articles, items)


def load_dataset(fmt: str, path, split: Optional[str] = None, questions=None) -> Dataset:
    if fmt == "beir":
        return load_beir(path, split or "test")
    if fmt == "squad":
        return load_squad(path, split or "dev")
    if fmt == "mtrag":
        return load_mtrag(path, split or "all")
    if fmt == "articles":
        return load_articles(path, questions, split or "test")
    raise ArticleQAError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
