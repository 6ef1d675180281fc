"""Sign-in for a shared server (`serve --auth-file FILE`): the users file, password hashes, and a gate in
front of the whole app (page, /ask API, uploads, MCP), with failed sign-ins rate-limited per address.

The users file has one `name:hash` line per user, the hash scrypt (written by `article-qa user add`) or
PBKDF2-SHA256; a plain password is never stored or accepted on a command line."""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import os
import re
import secrets
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from urllib.parse import parse_qs, quote

from corpus.errors import AuthFileError

log = logging.getLogger("article-qa.auth")
ENV_AUTH_FILE = "ARTICLE_QA_AUTH_FILE"
USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MIN_PASSWORD = 8
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
COOKIE = "article_qa_session"
SESSION_SECONDS = 12 * 3600
STARTUP = "/gradio_api/startup-events"
USER_KEY = "article_qa_user"  # where the gate leaves the signed-in user in the ASGI scope


def default_auth_file() -> Path:
    from platformdirs import user_config_dir

    return Path(os.environ.get(ENV_AUTH_FILE) or Path(user_config_dir("article-qa", appauthor=False)) / "users")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(dk)}"


def check_password(stored: str, password: str) -> bool:
    """True when `password` matches the stored scrypt or pbkdf2_sha256 hash (constant-time compare)."""
    kind, *parts = stored.split("$")
    if kind == "scrypt":
        n, r, p, salt, dk = parts
        want = base64.b64decode(dk)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=256 * 1024 * 1024)
    else:  # pbkdf2_sha256$iterations$salt$hash
        iterations, salt, dk = parts
        want = base64.b64decode(dk)
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations), len(want))
    return hmac.compare_digest(got, want)


def _valid_hash(h: str) -> bool:
    parts = h.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            int(parts[1]), int(parts[2]), int(parts[3])
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            int(parts[1])
        else:
            return False
        return all(base64.b64decode(x, validate=True) for x in parts[-2:])
    except (ValueError, TypeError):
        return False


def check_name(name: str) -> str:
    if not isinstance(name, str) or not USER_NAME.match(name):
        raise AuthFileError(f"User name {name!r} is not allowed: use 1-64 letters, digits or . _ @ - "
                            "(no spaces or colons), e.g. article-qa user add alice")
    return name


def read_users(path) -> dict[str, str]:
    """{name: hash} from a users file; a malformed line is an error naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise AuthFileError(f"Sign-in file {path} does not exist; create it with: "
                            f"article-qa user add NAME --auth-file {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise AuthFileError(f"Sign-in file {path} cannot be read ({e}); check its permissions") from None
    users = {}
    for i, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, h = line.partition(":")
        if not sep or not USER_NAME.match(name) or not _valid_hash(h):
            raise AuthFileError(f"{path}:{i}: expected 'name:scrypt$...' or 'name:pbkdf2_sha256$...' (a password "
                                "hash, never the password); recreate the line with: article-qa user add NAME")
        users[name] = h
    if not users:
        raise AuthFileError(f"Sign-in file {path} has no users; add one with: article-qa user add NAME "
                            f"--auth-file {path}")
    return users


def add_user(path, name: str, password: str) -> bool:
    """Add or replace `name` in the users file (written whole, atomically, readable by its owner only).
    True when the user was new."""
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise AuthFileError(f"The password for {name} is too short: use at least {MIN_PASSWORD} characters")
    path = Path(path)
    users = read_users(path) if path.exists() and path.read_text("utf-8").strip() else {}
    new = name not in users
    users[name] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# article-qa sign-in: name:password-hash (article-qa user add NAME)\n")
            f.writelines(f"{u}:{h}\n" for u, h in users.items())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return new


class RateLimit:
    """At most `failures` failed sign-ins per address within `window` seconds; then that address waits."""

    def __init__(self, failures: int = 5, window: float = 300.0, clock=time.monotonic):
        self.failures, self.window, self.clock = failures, window, clock
        self._seen: dict[str, deque] = defaultdict(deque)

    def _recent(self, addr: str) -> deque:
        q, now = self._seen[addr], self.clock()
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def wait(self, addr: str) -> float:
        """Seconds until `addr` may try again (0: now)."""
        q = self._recent(addr)
        return max(0.0, self.window - (self.clock() - q[0])) if len(q) >= self.failures else 0.0

    def failed(self, addr: str):
        self._recent(addr).append(self.clock())

    def succeeded(self, addr: str):
        self._seen.pop(addr, None)


class SignIn:
    """The users and the live sessions of one server."""

    def __init__(self, users: dict[str, str], limit: RateLimit | None = None):
        self.users = users
        self.limit = limit or RateLimit()
        self._sessions: dict[str, tuple[str, float]] = {}
        self._basic_ok: dict[str, str] = {}  # sha256 of a verified Basic header -> user (scrypt is slow)

    @classmethod
    def from_file(cls, path) -> "SignIn":
        return cls(read_users(path))

    def verify(self, name: str, password: str) -> bool:
        stored = self.users.get(name)
        if stored is None:
            check_password(hash_password("x" * MIN_PASSWORD), password)  # same time as a known user
            return False
        return check_password(stored, password)

    def attempt(self, addr: str, name: str, password: str) -> tuple[str | None, float]:
        """(user or None, seconds to wait when rate-limited). Failures are logged without the password."""
        wait = self.limit.wait(addr)
        if wait:
            log.warning("sign-in refused for %r from %s: too many failures, retry in %.0f s", name, addr, wait)
            return None, wait
        if self.verify(name, password):
            self.limit.succeeded(addr)
            return name, 0.0
        self.limit.failed(addr)
        log.warning("failed sign-in for %r from %s", name, addr)
        return None, 0.0

    def new_session(self, user: str) -> str:
        token = secrets.token_urlsafe(24)
        self._sessions[token] = (user, time.time() + SESSION_SECONDS)
        return token

    def end_session(self, token: str):
        self._sessions.pop(token, None)

    def session_user(self, token: str | None) -> str | None:
        user, until = self._sessions.get(token or "", (None, 0.0))
        return user if until > time.time() else None

    def basic_user(self, header: str, addr: str) -> tuple[str | None, float]:
        key = hashlib.sha256(header.encode()).hexdigest()
        if key in self._basic_ok and self._basic_ok[key] in self.users:
            return self._basic_ok[key], 0.0
        try:
            name, _, password = base64.b64decode(header.split(None, 1)[1]).decode().partition(":")
        except (IndexError, ValueError, UnicodeDecodeError):
            return None, 0.0
        user, wait = self.attempt(addr, name, password)
        if user:
            self._basic_ok[key] = user
        return user, wait


def signed_in_user(request) -> str | None:
    """The user the gate let in (Gradio's auth_dependency: a request without one is refused)."""
    return request.scope.get(USER_KEY)


def may_edit(user: str | None, editors) -> bool:
    """Whether `user` may add or remove articles: everyone when no editors are named."""
    return not editors or user in editors


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · article-qa</title>
<style>body{{font-family:system-ui,sans-serif;display:flex;justify-content:center;margin-top:12vh}}
form{{display:flex;flex-direction:column;gap:.6em;min-width:260px}}input,button{{font-size:1em;padding:.45em}}
.err{{color:#b91c1c}}</style></head><body><form method="post" action="signin">
<h2>article-qa</h2><p>Sign in to ask this library.</p>{error}
<input type="hidden" name="next" value="{next}">
<label>User <input id="username" name="username" autocomplete="username" required autofocus></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button id="signin" type="submit">Sign in</button></form></body></html>"""


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


class Gate:
    """ASGI middleware: every request needs a session cookie (from the /signin page) or HTTP Basic
    credentials (API and MCP clients); /signin and /signout are the only open paths."""

    def __init__(self, app, signin: SignIn):
        self.app, self.signin = app, signin

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        addr = (scope.get("client") or ("unknown", 0))[0]
        if path == "/signin" and scope["type"] == "http":
            return await self._signin(scope, receive, send, addr)
        if path == STARTUP and is_loopback(addr):  # Gradio's own start-up probe, from this machine
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = _cookie(headers.get("cookie", ""), COOKIE)
        if path == "/signout" and scope["type"] == "http":
            self.signin.end_session(token or "")
            return await _respond(send, 303, b"", [(b"location", b"signin"), _clear_cookie()])
        user, wait = self.signin.session_user(token), 0.0
        auth = headers.get("authorization", "")
        if user is None and auth.lower().startswith("basic "):
            user, wait = self.signin.basic_user(auth, addr)
        if user is not None:
            scope[USER_KEY] = user
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if wait:
            return await _respond(send, 429, b'{"error": "too many failed sign-ins; try again later"}',
                                  [(b"retry-after", str(int(wait) + 1).encode()),
                                   (b"content-type", b"application/json")])
        if scope.get("method") == "GET" and "text/html" in headers.get("accept", ""):
            target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
            return await _respond(send, 303, b"", [(b"location", f"/signin?next={quote(target)}".encode())])
        return await _respond(send, 401, b'{"error": "sign in first: a session cookie from /signin, or HTTP '
                                         b'Basic credentials (Authorization: Basic base64(user:password))"}',
                              [(b"www-authenticate", b'Basic realm="article-qa"'),
                               (b"content-type", b"application/json")])

    async def _signin(self, scope, receive, send, addr):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if scope.get("method") != "POST":
            nxt = _safe_next(query.get("next", ["/"])[0])
            return await _page(send, 200, "", nxt)
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body") or len(body) > 16384:
                break
        form = parse_qs(body.decode("utf-8", "replace"))
        name = form.get("username", [""])[0].strip()
        nxt = _safe_next(form.get("next", ["/"])[0])
        user, wait = self.signin.attempt(addr, name, form.get("password", [""])[0])
        if wait:
            return await _page(send, 429, f"Too many failed sign-ins from your address; try again in "
                                          f"{int(wait) + 1} s.", nxt)
        if user is None:
            return await _page(send, 401, "Wrong user name or password.", nxt)
        cookie = f"{COOKIE}={self.signin.new_session(user)}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}"
        return await _respond(send, 303, b"", [(b"location", nxt.encode()), (b"set-cookie", cookie.encode())])


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def _clear_cookie():
    return (b"set-cookie", f"{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0".encode())


async def _page(send, status: int, error: str, nxt: str):
    err = f'<p class="err" id="signin-error">{html.escape(error)}</p>' if error else ""
    body = PAGE.format(error=err, next=html.escape(nxt)).encode()
    await _respond(send, status, body, [(b"content-type", b"text/html; charset=utf-8")])


async def _respond(send, status: int, body: bytes, headers: list):
    headers = headers + [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
