"""The browser chat's handlers (qa.web): pure Python, no browser, no server."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qa import ArticleQAError

from qa import samples_dir, web
from qa.web.render import render_answer, render_source

DATA = Path(__file__).parent / "data"
XSS = DATA / "xss" / "xss-article.md"
NEWS = sorted((DATA / "news").glob("a01-*.md"))[0]
MADURO = "What did the U.S. offer Maduro?"


class Tags(HTMLParser):
    """Every tag and attribute the HTML would create in a browser."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.attrs = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


def assert_inert(html: str):
    t = Tags(html)
    assert "script" not in t.tags and "img" not in t.tags
    assert not any(a.startswith("on") for a in t.attrs)


@pytest.fixture
def samples(library):
    library.add_paths([samples_dir()])
    return library


def test_respond_answers_with_citations_and_source(samples):
    session, history, notice, choices, n, html = web.respond(samples, None, MADURO, 5, "hybrid")
    assert notice == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    answer = session.answers[1]
    assert answer["citations"] and len(choices) == len(answer["citations"])
    assert re.search(r'<a class="qa-mark" href="#qa-c1-\d+"', history[1]["content"])
    assert "\n\n" not in history[1]["content"]  # one HTML block for the Markdown renderer
    assert n == answer["highlight"]["citation"]
    assert 'class="answer"' in html and 'class="passage"' in html
    hl = answer["highlight"]
    marked = re.search(r'<mark class="answer">(.*?)</mark>', html).group(1)
    assert marked in web.render.esc(hl["text"])


def test_the_answer_phrase_is_bold_inside_the_highlight():
    text = "The span cost $48 million and took three years. [1]"
    a = {"question": "q", "answer": text, "abstained": False, "confidence": 0.9, "citations": [],
         "highlight": {"citation": 1, "start": 100, "end": 147, "text": text[:-4]},
         "answer_span": {"citation": 1, "start": 114, "end": 125, "text": "$48 million"}}
    html = render_answer(a)
    assert 'cost <strong class="qa-phrase">$48 million</strong> and took' in html
    article = {"text": "x" * 100 + text[:-4], "paragraphs": [[0, 147]]}
    cite = {"n": 1, "start": 100, "end": 147, "article_id": "a", "title": "t"}
    src = render_source(article, cite, a["highlight"], "a", a["answer_span"])
    assert '<mark class="answer qa-phrase">$48 million</mark>' in src
    assert '<mark class="answer">The span cost </mark>' in src
    # a phrase that does not lie inside the highlight is not shown as one
    bad = {**a, "answer_span": {**a["answer_span"], "text": "$49 million"}}
    assert "qa-phrase" not in render_answer(bad)


def test_citations_of_earlier_turns_survive(samples):
    session, *_ = web.respond(samples, None, MADURO)
    session, history, *_ = web.respond(samples, session, "What will a ride on the expanded Port Halden ferry cost?")
    assert len(history) == 4 and set(session.answers) == {1, 3}
    session, choices, n, html = web.select_turn(samples, session, 0)  # clicking the first question
    assert session.current == 1 and "Maduro" in html
    first = session.answers[1]["citations"][-1]
    assert first["title"] in web.show_citation(samples, session, first["n"]) or "&" in first["title"]


def test_source_panel_marks_exact_offsets(samples):
    session, *_ = web.respond(samples, None, MADURO)
    a = session.answer()
    c = next(c for c in a["citations"] if c["n"] == a["highlight"]["citation"])
    html = web.source_panel(samples, a, c["n"])
    text = samples.get(c["article_id"]).text
    passage = "".join(re.findall(r"<mark class=\"(?:passage|answer|answer qa-phrase)\">(.*?)</mark>", html))
    # paragraph breaks are <p>s, so compare without whitespace
    assert "".join(passage.split()) == "".join(web.render.esc(text[c["start"]:c["end"]]).split())


@pytest.mark.parametrize("question", ["", "   ", None])
def test_empty_question_is_a_notice_not_a_turn(samples, question):
    session, history, notice, choices, n, html = web.respond(samples, None, question)
    assert history == [] and "Type a question" in notice and "Traceback" not in notice


def test_bad_inputs_become_readable_notices(samples):
    for kwargs in ({"mode": "nope"}, {"since": "last week"}, {"k": 0}):
        session, history, notice, *_ = web.respond(samples, None, MADURO, **{"k": 5, **kwargs})
        assert history == [] and 'class="qa-error"' in notice, kwargs


def test_filters_restrict_the_outlet(samples):
    outlet = web.outlets(samples)[0]
    session, history, notice, *_ = web.respond(samples, None, MADURO, outlet=[outlet])
    assert notice == ""
    answer = session.answer()
    assert all(c["outlet"] == outlet for c in answer["citations"])


def test_abstained_answer_shows_not_found_and_closest():
    a = {"question": "q", "answer": "No passage matched.", "abstained": True, "confidence": 0.1,
         "searched_for": "resolved q", "highlight": None, "citations": [],
         "closest": [{"n": 1, "article_id": "x", "title": "T <b>", "authors": [], "outlet": "O", "date": None,
                      "source": None, "paragraph": 2, "start": 0, "end": 4, "text": "abcd", "score": 0.2,
                      "support": 0.1, "also_in": [{"article_id": "y", "outlet": "Other", "title": "t"}]}]}
    html = render_answer(a, 1)
    assert "Not found in your articles" in html and "Closest matches" in html
    assert "Searched for: resolved q" in html and "Also in: Other" in html and "T &lt;b&gt;" in html
    assert web.citation_choices(a) == [("[1]", 1)]
    # the article is gone: only the stored passage is shown, still marked
    gone = render_source(None, a["closest"][0])
    assert "no longer in your library" in gone and '<mark class="passage">abcd</mark>' in gone


def test_upload_copies_under_generated_names(library, tmp_path):
    evil = tmp_path / "up"
    evil.mkdir()
    (evil / "notes.exe").write_text("x")
    summary = web.upload(library, [str(NEWS), str(evil / "notes.exe")])
    assert "Added 1 article(s)" in summary and "unsupported file type" in summary
    kept = [p for p in (library.folder / "uploads").iterdir() if p.name != web.NAMES]
    assert len(kept) == 1 and re.fullmatch(r"[0-9a-f]{32}\.md", kept[0].name)
    assert kept[0].read_bytes() == NEWS.read_bytes()
    # the source panel names the file as the user called it, not by its generated name
    session, *_, html = web.respond(library, None, "How much is the Riverton trash fee?")
    assert "source: a01-riverton-city-budget.md (uploaded)" in html and kept[0].name not in html
    # the same file again is a duplicate (shown with the user's name) and leaves no copy behind
    again = web.upload(library, [str(NEWS)])
    assert "Skipped a01-riverton-city-budget.md" in again and kept[0].name not in again
    assert len(list((library.folder / "uploads").iterdir())) == 2  # the copy and names.json


def test_upload_ignores_hostile_names(library, tmp_path):
    d = tmp_path / "a" / "b"
    d.mkdir(parents=True)
    f = d / "x.txt"
    f.write_text("A title\n\nSome body text about nothing much.")
    progress = []
    web.upload(library, [str(d / ".." / "b" / "x.txt")], progress=lambda *a, **k: progress.append(k.get("desc")))
    names = [p.name for p in (library.folder / "uploads").iterdir() if p.name != web.NAMES]
    assert len(names) == 1 and re.fullmatch(r"[0-9a-f]{32}\.txt", names[0])
    assert not (library.folder / "x.txt").exists() and progress[-1] == "Done"
    assert "Choose one or more files" in web.upload(library, [])


def test_add_url_refuses_non_web_addresses(library):
    assert "not a web address" in web.add_url(library, "/etc/passwd")
    assert "not a web address" in web.add_url(library, "file:///etc/passwd")
    assert "Paste the address" in web.add_url(library, "  ")


def test_list_search_page_and_remove(library):
    library.add_paths([DATA / "news"])
    rows, info, page = web.list_articles(library, None, 0)
    assert len(rows) == web.PAGE_SIZE and page == 0 and "Page 1 of 2" in info
    rows2, info2, page2 = web.list_articles(library, "", 5)  # past the end: the last page
    assert page2 == 1 and len(rows2) == 24 - web.PAGE_SIZE
    found, info3, _ = web.list_articles(library, "Riverton", 0)
    assert found and all("Riverton" in " ".join(r) for r in found) and "matching 'Riverton'" in info3
    aid = found[0][0]
    assert "Removed" in web.remove_article(library, aid)
    assert "No article with id" in web.remove_article(library, aid)
    assert "Enter the id" in web.remove_article(library, "")
    assert "23 article(s)" in web.library_info(library)


def test_xss_article_renders_as_text(library):
    library.add_paths([XSS])
    session, history, notice, choices, n, html = web.respond(library, None, "What did typing a script snippet do?")
    assert notice == ""
    for c in session.answer()["citations"]:
        panel = web.source_panel(library, session.answer(), c["n"])
        assert_inert(panel)
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in panel
        assert "&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;" in panel
    assert_inert(history[-1]["content"])
    rows, *_ = web.list_articles(library)
    assert rows  # the table shows plain strings; Gradio renders them as text
    evil = web.upload(library, [str(XSS)])
    assert_inert(evil)
    assert "Skipped xss-article.md" in evil


def test_xss_in_question_and_titles_is_escaped(library):
    library.add_paths([samples_dir()])
    session, history, *_ = web.respond(library, None, '<img src=x onerror="window.__xss=3"> Maduro?')
    assert_inert(history[0]["content"])
    assert "&lt;img" in history[0]["content"]


def test_agent_tools_answer_in_the_schema_and_show_what_they_cite(samples):
    import json

    ask, list_articles, show_article = web.agent_tools(samples)
    out = json.loads(ask(MADURO, 3, "bm25"))
    assert {"question", "answer", "abstained", "confidence", "searched_for", "highlight", "citations",
            "closest"} <= set(out)
    assert 0 < len(out["citations"]) <= 3
    c = out["citations"][0]
    assert json.loads(show_article(c["article_id"]))["text"][c["start"]:c["end"]] == c["text"]
    assert c["article_id"] in [r["id"] for r in json.loads(list_articles("Maduro"))]
    filtered = json.loads(ask(MADURO, 3, "bm25", outlet="No Such Outlet"))
    assert filtered["abstained"] and not filtered["citations"]
    with pytest.raises(ArticleQAError, match="YYYY-MM-DD"):
        ask(MADURO, since="last week")


@pytest.mark.model
def test_real_model_answers_maduro(sample_library):
    session, history, notice, choices, n, html = web.respond(sample_library, None, MADURO)
    answer = session.answer()
    assert notice == "" and not answer["abstained"]
    top = answer["citations"][0]
    assert "Maduro" in top["title"] and "amnesty" in answer["answer"].lower()
    assert '<mark class="answer">' in html
