"""The team server end to end, in its own process on loopback: `article-qa serve --auth-file F --editors
alice` refuses the page, the API and MCP without credentials; with them, a real MCP client (the `mcp`
package) and gradio_client work, and a real Chromium signs in (Playwright)."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.test_browser import ARGS, CHROMIUM, MADURO, ROOT, free_port, indexed, stop, sync_api  # noqa: F401

pytestmark = pytest.mark.browser
PASSWORDS = {"alice": "alice-pass-123", "bob": "bob-pass-456"}


def basic(user: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORDS[user]}".encode()).decode()}


def status(url: str, headers=None) -> int:
    req = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except urllib.error.URLError:
        return 0  # not listening yet


@pytest.fixture(scope="module")
def team(indexed, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    users = tmp / "users"
    for name, pw in PASSWORDS.items():  # the documented way: the password on stdin, never an argument
        out = subprocess.run([sys.executable, "-m", "qa", "user", "add", name, "--auth-file", str(users),
                              "--password-stdin"], input=pw + "\n", capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
    folder = tmp / "lib"
    shutil.copytree(indexed, folder)
    port = free_port()
    log = open(tmp / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--library", str(folder), "--port", str(port),
                             "--auth-file", str(users), "--editors", "alice"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    url = f"http://127.0.0.1:{port}/"
    end = time.time() + 180
    try:
        while status(url + "config", basic("alice")) != 200:
            assert proc.poll() is None and time.time() < end, Path(log.name).read_text()[-3000:]
            time.sleep(0.5)
        yield url, Path(log.name)
    finally:
        stop(proc)


def mcp_call(url: str, headers: dict, question: str):
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():
        async with httpx.AsyncClient(headers=headers, timeout=120) as http, \
                streamable_http_client(url, http_client=http) as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                tools = {t.name: t for t in (await s.list_tools()).tools}
                answer = json.loads((await s.call_tool("ask", {"question": question, "k": 3})).content[0].text)
                c = answer["citations"][0]
                shown = await s.call_tool("show_article", {"article_id": c["article_id"]})
                return tools, answer, json.loads(shown.content[0].text)

    return asyncio.run(run())


def _messages(e: BaseException) -> str:
    """All messages inside an exception group (the MCP client raises from a task group)."""
    return " ".join([str(e)] + [_messages(x) for x in getattr(e, "exceptions", ())])


def readme_mcp_config() -> dict:
    block = re.search(r"```json\n(\{\s*\"mcpServers\".*?)\n```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md shows the MCP client configuration in a ```json block"
    return json.loads(block.group(1))["mcpServers"]["article-qa"]


def test_without_credentials_everything_is_refused(team):
    from gradio_client import Client

    url, _ = team
    assert status(url) == 401 and status(url + "config") == 401 and status(url + "gradio_api/info") == 401
    assert status(url + "gradio_api/mcp/schema") == 401
    req = urllib.request.Request(url, headers={"Accept": "text/html"})
    with urllib.request.urlopen(req, timeout=10) as r:  # a browser is sent to the sign-in page
        assert r.url.startswith(url + "signin") and 'name="password"' in r.read().decode()
    with pytest.raises(Exception, match="credentials"):
        Client(url, verbose=False)
    with pytest.raises(BaseException) as refused:
        mcp_call(url + "gradio_api/mcp/", {}, MADURO)
    assert "401 Unauthorized" in _messages(refused.value)
    assert status(url + "config", {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}) == 401


def test_mcp_client_from_the_readme_snippet_asks_and_cites_exact_offsets(team):
    url, _ = team
    cfg = readme_mcp_config()
    headers = {k: v.replace("BASE64_OF_USER_COLON_PASSWORD", base64.b64encode(
        f"bob:{PASSWORDS['bob']}".encode()).decode()) for k, v in cfg.get("headers", {}).items()}
    tools, answer, article = mcp_call(cfg["url"].replace("http://127.0.0.1:7860/", url), headers, MADURO)
    assert set(tools) == {"ask", "list_articles", "show_article"}
    assert "offsets" in tools["ask"].description and "question" in tools["ask"].inputSchema["properties"]
    assert not answer["abstained"] and "Maduro" in answer["citations"][0]["title"]
    for c in answer["citations"]:
        if c["article_id"] == article["id"]:
            assert article["text"][c["start"]:c["end"]] == c["text"]
    h = answer["highlight"]
    assert h["text"] in answer["citations"][h["citation"] - 1]["text"]


def test_gradio_client_with_credentials(team):
    from gradio_client import Client

    url, _ = team
    out = json.loads(Client(url, verbose=False, headers=basic("bob")).predict(MADURO, 3, "hybrid", api_name="/ask"))
    assert out["citations"] and not out["abstained"]


def sign_in(page, url, user, password):
    page.goto(url)
    page.wait_for_selector("#password")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#signin")


def test_browser_sign_in_editors_and_the_log(team):
    url, log = team
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            sign_in(page, url, "bob", "not-his-password")
            assert "Wrong user name or password" in page.inner_text("#signin-error")
            sign_in(page, url, "bob", PASSWORDS["bob"])
            page.wait_for_selector("#question textarea", timeout=60_000)
            page.fill("#question textarea", MADURO)
            page.click("#ask")
            page.wait_for_selector("#chat .qa-answer", timeout=90_000)
            assert "amnesty" in page.inner_text("#chat .qa-answer").lower()
            page.get_by_role("tab", name="Library").click()
            page.wait_for_selector("#articles")
            page.wait_for_timeout(500)
            assert not page.locator("#upload").is_visible() and not page.locator("#remove").is_visible()
            assert "Signed in as bob" in page.inner_text("#whoami")
            page.click("#signout")
            sign_in(page, url, "alice", PASSWORDS["alice"])
            page.wait_for_selector("#question textarea", timeout=60_000)
            page.get_by_role("tab", name="Library").click()
            page.wait_for_selector("#upload", state="visible")
            assert page.locator("#remove").is_visible()
        finally:
            browser.close()
    text = log.read_text()
    assert "failed sign-in for 'bob' from 127.0.0.1" in text and "not-his-password" not in text
