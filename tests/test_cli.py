"""The CLI as a user runs it: index, ask --json, show, list, stats, remove, --questions."""
import json

import pytest

from qa.cli import main

from .conftest import DATA

pytestmark = pytest.mark.model


@pytest.fixture
def lib_dir(tmp_path, monkeypatch):
    d = tmp_path / "lib"
    monkeypatch.setenv("ARTICLE_QA_LIBRARY", str(d))
    return d


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_index_ask_show_round_trip(lib_dir, capsys):
    from qa import samples_dir

    code, out, _ = run(capsys, "index", str(samples_dir()), "-q")
    assert code == 0 and "added 18 article(s)" in out
    code, out, _ = run(capsys, "index", str(samples_dir()), "-q")
    assert "added 0 article(s)" in out and "18 duplicate(s)" in out
    code, out, _ = run(capsys, "ask", "What did the U.S. offer Maduro?", "--json")
    ans = json.loads(out)
    assert set(ans) >= {"question", "answer", "abstained", "confidence", "highlight", "citations", "answer_span"}
    assert "Maduro" in ans["citations"][0]["title"]
    span, hl = ans["answer_span"], ans["highlight"]
    assert span["citation"] == hl["citation"] and hl["start"] <= span["start"] < span["end"] <= hl["end"]
    cited = next(c for c in ans["citations"] if c["n"] == span["citation"])
    code, shown, _ = run(capsys, "show", cited["article_id"], "--json")
    assert json.loads(shown)["text"][span["start"]:span["end"]] == span["text"]
    code, out, _ = run(capsys, "ask", "What did the U.S. offer Maduro?")
    assert f"**{span['text']}**" in out  # the phrase in bold (Markdown-style when not on a terminal)
    for c in ans["citations"]:
        code, shown, _ = run(capsys, "show", c["article_id"], "--json")
        art = json.loads(shown)
        assert art["text"][c["start"]:c["end"]] == c["text"]
        assert set(art) == {"id", "title", "authors", "outlet", "date", "source", "text", "paragraphs"}
    code, out, _ = run(capsys, "list", "--json")
    assert len(json.loads(out)) == 18
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["articles"] == 18
    victim = ans["citations"][0]["article_id"]
    assert run(capsys, "remove", victim)[0] == 0
    code, out, _ = run(capsys, "ask", "What did the U.S. offer Maduro?", "--json")
    assert all(c["article_id"] != victim for c in json.loads(out)["citations"])


def test_questions_file_prints_jsonl(lib_dir, capsys, tmp_path):
    run(capsys, "index", str(DATA / "bad" / "good.md"), "-q")
    qf = tmp_path / "q.txt"
    qf.write_text('first question?\n{"question": "second question?"}\n')
    code, out, _ = run(capsys, "ask", "--questions", str(qf))
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [x["question"] for x in lines] == ["first question?", "second question?"]


def test_errors_are_readable(lib_dir, capsys):
    code, _, err = run(capsys, "show", "nope")
    assert code == 2 and "No article with id 'nope'" in err
    code, _, err = run(capsys, "ask", "   ")
    assert code == 2 and "empty" in err
    code, _, err = run(capsys, "index", "/no/such/path")
    assert code == 2 and "does not exist" in err


def test_chat_answers_follow_ups_from_stdin(lib_dir, capsys, monkeypatch):
    import io

    from qa import samples_dir

    run(capsys, "index", str(samples_dir()), "-q")
    monkeypatch.setattr("sys.stdin", io.StringIO(
        "Who warned about a Nicaragua-style crackdown?\nWhere does she work?\n/new\nWhere does she work?\n"))
    code, out, _ = run(capsys, "chat", "--json")
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert code == 0 and len(lines) == 3
    assert "Marisol Quintero" in lines[1]["searched_for"]
    assert lines[2]["searched_for"] == "Where does she work?"
