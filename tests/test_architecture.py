"""The house shows its stages (ARCHITECTURE.md): imports only go down, and no modules import each other.

Every `import`/`from` statement is read with ast, those inside functions too (a lazy import is still a
dependency). Floors, lowest first: corpus < embeddings < qa < app; inside qa: store < answer < the library
object (qa, qa.library, qa.ingest, qa.integrity, qa.config) < evaluation < faces (qa.cli, qa.web).
Faces and evaluation never reach into qa.store; app.py uses only the public API (qa) and qa.web."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WALKED = ["corpus", "embeddings", "qa", "app.py"]
TOP = {"corpus": 0, "embeddings": 1, "qa": 2, "app": 3}
QA = [("qa.store", 0, "store"), ("qa.answer", 1, "answer"), ("qa.evaluation", 3, "evaluation"),
      ("qa.cli", 4, "face"), ("qa.web", 4, "face"), ("qa.__main__", 4, "face")]  # anything else in qa: 2
APP_MAY_IMPORT = {"qa", "qa.web"}
DYNAMIC = {"import_module", "__import__", "run_module", "run_path"}  # would hide a dependency from this test


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for name in WALKED:
        p = root / name
        for f in ([p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []):
            parts = f.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def imports(mods: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(importer, imported, line) for every import of a walked module, at any depth in the file."""
    edges = []
    for mod, path in mods.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in DYNAMIC:
                edges.append((mod, "<dynamic import>", node.lineno))
                continue
            else:
                continue
            for t in targets:
                while t and t not in mods:  # `import qa.store.fts.x` style names: the walked module they name
                    t = t.rpartition(".")[0]
                if t and t != mod and (mod, t, node.lineno) not in edges:
                    edges.append((mod, t, node.lineno))
    return edges


def floor(mod: str) -> tuple[int, int, str]:
    top = mod.split(".")[0]
    if top != "qa":
        return TOP[top], 0, top
    for prefix, rank, name in QA:
        if mod == prefix or mod.startswith(prefix + "."):
            return TOP["qa"], rank, name
    return TOP["qa"], 2, "library object"


def violations(mods: dict[str, Path], root: Path) -> list[str]:
    edges = imports(mods)
    where = {m: p.relative_to(root).as_posix() for m, p in mods.items()}
    bad = []
    for a, b, line in edges:
        at = f"{where[a]}:{line} imports {b}"
        if b == "<dynamic import>":
            bad.append(f"{at}: import it with an import statement so this test can see it")
        elif floor(b)[:2] > floor(a)[:2]:
            bad.append(f"{at}: {floor(a)[2]} may not import {floor(b)[2]} (lower floors never import higher ones)")
        elif floor(a)[2] in ("face", "evaluation") and floor(b)[2] == "store":
            bad.append(f"{at}: {floor(a)[2]} must go through the library or answering, not storage")
        elif a == "app" and b not in APP_MAY_IMPORT:
            bad.append(f"{at}: app.py uses only the public API (qa) and qa.web")
    graph: dict[str, set[str]] = {}
    lines = {}
    for a, b, line in edges:
        if b in mods:
            graph.setdefault(a, set()).add(b)
            lines.setdefault((a, b), line)
    for cycle in cycles(graph):
        hops = [f"{where[x]}:{lines[x, y]} -> {y}" for x, y in zip(cycle, cycle[1:] + cycle[:1])]
        bad.append("import cycle: " + "; ".join(hops))
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle from each strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(path_around(graph, set(comp), v))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def path_around(graph, comp: set[str], start: str) -> list[str]:
    """A shortest cycle through `start` inside one component."""
    prev, todo = {start: None}, [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph.get(v, ()) & comp):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1]
            if w not in prev:
                prev[w] = v
                todo.append(w)
    return [start]


def test_no_cycle_no_upward_import():
    bad = violations(modules(ROOT), ROOT)
    assert not bad, "\n".join(bad)


def test_the_walk_sees_the_stages():
    mods = modules(ROOT)
    assert {"corpus.url", "qa.store.sqlite", "qa.answer.ask", "qa.library", "qa.cli.commands", "qa.web.handlers",
            "app"} <= set(mods)
    edges = {(a, b) for a, b, _ in imports(mods)}
    assert ("qa.library", "qa.store.milvus") in edges  # an import inside a function counts
    assert ("qa.web.handlers", "qa.web.render") in edges  # `from . import render` names the module


def test_the_check_fails_on_a_cycle_and_an_upward_import(tmp_path):
    files = {"corpus/__init__.py": "", "corpus/a.py": "def f():\n    from . import b\n",
             "corpus/b.py": "from corpus.a import f\n", "qa/__init__.py": "", "qa/store/__init__.py": "",
             "qa/store/s.py": "def g():\n    from qa.answer import r\n", "qa/answer/__init__.py": "",
             "qa/answer/r.py": "", "qa/web/__init__.py": "", "qa/web/h.py": "import qa.store.s\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    bad = violations(modules(tmp_path), tmp_path)
    assert any(b.startswith("import cycle: corpus/a.py:2 -> corpus.b; corpus/b.py:1 -> corpus.a") for b in bad), bad
    assert "qa/store/s.py:2 imports qa.answer.r: store may not import answer" in "\n".join(bad)
    assert "qa/web/h.py:1 imports qa.store.s: face must go through" in "\n".join(bad)
