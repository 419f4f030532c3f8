#!/usr/bin/env python3
"""The attacks of docs/threat-model.md against privacy-protected counts, run by scripts/privacy-attacks.

Python 3 standard library only. One owner organization shares two populations at the counts level, both holding
accounts 0..OWNER-1: "Customers" (the default minimum of 5) and "Customers, minimum 1" (an owner who lowered it).
For each trial a fresh attacker organization (each has its own budget with the owner) partners with the owner and
attacks one target account: in the owner's populations for half of the trials (drawn from 100..OWNER-1), outside
for the other half (OWNER..2·OWNER-1). Each attack has the decision rule that read the answer with certainty from
exact counts:

- probe: upload the target alone; against the minimum of 1 a count means "in".
- padding: the target with four accounts known to be the owner's (0..3); against the minimum of 5 a count means "in".
- differencing populations: two populations, 100 known accounts with and without the target; a difference >= 1 means "in".
- differencing versions: one population, first with the target, then without; a drop >= 1 means "in".
- subset sum over the health figures: the attacker uploads an opportunities population holding the target with an
  open amount of 1 and a known account (0) with an open amount of 2, and reads the potential revenue the pipeline
  figures give for the owner (docs/health.md); an odd sum means "in". Exact, the sum reads every opportunity's
  membership off its power-of-two amount. The owner shares its customers at the counts level, so the figure is
  released through the private-counts mechanism (a clipped sum plus discrete Laplace noise, docs/privacy.md "Health
  figures"); the read releases all five health figures and the coverage over all partners, so the bound is that of 6
  releases. The same read's all-partner covered amount (one more released sum over the union, docs/health.md) gets the
  same odd-means-in rule: "subset sum (overall)". The clip bound B comes
  from the attacker's own amounts (the 95th percentile rounded up on the 1-2-5 grid: here 2, so nothing is clipped
  and the noise is as small as the guarantee allows for this sum): the attacker chooses B, and the noise follows it.
- whole budget: a second attacker organization spends a whole period's budget on the target: 15 populations of the
  100 known accounts plus the target, against both owner populations (30 releases); the sum of the 30 counts minus
  30·100 >= 15 means "in" (the best threshold for the two sums, whose noise is symmetric).
- ambiguous name (a match rule that weighs one owner record against the others, docs/privacy.md "What one account
  can move"): a third owner population, "Groups", holds per trial a group of GROUP subsidiaries of one name on
  domains sharing one label; the target is one more record of that name on a domain of another label, in the
  population for half of the trials. The attacker uploads GROUP records of the name alone (no domain, no country)
  in 30 populations (the whole budget) and says "in" when the median released count (withheld as 0) is below
  GROUP/2: in the lists,
  the target makes every name match ambiguous and demotes all GROUP of them. AMBIGUOUS_TRIALS targets in, as many out.

The measured advantage is TPR - FPR over the trials. The bound is tanh(ε/2) for the ε the attack's observations
spent (the releases it read, each of ε per release), from the settings the service reports. A measured value is
within its bound when it is no more than the bound plus the half-width of its 99 % confidence interval (sampling
error of 2·TRIALS Bernoulli trials). As a control, the probe runs once more against an owner who chose exact counts
for its attackers, and the subset-sum attack once more against an owner sharing its customers at the overlaps level
(exact figures): there the bound is 1 and the advantage is measured 1.

Then the health figures' own attacks: the subset-sum attack on ten accounts at once (ten opportunities with amounts
1, 2, 4, …, 512, half of them on the owner's accounts; the potential revenue's bits decode which), against an owner
that chose exact counts for the attacker (the figures over its counts-only cell are then withheld, since 2026-12-03;
before, the sum was exact and decoded every account) and against the defaults (released), printing the share of
accounts decoded right both ways (a coin gets 50 %; no answer decodes the five non-customers: 50 %); and averaging: one attacker reads its figures
AVERAGING_READS (50) times and gets one value, while the owner's budget shows no further spend.

Then utility: UTILITY_VIEWERS viewer organizations each upload populations of 100, 500 and 1000 of the owner's
accounts; every released count is compared with the true one (median absolute error, median relative error, share
within the stated ±90 % margin).
"""
import argparse
import hashlib
import math
import random
import statistics
import sys
import time
from urllib.parse import urlparse

from privacy_service import Org, domain_hash

OWNER = 2000
KNOWN = list(range(100))  # accounts the attacker knows the owner has: cells far above the minimum of 5
GROUP = 40  # subsidiaries of one name in the ambiguous-name attack


def token(kind, key):
    """An identifier hash as the hashing specification forms it (docs/api.md): SHA-256 of oe:v1:type:key."""
    return hashlib.sha256(f"oe:v1:{kind}:{key}".encode()).hexdigest()


def group_records(group, target):
    """The owner's records of one group: GROUP subsidiaries on group<g>.cc<i> (one label), and the target on another label."""
    name = f"group{group}"
    rows = [(f"G{group:04d}-{i:02d}", f"{name}.cc{i}", name) for i in range(GROUP)]
    if target:
        rows.append((f"G{group:04d}-T", f"{name}energy.com", f"{name}energy"))
    return "".join(f'{{"recordId":"{rid}","identifiers":{{"domain":"{token("domain", domain)}","domain_label":"{token("domain_label", label)}",'
                   f'"name":"{token("name", name + "|DE")}","name_only":"{token("name_only", name)}"}}}}\n' for rid, domain, label in rows)


def name_only_records(group):
    return "".join(f'{{"recordId":"N-{i:02d}","identifiers":{{"name_only":"{token("name_only", f"group{group}")}"}}}}\n'
                   for i in range(GROUP)).encode()
Z99 = 2.576


def bound(epsilon):
    return math.tanh(epsilon / 2)


def advantage(rows):
    """rows: (member, said_in). TPR - FPR, and the half-width of its 99 % confidence interval, taken at the largest
    variance (rates of 1/2) so that it never claims more certainty than the trials give."""
    ins = [said for member, said in rows if member]
    outs = [said for member, said in rows if not member]
    tpr, fpr = sum(ins) / len(ins), sum(outs) / len(outs)
    return tpr - fpr, Z99 * math.sqrt(0.25 / len(ins) + 0.25 / len(outs))


def opportunities(accounts):
    """An opportunities population's upload: (account number, open amount) per opportunity (docs/health.md)."""
    return "".join(f'{{"recordId":"O-{i:06d}","identifiers":{{"domain":"{domain_hash(n)}"}},'
                   f'"attributes":{{"amount":"{amount}","currency":"USD","closed":"false"}}}}\n'
                   for i, (n, amount) in enumerate(accounts)).encode()


def count(cell):
    return cell.get("count")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--trials", type=int, default=100, help="targets in the owner's population, and as many not in it")
    parser.add_argument("--utility-viewers", type=int, default=20)
    parser.add_argument("--control-trials", type=int, default=10)
    parser.add_argument("--averaging-reads", type=int, default=50)
    parser.add_argument("--ambiguous-trials", type=int, default=20, help="ambiguous-name targets in, and as many not in")
    args = parser.parse_args()
    url = urlparse(args.url)
    host, port = url.hostname, url.port
    rng = random.Random(9)
    started = time.monotonic()

    owner = Org(host, port, "owner")
    customers = owner.population("Customers", range(OWNER), "counts")
    low = owner.population("Customers, minimum 1", range(OWNER), "counts", minimum=1)

    def settings_of(partnership):
        return owner.privacy(partnership)["settings"]

    attacks = {name: [] for name in ["probe", "padding", "differencing populations", "differencing versions", "subset sum (health)",
                                     "subset sum (overall)", "whole budget"]}
    spent = {}  # the ε each attack's decision rests on
    settings = None
    for trial in range(2 * args.trials):
        member = trial % 2 == 0
        target = rng.randrange(len(KNOWN), OWNER) if member else rng.randrange(OWNER, 2 * OWNER)
        attacker = Org(host, port, f"attacker-{trial}")
        probe = attacker.population("Probe", [target])
        padded = attacker.population("Padded", [target, 0, 1, 2, 3])
        with_target = attacker.population("With", KNOWN + [target])
        without = attacker.population("Without", KNOWN)
        versions = attacker.population("Versions", KNOWN + [target])
        pipeline = attacker.api.call("POST", "/v1/populations", {"name": "Pipeline", "type": "opportunities"})["id"]
        attacker.api.call("PUT", f"/v1/populations/{pipeline}/records", opportunities([(target, "1"), (0, "2")]), "application/x-ndjson")
        partnership = attacker.partner(owner)
        if settings is None:
            settings = settings_of(partnership)
        first = attacker.matrix(partnership)
        attacker.upload(versions, KNOWN, prefix="V2")
        second = attacker.matrix(partnership)
        c = lambda matrix, mine, theirs: count(matrix[(mine, theirs)])  # noqa: E731
        attacks["probe"].append((member, c(first, probe, low) is not None))
        attacks["padding"].append((member, c(first, padded, customers) is not None))
        attacks["differencing populations"].append((member, (c(first, with_target, customers) or 0) - (c(first, without, customers) or 0) >= 1))
        before, after = c(first, versions, customers), c(second, versions, customers)
        attacks["differencing versions"].append((member, (before or 0) - (after or 0) >= 1))
        health = attacker.api.call("GET", f"/v1/partnerships/{partnership}/health/pipeline")
        figures = next((p.get("figures") for p in health["partners"] if p["partnershipId"] == partnership), None)
        attacks["subset sum (health)"].append((member, figures is not None and int(float(figures["potentialRevenue"])) % 2 == 1))
        # The coverage over all partners rests on the owner's counts-only customers too: its covered amount is one more sum.
        attacks["subset sum (overall)"].append((member, int(float(health["overall"]["coveredAmount"])) % 2 == 1))
        # The second version got a fresh value only if the refresh interval allowed it: count the releases it read.
        fresh = second[(versions, customers)]["privacy"]["releasedAt"] != first[(versions, customers)]["privacy"]["releasedAt"]
        spent.setdefault("differencing versions", 0)
        spent["differencing versions"] = max(spent["differencing versions"], 2 if fresh else 1)

        spender = Org(host, port, f"spender-{trial}")
        probes = [spender.population(f"Probe {i}", KNOWN + [target]) for i in range(15)]
        spender_partnership = spender.partner(owner)
        matrix = spender.matrix(spender_partnership)
        values = [count(matrix[(p, o)]) for p in probes for o in (customers, low)]
        released = [v for v in values if v is not None]
        spent["whole budget"] = max(spent.get("whole budget", 0), len(values))
        attacks["whole budget"].append((member, sum(released) - len(released) * len(KNOWN) >= len(released) / 2))
        if (trial + 1) % 20 == 0:
            print(f"  {trial + 1} of {2 * args.trials} trials ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    # The ambiguous-name attack: an owner of its own with one population of groups (so that the 30 releases are all
    # on it), the targets of the even trials in it.
    group_owner = Org(host, port, "group-owner")
    groups = group_owner.api.call("POST", "/v1/populations", {"name": "Groups", "type": "customers"})["id"]
    group_owner.api.call("PUT", f"/v1/populations/{groups}/records",
                         "".join(group_records(g, g % 2 == 0) for g in range(2 * args.ambiguous_trials)).encode(), "application/x-ndjson")
    group_owner.api.call("PUT", f"/v1/populations/{groups}/sharing", {"level": "counts", "fields": [], "minimumCount": None})
    attacks["ambiguous name"] = []
    for trial in range(2 * args.ambiguous_trials):
        attacker = Org(host, port, f"ambiguous-{trial}")
        probes = []
        for i in range(15 * 2):
            population = attacker.population(f"Name {i}")
            attacker.api.call("PUT", f"/v1/populations/{population}/records", name_only_records(trial), "application/x-ndjson")
            probes.append(population)
        matrix = attacker.matrix(attacker.partner(group_owner))
        values = [count(matrix[(p, groups)]) or 0 for p in probes]
        spent["ambiguous name"] = max(spent.get("ambiguous name", 0), len(values))
        # The median, withheld read as 0: the mean of values clipped at the minimum would sit well above 0 when the true count is 0.
        attacks["ambiguous name"].append((trial % 2 == 0, statistics.median(values) < GROUP / 2))

    per_release = float(settings["epsilonPerRelease"])
    # One health read releases the five figures and the all-partner coverage: both subset-sum rules saw all six.
    spent.update({"probe": 1, "padding": 1, "differencing populations": 2, "subset sum (health)": 6, "subset sum (overall)": 6})
    print(f"settings (the escrow's defaults): epsilonPerPeriod {settings['epsilonPerPeriod']}, epsilonPerRelease {settings['epsilonPerRelease']}, "
          f"refreshIntervalMinutes {settings['refreshIntervalMinutes']}, releasesPerPeriod {settings['releasesPerPeriod']}, "
          f"advantageBound {settings['advantageBound']}, marginOfError ±{settings['marginOfError']} at 90 %, medianError {settings['medianError']}")
    print(f"{2 * args.trials} trials per attack ({args.trials} targets in, {args.trials} out), a fresh attacker organization each")
    print(f"{'attack':28} {'releases':>8} {'ε spent':>8} {'measured advantage':>22} {'bound tanh(ε/2)':>16}  verdict")
    all_within = True
    for name, rows in attacks.items():
        measured, half = advantage(rows)
        epsilon = spent[name] * per_release
        b = bound(epsilon)
        within = measured <= b + half
        all_within &= within
        print(f"{name:28} {spent[name]:>8} {epsilon:>8.2f} {measured:>+12.3f} ± {half:.3f}   {b:>16.3f}  {'within' if within else 'NOT WITHIN'}")

    # Control: the same probe against an owner who chose exact counts for its attackers.
    control = []
    for trial in range(2 * args.control_trials):
        member = trial % 2 == 0
        target = rng.randrange(len(KNOWN), OWNER) if member else rng.randrange(OWNER, 2 * OWNER)
        attacker = Org(host, port, f"control-{trial}")
        probe = attacker.population("Probe", [target])
        partnership = attacker.partner(owner)
        owner.privacy(partnership, {"exactCounts": True, "confirmExactCounts": True})
        control.append((member, count(attacker.matrix(partnership)[(probe, low)]) is not None))
    measured, half = advantage(control)
    print(f"{'control: probe, exact counts':28} {'-':>8} {'-':>8} {measured:>+12.3f} ± {half:.3f}   {1.0:>16.3f}  (the owner's explicit choice: no guarantee)")

    # Control: the subset-sum attack against an owner who shares its customers at the overlaps level, where the
    # figures are exact (and the list names the accounts anyway): the attack reads the answer off.
    open_owner = Org(host, port, "open-owner")
    open_owner.population("Customers", range(OWNER), "overlaps")
    control = []
    for trial in range(2 * args.control_trials):
        member = trial % 2 == 0
        target = rng.randrange(len(KNOWN), OWNER) if member else rng.randrange(OWNER, 2 * OWNER)
        attacker = Org(host, port, f"subset-control-{trial}")
        pipeline = attacker.api.call("POST", "/v1/populations", {"name": "Pipeline", "type": "opportunities"})["id"]
        attacker.api.call("PUT", f"/v1/populations/{pipeline}/records", opportunities([(target, "1"), (0, "2")]), "application/x-ndjson")
        partnership = attacker.partner(open_owner)
        figures = attacker.api.call("GET", f"/v1/partnerships/{partnership}/health/pipeline")["partners"][0].get("figures")
        control.append((member, figures is not None and int(float(figures["potentialRevenue"])) % 2 == 1))
    measured, half = advantage(control)
    print(f"{'control: subset sum, overlaps':28} {'-':>8} {'-':>8} {measured:>+12.3f} ± {half:.3f}   {1.0:>16.3f}  (shared at the overlaps level: exact on purpose)")

    # The subset-sum attack on ten accounts at once, exact (the owner chose exact counts) and released (the defaults).
    def subset_sum(exact, trials):
        right = total = 0
        for trial in range(trials):
            accounts = rng.sample(range(len(KNOWN), OWNER), 5) + rng.sample(range(OWNER, 2 * OWNER), 5)
            rng.shuffle(accounts)
            attacker = Org(host, port, f"subset-{'exact' if exact else 'released'}-{trial}")
            pipeline = attacker.api.call("POST", "/v1/populations", {"name": "Pipeline", "type": "opportunities"})["id"]
            attacker.api.call("PUT", f"/v1/populations/{pipeline}/records", opportunities([(n, str(1 << i)) for i, n in enumerate(accounts)]),
                              "application/x-ndjson")
            partnership = attacker.partner(owner)
            if exact:
                owner.privacy(partnership, {"exactCounts": True, "confirmExactCounts": True})
            figures = attacker.api.call("GET", f"/v1/partnerships/{partnership}/health/pipeline")["partners"][0].get("figures")
            total_sum = min(max(int(float(figures["potentialRevenue"])), 0), 1023) if figures else 0
            for i, n in enumerate(accounts):
                total += 1
                right += ((total_sum >> i) & 1 == 1) == (n < OWNER)
        return right / total, total

    exact_rate, exact_n = subset_sum(True, args.control_trials)
    released_rate, released_n = subset_sum(False, args.control_trials)
    print(f"subset sum, 10 accounts per read (amounts 1, 2, …, 512): accounts decoded right with exact counts (figures withheld) {100 * exact_rate:.0f} % "
          f"({exact_n} accounts), from the released sum {100 * released_rate:.0f} % ({released_n} accounts; a coin: 50 %)")

    # Averaging: reading the released figures again and again gives the same value and spends nothing.
    attacker = Org(host, port, "averager")
    pipeline = attacker.api.call("POST", "/v1/populations", {"name": "Pipeline", "type": "opportunities"})["id"]
    # 25 of the owner's accounts and 25 others, 1000 each: the true potential revenue is 25000.
    attacker.api.call("PUT", f"/v1/populations/{pipeline}/records",
                      opportunities([(n, "1000") for n in list(range(len(KNOWN), len(KNOWN) + 25)) + list(range(OWNER, OWNER + 25))]),
                      "application/x-ndjson")
    partnership = attacker.partner(owner)
    reads = int(args.averaging_reads)
    values = []
    released_block = None
    for i in range(reads):
        partner = attacker.api.call("GET", f"/v1/partnerships/{partnership}/health/pipeline")["partners"][0]
        figures = partner.get("figures")
        released_block = partner.get("released")
        values.append(figures["potentialRevenue"] if figures else None)
        if i == 0:
            after_first = owner.privacy(partnership)["budget"]["spent"]
    after_all = owner.privacy(partnership)["budget"]["spent"]
    averaging_ok = len(set(values)) == 1 and after_first == after_all
    print(f"averaging: {reads} reads of the released potential revenue (true 25000): {len(set(values))} distinct value(s) ({values[0]}); "
          f"owner's budget spent after the first read {after_first}, after all {after_all}: {'nothing learned' if averaging_ok else 'NOT CONSTANT'}")
    if released_block and released_block.get("potentialRevenue"):
        # The bound from the attacker's own amounts (1000 each: B = 1000) and the stated 95 % range of the sum.
        r = released_block["potentialRevenue"]
        print(f"  amount bound B {released_block.get('amountPerOpportunity')} ({released_block.get('amountBoundSource')}); "
              f"95 % noise range of the released sum {r['low']:.0f} to {r['high']:.0f}")
    all_within &= averaging_ok and released_rate <= 0.65

    # Utility: released counts of cells of known size.
    sizes = [100, 500, 1000]
    errors = {n: [] for n in sizes}
    withheld = {n: 0 for n in sizes}
    margin = settings["marginOfError"]
    for v in range(args.utility_viewers):
        viewer = Org(host, port, f"viewer-{v}")
        populations = {n: viewer.population(f"Top {n}", rng.sample(range(OWNER), n)) for n in sizes}
        matrix = viewer.matrix(viewer.partner(owner))
        for n, population in populations.items():
            for theirs in (customers, low):
                value = count(matrix[(population, theirs)])
                if value is None:
                    withheld[n] += 1
                else:
                    errors[n].append(value - n)
    print(f"utility: {2 * args.utility_viewers} released counts per cell size (two owner populations per viewer)")
    print(f"{'true count':>10} {'median |error|':>15} {'median relative':>16} {'within ±' + str(margin):>12} {'withheld':>9}")
    for n in sizes:
        e = errors[n]
        med = statistics.median(abs(x) for x in e) if e else float("nan")
        inside = sum(abs(x) <= margin for x in e) / len(e) if e else float("nan")
        print(f"{n:>10} {med:>15.1f} {100 * med / n:>15.1f}% {100 * inside:>11.0f}% {withheld[n]:>9}")
    med500 = statistics.median(abs(x) for x in errors[500]) / 500 if errors[500] else 1
    print(f"({time.monotonic() - started:.0f} s)")
    print(f"every measured advantage is {'WITHIN' if all_within else 'NOT WITHIN'} its bound; median error at 500: "
          f"{100 * med500:.1f} % ({'within' if med500 <= 0.10 else 'above'} 10 %)")
    return 0 if all_within else 1


if __name__ == "__main__":
    sys.exit(main())
