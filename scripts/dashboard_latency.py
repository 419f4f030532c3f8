#!/usr/bin/env python3
"""Times the dashboard's main pages for scripts/dashboard-latency. Python 3 standard library only.

Two organizations sign up through the API, each with a population of RECORDS records (identifier hashes as in
docs/api.md, "Upload wire format"; half of each population overlaps the other's), shared at the overlaps level with
two fields, and partner. A member then signs in to the dashboard with its own form (antiforgery token and cookie
session, as a browser does), each page is requested twice to warm up (the first request computes the overlap), and
then REQUESTS times in turn on one keep-alive connection. /healthz, timed the same way, is the baseline.
"""
import argparse
import hashlib
import http.client
import json
import re
import statistics
import sys
import time
import urllib.parse

PASSWORD = "latency-password-123"
STAGES = ["Discovery", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
TARGET_MS = 200


class Http:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=3600)
        self.cookies = {}
        self.token = None

    def request(self, method, path, body=None, headers=None, expect=(200,)):
        headers = dict(headers or {})
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return response, data

    def json(self, method, path, body=None, expect=(200, 201)):
        _, data = self.request(method, path, json.dumps(body).encode() if body is not None else None,
                               {"content-type": "application/json"} if body is not None else {}, expect)
        return json.loads(data) if data else None


def h(kind, key):
    return hashlib.sha256(f"oe:v1:{kind}:{key}".encode()).hexdigest()


def ndjson(prefix, first, count):
    lines = []
    for n in range(first, first + count):
        lines.append(
            f'{{"recordId":"{prefix}-{n:07d}","identifiers":{{"domain":"{h("domain", f"account{n}.example")}"}},'
            f'"attributes":{{"accountName":"Account {n}","stage":"{STAGES[n % len(STAGES)]}","owner":"rep{n % 97}@{prefix}.example"}}}}\n')
    return "".join(lines).encode()


def timed(http, path, requests):
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        http.request("GET", path)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port

    orgs = []
    for slug, first in (("lat-north", 0), ("lat-south", args.records // 2)):
        api = Http(host, port)
        signup = api.json("POST", "/v1/signup", {"organizationName": slug, "organizationSlug": slug,
                                                  "email": f"admin@{slug}.example", "password": PASSWORD})
        api.token = signup["tokens"]["accessToken"]
        population = api.json("POST", "/v1/populations", {"name": "Customers", "type": "customers"})["id"]
        api.json("PUT", f"/v1/populations/{population}/sharing", {"level": "overlaps", "fields": ["accountName", "stage"]})
        start = time.perf_counter()
        body = ndjson(slug, first, args.records)
        api.request("PUT", f"/v1/populations/{population}/records", body, {"content-type": "application/x-ndjson"}, (200, 201))
        print(f"{slug}: {args.records:,} records uploaded in {time.perf_counter() - start:.1f} s ({len(body) / 2**20:.0f} MiB of NDJSON)", flush=True)
        orgs.append({"slug": slug, "api": api, "population": population})
    north, south = orgs
    partnership = north["api"].json("POST", "/v1/partnerships", {"partnerSlug": south["slug"]})["id"]
    south["api"].json("POST", f"/v1/partnerships/{partnership}/accept")
    start = time.perf_counter()
    matrix = north["api"].json("GET", f"/v1/partnerships/{partnership}/overlaps")
    print(f"overlap computed in {time.perf_counter() - start:.1f} s: {matrix['cells'][0].get('count')} of north's records overlap", flush=True)

    browser = Http(host, port)
    _, page = browser.request("GET", "/signin")
    token = re.search(rb'name="__RequestVerificationToken" type="hidden" value="([^"]+)"', page) \
        or re.search(rb'name="__RequestVerificationToken" value="([^"]+)"', page)
    form = urllib.parse.urlencode({"email": "admin@lat-north.example", "password": PASSWORD, "returnUrl": "/",
                                   "__RequestVerificationToken": token.group(1).decode()}).encode()
    browser.request("POST", "/signin", form, {"content-type": "application/x-www-form-urlencoded"}, (302,))

    mine, theirs = north["population"], south["population"]
    cell = f"/partnerships/{partnership}/cells/{mine}/{theirs}"
    pages = [
        ("baseline: /healthz", "/healthz"),
        ("partnerships home", "/"),
        ("overlap matrix", f"/partnerships/{partnership}"),
        ("cell list, page 1", cell),
        ("cell list, page 5000", cell + "?p=5000"),
        ("cell list, sorted by owner", cell + "?sort=owner"),
        ("cell list, sorted by owner desc, page 100", cell + "?sort=owner&dir=desc&p=100"),
        ("cell list, filtered stage~Proposal", cell + "?filter=stage&q=Proposal"),
        ("trend", cell + "/trend"),
        ("new since", cell + "/new?since=2020-01-01T00:00"),
        ("partnership sharing", f"/partnerships/{partnership}/sharing"),
        ("populations", "/populations"),
        ("population", f"/populations/{mine}"),
        ("population sharing", f"/populations/{mine}/sharing"),
        ("upload", f"/populations/{mine}/upload"),
        ("syncs", "/syncs"),
        ("webhooks", "/webhooks"),
        ("members", "/admin/members"),
        ("api keys", "/admin/api-keys"),
        ("audit log", "/admin/audit"),
    ]
    for _, path in pages:
        browser.request("GET", path)
        browser.request("GET", path)
    print(f"\n{'page':44} {'median ms':>10} {'p95 ms':>10}  (n={args.requests} each, one connection, sequential)")
    over = []
    for name, path in pages:
        median, p95 = timed(browser, path, args.requests)
        flag = "  OVER 200 ms" if p95 > TARGET_MS and not name.startswith("baseline") else ""
        if flag:
            over.append(name)
        print(f"{name:44} {median:10.1f} {p95:10.1f}{flag}", flush=True)
    print(f"\n{len(pages) - 1 - len(over)} of {len(pages) - 1} pages under {TARGET_MS} ms at p95"
          + (f"; over: {', '.join(over)}" if over else ""))


if __name__ == "__main__":
    sys.exit(main())
