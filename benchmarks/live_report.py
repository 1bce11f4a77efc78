"""The markdown report of ``live_updates.py``: a table per store with the issue's targets
beside the numbers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from live_catalogue import FILTER, K

# the targets
TARGET_NEXT_MS = 50.0  # next query after a write of up to 1000 items: at most idle p50 + this
TARGET_P95_FACTOR = 2.0  # stream query p95 at most this times idle p95
TARGET_RECALL = 0.95


def num(value: float, digits: int = 3) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown_store(name: str, r: dict[str, Any]) -> str:
    b, idle, s, a, o = r["build"], r["idle"], r["stream"], r["after"], r["reopen"]
    p50, p95 = idle["plain"]["p50_ms"], idle["plain"]["p95_ms"]
    fp95 = idle["filtered"]["p95_ms"]
    lines = [
        f"### {name}: `{r['uri']}`",
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        f"| build: add | {num(b['add_s'])} s | | |",
        f"| build: optimize | {num(b['optimize_s'])} s | | |",
        f"| build: first query | {num(b['first_query_ms'])} ms | | |",
        f"| idle query p50 / p95 ({r['queries']} queries) | {num(p50)} / {num(p95)} ms | | |",
        f"| idle filtered query p50 / p95 | {num(idle['filtered']['p50_ms'])} / {num(fp95)} ms | | |",
        f"| idle recall@10 plain / filtered | {idle['plain']['recall@10']:.3f} / "
        f"{idle['filtered']['recall@10']:.3f} | ≥ {TARGET_RECALL} | "
        f"{yes(min(idle['plain']['recall@10'], idle['filtered']['recall@10']) >= TARGET_RECALL)} |",
        f"| stream: changes written | {s['changes']:,} in {s['seconds']:.1f} s ({s['changes_per_s']:.0f}/s, "
        f"{s['batches']} batches; " + ", ".join(f"{v} {k}" for k, v in s["changes_by_kind"].items()) + ") | "
        f"{s['rate']:g}/s | {yes(s['changes_per_s'] >= 0.9 * s['rate'])} |",
        f"| stream: write p50 / p95 / max | {num(s['write']['p50_ms'])} / {num(s['write']['p95_ms'])} / "
        f"{num(s['write']['max_ms'])} ms (latest batch {num(s['max_lag_s'] * 1000)} ms behind schedule) | | |",
        f"| stream: query p50 / p95 ({s['plain']['n']} queries) | {num(s['plain']['p50_ms'])} / "
        f"{num(s['plain']['p95_ms'])} ms | p95 ≤ {TARGET_P95_FACTOR:g}× idle = {num(TARGET_P95_FACTOR * p95)} ms | "
        f"{yes(s['plain']['p95_ms'] <= TARGET_P95_FACTOR * p95)} |",
        f"| stream: filtered query p50 / p95 ({s['filtered']['n']}) | {num(s['filtered']['p50_ms'])} / "
        f"{num(s['filtered']['p95_ms'])} ms | p95 ≤ {TARGET_P95_FACTOR:g}× idle = {num(TARGET_P95_FACTOR * fp95)} "
        f"ms | {yes(s['filtered']['p95_ms'] <= TARGET_P95_FACTOR * fp95)} |",
        f"| stream: staleness p50 / p95 / max ({s['probes']} probes, {s['probes_unseen']} never seen) | "
        f"{num(s['staleness']['p50_ms'])} / {num(s['staleness']['p95_ms'])} / {num(s['staleness']['max_ms'])} ms; "
        f"{s['probes_seen_first_query']}/{s['probes']} seen by the first query after the commit | "
        f"the next query | {yes(s['probes'] > 0 and s['probes_seen_first_query'] == s['probes'])} |",
        f"| after stream: recall@10 plain / filtered | {a['recall@10']:.3f} / {a['filtered_recall@10']:.3f} | "
        f"≥ {TARGET_RECALL} | {yes(min(a['recall@10'], a['filtered_recall@10']) >= TARGET_RECALL)} |",
        f"| after stream: count / filtered count | {a['count']:,} / {a['filtered_count']:,} (tracked "
        f"{a['expected_count']:,} / {a['expected_filtered_count']:,}) | equal | "
        f"{yes(a['count'] == a['expected_count'] and a['filtered_count'] == a['expected_filtered_count'])} |",
        f"| after stream: get() of changed items | {a['get']['wrong']} wrong of {a['get']['checked']} "
        f"({a['get']['missing']} missing, {a['get']['not_deleted']} not deleted, {a['get']['wrong_vector']} "
        f"wrong vector, {a['get']['wrong_price']} wrong price) | 0 wrong | {yes(a['get']['wrong'] == 0)} |",
        f"| reopen: open / first query | {num(o['open_s'])} s / {num(o['first_query_ms'])} ms | | |",
        f"| reopen: count, recall@10 plain / filtered | {o['count']:,}, {o['recall@10']:.3f} / "
        f"{o['filtered_recall@10']:.3f} | same state, ≥ {TARGET_RECALL} | "
        f"{yes(o['count'] == a['expected_count'] and min(o['recall@10'], o['filtered_recall@10']) >= TARGET_RECALL)}"
        " |",
        "",
        f"Single writes: the next query (for a written item) against idle p50 {num(p50)} ms; target: "
        f"visible and ≤ idle p50 + {TARGET_NEXT_MS:g} ms = {num(p50 + TARGET_NEXT_MS)} ms.",
        "",
        "| write | items | write ms | next query ms | next − idle p50 ms | query after ms | visible | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for w in r["writes"]:
        lines.append(
            f"| {w['kind']} | {w['items']:,} | {num(w['write_ms'])} | {num(w['next_query_ms'])} | "
            f"{num(w['next_minus_idle_ms'])} | {num(w['second_query_ms'])} | {'yes' if w['visible'] else '**no**'} | "
            f"{yes(w['met'])} |"
        )
    return "\n".join(lines) + "\n"


def markdown(results: dict[str, Any]) -> str:
    head = [
        "## Live updates (issue 25)",
        "",
        f"CPU: {results['cpu']}, {results['cores']} cores; of avx2/avx512f/avx512_bf16/avx512_vnni/amx it has: "
        f"{', '.join(results['cpu_flags']) or 'none'}",
        f"N={results['items']:,}, D={results['dim']}, k={K}, spread {results['spread']}, {results['centres']} "
        f"centres; stream {results['rate']:g} changes/s for {results['seconds']:g} s; "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
        f"Filter: {json.dumps(FILTER)}",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(markdown_store(n, r) for n, r in results["stores"].items())
