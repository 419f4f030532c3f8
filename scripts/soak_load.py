#!/usr/bin/env python3
"""Mixed load for scripts/soak: sets up partners on a running escrow, drives uploads and reads, samples its memory.

Python 3 standard library only. Four organizations sign up, each with two populations shared at the overlaps
level, every pair of them partnered; then CLIENTS threads run for SECONDS: snapshot uploads of populations of
tens of thousands of records with new content each time (a few deltas among them, which exercise compaction),
overlap matrix reads and overlap list pages. The service's resident memory (VmRSS of /proc/<pid>/status) is
sampled every SAMPLE seconds, during the load, while the service finishes the background work the load queued,
and during IDLE seconds without requests afterwards.

Verdict ("flat"), both of:
- Under load: the warm-up plateau is the highest RSS sampled in the first fifth of the load, when every population
  has been uploaded, read and cached a few times and the GC heap has grown to its working size. No sample of the
  last third of the load may be more than TOLERANCE (25 %) above it. A per-upload leak is a steady climb past the
  plateau (the unbounded cache climbed by ~1 GiB a minute); 25 % is wider than a healthy run's swings (collections
  of upload buffers, a version loaded while its predecessor is still in use).
- Idle: once the service has finished the work the load left queued (the overlap refresher; taken as done when
  the process uses under 5 % of a core over 5 s) and IDLE seconds more have passed, RSS is at most the RSS right
  after start plus the cache budget (CACHE_MIB, Escrow:CacheBudgetMiB) plus NATIVE_MIB (192) for native memory
  the process keeps (glibc malloc arenas, SQLite page caches, GC bookkeeping; measured at 100-160 MiB). So the
  service must have given back its load-time heap: what it may keep is its caches, never more than their budget.
"""
import argparse
import hashlib
import os
import random
import statistics
import sys
import threading
import time

from escrow_http import Api

ORGS = ["soak-alpha", "soak-beta", "soak-gamma", "soak-delta"]
POPULATIONS = [("Customers", "customers"), ("Prospects", "prospects")]
UNIVERSE = 200_000  # accounts the populations are drawn from, so populations of different partners overlap
STAGES = ["Discovery", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
PASSWORD = "soak-password-123"


def rss_mib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Universe:
    """Precomputed identifier hashes (docs/api.md, "Upload wire format") of UNIVERSE accounts."""

    def __init__(self):
        def h(kind, key):
            return hashlib.sha256(f"oe:v1:{kind}:{key}".encode()).hexdigest()
        self.domain = [h("domain", f"account{n}.example") for n in range(UNIVERSE)]
        self.name = [h("name", f"account {n}|US") for n in range(UNIVERSE)]

    def ndjson(self, prefix, accounts, rng, tag):
        lines = []
        for n in accounts:
            stage = STAGES[rng.randrange(len(STAGES))]
            lines.append(
                f'{{"recordId":"{prefix}-{n:06d}","identifiers":{{"domain":"{self.domain[n]}","name":"{self.name[n]}"}},'
                f'"attributes":{{"accountName":"Account {n} {tag}","stage":"{stage}","owner":"rep{n % 97}@{prefix}.example"}}}}\n')
        return "".join(lines).encode()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = []

    def ok(self, op, seconds):
        with self.lock:
            self.counts.setdefault(op, []).append(seconds)

    def error(self, op, message):
        with self.lock:
            self.errors.append(f"{op}: {message}")

    def line(self):
        with self.lock:
            return " ".join(f"{op}={len(v)}" for op, v in sorted(self.counts.items())) + f" errors={len(self.errors)}"


def setup(host, port, universe, records):
    anonymous = Api(host, port)
    orgs = []
    for slug in ORGS:
        signup = anonymous.call("POST", "/v1/signup", {
            "organizationName": slug.title(), "organizationSlug": slug, "email": f"admin@{slug}.example", "password": PASSWORD})
        api = Api(host, port, signup["tokens"]["accessToken"])
        populations = []
        for name, kind in POPULATIONS:
            population = api.call("POST", "/v1/populations", {"name": name, "type": kind})["id"]
            api.call("PUT", f"/v1/populations/{population}/sharing", {"level": "overlaps", "fields": ["accountName", "stage"]})
            populations.append(population)
        orgs.append({"slug": slug, "token": api.token, "populations": populations, "partnerships": []})
    for i, inviter in enumerate(orgs):
        for invitee in orgs[i + 1:]:
            partnership = Api(host, port, inviter["token"]).call("POST", "/v1/partnerships", {"partnerSlug": invitee["slug"]})["id"]
            Api(host, port, invitee["token"]).call("POST", f"/v1/partnerships/{partnership}/accept")
            inviter["partnerships"].append((partnership, invitee))
            invitee["partnerships"].append((partnership, inviter))
    rng = random.Random(1)
    for org in orgs:
        api = Api(host, port, org["token"])
        for population in org["populations"]:
            body = universe.ndjson(org["slug"], rng.sample(range(UNIVERSE), records), rng, "initial")
            api.call("PUT", f"/v1/populations/{population}/records", body, "application/x-ndjson")
    return orgs


def client(number, host, port, orgs, universe, records, deadline, stats):
    org = orgs[number % len(orgs)]
    api = Api(host, port, org["token"])
    rng = random.Random(1000 + number)
    uploads = 0
    while time.monotonic() < deadline:
        roll = rng.random()
        started = time.monotonic()
        try:
            if roll < 0.30:
                population = rng.choice(org["populations"])
                uploads += 1
                tag = f"c{number}u{uploads}"
                if uploads % 5 == 0:
                    # A delta: a few thousand upserts and deletes on the current version.
                    accounts = rng.sample(range(UNIVERSE), records // 20 + records // 50)
                    body = universe.ndjson(org["slug"], accounts[:records // 20], rng, tag)
                    body += b"".join(f'{{"recordId":"{org["slug"]}-{n:06d}","op":"delete"}}\n'.encode() for n in accounts[records // 20:])
                    api.call("POST", f"/v1/populations/{population}/records", body, "application/x-ndjson")
                    op = "delta"
                else:
                    size = rng.randint(records * 2 // 3, records * 4 // 3)
                    body = universe.ndjson(org["slug"], rng.sample(range(UNIVERSE), size), rng, tag)
                    api.call("PUT", f"/v1/populations/{population}/records", body, "application/x-ndjson")
                    op = "snapshot"
            elif roll < 0.70:
                partnership, _ = rng.choice(org["partnerships"])
                api.call("GET", f"/v1/partnerships/{partnership}/overlaps")
                op = "matrix"
            else:
                partnership, partner = rng.choice(org["partnerships"])
                mine, theirs = rng.choice(org["populations"]), rng.choice(partner["populations"])
                path = f"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}?limit=100"
                page = api.call("GET", path)
                if page.get("nextCursor") and rng.random() < 0.5:
                    api.call("GET", f"{path}&cursor={page['nextCursor']}")
                op = "list"
            stats.ok(op, time.monotonic() - started)
        except Exception as e:  # keep loading; errors are counted and shown
            stats.error("request", str(e))
            time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--idle", type=int, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--sample", type=int, default=15)
    parser.add_argument("--tolerance", type=float, default=0.25)
    parser.add_argument("--cache-mib", type=int, default=256)
    parser.add_argument("--native-mib", type=int, default=192)
    parser.add_argument("--drain-limit", type=int, default=900)
    args = parser.parse_args()
    host, port = args.url.removeprefix("http://").split(":")
    port = int(port)

    started_rss = rss_mib(args.pid)
    print(f"service pid {args.pid}: {started_rss:.0f} MiB after start", flush=True)
    universe = Universe()
    orgs = setup(host, port, universe, args.records)
    print(f"set up {len(ORGS)} organizations x {len(POPULATIONS)} populations of {args.records} records, "
          f"{len(ORGS) * (len(ORGS) - 1) // 2} partnerships: {rss_mib(args.pid):.0f} MiB", flush=True)

    stats = Stats()
    begin = time.monotonic()
    deadline = begin + args.seconds
    threads = [threading.Thread(target=client, args=(n, host, port, orgs, universe, args.records, deadline, stats), daemon=True)
               for n in range(args.clients)]
    for t in threads:
        t.start()
    samples = []  # (seconds since load start, MiB)
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(args.sample, deadline - now))
        t, rss = time.monotonic() - begin, rss_mib(args.pid)
        samples.append((t, rss))
        print(f"  t={t:5.0f}s  load  {rss:6.0f} MiB   {stats.line()}", flush=True)
    for t in threads:
        t.join()
    end_rss = rss_mib(args.pid)
    print(f"  t={time.monotonic() - begin:5.0f}s  end   {end_rss:6.0f} MiB   {stats.line()}", flush=True)
    # The overlap refresher works through what the uploads queued after the last request: the service is not idle
    # until it stops using the CPU (under 5 % of a core over 5 s), so the idle period starts then.
    drained_at = time.monotonic()
    while time.monotonic() - drained_at < args.drain_limit:
        used = cpu_seconds(args.pid)
        time.sleep(5)
        if cpu_seconds(args.pid) - used < 0.25:
            break
        print(f"  t={time.monotonic() - begin:5.0f}s  busy  {rss_mib(args.pid):6.0f} MiB   (background work after the load)", flush=True)
    drain_seconds = time.monotonic() - drained_at
    idle_until = time.monotonic() + args.idle
    while time.monotonic() < idle_until:
        time.sleep(min(args.sample, idle_until - time.monotonic()))
        print(f"  t={time.monotonic() - begin:5.0f}s  idle  {rss_mib(args.pid):6.0f} MiB", flush=True)
    idle_rss = rss_mib(args.pid)

    warmup = [rss for t, rss in samples if t <= args.seconds / 5] or [samples[0][1]]
    last_third = [rss for t, rss in samples if t >= args.seconds * 2 / 3] or [samples[-1][1]]
    baseline = max(warmup)
    bound = baseline * (1 + args.tolerance)
    peak = max([rss for _, rss in samples] + [end_rss])
    print()
    for op, durations in sorted(stats.counts.items()):
        print(f"{op:9} {len(durations):6} requests, median {statistics.median(durations) * 1000:7.0f} ms, "
              f"max {max(durations) * 1000:7.0f} ms")
    for message in stats.errors[:10]:
        print(f"error: {message}")
    print(f"samples (MiB): {' '.join(f'{rss:.0f}' for _, rss in samples)}")
    print(f"after start {started_rss:.0f} MiB; baseline (warm-up plateau, first {args.seconds // 5} s) {baseline:.0f} MiB; "
          f"peak {peak:.0f} MiB; last third max {max(last_third):.0f} MiB; end of load {end_rss:.0f} MiB; "
          f"background work done {drain_seconds:.0f} s later; idle {args.idle} s after that {idle_rss:.0f} MiB")
    idle_bound = started_rss + args.cache_mib + args.native_mib
    load_ok, idle_ok = max(last_third) <= bound, idle_rss <= idle_bound
    print(f"memory {'FLAT' if load_ok and idle_ok else 'NOT FLAT'}: last third max {max(last_third):.0f} MiB "
          f"{'<=' if load_ok else '>'} {bound:.0f} MiB (baseline +{args.tolerance:.0%}); idle {idle_rss:.0f} MiB "
          f"{'<=' if idle_ok else '>'} {idle_bound:.0f} MiB (after start + cache budget {args.cache_mib} + native {args.native_mib})")
    flat = load_ok and idle_ok
    return 0 if flat and not stats.errors else 1


if __name__ == "__main__":
    sys.exit(main())
