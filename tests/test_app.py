"""app.py without a browser: safe launch defaults, the /ask endpoint, and the `serve` verb."""
from __future__ import annotations

import socket

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


def test_only_ask_is_a_public_endpoint(running):
    from gradio_client import Client

    demo, url = running
    client = Client(url, verbose=False)
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]
    out = client.predict("What did the U.S. offer Maduro?", 3, "hybrid", api_name="/ask")
    assert out["citations"] and len(out["citations"]) <= 3 and out["highlight"]
    with pytest.raises(Exception, match="not one of"):
        client.predict("What did the U.S. offer Maduro?", 3, "psychic", api_name="/ask")


def test_serve_verb_is_registered():
    from qa.cli import build_parser

    args = build_parser().parse_args(["serve", "--port", "7999", "--library", "/tmp/x"])
    assert (args.command, args.port, args.host, args.library) == ("serve", 7999, "127.0.0.1", "/tmp/x")
