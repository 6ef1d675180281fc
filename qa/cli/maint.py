"""`article-qa check` and `article-qa repair`: verify a library folder and rebuild its caches."""
from __future__ import annotations

import json


def cmd_check(args) -> int:
    from ..config import resolve_library
    from ..integrity import check

    report = check(resolve_library(args.library)[0])
    print(json.dumps(report.to_json(), indent=2, ensure_ascii=False) if args.json else report.text())
    if not report.ok and not args.json:
        print(f"\nrun 'article-qa repair --library {report.folder}' to rebuild the caches from the database")
    return 0 if report.ok else 1


def cmd_repair(args) -> int:
    from ..config import resolve_library
    from ..integrity import repair

    actions, report = repair(resolve_library(args.library)[0])
    if args.json:
        print(json.dumps({"actions": actions, **report.to_json()}, indent=2, ensure_ascii=False))
    else:
        print("\n".join(actions) + "\n" + report.text())
    return 0 if report.ok else 1


def register(sub):
    p = sub.add_parser("check", help="verify the library: database, full-text index, vector cache, offsets")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("repair", help="rebuild the vector cache and full-text rows from the stored vectors")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_repair)
