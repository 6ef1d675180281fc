"""mtrag-un follow-up turns: retrieval hit@5 with the conversation's history vs. the last turn alone,
plus abstention on unanswerable turns and false abstention on answerable ones.

Runs `article-qa eval --format mtrag` twice on the same cached library (hybrid, k=5): once asking only the
last user turn, once asking every earlier user turn first in one Conversation (follow-ups resolved as the
product does). hit@5 = at least one gold passage's document among the first 5 ranked documents (the
answer's citations first). Follow-up turns are the tasks with earlier user turns.
The corpus is the pooled gold passages (the full corpora are not in ../shared/data), so the numbers are
not comparable with the published full-corpus ones. The confidence calibration was fitted on the
conversations with crc32(id) % 2 == 0 (bench/reader_abstention.py --fit), so abstention is also reported
on the other half alone ("held-out").

Usage: python bench/mtrag_followups.py [--limit N]   (writes bench/out/mtrag_followups.json)
"""
from __future__ import annotations

import argparse
import sys
import zlib

import numpy as np

from common import SHARED, save, table

MTRAG = SHARED / "mtrag-un" / "reference.jsonl"


def hit_at(rows: list[dict], n: int = 5) -> float:
    scored = [r for r in rows if r["gold"]]
    return float(np.mean([bool(set(r["ranked"][:n]) & set(r["gold"])) for r in scored])) if scored else float("nan")


def held_out(qid: str) -> bool:
    return zlib.crc32(qid.split("::")[0].encode()) % 2 == 1


def abstention(rows: list[dict], answerable: dict, prefix: str = "") -> dict:
    ans = [r["abstained"] for r in rows if answerable.get(r["qid"]) is True]
    una = [r["abstained"] for r in rows if answerable.get(r["qid"]) is False]
    return {f"{prefix}false abstention": float(np.mean(ans)) if ans else float("nan"),
            f"{prefix}abstention accuracy": float(np.mean(una)) if una else float("nan"),
            f"{prefix}answerable": len(ans), f"{prefix}unanswerable": len(una)}


def summarize(rows: list[dict], followup: set, answerable: dict) -> dict:
    fu = [r for r in rows if r["qid"] in followup]
    return {"hit@5 follow-ups": hit_at(fu), "hit@5 all": hit_at(rows), "follow-ups scored": sum(1 for r in fu if r["gold"]),
            **abstention(rows, answerable), **abstention([r for r in rows if held_out(r["qid"])], answerable, "held-out ")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, help="only the first N tasks")
    ap.add_argument("--only", choices=("last turn", "with history"), help="run one of the two modes")
    args = ap.parse_args()
    if not MTRAG.exists():
        print(f"{MTRAG} is not present; nothing to measure", file=sys.stderr)
        return 0
    from qa.config import make_encoder
    from qa.evaluation.datasets import load_mtrag
    from qa.evaluation.runner import build_library, evaluate_mode, library_dir

    ds = load_mtrag(MTRAG).subset(args.limit)
    enc = make_encoder()
    lib, _ = build_library(ds, enc, library_dir(ds, enc))
    followup = {it.qid for it in ds.items if it.history}
    answerable = {it.qid: it.answerable for it in ds.items}
    results = {}
    try:
        for name, history in (("last turn", False), ("with history", True)):
            if args.only and name != args.only:
                continue
            metrics, rows, _ = evaluate_mode(lib, ds, "hybrid", k=5, history=history)
            for r in rows:
                r["abstained"] = r["highlight"] is None
            save(f"mtrag_rows_{name.replace(' ', '_')}", {"rows": [{"qid": r["qid"], "hit@5": bool(set(r["ranked"][:5]) & set(r["gold"])),
                                                         "gold": bool(r["gold"]), "abstained": r["abstained"],
                                                         "searched_for": r.get("searched_for")} for r in rows]})
            results[name] = {**summarize(rows, followup, answerable),
                             "ndcg@10": metrics.get("ndcg@10"), "answer p50 ms": metrics.get("latency_p50_ms")}
    finally:
        lib.close()
    table([{"query": k, **v} for k, v in results.items()],
          ["query", "hit@5 follow-ups", "hit@5 all", "ndcg@10", "false abstention", "abstention accuracy",
           "held-out false abstention", "held-out abstention accuracy", "answer p50 ms"])
    save("mtrag_followups", {"tasks": len(ds.items), "follow_ups": len(followup), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
