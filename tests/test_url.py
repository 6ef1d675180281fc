"""URL ingestion against a local http.server: what indexes, and every refusal (never a connection)."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from corpus import url as urlmod
from corpus.errors import UnsafeURLError
from corpus.loaders import iter_files, load_paths
from corpus.records import Article, LoadFailure

from .conftest import DATA

PAGE = (DATA / "html" / "page1.html").read_bytes()
ROUTES = {
    "/page": (200, "text/html; charset=utf-8", PAGE),
    "/plain": (200, "text/plain", "Plain headline\n\nA plain text story about harbour ferries.\n".encode()),
    "/big": (200, "text/html", b"<p>" + b"x" * 20_000 + b"</p>"),
    "/zip": (200, "application/zip", b"PK\x03\x04"),
    "/to-private": (302, "text/html", b""),
    "/to-metadata": (301, "text/html", b""),
    "/to-page": (302, "text/html", b""),
    "/loop": (302, "text/html", b""),
}
LOCATIONS = {"/to-private": "http://10.0.0.1/", "/to-metadata": "http://169.254.169.254/latest/meta-data/",
             "/to-page": "/page", "/loop": "/loop"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, ctype, body = ROUTES.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if self.path in LOCATIONS:
            self.send_header("Location", LOCATIONS[self.path])
        if self.path != "/big":  # the big body has no Content-Length: the cap must stop the read itself
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket is opened to."""
    seen = []
    real = socket.create_connection

    def spy(addr, *a, **kw):
        seen.append(addr[0])
        return real(addr, *a, **kw)

    monkeypatch.setattr(urlmod.socket, "create_connection", spy)
    return seen


@pytest.fixture
def loopback_ok(monkeypatch):
    monkeypatch.setenv(urlmod.ENV_ALLOW_LOOPBACK, "1")


def test_a_page_indexes_with_its_url_as_source(server, library, loopback_ok):
    report = library.add_paths([f"{server}/page"])
    assert not report.failed and len(report.added) == 1
    art = library.get(report.added[0][0])
    assert art.source == f"{server}/page" and len(art.text) > 200


def test_a_relative_redirect_and_plain_text_are_followed(server, loopback_ok):
    items = list(load_paths([f"{server}/to-page", f"{server}/plain"]))
    assert [type(i) for i in items] == [Article, Article]
    assert items[0].source == f"{server}/page" and items[1].title == "Plain headline"


@pytest.mark.parametrize("path,target", [("/to-private", "10.0.0.1"), ("/to-metadata", "169.254.169.254")])
def test_redirects_to_private_addresses_are_refused_without_connecting(server, loopback_ok, connections, path, target):
    with pytest.raises(UnsafeURLError, match=rf"{target}.*(private|link-local)"):
        urlmod.fetch_url(server + path)
    assert target not in connections and connections == ["127.0.0.1"]


def test_loopback_is_refused_unless_allowed(server, monkeypatch, connections):
    monkeypatch.delenv(urlmod.ENV_ALLOW_LOOPBACK, raising=False)
    for u in (f"{server}/page", server.replace("127.0.0.1", "localhost") + "/page"):
        with pytest.raises(UnsafeURLError, match="loopback"):
            urlmod.fetch_url(u)
    assert connections == []
    [failure] = list(load_paths([f"{server}/page"]))
    assert isinstance(failure, LoadFailure) and "loopback" in failure.reason


def test_oversize_body_is_refused(server, loopback_ok):
    with pytest.raises(UnsafeURLError, match="larger than 10,000 bytes"):
        urlmod.fetch_url(f"{server}/big", max_bytes=10_000)
    with pytest.raises(UnsafeURLError, match="more than the 100 allowed"):  # Content-Length known up front
        urlmod.fetch_url(f"{server}/page", max_bytes=100)


def test_non_html_content_type_is_refused(server, loopback_ok):
    [failure] = list(load_paths([f"{server}/zip"]))
    assert isinstance(failure, LoadFailure) and "application/zip" in failure.reason


def test_redirect_loop_stops(server, loopback_ok):
    with pytest.raises(UnsafeURLError, match="more than 5 redirects"):
        urlmod.fetch_url(f"{server}/loop")


@pytest.mark.parametrize("bad", ["ftp://example.com/story.html", "file:///etc/passwd", "gopher://x/",
                                 "http:///nohost", "http://[::1]:1/", "http://0.0.0.0/", "http://224.0.0.1/",
                                 "http://192.168.1.1/", "http://[fd00::1]/", "http://100.64.0.1/"])
def test_other_schemes_and_unsafe_hosts_are_refused(bad, connections, library):
    with pytest.raises(UnsafeURLError):
        urlmod.fetch_url(bad)
    report = library.add_paths([bad])
    assert len(report.failed) == 1 and len(library) == 0 and connections == []


def test_urls_pass_through_iter_files_unmangled():
    assert list(iter_files(["https://example.com/a/b?c=1"])) == ["https://example.com/a/b?c=1"]


def test_cli_index_takes_a_url(server, loopback_ok, tmp_path, monkeypatch, capsys):
    import qa.config
    from qa.cli import main

    from .conftest import FakeEncoder

    monkeypatch.setattr(qa.config, "make_encoder", lambda *a, **k: FakeEncoder())
    lib = str(tmp_path / "lib")
    assert main(["index", f"{server}/page", "--library", lib, "-q", "--json"]) == 0
    assert len(__import__("json").loads(capsys.readouterr().out)["added"]) == 1
    assert main(["index", "ftp://example.com/x.html", "--library", lib, "-q"]) == 2  # refused before any work
