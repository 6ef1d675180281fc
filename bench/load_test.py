"""Load test of the browser chat's API: many concurrent clients asking while an indexing run adds articles.

    python bench/load_test.py [--library DIR] [--clients 20] [--duration 60] [--index-dir corpus/samples]

Starts `article-qa serve --library L --host 127.0.0.1 --port P` (loopback only), waits until it
answers, then runs --clients gradio_client clients, each calling
`Client(url).predict(question, 5, "hybrid", api_name="/ask")` in a loop for --duration seconds.
A few seconds in, one `article-qa index --index-dir` run adds articles to the same library (the
app's own upload endpoints are private to the browser, so indexing goes through the CLI).
Every citation returned is checked against the database (text[start:end] == citation text).

Reports requests, failures, throughput and p50/p95/max latency (also as JSON with --out); exits 1
on any failed request, wrong citation or failed indexing. Everything is bounded in time: the server
start (--startup-timeout), each request (--request-timeout) and the whole run.
Without --library, a temporary library is built from tests/data/news first (real model, slow-ish).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QA = [sys.executable, "-m", "qa"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/config", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the server did not answer at {url} within {timeout:.0f}s")


def percentile(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


class Checker:
    """Citations checked against the library's own SQLite (read-only; WAL lets us read while it writes)."""

    def __init__(self, library: Path):
        self.db = sqlite3.connect(f"file:{library / 'library.sqlite3'}?mode=ro", uri=True, check_same_thread=False)
        self.lock = threading.Lock()

    def problems(self, result) -> list[str]:
        if not isinstance(result, dict) or "answer" not in result:
            return [f"unexpected result {str(result)[:200]}"]
        out = []
        for c in result.get("citations", []):
            with self.lock:
                row = self.db.execute("SELECT text FROM articles WHERE id=?", (c["article_id"],)).fetchone()
            if row is None or row[0][c["start"]:c["end"]] != c["text"]:
                out.append(f"citation {c['n']} of {c['article_id']} does not match the article text")
        return out


def client_loop(url, questions, stop_at, results, lock, checker, timeout, seed):
    from gradio_client import Client

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False, download_files=False, analytics_enabled=False,
                        httpx_kwargs={"timeout": timeout})
    except Exception as e:  # noqa: BLE001 - any failure is reported, not raised
        with lock:
            results.append((0.0, f"client could not connect: {type(e).__name__}: {e}"))
        return
    while time.monotonic() < stop_at:
        q = rng.choice(questions)
        t = time.monotonic()
        try:
            res = client.predict(q, 5, "hybrid", api_name="/ask")
            err = "; ".join(checker.problems(res)) or None
        except Exception as e:  # noqa: BLE001
            err = f"{type(e).__name__}: {str(e)[:200]}"
        with lock:
            results.append((time.monotonic() - t, err))


def warm_up(url: str, question: str, timeout: float) -> None:
    from gradio_client import Client

    t = time.monotonic()
    try:
        Client(url, verbose=False, download_files=False, analytics_enabled=False,
               httpx_kwargs={"timeout": timeout}).predict(question, 5, "hybrid", api_name="/ask")
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(f"the warm-up question failed: {type(e).__name__}: {e}") from None
    print(f"warm-up answer in {time.monotonic() - t:.1f}s", flush=True)


def build_library(folder: Path, timeout: float) -> None:
    print(f"building a library from tests/data/news in {folder} ...", flush=True)
    subprocess.run(QA + ["index", str(ROOT / "tests" / "data" / "news"), "--library", str(folder), "-q"],
                   cwd=ROOT, check=True, timeout=timeout)


def stop(proc: subprocess.Popen | None):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", type=Path, help="library to serve (default: a temporary one built from tests/data/news)")
    ap.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of asking")
    ap.add_argument("--index-dir", type=Path, default=ROOT / "corpus" / "samples", help="articles indexed during the load")
    ap.add_argument("--index-after", type=float, default=5.0, help="seconds into the load when indexing starts")
    ap.add_argument("--questions", type=Path, default=ROOT / "tests" / "data" / "news_questions.jsonl")
    ap.add_argument("--startup-timeout", type=float, default=300.0)
    ap.add_argument("--request-timeout", type=float, default=60.0)
    ap.add_argument("--out", type=Path, help="also write the report as JSON here")
    args = ap.parse_args(argv)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"  # loopback only, never via a proxy

    questions = [json.loads(line)["question"] for line in args.questions.read_text("utf-8").splitlines() if line.strip()]
    tmp = None
    if args.library is None:
        tmp = Path(tempfile.mkdtemp(prefix="aqa-load-"))
        args.library = tmp / "lib"
        build_library(args.library, args.startup_timeout)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    server = indexer = None
    results, lock = [], threading.Lock()
    index_report = {"started": False}
    server_log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server must never block on it
    try:
        server = subprocess.Popen(QA + ["serve", "--library", str(args.library), "--host", "127.0.0.1",
                                        "--port", str(port)], cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        wait_ready(url, server, args.startup_timeout)
        print(f"server ready at {url} after {time.monotonic() - t0:.0f}s; {args.clients} clients for "
              f"{args.duration:.0f}s", flush=True)
        warm_up(url, questions[0], args.startup_timeout)  # the model loads on the first question: not measured
        checker = Checker(args.library)
        start = time.monotonic()
        stop_at = start + args.duration
        threads = [threading.Thread(target=client_loop, daemon=True,
                                    args=(url, questions, stop_at, results, lock, checker, args.request_timeout, i))
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(min(args.index_after, args.duration))
        index_report.update(started=True, dir=str(args.index_dir))
        t_index = time.monotonic()
        indexer = subprocess.Popen(QA + ["index", str(args.index_dir), "--library", str(args.library), "-q", "--json"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for t in threads:
            t.join(max(0.0, stop_at - time.monotonic()) + args.request_timeout + 5)
        elapsed = time.monotonic() - start
        try:
            out, err = indexer.communicate(timeout=max(5.0, args.request_timeout))
            index_report.update(exit=indexer.returncode, seconds=round(time.monotonic() - t_index, 1))
            if indexer.returncode == 0:
                summary = json.loads(out.strip().splitlines()[-1])
                index_report.update(added=len(summary["added"]), duplicates=len(summary["duplicates"]),
                                    failed=len(summary["failed"]))
            else:
                index_report["error"] = err.strip()[-500:]
        except subprocess.TimeoutExpired:
            index_report.update(exit=None, error="indexing did not finish in time")
    except RuntimeError as e:
        server_log.seek(0)
        print(f"error: {e}\n--- server output (tail) ---\n{server_log.read()[-3000:]}", file=sys.stderr)
        return 2
    finally:
        stop(indexer)
        stop(server)
    with lock:
        done = list(results)
    lat = [d for d, e in done if e is None]
    failures = [e for _, e in done if e is not None]
    report = {"clients": args.clients, "duration_s": round(elapsed, 1), "requests": len(done), "failed": len(failures),
              "throughput_rps": round(len(lat) / elapsed, 2) if elapsed else 0.0,
              "latency_ms": {"p50": round(percentile(lat, 50) * 1000), "p95": round(percentile(lat, 95) * 1000),
                             "max": round(max(lat, default=float("nan")) * 1000)},
              "first_failures": sorted(set(failures))[:5], "indexing": index_report}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    ok = done and not failures and index_report.get("exit") == 0
    print(f"{'PASS' if ok else 'FAIL'}: {len(done)} requests, {len(failures)} failed, "
          f"{report['throughput_rps']} req/s, p50 {report['latency_ms']['p50']} ms, p95 {report['latency_ms']['p95']} ms")
    if tmp is not None and ok:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
