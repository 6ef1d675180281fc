"""Asking from 4 threads while a 5th indexes: no exceptions, every citation exact, counts right."""
import json
import threading

from qa.integrity import check

from .conftest import DATA

NEWS = sorted((DATA / "news").glob("*.md"))
QUESTIONS = [json.loads(line)["question"] for line in (DATA / "news_questions.jsonl").read_text().splitlines()]


def test_readers_and_a_writer_at_once(library):
    library.add_paths(NEWS[:2])
    done, errors, answers = threading.Event(), [], []
    lock = threading.Lock()

    def indexer():
        try:
            for f in NEWS[2:]:  # one add (commit + cache save) per file: many interleavings
                library.add_paths([f])
        except Exception as e:  # noqa: BLE001 - any exception is a failure
            errors.append(("indexer", repr(e)))
        finally:
            done.set()

    def asker(n):
        i = n
        try:
            while not done.is_set() or i < n + 8:
                q = QUESTIONS[i % len(QUESTIONS)]
                a = library.ask(q, k=5, mode=("hybrid", "dense", "bm25")[i % 3])
                with lock:
                    answers.append(a)
                i += 1
        except Exception as e:  # noqa: BLE001
            errors.append((f"asker {n}", repr(e)))

    threads = [threading.Thread(target=indexer)] + [threading.Thread(target=asker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []
    assert len(answers) >= 32
    for a in answers:
        for c in a.citations:
            assert library.get(c.article_id).text[c.start:c.end] == c.text
        if a.highlight:
            c = a.citations[a.highlight.citation - 1]
            assert library.get(c.article_id).text[a.highlight.start:a.highlight.end] == a.highlight.text
    arts, passages = library.store.counts()
    assert arts == len(NEWS) and library.index.ntotal == passages
    library.close()
    r = check(library.folder)
    assert r.ok and not r.warnings, r.text()
