"""app.py without a browser: safe launch defaults, the public API (= the MCP tools), editors, and the
`serve` verb."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest

from qa import samples_dir

gr = pytest.importorskip("gradio")


@pytest.fixture
def running(library):
    import app

    library.add_paths([samples_dir()])
    demo = app.build_app(library)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(demo, port=port, block=False)
    yield demo, f"http://127.0.0.1:{port}/"
    demo.close()


def test_safe_launch_defaults(running):
    demo, url = running
    assert demo.share is False and demo.server_name == "127.0.0.1"
    assert demo.max_file_size == 20 * 1024 * 1024
    assert not demo.allowed_paths
    assert demo.analytics_enabled is False


def test_only_the_agent_tools_are_public_endpoints(running):
    from gradio_client import Client

    demo, url = running
    client = Client(url, verbose=False)
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(named) == ["/ask", "/list_articles", "/show_article"]
    out = json.loads(client.predict("What did the U.S. offer Maduro?", 3, "hybrid", api_name="/ask"))
    assert out["citations"] and len(out["citations"]) <= 3 and out["highlight"]
    with pytest.raises(Exception, match="not one of"):
        client.predict("What did the U.S. offer Maduro?", 3, "psychic", api_name="/ask")
    c = out["citations"][0]
    article = json.loads(client.predict(c["article_id"], api_name="/show_article"))
    assert article["text"][c["start"]:c["end"]] == c["text"]
    listed = json.loads(client.predict("Maduro", 10, api_name="/list_articles"))
    assert c["article_id"] in [r["id"] for r in listed]
    with pytest.raises(Exception, match="No article with id"):
        client.predict("no-such-id", api_name="/show_article")


def _handler(demo, name):
    return next(b.fn for b in demo.fns.values() if getattr(b.fn, "__name__", "") == name)


def test_only_editors_add_and_remove(library, tmp_path):
    """Server-side, not just hidden buttons: a non-editor's upload or removal changes nothing."""
    import app

    library.add_paths([samples_dir()])
    demo = app.build_app(library, editors={"alice"})
    n, some = len(library), library.list(limit=1)[0]["id"]
    extra = tmp_path / "extra.md"
    extra.write_text("# An extra story\n\nA paragraph about a new library branch opening downtown.\n")
    bob, alice = SimpleNamespace(username="bob"), SimpleNamespace(username="alice")
    report, _ = _handler(demo, "upload")([str(extra)], bob, progress=None)
    assert "Only editors (alice)" in report and "signed in as bob" in report and len(library) == n
    assert "Only editors" in _handler(demo, "remove")(some, bob) and len(library) == n
    assert "Only editors" in _handler(demo, "add_url")("https://example.com/x", bob)
    *shown, who = _handler(demo, "editing")(bob)
    assert [u["visible"] for u in shown] == [False] * 3 and "Signed in as <b>bob</b>" in who and "/signout" in who
    assert [u["visible"] for u in _handler(demo, "editing")(alice)[:3]] == [True] * 3
    assert _handler(demo, "editing")(SimpleNamespace(username=None))[3] == ""  # no sign-in: no header note
    report, _ = _handler(demo, "upload")([str(extra)], alice, progress=None)
    assert "Added 1 article" in report and len(library) == n + 1
    assert "Removed" in _handler(demo, "remove")(some, alice) and len(library) == n


@pytest.mark.parametrize("argv", [["-m", "app", "--host", "0.0.0.0"], ["-m", "qa", "serve", "--host", "0.0.0.0"]])
def test_the_network_without_sign_in_is_refused(argv, tmp_path):
    out = subprocess.run([sys.executable, *argv, "--library", str(tmp_path / "lib")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "--auth-file" in out.stderr and "0.0.0.0" in out.stderr
    assert not (tmp_path / "lib").exists()  # refused before anything was opened


def test_editors_need_known_users(tmp_path):
    import app
    from qa import AuthFileError
    from qa.web.auth import add_user

    add_user(tmp_path / "users", "alice", "correct horse")
    with pytest.raises(AuthFileError, match="--editors names bob"):
        app.serve(tmp_path / "lib", auth_file=tmp_path / "users", editors=["bob"], block=False)
    with pytest.raises(AuthFileError, match="needs --auth-file"):
        app.serve(tmp_path / "lib", editors=["bob"], block=False)


def test_serve_verb_is_registered():
    from qa.cli import build_parser

    args = build_parser().parse_args(["serve", "--port", "7999", "--library", "/tmp/x"])
    assert (args.command, args.port, args.host, args.library) == ("serve", 7999, "127.0.0.1", "/tmp/x")


def test_mcp_is_served_unless_turned_off(running, library):
    import urllib.error
    import urllib.request

    import app

    demo, url = running
    tools = json.load(urllib.request.urlopen(url + "gradio_api/mcp/schema", timeout=10))
    assert [t["name"] for t in tools] == ["ask", "list_articles", "show_article"]
    with urllib.request.urlopen(url + "gradio_api/mcp/sse", timeout=10) as sse:  # the SSE transport too
        assert sse.headers["content-type"].startswith("text/event-stream")
        assert sse.readline().startswith(b"event: endpoint")
    off = app.build_app(library)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.launch(off, port=port, block=False, mcp=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/mcp/schema", timeout=10)
        assert e.value.code == 404
    finally:
        off.close()


def test_no_mcp_flag_reaches_app():
    from qa.cli import build_parser
    from qa.cli.serve import app_argv

    args = build_parser().parse_args(["serve", "--no-mcp", "--auth-file", "u", "--editors", "a,b"])
    argv = app_argv(args)
    assert "--no-mcp" in argv and argv[argv.index("--auth-file") + 1] == "u" and "a,b" in argv
