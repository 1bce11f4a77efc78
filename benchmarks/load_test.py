"""Bounded load test of ``fashionclip serve`` on 127.0.0.1: requests/s, latency p50/p95/p99 and
error rate of text search, at several concurrency levels, with micro-batching on and off.

    python benchmarks/load_test.py --output runs/load.json --markdown runs/load.md

Starts the real server (``fashionclip serve --sample``: the bundled model over the bundled sample
catalogue, or ``--db PATH``) as a separate process and drives it from client threads in this one;
both share the machine's cores, as a storefront's load balancer and app server would not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from fashionclip.machine import cpu_name

QUERIES = [
    "black leather handbag",
    "white sports shoes",
    "a red dress for women",
    "blue denim jeans",
    "men's formal shirt",
    "sunglasses",
    "silver watch",
    "striped t-shirt",
    "floral summer top",
    "brown belt",
    "running shoes for men",
    "pink kurta",
]
FILTERS = [None, "gender=Women", "gender=Men", "masterCategory=Footwear"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args: argparse.Namespace, max_batch: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "fashionclip.cli.main",
        "serve",
        "--port",
        str(port),
        "--max-batch",
        str(max_batch),
    ]
    command += ["--db", args.db] if args.db else ["--sample"]
    if args.backend:
        command += ["--backend", args.backend]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start in 300 s")


def run_level(url: str, clients: int, seconds: float, seed: int) -> dict:
    """``clients`` threads, each sending one search at a time for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < stop:
                params: list[tuple[str, str]] = [("q", rng.choice(QUERIES)), ("k", "10")]
                where = rng.choice(FILTERS)
                if where:
                    params.append(("filter", where))
                started = time.perf_counter()
                try:
                    response = http.get("/search", params=params)
                    ok = response.status_code == 200
                    problem = "" if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, problem = False, type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    (latencies if ok else errors).append(elapsed if ok else problem)  # type: ignore[arg-type]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    total = len(latencies) + len(errors)
    ms = sorted(x * 1000 for x in latencies)

    def pct(q: float) -> float | None:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 2) if ms else None

    return {
        "clients": clients,
        "requests": total,
        "requests_per_s": round(total / wall, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "error_rate": round(len(errors) / total, 4) if total else None,
        "errors": sorted(set(errors))[:5],
    }


def batch_sizes(url: str) -> dict:
    text = httpx.get(url + "/metrics", timeout=10).text
    values = {}
    for line in text.splitlines():
        for name in ("fashionclip_batch_size_sum", "fashionclip_batch_size_count"):
            if line.startswith(f'{name}{{kind="text"}}'):
                values[name] = float(line.split()[-1])
    count = values.get("fashionclip_batch_size_count", 0)
    return {
        "batches": int(count),
        "mean_batch": round(values.get("fashionclip_batch_size_sum", 0) / count, 2) if count else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="index to serve (default: the bundled sample catalogue)")
    parser.add_argument("--backend", choices=("torch", "onnx"), help="server backend (default: automatic)")
    parser.add_argument("--clients", default="1,4,16,32", help="concurrency levels (default 1,4,16,32)")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per level (default 15)")
    parser.add_argument("--output", help="write the results as JSON")
    parser.add_argument("--markdown", help="write the table as markdown")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    if any(c < 1 or c > 256 for c in levels) or not 0 < args.seconds <= 300:
        parser.error("clients must be within 1..256 and seconds within (0, 300]")

    results: dict = {"cpu": cpu_name(), "cores": os.cpu_count(), "runs": []}
    servers = {"micro-batching on (max 64)": 64, "micro-batching off (max 1)": 1}
    started: dict[str, tuple[subprocess.Popen, str]] = {}
    try:
        for label, max_batch in servers.items():
            started[label] = start_server(args, max_batch)
            run_level(started[label][1], 2, 3.0, seed=99)  # warm-up: first queries, lazy caches
        # both servers up at once, levels interleaved: a drift of the machine's speed hits both alike
        for clients in levels:
            for label, (_, url) in started.items():
                row = {"server": label, **run_level(url, clients, args.seconds, seed=clients)}
                print(json.dumps(row), flush=True)
                results["runs"].append(row)
        for label, (_, url) in started.items():
            results.setdefault("servers", {})[label] = {**httpx.get(url + "/health").json(), **batch_sizes(url)}
    finally:
        for process, _ in started.values():
            process.terminate()
            process.wait(30)
    text = markdown(results)
    print(text)
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


def markdown(results: dict) -> str:
    lines = [
        f"CPU: {results['cpu']} ({results['cores']} cores), server and clients on the same machine.",
        "",
        "| server | clients | requests/s | p50 ms | p95 ms | p99 ms | error rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['server']} | {r['clients']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['error_rate']} |"
        )
    for label, info in results.get("servers", {}).items():
        lines.append(
            f"\n{label}: model {info['model']}, {info['products']} products, "
            f"{info['batches']} text batches, mean {info['mean_batch']} queries per batch"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
