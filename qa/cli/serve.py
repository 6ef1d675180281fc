"""`article-qa serve`: the browser chat (app.py) on this computer.

app.py sits above qa (it imports qa, never the reverse), so this verb starts it as a program in this
process's place instead of importing it."""
from __future__ import annotations

import os
import sys

from corpus.errors import AuthFileError


def app_argv(args) -> list[str]:
    """The command line that runs app.py with this verb's settings."""
    argv = [sys.executable, "-m", "app", "--host", args.host, "--port", str(args.port)]
    for flag, value in (("--library", args.library), ("--model", args.model), ("--precision", args.precision),
                        ("--auth-file", args.auth_file), ("--editors", args.editors)):
        if value is not None:
            argv += [flag, str(value)]
    return argv + (["--no-mcp"] if args.no_mcp else [])


def cmd_serve(args) -> int:
    from ..web.auth import is_loopback

    if not is_loopback(args.host) and not args.auth_file:
        raise AuthFileError(f"--host {args.host} would expose the library to the network without sign-in; add "
                            "--auth-file FILE (users made with: article-qa user add NAME --auth-file FILE), or keep "
                            "the default --host 127.0.0.1")
    print(f"Opening the library and the model; the chat will be at http://{args.host}:{args.port}/ ...", flush=True)
    argv = app_argv(args)
    sys.stderr.flush()
    os.execv(argv[0], argv)  # replaces this process: signals (Ctrl-C, terminate) reach the server itself
    return 0  # not reached


def register(sub):
    p = sub.add_parser("serve", help="open the browser chat (local only by default)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only; "
                   "0.0.0.0 serves the network and needs --auth-file)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--no-mcp", action="store_true", help="do not serve the MCP tools for AI agents at /gradio_api/mcp/")
    p.add_argument("--auth-file", metavar="FILE", help="sign-in required: users who may sign in (article-qa user add)")
    p.add_argument("--editors", metavar="A,B", help="with --auth-file: only these users may add or remove articles")
    p.set_defaults(func=cmd_serve)
