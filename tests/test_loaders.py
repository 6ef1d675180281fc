"""Loaders: metadata from each format, clear refusals for bad files, boilerplate kept out of HTML text."""
import json

from corpus.loaders import load_file, load_paths
from corpus.records import Article, LoadFailure

from .conftest import DATA


def _one(path):
    items = list(load_file(path))
    assert len(items) == 1, items
    return items[0]


def test_markdown_header_lines_become_metadata():
    a = _one(DATA / "bad" / "good.md")
    assert isinstance(a, Article)
    assert a.title and a.authors and a.outlet and a.date and len(a.date) == 10
    assert not a.text.startswith("#") and "By:" not in a.text and "Date:" not in a.text
    for p in a.paragraphs:
        assert a.text[p.start:p.end].strip() == a.text[p.start:p.end]


def test_txt_first_line_is_title_and_bom_is_dropped():
    a = _one(DATA / "bad" / "bom.txt")
    assert isinstance(a, Article)
    assert not a.title.startswith("\ufeff") and a.title not in a.text[:len(a.title)]


def test_bad_files_are_refused_by_name_and_the_rest_still_load():
    items = list(load_paths([DATA / "bad"]))
    failures = {f.source.split("/")[-1]: f.reason for f in items if isinstance(f, LoadFailure)}
    assert "UTF-8" in failures["latin1.txt"] and "0x" in failures["latin1.txt"]
    assert "binary" in failures["binary.txt"]
    assert "empty" in failures["empty.txt"] and "empty" in failures["whitespace.md"]
    loaded = {a.source.split("/")[-1] for a in items if isinstance(a, Article)}
    assert loaded == {"good.md", "bom.txt"}


def test_nfd_and_nfc_text_get_the_same_id(tmp_path):
    (tmp_path / "a.md").write_text("# T\n\nCaf\u00e9 owners met.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# T\n\nCafe\u0301 owners met.", encoding="utf-8")
    a, b = (_one(tmp_path / n) for n in ("a.md", "b.md"))
    assert a.id == b.id and a.text == b.text


def test_jsonl_sources_follow_url_then_id_then_line(tmp_path):
    f = tmp_path / "set.jsonl"
    f.write_text("\n".join([
        json.dumps({"title": "A", "text": "Alpha text.", "url": "https://example.org/a"}),
        json.dumps({"title": "B", "text": "Beta text.", "id": "doc-7", "authors": ["X Y"], "date": "2024-01-02"}),
        json.dumps({"title": "C", "text": "Gamma text."}),
        "{not json",
        json.dumps({"title": "D"}),
    ]), encoding="utf-8")
    items = list(load_file(f))
    arts = [i for i in items if isinstance(i, Article)]
    assert [a.source for a in arts] == ["https://example.org/a", "set.jsonl#doc-7", "set.jsonl#3"]
    assert arts[1].authors == ("X Y",) and arts[1].date == "2024-01-02"
    fails = [i for i in items if isinstance(i, LoadFailure)]
    assert [f.source.endswith(f"line {n}") for f, n in zip(fails, (4, 5))] == [True, True]


def test_html_pages_yield_metadata_and_body_without_page_furniture():
    expected = json.loads((DATA / "html" / "expected.json").read_text())
    for name, exp in expected.items():
        a = _one(DATA / "html" / name)
        assert isinstance(a, Article), a
        assert a.title == exp["title"], name
        assert a.date == exp["date"], name
        assert exp["author"].split()[-1] in " ".join(a.authors), (name, a.authors)
        for phrase in exp["body_phrases"]:
            assert phrase in a.text, (name, phrase)
        for junk in ("Accept all cookies", "Subscribe to our newsletter", "Most read", "All rights reserved",
                     "var tracking", "Privacy policy"):
            assert junk.lower() not in a.text.lower(), (name, junk)


def test_html_with_only_scripts_is_refused(tmp_path):
    f = tmp_path / "s.html"
    f.write_text("<html><head><script>var a=1;</script></head><body><script>alert(1)</script></body></html>")
    item = _one(f)
    assert isinstance(item, LoadFailure) and "no article text" in item.reason


def test_count_articles_gives_the_progress_bar_its_total(tmp_path):
    from corpus.loaders import count_articles

    (tmp_path / "a.md").write_text("# A\n\nText.\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("B\n\nText.\n")
    (tmp_path / "c.jsonl").write_text('{"title": "1", "text": "x"}\n\n{"title": "2", "text": "y"}\n')
    (tmp_path / ".hidden.md").write_text("# H\n\nx\n")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    assert count_articles([tmp_path]) == 4  # a.md, b.txt, two jsonl records; hidden and unsupported skipped
    assert count_articles([tmp_path / "a.md", "https://example.com/story"]) == 2


def test_indexing_progress_counts_every_article_to_its_total(tmp_path, monkeypatch):
    import qa.ingest
    from qa import Library
    from tests.conftest import FakeEncoder

    bars = []

    def recording(total, enabled, desc, unit="passage"):
        bar = qa.ingest.progress_bar.__wrapped__(total, True, desc, unit)
        bars.append(bar)
        return bar

    recording.__wrapped__ = qa.ingest.progress_bar
    monkeypatch.setattr(qa.ingest, "progress_bar", recording)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.md").write_text(f"# Story {i}\n\nA paragraph about item number {i} in the town.\n")
    (folder / "dup.md").write_text("# Story 0\n\nA paragraph about item number 0 in the town.\n")
    Library(tmp_path / "lib", FakeEncoder()).add_paths([folder], progress=True)
    (bar,) = bars
    assert (bar.total, bar.n, bar.unit) == (4, 4, "article")  # the duplicate advances the bar too
