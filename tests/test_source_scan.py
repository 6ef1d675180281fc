"""No unsafe deserialization anywhere in the product: no pickle/joblib, no allow_pickle, no remote code.

Module names are searched in code only (comments and strings dropped, so "Plain JSON: no pickle" in a
docstring is fine); the keyword settings are searched in the raw text, strings included."""
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ["corpus", "embeddings", "qa", "app.py", "bench"]
IN_CODE = {
    "pickle": re.compile(r"\b(c?pickle|_pickle|dill|cloudpickle|shelve|marshal)\b"),
    "joblib": re.compile(r"\bjoblib\b"),
    "torch.load without weights_only=True": re.compile(r"\btorch \. load \((?!.*weights_only = True)"),
    "yaml.load (use yaml.safe_load)": re.compile(r"\byaml \. (unsafe_)?load \("),
    "eval/exec": re.compile(r"(?<![\w.] )\b(eval|exec) \("),
}
IN_TEXT = {
    "allow_pickle=True": re.compile(r"allow_pickle['\"]?\s*[=:]\s*True"),
    "trust_remote_code=True": re.compile(r"trust_remote_code['\"]?\s*[=:]\s*True"),
}


def _files():
    for name in SCANNED:
        p = ROOT / name
        files = [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []
        for f in files:
            if f.resolve() != Path(__file__).resolve():
                yield f


def _code_lines(text: str) -> dict[int, str]:
    """Line number -> the line's code tokens joined by single spaces (no comments, no strings)."""
    out: dict[int, list[str]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
            out.setdefault(tok.start[0], []).append(tok.string)
    return {n: " ".join(t) for n, t in out.items()}


def test_the_scan_covers_the_product():
    names = {f.relative_to(ROOT).as_posix() for f in _files()}
    assert {"qa/library.py", "qa/store/vectors.py", "corpus/loaders.py", "embeddings/sentence_transformer.py", "app.py"} <= names
    assert _code_lines("import pickle  # no\nx = 'pickle'\n") == {1: "import pickle", 2: "x ="}


@pytest.mark.parametrize("what", sorted(IN_CODE) + sorted(IN_TEXT))
def test_no_unsafe_deserialization(what):
    hits = []
    for f in _files():
        text = f.read_text("utf-8")
        lines = _code_lines(text).items() if what in IN_CODE else enumerate(text.splitlines(), 1)
        pattern = IN_CODE.get(what) or IN_TEXT[what]
        hits += [f"{f.relative_to(ROOT)}:{n}: {line.strip()}" for n, line in lines if pattern.search(line)]
    assert not hits, f"{what} found:\n" + "\n".join(hits)
