"""The browser chat (Gradio). Thin: it only wires widgets to the handlers in qa.web.

    python app.py --library ~/qa-library --port 7860      (or: article-qa serve ...)

Also serves the ask / list_articles / show_article tools to AI agents over MCP (/gradio_api/mcp/), and,
with --auth-file, signs users in before anything else (qa.web.auth).
"""
from __future__ import annotations

import argparse
import functools
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no phoning home

import gradio as gr  # noqa: E402

from qa import MODES, ArticleQAError, AuthFileError, open_library  # noqa: E402
from qa import web  # noqa: E402

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".jsonl"]
MAX_FILE_SIZE = "20mb"
CSS = """
#title h3 {margin: 0;}
#whoami {text-align: right; font-size: .85em; opacity: .8;}
#chat .qa-answer {line-height: 1.5;}
.qa-searched, .qa-conf, .qa-meta, .qa-sub, .qa-also {font-size: .85em; opacity: .75;}
.qa-conf {margin-top: .2em;}
.qa-notfound {padding: .4em .6em; border-left: 4px solid #d97706; background: rgba(217,119,6,.08);}
a.qa-mark {text-decoration: none; font-weight: 700; font-size: .8em; vertical-align: super; cursor: pointer;}
ol.qa-cites {margin: .5em 0 0 0 !important; padding-left: 0 !important; list-style: none;}
li.qa-cite {margin: .3em 0 !important; padding: .25em .5em; border-radius: 6px; cursor: pointer;
  background: rgba(127,127,127,.08); font-size: .92em; line-height: 1.35;}
li.qa-cite:hover {background: rgba(127,127,127,.16);}
li.qa-cite-answer {box-shadow: inset 3px 0 0 #f59e0b;}
.qa-n {font-weight: 700; margin-right: .2em;}
.qa-title, .qa-src-title {font-weight: 600;}
.qa-error {color: #b91c1c; padding: .3em 0;}
.qa-report code, .qa-cite code {font-size: .85em;}
#source-panel .qa-src-head {padding-bottom: .5em; border-bottom: 1px solid rgba(127,127,127,.3);}
#source-panel .qa-src-title {font-size: 1.1em;}
#source-panel .qa-src-body {max-height: 62vh; overflow-y: auto; position: relative; padding-right: .4em;}
#source-panel p {margin: .7em 0; line-height: 1.55;}
#source-panel .qa-empty {opacity: .7; padding: 1em 0;}
#cite-picker .wrap {gap: .3em;}
#chat li.qa-cite .qa-meta {display: block;}
#chat li.qa-cite span.qa-meta {display: inline;}
mark.passage {background: #fef3c7; color: inherit; padding: 0 .1em;}
mark.answer {background: #fbbf24; color: #111; font-weight: 600; padding: 0 .1em;}
mark.qa-phrase, strong.qa-phrase {font-weight: 800;}
mark.qa-phrase {text-decoration: underline; text-underline-offset: 2px;}
@media (max-width: 700px) {
  #source-panel .qa-src-body {max-height: 70vh;}
  #chat .message-content {font-size: 15px;}
}
"""
HEAD = """<style>/* outside Gradio's CSS scoping: the page frame itself */
@media (max-width: 700px) { .gradio-container .main.app {padding-left: 8px !important; padding-right: 8px !important;} }
</style>"""
CLICK_JS = """() => {
  document.addEventListener('click', (ev) => {
    const el = ev.target.closest && ev.target.closest('#chat a.qa-mark, #chat li.qa-cite');
    if (!el) return;
    const ref = el.tagName === 'A' ? (el.getAttribute('href') || '').slice(1) : el.id;
    const m = /^qa-c(\\d+)-(\\d+)$/.exec(ref || '');
    const box = document.querySelector('#cite-req textarea, #cite-req input');
    const go = document.querySelector('#cite-go');
    if (!m || !box || !go) return;
    ev.preventDefault(); ev.stopPropagation();
    box.value = m[1] + ':' + m[2];
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => go.click(), 30);
  }, true);
}"""
SCROLL_JS = """() => setTimeout(() => { const body = document.querySelector('#source-panel .qa-src-body');
  const m = body && (body.querySelector('.qa-anchor') || body.querySelector('mark.passage, mark.answer'));
  if (m) body.scrollTop += m.getBoundingClientRect().top - body.getBoundingClientRect().top - 60; }, 50)"""
LATEST_JS = """() => setTimeout(() => { const wrap = document.querySelector('#chat .panel-wrap, #chat .bubble-wrap');
  const rows = wrap ? wrap.querySelectorAll('.message-row.user-row') : [];
  const row = rows[rows.length - 1];
  if (row) wrap.scrollTop += row.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 8; }, 100)"""
CITE_JS = ("() => { (" + SCROLL_JS + ")(); if (window.innerWidth < 700) setTimeout(() => "
           "document.querySelector('#source-panel').scrollIntoView({block: 'start'}), 60); }")
BOTH_JS = "() => { (" + SCROLL_JS + ")(); (" + LATEST_JS + ")(); }"


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows, columns=web.ARTICLE_COLUMNS)


def _tool(fn):
    """An agent tool as a Gradio API: same name, hints and docstring; product errors become tool errors."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
    return call


def _editor(request: gr.Request | None, editors) -> str | None:
    """None when the signed-in user may add and remove articles, else the notice to show."""
    user = getattr(request, "username", None)
    if web.auth.may_edit(user, editors):
        return None
    return web.render.render_error(f"Only editors ({', '.join(sorted(editors))}) can add or remove articles; "
                                   f"you are signed in as {user or 'nobody'}.")


def build_app(library=None, editors=None) -> gr.Blocks:
    """The Blocks app over `library` (a Library, a folder path, or None for the default library).
    `editors`: user names allowed to add and remove articles (None: everyone who can open the page)."""
    lib = library if hasattr(library, "ask") else open_library(library)
    editors = frozenset(editors) if editors else None

    def respond(session, question, k, mode, outlet, since, until):
        session, history, notice, choices, n, html = web.respond(lib, session, question, k, mode, outlet, since, until)
        return session, history, notice, gr.update(choices=choices, value=n), html, ("" if not notice else question)

    def pick_turn(session, evt: gr.SelectData):
        session, choices, n, html = web.select_turn(lib, session, evt.index)
        return session, gr.update(choices=choices, value=n), html

    def pick_row(evt: gr.SelectData):
        return str(evt.row_value[0]) if evt.row_value else ""

    def open_citation(session, ref):
        session, choices, n, html = web.open_citation(lib, session, ref)
        return session, gr.update(choices=choices, value=n), html

    def clear():
        session, history, notice, choices, n, html = web.clear_chat(lib)
        return session, history, notice, gr.update(choices=choices, value=n), html

    def upload(files, request: gr.Request, progress=gr.Progress()):
        refused = _editor(request, editors)
        return refused or web.upload(lib, files, progress=progress), None

    def add_url(url, request: gr.Request, progress=gr.Progress()):
        return _editor(request, editors) or web.add_url(lib, url, progress=progress)

    def remove(article_id, request: gr.Request):
        return _editor(request, editors) or web.remove_article(lib, article_id)

    def editing(request: gr.Request):
        shown = gr.update(visible=_editor(request, editors) is None)
        return shown, shown, shown, web.render.signed_in(getattr(request, "username", None))

    def refresh(query, page=0):
        rows, info, page = web.list_articles(lib, query, page)
        return _frame(rows), info, page, web.library_info(lib), gr.update(choices=web.outlets(lib))

    private = dict(api_visibility="private")
    asking = dict(concurrency_id="ask", concurrency_limit=4, **private)
    indexing = dict(concurrency_id="index", concurrency_limit=1, **private)
    with gr.Blocks(title="article-qa", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        session, page = gr.State(None), gr.State(0)
        with gr.Row(equal_height=True):
            gr.Markdown("### article-qa — ask your own articles, get answers with exact citations", elem_id="title")
            whoami = gr.HTML(elem_id="whoami", min_height=0)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=340):
                        chatbot = gr.Chatbot(label="Answers", show_label=False, elem_id="chat", height="62vh",
                                             latex_delimiters=[], autoscroll=False, layout="panel",
                                             feedback_options=None, buttons=["copy"],
                                             placeholder="Ask a question about your articles. Every answer "
                                                         "cites the exact passages it comes from.")
                        notice = gr.HTML(elem_id="notice")
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(placeholder="Ask about your articles…", lines=1,
                                                  show_label=False, scale=5, min_width=200, elem_id="question",
                                                  max_length=2000)
                            ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
                        with gr.Accordion("Search settings", open=False):
                            k = gr.Slider(1, 20, value=5, step=1, label="Citations (k)")
                            mode = gr.Radio(list(MODES), value="hybrid", label="Search mode")
                            outlet = gr.Dropdown(choices=web.outlets(lib), multiselect=True, allow_custom_value=True,
                                                 label="Only these outlets (empty: all)")
                            with gr.Row():
                                since = gr.Textbox(label="Since (YYYY-MM-DD)", min_width=120)
                                until = gr.Textbox(label="Until (YYYY-MM-DD)", min_width=120)
                        new_chat = gr.Button("New conversation", size="sm", variant="secondary")
                    with gr.Column(scale=2, min_width=300):
                        cite = gr.Radio(choices=[], label="Source: citation", elem_id="cite-picker")
                        source = gr.HTML(web.source_panel(lib, None, None), elem_id="source-panel")
                        cite_req = gr.Textbox(visible="hidden", elem_id="cite-req")  # set by CLICK_JS
                        cite_go = gr.Button(visible="hidden", elem_id="cite-go")
            with gr.Tab("Library", id="library"):
                info = gr.Markdown(elem_id="library-info")
                with gr.Row(equal_height=False) as adding:
                    with gr.Column(min_width=300):
                        files = gr.File(label="Add files (.txt .md .html .htm .pdf .jsonl, up to 20 MB each)",
                                        file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                                        elem_id="upload", height=170)
                    with gr.Column(min_width=300):
                        url = gr.Textbox(label="Add a web article by URL", placeholder="https://…", elem_id="url")
                        url_btn = gr.Button("Fetch and add", size="sm")
                        report = gr.HTML(elem_id="add-report")
                search = gr.Textbox(label="Search titles, outlets, authors or ids", elem_id="search")
                table = gr.Dataframe(_frame([]), interactive=False, wrap=True, elem_id="articles",
                                     column_widths=["14%", "11%", "17%", "40%", "18%"])
                with gr.Row(equal_height=True):
                    prev_btn = gr.Button("← Previous", size="sm", min_width=80)
                    page_info = gr.Markdown(elem_id="page-info")
                    next_btn = gr.Button("Next →", size="sm", min_width=80)
                with gr.Row(equal_height=True) as removing:
                    remove_id = gr.Textbox(label="Article id to remove (click a row to fill it)", scale=4,
                                           elem_id="remove-id")
                    remove_btn = gr.Button("Remove", variant="stop", scale=1, min_width=80, elem_id="remove")
                remove_report = gr.HTML(elem_id="remove-report")

        listing = [table, page_info, page, info, outlet]
        ask_inputs = [session, question, k, mode, outlet, since, until]
        ask_outputs = [session, chatbot, notice, cite, source, question]
        for trigger in (question.submit, ask_btn.click):
            trigger(respond, ask_inputs, ask_outputs, **asking).then(None, js=BOTH_JS)
        cite.input(lambda s, n: web.show_citation(lib, s, n), [session, cite], source, **private).then(None, js=CITE_JS)
        cite_go.click(open_citation, [session, cite_req], [session, cite, source], **private).then(None, js=CITE_JS)
        chatbot.select(pick_turn, [session], [session, cite, source], **private).then(None, js=CITE_JS)
        for trigger in (new_chat.click, chatbot.clear):  # the chat's own trash button starts over too
            trigger(clear, None, [session, chatbot, notice, cite, source], **private)

        files.upload(upload, files, [report, files], **indexing).then(refresh, search, listing, **private)
        for trigger in (url.submit, url_btn.click):
            trigger(add_url, url, report, **indexing).then(refresh, search, listing, **private)
        search.submit(refresh, search, listing, **private)
        search.change(refresh, search, listing, trigger_mode="always_last", **private)
        prev_btn.click(lambda q, p: refresh(q, p - 1), [search, page], listing, **private)
        next_btn.click(lambda q, p: refresh(q, p + 1), [search, page], listing, **private)
        table.select(pick_row, None, remove_id, **private)
        for trigger in (remove_id.submit, remove_btn.click):
            trigger(remove, remove_id, remove_report, **indexing) \
                .then(refresh, search, listing, **private)
        demo.load(refresh, search, listing, **private)
        demo.load(editing, None, [adding, removing, remove_report, whoami], **private)
        # The public API = the agent tools (MCP); not queued, so an MCP call runs in the request that
        # brought it (and its sign-in) instead of a second HTTP client without credentials.
        for fn in web.agent_tools(lib):
            gr.api(_tool(fn), api_name=fn.__name__, queue=False, concurrency_id="ask", concurrency_limit=4)
    demo.queue(max_size=64, default_concurrency_limit=4)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True, mcp: bool = True,
           signin=None):
    """Start the server with safe defaults: local only, no share link, no extra file access. `signin`
    (a web.auth.SignIn) puts the sign-in gate in front of everything, MCP included."""
    secured = {}
    if signin is not None:
        from starlette.middleware import Middleware

        secured = dict(app_kwargs={"middleware": [Middleware(web.auth.Gate, signin=signin)]},
                       auth_dependency=web.auth.signed_in_user)
    return demo.launch(server_name=host, server_port=port, share=False, max_file_size=MAX_FILE_SIZE,
                       mcp_server=mcp, **secured,
                       css=CSS, theme=gr.themes.Default(font=["system-ui", "sans-serif"],
                                                        font_mono=["ui-monospace", "monospace"]),
                       js=CLICK_JS, head=HEAD, ssr_mode=False, prevent_thread_lock=not block, show_error=False)


def serve(library=None, host="127.0.0.1", port=7860, model=None, precision=None, block=True, mcp=True,
          auth_file=None, editors=None):
    signin = web.auth.SignIn.from_file(auth_file) if auth_file else None
    if signin is None and not web.auth.is_loopback(host):
        raise AuthFileError(
            f"--host {host} would expose the library to the network without sign-in; add --auth-file FILE "
            "(users made with: article-qa user add NAME --auth-file FILE), or keep the default --host 127.0.0.1")
    if editors and signin is None:
        raise AuthFileError("--editors needs --auth-file FILE: without sign-in nobody has a name")
    unknown = sorted(set(editors or ()) - set(signin.users if signin else ()))
    if unknown:
        raise AuthFileError(f"--editors names {', '.join(unknown)}, not in {auth_file}; add them with: "
                                     f"article-qa user add NAME --auth-file {auth_file}")
    lib = open_library(library, model, precision, progress=True)
    return launch(build_app(lib, editors), host, port, block, mcp, signin)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="app.py", description="The article-qa browser chat.")
    ap.add_argument("--library", metavar="DIR", help="library folder (default: $ARTICLE_QA_LIBRARY or per-user)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer "
                    "only; any other address needs --auth-file)")
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--model", help="sentence-transformers model (default: the bundled one)")
    ap.add_argument("--precision", choices=["auto", "float32", "bfloat16"])
    ap.add_argument("--no-mcp", action="store_true", help="do not serve the MCP tools at /gradio_api/mcp/")
    ap.add_argument("--auth-file", metavar="FILE", help="users who may sign in (made with: article-qa user add NAME)")
    ap.add_argument("--editors", metavar="A,B", help="only these signed-in users may add or remove articles")
    args = ap.parse_args(argv)
    editors = [e.strip() for e in (args.editors or "").split(",") if e.strip()] or None
    try:
        serve(args.library, args.host, args.port, args.model, args.precision, mcp=not args.no_mcp,
              auth_file=args.auth_file, editors=editors)
    except ArticleQAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
