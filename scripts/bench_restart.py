#!/usr/bin/env python3
"""Helpers of scripts/bench-restart (Python 3 standard library only): the snapshots, the set-up of two partnered
organizations, one fresh service process's figures, and the report.

Subcommands:
  generate FILE PREFIX START COUNT   NDJSON records START .. START+COUNT-1 as scripts/bench_reads.py makes them (a record
                                     id, a domain and a name hash, two attributes), written in chunks
  signup PORT                        two organizations with one population each, shared at the overlaps level; prints
                                     "token-a population-a token-b population-b"
  partner PORT TOKEN-A TOKEN-B       partners the two organizations, reads the matrix once as the first (audited: a
                                     "recent" read for the warm-up); prints the matrix's path
  measure --port … --pid … --log … --token … --matrix … --mode off|on|at-ready --launched EPOCH
                                     one fresh process: waits for /healthz (polled every 10 ms), then per mode (below)
                                     times the first and the second matrix GET; prints one JSON line
  report RESULTS.jsonl               the table per variant and the summary line

Modes: "off" (warm-up off: the first GET at ready), "on" (warm-up on: the first GET once the service has logged its
warm-up line), "at-ready" (warm-up on: the first GET at ready, sharing the load under way).
"""
import argparse
import datetime
import http.client
import json
import os
import re
import statistics
import sys
import time

from bench_reads import ndjson, PASSWORD
from escrow_http import Api

WARMED = re.compile(r"^(\S+) info: \S+\[\d+\] Warmed the caches with the overlaps of (\d+) partnerships read before the start "
                    r"\((\d+) cells, (\d+) MiB\) in (\d+) ms", re.M)
LISTENING = re.compile(r"^(\S+) info: Microsoft\.Hosting\.Lifetime\[\d+\] Now listening on", re.M)


def epoch(stamp):
    """The log's UTC timestamp (yyyy-MM-ddTHH:mm:ss.fff) in seconds since the epoch."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()


def generate(target, prefix, start, count):
    with open(target, "wb") as f:
        for at in range(start, start + count, 50_000):
            f.write(ndjson(prefix, range(at, min(at + 50_000, start + count))))


def signup(port):
    out = []
    for slug in ("bench-restart-a", "bench-restart-b"):
        s = Api("127.0.0.1", port).call("POST", "/v1/signup", {
            "organizationName": slug.title(), "organizationSlug": slug, "email": f"admin@{slug}.example", "password": PASSWORD})
        api = Api("127.0.0.1", port, s["tokens"]["accessToken"])
        population = api.call("POST", "/v1/populations", {"name": "Customers", "type": "customers"})["id"]
        api.call("PUT", f"/v1/populations/{population}/sharing", {"level": "overlaps", "fields": ["accountName", "stage"]})
        out += [api.token, population]
    print(*out)


def partner(port, token_a, token_b):
    a, b = Api("127.0.0.1", port, token_a), Api("127.0.0.1", port, token_b)
    partnership = a.call("POST", "/v1/partnerships", {"partnerSlug": "bench-restart-b"})["id"]
    b.call("POST", f"/v1/partnerships/{partnership}/accept")
    matrix = f"/v1/partnerships/{partnership}/overlaps"
    a.call("GET", matrix)
    print(matrix)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except OSError:
        return False


def warm_line(log):
    with open(log, errors="replace") as f:
        m = WARMED.search(f.read())
    return m and {"at": epoch(m[1]), "partnerships": int(m[2]), "cells": int(m[3]), "heldMiB": int(m[4]), "millis": int(m[5])}


def measure(a):
    deadline = time.time() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                break
        except OSError:
            pass
        if not alive(a.pid) or time.time() > deadline:
            sys.exit(f"the service did not answer /healthz within 120 s:\n{open(a.log, errors='replace').read()[-3000:]}")
        time.sleep(0.01)
    ready = time.time()
    r = {"mode": a.mode, "startToReadyMs": (ready - a.launched) * 1000, "rssReadyMiB": rss_mib(a.pid)}
    if a.mode in ("on", "on-me"):
        while not (warmed := warm_line(a.log)):
            if not alive(a.pid) or time.time() > ready + 120:
                sys.exit(f"no warm-up line within 120 s of ready:\n{open(a.log, errors='replace').read()[-3000:]}")
            time.sleep(0.01)
        r["warmed"] = warmed
        r["rssWarmedMiB"] = rss_mib(a.pid)
    api = Api("127.0.0.1", a.port, a.token)
    if a.mode == "on-me":
        # The process's first authenticated request, not a matrix: how much of the warmed first GET is any first request's.
        started = time.perf_counter()
        api.call("GET", "/v1/me")
        r["meMs"] = (time.perf_counter() - started) * 1000
    for name in ("firstMs", "secondMs"):
        started = time.perf_counter()
        matrix = api.call("GET", a.matrix)
        r[name] = (time.perf_counter() - started) * 1000
        if name == "firstMs":
            r["startToFirstAnsweredMs"] = (time.time() - a.launched) * 1000
    r["count"] = matrix["cells"][0]["count"]
    r["rssAfterMiB"] = rss_mib(a.pid)
    if a.mode == "at-ready":
        # The warm-up ends with the load the first GET shared; its line follows at once.
        for _ in range(500):
            if (warmed := warm_line(a.log)):
                r["warmed"] = warmed
                break
            time.sleep(0.01)
    elif a.mode == "off" and warm_line(a.log):
        sys.exit("the warm-up ran though Escrow__CacheWarmOnStart=false")
    with open(a.log, errors="replace") as f:
        listening = LISTENING.search(f.read())
    if listening:
        r["startToListeningMs"] = (epoch(listening[1]) - a.launched) * 1000
    if "warmed" in r:
        # From the log's timestamps (ms), so also when the line came before /healthz answered (then < 0).
        r["readyToWarmedMs"] = (r["warmed"]["at"] - ready) * 1000
        r["startToWarmUpMs"] = (r["warmed"]["at"] - a.launched) * 1000 - r["warmed"]["millis"]
    r["load"] = open("/proc/loadavg").read().split()[:3]
    print(json.dumps(r))


def fmt(values, digits=0):
    if not values:
        return "-"
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def report(path, records):
    rows = [json.loads(line) for line in open(path)]
    by = {m: [r for r in rows if r["mode"] == m] for m in ("off", "on", "at-ready", "on-me")}
    by = {m: v for m, v in by.items() if v}
    names = {"off": "(a) warm-up off, first GET at ready", "on": "(b) warm-up on, first GET after its line",
             "at-ready": "(c) warm-up on, first GET at ready", "on-me": "(d) as (b), /v1/me first"}
    print(f"== after a restart, {records:,} records a side (median and range over {len(by['off'])} fresh processes each; ms, MiB)")
    figures = [("start to \"Now listening\" (log)", "startToListeningMs", 0), ("start to ready (/healthz 200)", "startToReadyMs", 0),
               ("start to the warm-up's start", "startToWarmUpMs", 0), ("the warm-up's own Millis", None, 0),
               ("warm-up line - ready (<0: before)", "readyToWarmedMs", 0),
               ("GET /v1/me first", "meMs", 1), ("first matrix GET", "firstMs", 1), ("second matrix GET", "secondMs", 1),
               ("start to the first matrix answered", "startToFirstAnsweredMs", 0),
               ("VmRSS at ready", "rssReadyMiB", 0), ("VmRSS after the warm-up line", "rssWarmedMiB", 0),
               ("VmRSS after both GETs", "rssAfterMiB", 0)]
    print(f"{'figure':<34} " + " ".join(f"{names[m]:>42}" for m in by))
    for label, key, digits in figures:
        cells = []
        for m in by:
            if key is None:
                values = [r["warmed"]["millis"] for r in by[m] if "warmed" in r]
            else:
                values = [r[key] for r in by[m] if key in r]
            cells.append(fmt(values, digits))
        print(f"{label:<34} " + " ".join(f"{c:>42}" for c in cells))
    held = sorted({r["warmed"]["heldMiB"] for r in by["on"] if "warmed" in r})
    cells = sorted({r["warmed"]["cells"] for r in by["on"] if "warmed" in r})
    counts = sorted({r["count"] for r in rows})
    print(f"warm-up: {cells} cells, {held} MiB held by the caches after it; the matrix's count {counts}")
    print("load averages (1, 5, 15 min) at each process's end, in run order: "
          + "; ".join(f"{r['mode']} {' '.join(r['load'])}" for r in rows))
    cold, warm, shared = (statistics.median([r["firstMs"] for r in by[m]]) for m in ("off", "on", "at-ready"))
    after = statistics.median([r["readyToWarmedMs"] for r in by["on"]])
    millis = statistics.median([r["warmed"]["millis"] for r in by["on"]])
    ratios = [w["firstMs"] / c["firstMs"] for w, c in zip(by["on"], by["off"])]
    print(f"warmed first GET / cold first GET, per round: " + " · ".join(f"{x:.3f}" for x in ratios)
          + f"; of the medians {warm / cold:.3f}×; the first GET at ready with the warm-up on / cold: {shared / cold:.2f}×")
    print("start to the first matrix answered (medians): " + ", ".join(
        f"{m} {statistics.median([r['startToFirstAnsweredMs'] for r in by[m]]):,.0f} ms" for m in by)
          + f"; start to ready: " + ", ".join(f"{m} {statistics.median([r['startToReadyMs'] for r in by[m]]):,.0f} ms" for m in by))
    ended = "" if after >= 0 else f" (it ended {-after:,.0f} ms before /healthz answered)"
    print(f"first matrix after a restart: cold {cold:.0f} ms, warmed {warm:.0f} ms ({warm / cold:.2f}× ), "
          f"warm-up took {max(after, 0):.0f} ms after ready{ended}; its own figure {millis:,.0f} ms")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("file"); g.add_argument("prefix"); g.add_argument("start", type=int); g.add_argument("count", type=int)
    s = sub.add_parser("signup"); s.add_argument("port", type=int)
    q = sub.add_parser("partner"); q.add_argument("port", type=int); q.add_argument("token_a"); q.add_argument("token_b")
    m = sub.add_parser("measure")
    for name in ("--log", "--token", "--matrix"):
        m.add_argument(name, required=True)
    m.add_argument("--port", type=int, required=True); m.add_argument("--pid", type=int, required=True)
    m.add_argument("--mode", choices=("off", "on", "at-ready", "on-me"), required=True)
    m.add_argument("--launched", type=float, required=True)
    r = sub.add_parser("report"); r.add_argument("results"); r.add_argument("records", type=int)
    a = p.parse_args()
    if a.command == "generate":
        generate(a.file, a.prefix, a.start, a.count)
    elif a.command == "signup":
        signup(a.port)
    elif a.command == "partner":
        partner(a.port, a.token_a, a.token_b)
    elif a.command == "measure":
        measure(a)
    else:
        report(a.results, a.records)


if __name__ == "__main__":
    main()
