"""Sign-in for the team server (qa.web.auth): the users file, hashes, rate limit, and the ASGI gate,
driven through Starlette's test client (no model, no browser)."""
from __future__ import annotations

import base64
import hashlib
import logging

import pytest

from qa import AuthFileError
from qa.web import auth


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_hashes_verify_and_never_hold_the_password(tmp_path):
    f = tmp_path / "users"
    assert auth.add_user(f, "alice", "correct horse") is True
    assert auth.add_user(f, "bob", "battery staple") is True
    assert auth.add_user(f, "alice", "a new password") is False  # replaced, not duplicated
    text = f.read_text()
    assert "correct horse" not in text and "a new password" not in text and text.count("alice:") == 1
    assert oct(f.stat().st_mode & 0o777) == "0o600"
    users = auth.read_users(f)
    assert set(users) == {"alice", "bob"} and users["alice"].startswith("scrypt$")
    assert auth.check_password(users["alice"], "a new password")
    assert not auth.check_password(users["alice"], "correct horse")
    salt = b"0123456789abcdef"
    dk = hashlib.pbkdf2_hmac("sha256", b"pbkdf2 pass", salt, 1000)
    line = f"carol:pbkdf2_sha256$1000${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}\n"
    f.write_text(text + line)
    assert auth.SignIn.from_file(f).verify("carol", "pbkdf2 pass")


@pytest.mark.parametrize("content, where", [("alice:hunter2\n", ":1:"), ("# c\n\nbob\n", ":3:"), ("", "no users")])
def test_a_malformed_users_file_is_an_error_naming_the_line(tmp_path, content, where):
    f = tmp_path / "users"
    f.write_text(content)
    with pytest.raises(AuthFileError, match=where) as e:
        auth.read_users(f)
    assert str(f) in str(e.value) and "user add" in str(e.value)


def test_bad_names_short_passwords_and_missing_files_change_nothing(tmp_path):
    f = tmp_path / "users"
    auth.add_user(f, "alice", "correct horse")
    before = f.read_bytes()
    for name, pw in (("bad name", "long enough"), ("a:b", "long enough"), ("dave", "short")):
        with pytest.raises(AuthFileError):
            auth.add_user(f, name, pw)
    assert f.read_bytes() == before
    with pytest.raises(AuthFileError, match="does not exist"):
        auth.read_users(tmp_path / "nope")


def test_rate_limit_per_address_with_a_clock():
    now = [0.0]
    limit = auth.RateLimit(failures=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limit.wait("10.0.0.1") == 0
        limit.failed("10.0.0.1")
    assert limit.wait("10.0.0.1") > 0 and limit.wait("10.0.0.2") == 0
    now[0] = 61
    assert limit.wait("10.0.0.1") == 0


@pytest.fixture
def gated(tmp_path):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    f = tmp_path / "users"
    auth.add_user(f, "alice", "correct horse")
    signin = auth.SignIn(auth.read_users(f), auth.RateLimit(failures=3, window=300))

    async def who(request):
        return JSONResponse({"user": auth.signed_in_user(request)})

    inner = Starlette(routes=[Route("/", who), Route("/gradio_api/mcp/", who, methods=["GET", "POST"])],
                      middleware=[Middleware(auth.Gate, signin=signin)])
    return TestClient(inner, client=("10.1.2.3", 5000), follow_redirects=False)


def test_the_gate_refuses_without_credentials_and_lets_signed_in_users_through(gated):
    assert gated.get("/", headers={"Accept": "text/html"}).headers["location"].startswith("/signin?next=")
    r = gated.post("/gradio_api/mcp/")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert gated.get("/", headers=basic("alice", "correct horse")).json() == {"user": "alice"}
    page = gated.get("/signin")
    assert page.status_code == 200 and 'name="password"' in page.text
    r = gated.post("/signin", data={"username": "alice", "password": "correct horse", "next": "/gradio_api/mcp/"})
    assert r.status_code == 303 and r.headers["location"] == "/gradio_api/mcp/"
    assert gated.get("/").json() == {"user": "alice"}  # the session cookie
    gated.get("/signout")
    assert gated.get("/").status_code == 401


def test_no_open_redirect_after_sign_in(gated):
    r = gated.post("/signin", data={"username": "alice", "password": "correct horse", "next": "//evil.example/"})
    assert r.headers["location"] == "/"


def test_failed_sign_ins_are_rate_limited_and_logged_without_the_password(gated, caplog):
    caplog.set_level(logging.WARNING, "article-qa.auth")
    for _ in range(3):
        assert gated.post("/signin", data={"username": "alice", "password": "guess-123"}).status_code == 401
    r = gated.post("/signin", data={"username": "alice", "password": "correct horse"})
    assert r.status_code == 429 and "try again" in r.text  # even the right password waits now
    assert gated.get("/", headers=basic("alice", "correct horse")).status_code == 429
    assert "10.1.2.3" in caplog.text and "alice" in caplog.text
    assert "guess-123" not in caplog.text and "correct horse" not in caplog.text


def test_editors():
    assert auth.may_edit("bob", None) and auth.may_edit("alice", {"alice"}) and not auth.may_edit("bob", {"alice"})
    assert not auth.may_edit(None, {"alice"})


def test_loopback():
    assert all(auth.is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.0.1.1"))
    assert not any(auth.is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::"))
