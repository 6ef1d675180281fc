"""The browser chat end to end: a real Chromium (Debian's, never downloaded) drives the Gradio app.

Screenshots go to test-artifacts/ (gitignored). Run: pytest -m browser tests/test_browser.py"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
DATA = Path(__file__).parent / "data"
MADURO = "What did the U.S. offer Maduro?"

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc):
    """End a server process started by a test (terminate, then kill if it lingers)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_up(url: str, seconds: float = 180, proc=None):
    end = time.time() + seconds
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up in {seconds}s")


@pytest.fixture(scope="module")
def indexed(real_encoder, tmp_path_factory):
    """A library folder holding the sample articles, indexed once with the real model."""
    from qa import Library, samples_dir

    folder = tmp_path_factory.mktemp("browser") / "indexed"
    lib = Library(folder, real_encoder)
    lib.add_paths([samples_dir()])
    lib.close()
    return folder


@pytest.fixture(scope="module")
def server(indexed, real_encoder, tmp_path_factory):
    import app
    from qa import Library

    folder = tmp_path_factory.mktemp("browser-app") / "lib"
    shutil.copytree(indexed, folder)
    lib = Library(folder, real_encoder)
    demo = app.build_app(lib)
    port = free_port()
    app.launch(demo, port=port, block=False)
    url = f"http://127.0.0.1:{port}/"
    wait_up(url)
    yield url
    demo.close()
    lib.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server)
    page.wait_for_selector("#question textarea")
    yield page
    page.close()


def ask(page, question: str, timeout=90_000):
    before = page.locator("#chat .qa-answer").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(f"document.querySelectorAll('#chat .qa-answer').length > {before}", timeout=timeout)
    page.wait_for_selector("#source-panel .qa-src-head", timeout=timeout)
    page.wait_for_timeout(400)  # the scroll-into-view runs just after the answer


def upload(page, path: Path) -> str:
    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#upload input[type=file]", str(path))
    page.wait_for_function("(() => { const r = document.querySelector('#add-report');"
                           " return r && /Added|Skipped|Failed/.test(r.innerText); })()", timeout=120_000)
    return page.inner_text("#add-report")


def shoot(page, name: str):
    page.screenshot(path=str(ARTIFACTS / f"{name}-1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-390-full.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def click_first_citation(page, answer):
    """A real pointer click where the first citation is on screen. (Playwright's own scroll-into-view
    fights the chatbot's auto-scroll when an answer is taller than the chat box.)"""
    first = answer.locator("li.qa-cite").first
    first.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_answer_with_citations_and_highlight(page):
    ask(page, MADURO)
    answer = page.locator("#chat .qa-answer").last
    assert "amnesty" in answer.inner_text().lower()
    assert answer.locator("li.qa-cite").count() >= 1 and answer.locator("a.qa-mark").count() >= 1
    panel = page.locator("#source-panel")
    assert panel.locator("mark.answer").count() >= 1 and panel.locator("mark.passage, mark.answer").count() >= 1
    assert "Maduro" in panel.locator(".qa-src-title").inner_text()
    assert panel.locator("mark.answer").first.is_visible()
    # the answer phrase is bold inside the highlighted sentence, in the chat and in the source panel
    phrase = answer.locator("strong.qa-phrase")
    assert phrase.count() == 1 and phrase.inner_text().strip()
    assert int(phrase.evaluate("el => parseInt(getComputedStyle(el).fontWeight)")) >= 700
    in_panel = panel.locator("mark.answer.qa-phrase")
    assert in_panel.count() >= 1 and phrase.inner_text().strip() in in_panel.first.inner_text()
    sentence = panel.evaluate("p => Array.from(p.querySelectorAll('mark.answer')).map(m => m.innerText).join('')")
    assert in_panel.first.inner_text() in sentence
    # choosing another citation shows it; clicking a citation in the chat does too
    page.locator("#cite-picker label").nth(1).click()
    page.wait_for_function("document.querySelector('#source-panel .qa-src-head').innerText.startsWith('[2]')")
    click_first_citation(page, answer)
    page.wait_for_function("document.querySelector('#source-panel .qa-src-head').innerText.startsWith('[1]')")
    page.wait_for_timeout(500)  # let the panel scroll to the passage
    top, height = page.evaluate("() => { const b = document.querySelector('#source-panel .qa-src-body');"
                                " return [b.querySelector('.qa-anchor').getBoundingClientRect().top"
                                " - b.getBoundingClientRect().top, b.clientHeight]; }")
    assert -5 < top < height - 40  # the cited passage is in view, not somewhere below
    shoot(page, "chat")
    # a second turn; clicking the first question brings back the first answer's citations
    ask(page, "What will a ride on the expanded Port Halden ferry cost?")
    assert "Port Halden" in panel.locator(".qa-src-title").inner_text()
    page.locator("#chat .message-row.user-row").first.click()
    page.wait_for_function("document.querySelector('#source-panel .qa-src-title').innerText.includes('Maduro')")
    click_first_citation(page, answer)
    page.wait_for_function("document.querySelector('#source-panel .qa-src-head').innerText.startsWith('[1]')")
    # on a phone, choosing a citation brings the source panel into view
    page.set_viewport_size({"width": 390, "height": 844})
    answer.locator("li.qa-cite").nth(1).click()
    page.wait_for_function("document.querySelector('#source-panel .qa-src-head').innerText.startsWith('[2]')")
    page.wait_for_timeout(600)
    box = page.locator("#source-panel .qa-src-head").bounding_box()
    assert 0 <= box["y"] < 844
    page.screenshot(path=str(ARTIFACTS / "source-390.png"))


def test_empty_question_shows_a_notice(page):
    page.click("#ask")
    page.wait_for_selector("#notice .qa-error", timeout=30_000)
    assert "Type a question" in page.inner_text("#notice")
    assert page.locator("#chat .qa-answer").count() == 0


def test_upload_ask_and_remove(page):
    report = upload(page, next((DATA / "news").glob("a01-*.md")))
    assert "Added 1 article(s)" in report and "Riverton" in report
    article_id = page.locator("#add-report code").first.inner_text()
    page.wait_for_function("document.querySelector('#articles').innerText.includes('Riverton Council')")
    shoot(page, "library")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "How much will the Riverton monthly trash fee rise to?")
    assert "$29" in page.locator("#chat .qa-answer").last.inner_text()
    assert "Riverton" in page.inner_text("#source-panel .qa-src-title")
    assert "a01-riverton-city-budget.md (uploaded)" in page.inner_text("#source-panel .qa-src-head")
    page.get_by_role("tab", name="Library").click()
    page.fill("#remove-id textarea, #remove-id input", article_id)
    page.click("#remove")
    page.wait_for_selector("#remove-report .qa-report", timeout=60_000)
    assert "Removed" in page.inner_text("#remove-report")
    page.wait_for_function("!document.querySelector('#articles').innerText.includes('Riverton Council')")
    # the earlier answer's source panel still opens: it says the article is gone
    page.get_by_role("tab", name="Chat").click()
    page.locator("#chat .qa-answer li.qa-cite").first.click()
    page.wait_for_selector("#source-panel .qa-gone", timeout=30_000)


def test_xss_article_renders_as_text(page):
    report = upload(page, DATA / "xss" / "xss-article.md")
    assert "Added 1 article(s)" in report or "Skipped" in report
    page.get_by_role("tab", name="Chat").click()
    ask(page, "What did Owen Achebe type into the ClassBridge comment box?")
    panel = page.locator("#source-panel")
    for i in range(page.locator("#cite-picker label").count()):
        if "Script Injection" in panel.locator(".qa-src-title").inner_text():
            break
        page.locator("#cite-picker label").nth(i).click()
        page.wait_for_timeout(800)
    assert "Script Injection" in panel.locator(".qa-src-title").inner_text()
    text = panel.inner_text()
    assert "<script>window.__xss=1</script>" in text
    assert '<img src=x onerror="window.__xss=2">' in text
    assert panel.get_by_text("<script>window.__xss=1</script>").first.is_visible()
    assert panel.locator("script, img").count() == 0
    assert page.evaluate("() => window.__xss") is None
    panel.get_by_text("window.__xss=1", exact=False).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "xss-1280.png"))
    assert page.evaluate("() => window.__xss") is None


def test_hostile_title_and_file_name_render_as_text(page, tmp_path):
    evil = tmp_path / '<img src=x onerror="window.__xss=5">.md'
    evil.write_text('# Lighthouse <img src=x onerror="window.__xss=4"> keepers <b>strike</b>\nOutlet: <i>Coast</i>\n\n'
                    "The lighthouse keepers of Gull Rock walked off the job on Monday over unpaid overtime.\n")
    report = upload(page, evil)
    assert "Added 1 article(s)" in report and 'onerror="window.__xss=4"' in report
    page.fill("#search textarea, #search input", "Lighthouse")  # undated: listed after the dated samples
    page.wait_for_function("document.querySelector('#articles').innerText.includes('Lighthouse')")
    assert page.locator("#articles img, #add-report img, #articles b").count() == 0
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Why did the Gull Rock lighthouse keepers walk off the job?")
    assert "<b>strike</b>" in page.inner_text("#source-panel .qa-src-title")
    assert page.locator("#chat img, #source-panel img").count() == 0
    assert page.evaluate("() => window.__xss") is None


def test_gradio_client_ask_via_serve(indexed, tmp_path):
    """`article-qa serve` in its own process; the named /ask endpoint answers with the JSON schema."""
    from gradio_client import Client

    folder = tmp_path / "lib"
    shutil.copytree(indexed, folder)
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--library", str(folder), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_up(url, proc=proc)
        out = json.loads(Client(url, verbose=False).predict(MADURO, 5, "hybrid", api_name="/ask"))
        assert out["question"] == MADURO and not out["abstained"]
        assert out["citations"] and "Maduro" in out["citations"][0]["title"]
        assert out["highlight"]["citation"] in [c["n"] for c in out["citations"]]
        with pytest.raises(Exception, match="question is empty"):
            Client(url, verbose=False).predict("  ", 5, "hybrid", api_name="/ask")
    finally:
        stop(proc)
