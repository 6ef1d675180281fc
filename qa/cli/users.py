"""`article-qa user add NAME`: who may sign in to a shared server (`serve --auth-file FILE`).

The password is typed at a prompt (twice) or piped on standard input with --password-stdin, never
given on the command line; the file keeps only its scrypt hash."""
from __future__ import annotations

import getpass
import sys

from corpus.errors import AuthFileError


def read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AuthFileError("No terminal to type the password at; pipe it in with --password-stdin "
                            "(e.g. from a password manager), never as an argument")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise AuthFileError(f"The two passwords for {name} differ; nothing was changed")
    return first


def cmd_user_add(args) -> int:
    from ..web.auth import add_user, check_name, default_auth_file

    path = args.auth_file or default_auth_file()
    check_name(args.name)
    new = add_user(path, args.name, read_password(args.name, args.password_stdin))
    print(f"{'Added' if new else 'Changed the password of'} {args.name} in {path}; start the team server with:\n"
          f"  article-qa serve --host 0.0.0.0 --auth-file {path}")
    return 0


def cmd_user_list(args) -> int:
    from ..web.auth import default_auth_file, read_users

    path = args.auth_file or default_auth_file()
    for name in read_users(path):
        print(name)
    return 0


def register(sub):
    p = sub.add_parser("user", help="who may sign in to a shared server (serve --auth-file)")
    verbs = p.add_subparsers(dest="user_verb", required=True, metavar="{add,list}")
    add = verbs.add_parser("add", help="add a user (or change their password); prompts for the password")
    add.add_argument("name", help="user name: letters, digits, . _ @ -")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_user_add)
    ls = verbs.add_parser("list", help="the user names in the file")
    ls.set_defaults(func=cmd_user_list)
    for q in (add, ls):
        q.add_argument("--auth-file", metavar="FILE", help="the users file (default: $ARTICLE_QA_AUTH_FILE or a "
                       "per-user config file)")
