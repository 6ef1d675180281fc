"""Hostile input: every bad file fails with a clear reason, every odd question is answered or refused
cleanly, and nothing else in the library is stored or lost."""
import io
import time
import unicodedata

import numpy as np
import pytest

from corpus.errors import IntegrityError, QuestionError
from qa.integrity import check

from .conftest import DATA, FakeEncoder

GOOD = DATA / "news" / "a01-riverton-city-budget.md"


@pytest.fixture
def seeded(library):
    library.add_paths([GOOD])
    return library


def _state(lib):
    return sorted(r["id"] for r in lib.list()), lib.store.counts(), lib.index.ntotal, lib.store.generation()


def _add_bad(lib, tmp_path, name, data: bytes, expect: str):
    """Add one bad file: it must fail with `expect` in the reason and change nothing."""
    before = _state(lib)
    f = tmp_path / name
    f.write_bytes(data)
    t = time.monotonic()
    report = lib.add_paths([f])
    assert time.monotonic() - t < 10, "a bad file took too long to refuse"
    assert not report.added and len(report.failed) == 1, report.to_json()
    src, reason = report.failed[0]
    assert src == str(f) and expect.lower() in reason.lower(), reason
    assert _state(lib) == before
    lib.flush()
    assert check(lib.folder).ok
    return reason


@pytest.mark.parametrize("name,data", [("empty.txt", b""), ("spaces.txt", b"   \n\t \n\n  "), ("bom.txt", b"\xef\xbb\xbf"),
                                       ("empty.md", b""), ("title-only.md", b"# Just a title\n\nBy: Someone\n"),
                                       ("empty.jsonl", b"\n\n"), ("nbsp.txt", "\u00a0\u3000\n".encode())])
def test_empty_and_whitespace_files(seeded, tmp_path, name, data):
    if name == "empty.jsonl":  # a JSONL file with no records yields nothing at all: nothing added, nothing failed
        (tmp_path / name).write_bytes(data)
        assert seeded.add_paths([tmp_path / name]).to_json() == {"added": [], "duplicates": [], "failed": [], "passages": 0}
        return
    _add_bad(seeded, tmp_path, name, data, "no article text")


def test_html_with_only_scripts(seeded, tmp_path):
    html = (b"<html><head><script>var a = 'lots of text here'.repeat(100);</script><style>p{color:red}</style></head>"
            b"<body><script>document.write('hello world, this is not an article');</script><noscript></noscript></body></html>")
    _add_bad(seeded, tmp_path, "scripts.html", html, "no article text")


@pytest.mark.parametrize("data,expect", [(bytes(range(256)) * 40, "binary"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
                                         (np.random.default_rng(1).bytes(4000).replace(b"\x00", b"\x01"), "utf-8")])
def test_binary_disguised_as_text(seeded, tmp_path, data, expect):
    _add_bad(seeded, tmp_path, "photo.txt", data, expect)


@pytest.mark.parametrize("data", ["Caf\u00e9 owners \u201cwelcome\u201d the plan.\n\nMore text here.".encode("cp1252"),
                                  "Caf\u00e9 ".encode() + "na\u00efve \u201cquote\u201d".encode("cp1252")])
def test_cp1252_and_mixed_encodings_are_refused_with_the_fix(seeded, tmp_path, data):
    reason = _add_bad(seeded, tmp_path, "legacy.txt", data, "not valid UTF-8")
    assert "iconv" in reason and "offset" in reason


def test_nfd_copy_of_an_nfc_article_is_a_duplicate(library, tmp_path):
    text = "Caf\u00e9 r\u00e9opens in Montr\u00e9al\n\nThe \u00e9lite caf\u00e9 on Rue Sainte-Catherine reopened on Monday."
    (tmp_path / "nfc.txt").write_text(unicodedata.normalize("NFC", text), "utf-8")
    (tmp_path / "nfd.txt").write_text(unicodedata.normalize("NFD", text), "utf-8")
    assert (tmp_path / "nfc.txt").read_bytes() != (tmp_path / "nfd.txt").read_bytes()
    report = library.add_paths([tmp_path / "nfc.txt", tmp_path / "nfd.txt"])
    assert len(report.added) == 1 and report.duplicates == [(str(tmp_path / "nfd.txt"), report.added[0][0])]
    again = library.add_paths([tmp_path / "nfd.txt"])
    assert not again.added and len(again.duplicates) == 1 and len(library) == 1
    assert "caf\u00e9" in library.get(report.added[0][0]).text  # stored as NFC


@pytest.mark.parametrize("kind", ["words", "one-giant-word"])
def test_a_50000_character_paragraph(seeded, tmp_path, kind):
    body = ("lorem ipsum dolor sit amet " * 2000)[:50_000] if kind == "words" else "x" * 50_000
    (tmp_path / "long.txt").write_text(f"Long paragraph\n\n{body}\n", "utf-8")
    t = time.monotonic()
    report = seeded.add_paths([tmp_path / "long.txt"])
    assert len(report.added) == 1 and time.monotonic() - t < 30
    art = seeded.get(report.added[0][0])
    ps = [p for p, _ in seeded.store.passages(range(1, 10_000)).values() if p.article_id == art.id]
    assert sum(len(p.text) for p in ps) >= 49_000
    for p in ps:
        assert art.text[p.start:p.end] == p.text
        assert seeded.encoder.count_tokens(seeded.embedding_input(seeded.embed_title(art.title), p.text)) \
            <= seeded.encoder.max_tokens
    assert check(seeded.folder).ok


HOSTILE_QUESTIONS = ['"', '""', '"unbalanced', "*", "budget*", "NEAR(budget council)", "NEAR(", "-", "-budget", "(",
                     ")", "((()))", "AND OR NOT", "budget AND", "NOT budget", "^", "^budget", ":", "title:budget",
                     "body:", "\\", "\\\\'", "';--", "%", "_", "{}", "[a-z]+", ".*", "$1", "\x00", "\u200b",
                     "\U0001F600\U0001F4B0?", "\u0628\u0644\u062f\u064a\u0629", "\u5e02\u8bae\u4f1a\u9884\u7b97",
                     "caf\u0065\u0301", "\ufffd", "a" * 5000, "budget " * 3000, "NEAR(\"a\" \"b\", 2) OR *"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_hostile_questions_never_crash(seeded, mode):
    before = _state(seeded)
    for q in HOSTILE_QUESTIONS + ["How big is the budget? " * 4000]:  # the last is ~96,000 characters
        a = seeded.ask(q, k=5, mode=mode)
        assert isinstance(a.answer, str) and len(a.question) <= 2000
        for c in a.citations:
            assert seeded.get(c.article_id).text[c.start:c.end] == c.text
    assert _state(seeded) == before


def test_a_100000_character_question(seeded):
    a = seeded.ask("x" * 100_000)
    assert a.question == "x" * 2000


@pytest.mark.parametrize("q", ["", "   ", "\n\t", "\u3000", None, 42])
def test_empty_questions_are_refused_clearly(seeded, q):
    with pytest.raises(QuestionError, match="question is empty"):
        seeded.ask(q)


def test_k_larger_than_the_library(seeded):
    n = seeded.store.counts()[1]
    a = seeded.ask("How big is the budget?", k=100)
    assert 1 <= len(a.citations) <= n < 100
    for bad in (0, -1, 101, 10**9, 2.5, "5", True):
        with pytest.raises(QuestionError, match="k="):
            seeded.ask("budget", k=bad)


class NaNEncoder(FakeEncoder):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def _encode(self, texts, batch_size, show_progress):
        out = super()._encode(texts, batch_size, show_progress)
        out[-1, 0] = self.value
        return out


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_from_the_encoder_stores_nothing(seeded, value):
    before = _state(seeded)
    seeded.encoder = NaNEncoder(value)
    with pytest.raises(IntegrityError, match="NaN or infinite values; nothing was stored"):
        seeded.add_paths([DATA / "news" / "a02-lakeside-county-budget.md"])
    assert _state(seeded) == before
    seeded.close()
    assert check(seeded.folder).ok


def _text_pdf(lines) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    w = PdfWriter()
    page = w.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    stream = StreamObject()
    stream.set_data(("BT /F1 12 Tf 72 720 Td " + " ".join(f"({t}) Tj 0 -16 Td" for t in lines) + " ET").encode())
    page[NameObject("/Contents")] = w._add_object(stream)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_malformed_pdfs_fail_quickly_and_clearly(seeded, tmp_path):
    pdf = _text_pdf(["The harbour council approved the ferry plan on Tuesday.", "The new route opens in May."])
    report = seeded.add_paths([_write(tmp_path / "whole.pdf", pdf)])
    assert len(report.added) == 1  # the generated PDF is real and readable
    seeded.remove(report.added[0][0])
    _add_bad(seeded, tmp_path, "garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 50, "could not be parsed as a PDF")
    _add_bad(seeded, tmp_path, "truncated.pdf", pdf[: len(pdf) // 2], "could not be parsed as a PDF")
    _add_bad(seeded, tmp_path, "header-only.pdf", b"%PDF-", "PDF")
    _add_bad(seeded, tmp_path, "not-a.pdf", b"<html>hello</html>", "does not start with a PDF header")


def _write(path, data):
    path.write_bytes(data)
    return path
