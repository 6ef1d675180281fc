"""`article-qa serve`: the browser chat (app.py) on this computer."""
from __future__ import annotations


def cmd_serve(args) -> int:
    import app  # lazily: Gradio is only imported when the browser chat is wanted

    print(f"Opening the library and the model; the chat will be at http://{args.host}:{args.port}/ ...", flush=True)
    app.serve(args.library, args.host, args.port, args.model, args.precision)
    return 0


def register(sub):
    p = sub.add_parser("serve", help="open the browser chat (local only by default)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only; "
                   "0.0.0.0 exposes your library to the network)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.set_defaults(func=cmd_serve)
