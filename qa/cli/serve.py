"""`article-qa serve`: the browser chat (app.py) on this computer.

app.py sits above qa (it imports qa, never the reverse), so this verb starts it as a program in this
process's place instead of importing it."""
from __future__ import annotations

import os
import sys


def app_argv(args) -> list[str]:
    """The command line that runs app.py with this verb's settings."""
    argv = [sys.executable, "-m", "app", "--host", args.host, "--port", str(args.port)]
    for flag, value in (("--library", args.library), ("--model", args.model), ("--precision", args.precision)):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def cmd_serve(args) -> int:
    print(f"Opening the library and the model; the chat will be at http://{args.host}:{args.port}/ ...", flush=True)
    argv = app_argv(args)
    sys.stderr.flush()
    os.execv(argv[0], argv)  # replaces this process: signals (Ctrl-C, terminate) reach the server itself
    return 0  # not reached


def register(sub):
    p = sub.add_parser("serve", help="open the browser chat (local only by default)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only; "
                   "0.0.0.0 exposes your library to the network)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.set_defaults(func=cmd_serve)
