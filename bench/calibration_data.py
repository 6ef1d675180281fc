"""Question sets for fitting and checking the calibration (bench/fit_calibration.py), each with the library
it is asked of. Read in place from ../shared/data; libraries are built once under a folder and reused.

- fit: SQuAD 1.1 train, the titles the reader never trains on (squad.heldout_title), and SQuAD 2.0 dev's
  'calibrate' quarter of titles (paragraphs outside xquad-en), whose unanswerable questions were written
  against their own paragraph with a plausible wrong answer in it: the news case "the article talks
  about this but does not say it".
- check: xquad-en, which is then measured whole by `article-qa eval` without having been fitted on.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XQUAD = SHARED / "xquad-en" / "xquad.en.json"
SQUAD_TRAIN = SHARED / "squad" / "train-v1.1.json.gz"
SQUAD2 = SHARED / "squad" / "dev-v2.0.json.gz"


def squad_questions(data: list, source: str, keep_title=lambda t: True, keep_context=lambda c: True):
    """(articles, questions) from SQuAD-format `data`: one article per paragraph; a question's `answer` is
    None when it is unanswerable (SQuAD 2.0)."""
    from corpus.text import make_article

    arts, qs = [], []
    for d in data:
        if not keep_title(d["title"]):
            continue
        title = d["title"].replace("_", " ")
        for i, para in enumerate(d["paragraphs"]):
            if not keep_context(para["context"]):
                continue
            a = make_article([para["context"]], f"{source}#{d['title']}/{i}", title=title)
            arts.append(a)
            for qa in para["qas"]:
                ans = qa["answers"][0] if qa["answers"] and not qa.get("is_impossible") else None
                qs.append({"q": qa["question"], "answer": ans["text"] if ans else None,
                           "start": ans["answer_start"] if ans else None, "context": para["context"],
                           "article": a.id, "title": d["title"], "source": a.source})
    return arts, qs


def xquad():
    return squad_questions(json.loads(XQUAD.read_text("utf-8"))["data"], "xquad.en.json")


def squad_train_heldout():
    from qa.answer.reader.squad import heldout_title, load_json_gz

    return squad_questions(load_json_gz(SQUAD_TRAIN)["data"], "train-v1.1", keep_title=heldout_title)


def squad2_calibrate():
    from qa.answer.reader.squad import load_json_gz, squad2_split, xquad_contexts

    skip = xquad_contexts(XQUAD) if XQUAD.is_file() else set()
    return squad_questions(load_json_gz(SQUAD2)["data"], "dev-v2.0",
                           keep_title=lambda t: squad2_split(t) == "calibrate", keep_context=lambda c: c not in skip)


def library(folder, encoder, arts):
    """The library at `folder` holding `arts` (built the first time)."""
    from qa import Library

    lib = Library(folder, encoder)
    if len(lib) == 0:
        lib.add(arts, progress=True)
    return lib


def sample(qs, limit: int, seed: int = 0, balanced: bool = False):
    """[(index, question)]: `limit` of them, seeded (all when limit is 0); half unanswerable when balanced."""
    indexed = list(enumerate(qs))
    if not limit or limit >= len(indexed):
        return indexed
    rng = random.Random(seed)
    if not balanced:
        return sorted(rng.sample(indexed, limit), key=lambda x: x[0])
    out = []
    for answerable in (True, False):
        group = [x for x in indexed if (x[1]["answer"] is not None) is answerable]
        out += rng.sample(group, min(limit // 2, len(group)))
    return sorted(out, key=lambda x: x[0])


def removed_library(folder, encoder, arts, asked):
    """The hard unanswerable case ("the articles talk about this but do not say it"): a library where,
    for each paragraph, one asked question's answer sentence is cut out of it; returns (library, indexes
    of the questions to ask of it). Everything else in the library is as in `arts`."""
    from corpus.text import make_article
    from qa.answer.reader.squad import answer_removed

    variant, picked = {}, []
    for qi, q in asked:
        if q["answer"] is None or q["article"] in variant:
            continue
        text = answer_removed(q["context"], q["start"], q["answer"])
        if text:
            variant[q["article"]] = make_article([text], q["source"] + "#removed", title=q["title"].replace("_", " "))
            picked.append(qi)
    return library(folder, encoder, [variant.get(a.id, a) for a in arts]), set(picked)
