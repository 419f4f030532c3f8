#!/usr/bin/env python3
"""Generates the NDJSON that `overlap-escrow hash` must write for the partner samples, from the Python reference
implementation of the hashing specification (scripts/hashing_reference.py), so the CLI's whole output (keys,
hashes, their order, the lines of the accounts without any key left out) is checked against the specification
and not against itself.

    python3 scripts/hashing_golden.py            # (re)write tests/data/hashing-golden/*.ndjson
    python3 scripts/hashing_golden.py --check    # exit 1 if a file differs from what the reference gives

The columns are those of the tests (tests/OverlapEscrow.Cli.Tests, HashCommandTests): id "Account ID", website
"Website", e-mail "Primary Contact Email", name "Account Name", country "Billing Country", attribute "Stage" as
"stage". The line format is the upload's (docs/api.md, "NDJSON"): identifier types in upload order, each type's
keys in the order the account gives them, attribute values trimmed and left out when empty.
"""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hashing_reference as ref  # noqa: E402

ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "tests", "data", "hashing-golden")
SAMPLES = [("alpha", "customers"), ("beta", "customers")]
TYPES = ["domain", "domain_label", "name", "name_generic", "name_only", "name_skeleton", "name_typo"]


def lines(path):
    out = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            identifiers, _ = ref.account_identifiers(row["Website"], row["Primary Contact Email"], row["Account Name"], row["Billing Country"])
            if not identifiers:
                continue  # an account without any key is not uploaded
            by_type = {}
            for t in TYPES:
                hashes = [ref.identifier_hash(t, k) for kind, k in identifiers if kind == t]
                if hashes:
                    by_type[t] = hashes
            stage = row["Stage"].strip()
            line = {"recordId": row["Account ID"], "identifiers": by_type, "attributes": {"stage": stage} if stage else {}}
            out.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(out)


def main(argv):
    check = "--check" in argv
    os.makedirs(OUT, exist_ok=True)
    differ = False
    for partner, population in SAMPLES:
        text = lines(os.path.join(ROOT, "tests", "data", "partners", partner, population + ".csv"))
        target = os.path.join(OUT, f"{partner}-{population}.ndjson")
        if check:
            with open(target, encoding="utf-8") as f:
                if f.read() != text:
                    print(f"{target} differs from the reference implementation's output", file=sys.stderr)
                    differ = True
        else:
            with open(target, "w", encoding="utf-8", newline="") as f:
                f.write(text)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
