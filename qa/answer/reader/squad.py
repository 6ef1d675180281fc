"""Training and held-out examples for the reader, built from SQuAD as the product would see it.

A paragraph is cut into passages of whole answer units (about the size of a library passage). Each
question gives a positive (the passage with the answer; the target is the unit holding it) and, to
learn "the articles do not say", negatives: the same passage with the answer's unit removed (same
topic, same people, no answer) and the most similar passage of another paragraph of the same article.
SQuAD 2.0 dev's unanswerable questions (written against a paragraph, with a plausible wrong answer in
it) come only from paragraphs outside xquad-en and from the training quarter of its titles.
"""
from __future__ import annotations

import gzip
import json
import random
import re
import string
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from corpus.sentences import sentence_units, split_sentences

CHUNK_TOKENS = 200
_PUNCT = set(string.punctuation)
_WORD = re.compile(r"\w+")
_STOP = frozenset("the a an of in on at to for by with from and or is was were are be been what which who whom "
                  "whose when where why how did does do that this these those it its as into than".split())


@dataclass(frozen=True)
class Example:
    """A question with one passage. `target` is the answering unit's index, or -1 when it does not answer;
    `answer` the answer's character range in `text` (None when it does not answer)."""

    question: str
    title: str
    text: str
    units: tuple[tuple[int, int], ...]
    target: int
    answer: tuple[int, int] | None
    kind: str  # positive | removed | other | swap | squad2


def title_bucket(title: str, n: int) -> int:
    return zlib.crc32(title.encode("utf-8")) % n


def heldout_title(title: str) -> bool:
    """SQuAD train titles kept out of training, for the held-out scores the training command prints."""
    return title_bucket(title, 25) == 0


def squad2_split(title: str) -> str:
    """SQuAD 2.0 dev titles: 'report' half, 'train' quarter (unanswerables for training), 'calibrate' quarter."""
    b = title_bucket(title, 4)
    return "report" if b % 2 else ("train" if b == 0 else "calibrate")


def words(text: str) -> set:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def norm_words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def chunks(context: str, count_tokens) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(start, end, units) of the passages a paragraph is cut into; units are absolute character ranges."""
    units = [(u.start, u.end) for u in sentence_units(context, split_sentences(context))]
    out, cur, size = [], [], 0
    for a, b in units:
        n = count_tokens(context[a:b])
        if cur and size + n > CHUNK_TOKENS:
            out.append(cur)
            cur, size = [], 0
        cur.append((a, b))
        size += n
    if cur:
        out.append(cur)
    return [(c[0][0], c[-1][1], c) for c in out]


def _local(units, start):
    return tuple((a - start, b - start) for a, b in units)


def without_unit(context: str, units: list, drop: int) -> tuple[str, tuple]:
    kept = [context[a:b] for i, (a, b) in enumerate(units) if i != drop]
    text, spans, pos = "", [], 0
    for t in kept:
        if text:
            text += " "
            pos += 1
        spans.append((pos, pos + len(t)))
        text += t
        pos += len(t)
    return text, tuple(spans)


def answer_removed(context: str, answer_start: int, answer: str) -> str | None:
    """The paragraph without the sentence unit that holds the answer (same topic and people, no answer),
    or None when the answer runs over two units, is the only unit, or also appears elsewhere."""
    units = [(u.start, u.end) for u in sentence_units(context, split_sentences(context))]
    hit = [i for i, (a, b) in enumerate(units) if a <= answer_start < b]
    if len(units) < 2 or not hit or answer_start + len(answer) > units[hit[0]][1]:
        return None
    text, _ = without_unit(context, units, hit[0])
    return text if norm_words(answer) and norm_words(answer) not in norm_words(text) else None


# Names: runs of capitalised words, "of"/"de"/... allowed inside ("Bank of England")
_NAME = re.compile(r"[A-Z][\w-]*(?:\s+(?:(?:of|de|du|da|la|von|van|der|the|and)\s+)?[A-Z][\w-]*)*")
_YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)\b")
_CALENDAR = frozenset("January February March April May June July August September October November December Monday "
                      "Tuesday Wednesday Thursday Friday Saturday Sunday".split())


def names(text: str, inside_sentence: bool = False) -> set[str]:
    """Capitalised names in `text` ("The" dropped); with `inside_sentence`, only those seen somewhere
    other than a sentence's first word (so "However" or "In" are not names)."""
    out = set()
    for m in _NAME.finditer(text):
        name = re.sub(r"^The\s+", "", m.group().rstrip(".-"))
        before = text[:m.start()].rstrip()
        if len(name) < 3 or name in _CALENDAR or (inside_sentence and (not before or before[-1] in ".!?\"“(:")):
            continue
        out.add(name)
    return out


def swap_question(question: str, text: str, unit: tuple[int, int], answer: tuple[int, int],
                  rng: random.Random) -> str | None:
    """The question about something else its passage names ("How old is Wanjiru?" -> "How old is Alemu?"),
    or with a year it does not name: the passage then holds a plausible answer of the right kind that is
    not the answer (SQuAD 2.0's entity swap, the news failure of citing a neighbour's fact). None when the
    question names nothing of its passage or the passage offers no other name."""
    asked = [n for n in names(question[1:]) if re.search(rf"\b{re.escape(n)}\b", text)]
    q_words = {w.lower() for n in asked for w in n.split()}
    answer_text = text[answer[0]:answer[1]]
    others = sorted(n for n in names(text, inside_sentence=True)
                    if n not in question and not ({w.lower() for w in n.split()} & q_words)
                    and n not in answer_text and answer_text not in n)
    outside = [n for n in others if n not in text[unit[0]:unit[1]]]
    pool = others if rng.random() < 0.3 else outside
    if asked and pool:
        new = rng.choice(pool)
        return re.sub(rf"\b{re.escape(rng.choice(asked))}\b", lambda m: new, question, count=1)
    years = [y for y in _YEAR.findall(question) if y in text]
    if years:
        y = rng.choice(years)
        other = [str(int(y) + d) for d in (-3, -2, -1, 1, 2, 3) if str(int(y) + d) not in text]
        if other:
            return re.sub(rf"\b{y}\b", rng.choice(other), question, count=1)
    return None


def load_json_gz(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def squad_examples(path: Path, count_tokens, heldout: bool, rng: random.Random,
                   p_removed: float, p_other: float, p_swap: float = 0.0) -> list[Example]:
    """Examples from SQuAD 1.1 train (`heldout` picks the held-out titles instead of the training ones)."""
    out = []
    for art in load_json_gz(path)["data"]:
        title = art["title"].replace("_", " ")
        if heldout_title(art["title"]) != heldout:
            continue
        paras = [(p["context"], p["qas"], chunks(p["context"], count_tokens)) for p in art["paragraphs"]]
        para_words = [[words(ctx[a:b]) for a, b, _ in ch] for ctx, _, ch in paras]
        for pi, (ctx, qas, ch) in enumerate(paras):
            for qa in qas:
                ans = qa["answers"][0]
                a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                hit = [(s, e, u) for s, e, u in ch if s <= a0 and a1 <= e]
                if not hit:
                    continue
                s, e, units = hit[0]
                target = [i for i, (ua, ub) in enumerate(units) if ua <= a0 < ub]
                if not target or a1 > units[target[0]][1]:
                    continue  # the answer runs over two units: no single unit answers
                t = target[0]
                q = qa["question"].strip()
                out.append(Example(q, title, ctx[s:e], _local(units, s), t, (a0 - s, a1 - s), "positive"))
                norm_ans = norm_words(ans["text"])
                if len(units) > 1 and rng.random() < p_removed:
                    text, spans = without_unit(ctx, units, t)
                    if norm_ans and norm_ans not in norm_words(text):
                        out.append(Example(q, title, text, spans, -1, None, "removed"))
                if p_swap and rng.random() < p_swap:
                    swapped = swap_question(q, ctx[s:e], (units[t][0] - s, units[t][1] - s), (a0 - s, a1 - s), rng)
                    if swapped:
                        out.append(Example(swapped, title, ctx[s:e], _local(units, s), -1, None, "swap"))
                if len(paras) > 1 and rng.random() < p_other:
                    qw = words(q)
                    best, where = -1.0, None
                    for pj, (ctx2, _, ch2) in enumerate(paras):
                        if pj == pi:
                            continue
                        for cj, (s2, e2, _) in enumerate(ch2):
                            score = len(qw & para_words[pj][cj]) + rng.random() * 0.5
                            if score > best and norm_ans not in norm_words(ctx2[s2:e2]):
                                best, where = score, (pj, cj)
                    if where:
                        ctx2, _, ch2 = paras[where[0]]
                        s2, e2, u2 = ch2[where[1]]
                        out.append(Example(q, title, ctx2[s2:e2], _local(u2, s2), -1, None, "other"))
    return out


def xquad_contexts(xquad: Path) -> set:
    data = json.loads(xquad.read_text("utf-8"))
    return {p["context"] for a in data["data"] for p in a["paragraphs"]}


def squad2_examples(path: Path, xquad: Path, count_tokens, split: str, answerable: bool = False) -> list[Example]:
    """SQuAD 2.0 dev questions of one title split, from paragraphs not in xquad-en, each with the passage
    holding its answer or, unanswerable (kind "squad2"), its plausible wrong answer; with `answerable`
    the answerable ones too (kind "squad2_answerable")."""
    skip = xquad_contexts(xquad) if xquad.is_file() else set()
    out = []
    for art in load_json_gz(path)["data"]:
        if squad2_split(art["title"]) != split:
            continue
        title = art["title"].replace("_", " ")
        for p in art["paragraphs"]:
            ctx = p["context"]
            if ctx in skip:
                continue
            ch = chunks(ctx, count_tokens)
            for qa in p["qas"]:
                impossible = bool(qa.get("is_impossible"))
                if not (impossible or answerable):
                    continue
                ans = ((qa.get("plausible_answers") if impossible else qa["answers"]) or
                       [{"answer_start": 0, "text": ""}])[0]
                at = ans["answer_start"]
                s, e, units = next(((s, e, u) for s, e, u in ch if s <= at < e), ch[0])
                local, q = _local(units, s), qa["question"].strip()
                if impossible:
                    out.append(Example(q, title, ctx[s:e], local, -1, None, "squad2"))
                else:
                    t = next((i for i, (ua, ub) in enumerate(local) if ua <= at - s < ub), 0)
                    out.append(Example(q, title, ctx[s:e], local, t, (at - s, at - s + len(ans["text"])),
                                       "squad2_answerable"))
    return out


# -- answer phrase (SQuAD's official normalisation: lower case, no punctuation, no articles)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text: str) -> str:
    text = "".join(ch for ch in (text or "").lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_em(pred: str, gold: str) -> float:
    return float(squad_normalize(pred) == squad_normalize(gold))


def squad_f1(pred: str, gold: str) -> float:
    p, g = squad_normalize(pred).split(), squad_normalize(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)
