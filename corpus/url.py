"""Fetching one web page safely: http(s) only, public addresses only, bounded in time and size.

The host is resolved once per hop, every address is checked (loopback, private, link-local such as
169.254.169.254, multicast, reserved and unspecified are refused) and the socket is connected to the
checked address itself, so a DNS answer that changes between check and connect (rebinding) cannot
redirect us. Redirects are followed by hand (at most MAX_REDIRECTS), each hop checked again.

ARTICLE_QA_ALLOW_LOOPBACK_URLS=1 (or allow_loopback=True) admits 127.0.0.0/8 and ::1: FOR TESTS ONLY,
so a test can serve pages from a local http.server. Private and link-local addresses stay refused.
"""
from __future__ import annotations

import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
import zlib
from urllib.parse import urljoin, urlsplit

from .errors import LoadError, UnsafeURLError

ENV_ALLOW_LOOPBACK = "ARTICLE_QA_ALLOW_LOOPBACK_URLS"  # test-only
MAX_REDIRECTS = 5
MAX_BYTES = 5_000_000
TIMEOUT = (5, 15)  # (connect, read) seconds; the whole fetch is also bounded by connect + 2 * read
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)
USER_AGENT = "article-qa/0.1 (+https://github.com/article-qa)"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.I)


def is_url(value) -> bool:
    """True for strings like 'https://...' (any scheme, so 'ftp://' is refused with a reason, not as a path)."""
    return isinstance(value, str) and bool(_SCHEME.match(value))


def _loopback_allowed(allow_loopback: bool) -> bool:
    return allow_loopback or os.environ.get(ENV_ALLOW_LOOPBACK) == "1"


def check_address(ip: str, url: str, allow_loopback: bool = False) -> None:
    """Raise UnsafeURLError unless `ip` is a public unicast address (or loopback when allowed)."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        if allow_loopback:
            return
        kind = "loopback"
    elif addr.is_link_local:
        kind = "link-local (cloud metadata)"
    elif addr.is_multicast:
        kind = "multicast"
    elif addr.is_unspecified:
        kind = "unspecified"
    elif addr.is_reserved:
        kind = "reserved"
    elif addr.is_private or not addr.is_global:
        kind = "private"
    else:
        return
    raise UnsafeURLError(f"{url}: refused, its host resolves to {addr}, a {kind} address; only public web "
                         "pages can be indexed. Save the page and index the file instead.")


def _check_url(url: str, allow_loopback: bool) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, request target, checked IP) for one hop, or UnsafeURLError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UnsafeURLError(f"{url}: not a valid URL ({e}); give an address like https://example.com/story") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError(f"{url}: the scheme '{scheme}' is not supported; only http:// and https:// pages "
                             "can be indexed (download other files and index them from disk)")
    host = parts.hostname
    if not host:
        raise UnsafeURLError(f"{url}: has no host name; give an address like https://example.com/story")
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise UnsafeURLError(f"{url}: the host '{host}' could not be resolved ({e}); check the address "
                             "and your network") from None
    ips = list(dict.fromkeys(info[4][0] for info in infos))
    if not ips:
        raise UnsafeURLError(f"{url}: the host '{host}' has no address; check the URL")
    for ip in ips:  # every answer must be safe, then we connect to the first one
        check_address(ip, url, allow_loopback)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, target, ips[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an already-checked IP (the Host header still names the host)."""

    def __init__(self, host, port, ip, connect_timeout, read_timeout):
        super().__init__(host, port, timeout=connect_timeout)
        self._ip, self._read_timeout = ip, read_timeout

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock.settimeout(self._read_timeout)


class _PinnedHTTPS(_PinnedHTTP):
    """HTTPS to the checked IP; the certificate is verified against the host name (SNI too)."""

    default_port = 443

    def connect(self):
        super().connect()
        ctx = ssl.create_default_context()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.host)


def _read_capped(resp, url: str, max_bytes: int, deadline: float) -> bytes:
    encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "deflate", "x-gzip"):
        raise UnsafeURLError(f"{url}: the server sent the content encoding '{encoding}', which is not supported; "
                             "save the page and index the file instead")
    inflate = None if encoding == "identity" else zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding
                                                                     else zlib.MAX_WBITS)
    out, raw = bytearray(), 0
    while True:
        if time.monotonic() > deadline:
            raise UnsafeURLError(f"{url}: the download took too long; try again later or save the page and "
                                 "index the file")
        block = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
        if not block:
            break
        raw += len(block)
        if inflate is not None:
            try:
                block = inflate.decompress(block, max_bytes + 1 - len(out))
            except zlib.error as e:
                raise UnsafeURLError(f"{url}: the compressed body is damaged ({e}); try again later") from None
        out += block
        if len(out) > max_bytes or raw > max_bytes:
            raise UnsafeURLError(f"{url}: the page is larger than {max_bytes:,} bytes; save the article text to a "
                                 "file and index that instead")
    return bytes(out)


def fetch_url(url: str, allow_loopback: bool = False, timeout=TIMEOUT,
              max_bytes: int = MAX_BYTES) -> tuple[bytes, str, str]:
    """(body, content type, final URL) of a public http(s) page; UnsafeURLError on any refusal or failure."""
    allow_loopback = _loopback_allowed(allow_loopback)
    connect_t, read_t = (timeout, timeout) if isinstance(timeout, (int, float)) else timeout
    deadline = time.monotonic() + connect_t + 2 * read_t
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        scheme, host, port, target, ip = _check_url(current, allow_loopback)
        cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        conn = cls(host, port, ip, connect_t, read_t)
        try:
            conn.request("GET", target, headers={
                "User-Agent": USER_AGENT, "Accept-Encoding": "gzip, identity",
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise UnsafeURLError(f"{current}: redirect ({resp.status}) without a Location; check the URL")
                current = urljoin(current, location.strip())
                continue
            if resp.status != 200:
                raise UnsafeURLError(f"{current}: the server answered HTTP {resp.status} {resp.reason}; check the URL "
                                     "opens in a browser")
            ctype = (resp.getheader("Content-Type") or "").strip()
            mime = ctype.split(";", 1)[0].strip().lower()
            if mime not in HTML_TYPES + TEXT_TYPES:
                raise UnsafeURLError(f"{current}: the content type is '{mime or 'missing'}', expected a web page "
                                     "(text/html, application/xhtml+xml or text/plain); download other files and "
                                     "index them from disk")
            length = resp.getheader("Content-Length")
            if length and length.strip().isdigit() and int(length) > max_bytes:
                raise UnsafeURLError(f"{current}: the page is {int(length):,} bytes, more than the {max_bytes:,} "
                                     "allowed; save the article text to a file and index that instead")
            return _read_capped(resp, current, max_bytes, deadline), ctype, current
        except (OSError, http.client.HTTPException) as e:
            what = "timed out" if isinstance(e, (socket.timeout, TimeoutError)) else f"failed ({type(e).__name__}: {e})"
            raise UnsafeURLError(f"{current}: the download {what}; check the address and your network, "
                                 "then try again") from None
        finally:
            conn.close()
    raise UnsafeURLError(f"{url}: more than {MAX_REDIRECTS} redirects; open it in a browser and index the final URL")


def fetch_text(url: str, allow_loopback: bool = False, timeout=TIMEOUT,
               max_bytes: int = MAX_BYTES) -> tuple[bytes, str, str]:
    """(body re-encoded as UTF-8, mime type, final URL); UnsafeURLError or LoadError on any refusal.

    Turning the page into an article is the loaders' job (corpus.loaders.load_url), not this module's."""
    data, ctype, final = fetch_url(url, allow_loopback, timeout, max_bytes)
    return _to_utf8(data, ctype, final), ctype.split(";", 1)[0].strip().lower(), final


def _to_utf8(data: bytes, ctype: str, url: str) -> bytes:
    """Re-encode the body as UTF-8 using the charset from the header or a <meta> tag."""
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", ctype, re.I) or _META_CHARSET.search(data[:4096])
    charset = m.group(1) if m else "utf-8"
    charset = charset.decode("ascii") if isinstance(charset, bytes) else charset
    try:
        return data.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        raise LoadError(url, f"is not valid {charset} text as its server declares",
                        "Save the page as UTF-8 and index the file instead") from None
