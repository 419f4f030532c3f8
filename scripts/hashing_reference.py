#!/usr/bin/env python3
"""Reference implementation of the OverlapEscrow identifier hashing specification v1 (docs/hashing.md).

Written independently of the C# client so that each checks the other: the test vectors in
tests/data/hashing-vectors.json are produced by this file and verified by the C# test suite.
Needs Python 3.9+ and the `idna` package (UTS #46 / IDNA 2008), and reads the data files that the
C# client ships in src/OverlapEscrow.Client/Data.

    python3 scripts/hashing_reference.py domain "https://www.Acme.co.uk/about"
    python3 scripts/hashing_reference.py email "Jane <jane@acme.co.uk>"
    python3 scripts/hashing_reference.py name "ACME Ltd." "United Kingdom"
"""
import hashlib
import os
import re
import sys
import unicodedata

import idna

SPEC_VERSION = "v1"
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "OverlapEscrow.Client", "Data")

PLACEHOLDERS = {"n/a", "na", "n.a.", "-", "--", "none", "null", "nil", "unknown", "tbd", "not available", "no website", "."}
TRANSLITERATE = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i"}
DELETED = {"'", "\u2019", "\u02bc", "`", "."}


def _lines(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def _load_psl():
    rules, exceptions, wildcards = set(), set(), set()
    with open(os.path.join(DATA, "public_suffix_list.dat"), encoding="utf-8") as f:
        for line in f:
            line = line.split()[0] if line.strip() else ""
            if not line or line.startswith("//"):
                continue
            line = line.lower()
            if line.startswith("!"):
                exceptions.add(_to_ascii_rule(line[1:]))
            elif line.startswith("*."):
                wildcards.add(_to_ascii_rule(line[2:]))
            else:
                rules.add(_to_ascii_rule(line))
    return rules, exceptions, wildcards


def _to_ascii_rule(rule):
    return ".".join(idna.encode(label, uts46=True).decode("ascii") if not label.isascii() else label for label in rule.split("."))


PSL_RULES, PSL_EXCEPTIONS, PSL_WILDCARDS = _load_psl()
FREE_MAIL = set(_lines("free-mail-domains.txt"))


def trim(s):
    return s.strip()  # str.strip() removes Unicode White_Space


def registrable_domain(host):
    """Public Suffix List algorithm (https://publicsuffix.org/list/), ICANN and PRIVATE sections."""
    labels = host.split(".")
    suffix_len = 1  # the implicit "*" rule
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        parent = ".".join(labels[i + 1:])
        if candidate in PSL_EXCEPTIONS:
            suffix_len = max(suffix_len, len(labels) - i - 1)
        elif candidate in PSL_RULES:
            suffix_len = max(suffix_len, len(labels) - i)
        elif parent in PSL_WILDCARDS and i + 1 < len(labels):
            suffix_len = max(suffix_len, len(labels) - i)
    # An exception rule wins over everything else.
    for i in range(len(labels)):
        if ".".join(labels[i:]) in PSL_EXCEPTIONS:
            suffix_len = len(labels) - i - 1
            break
    if len(labels) <= suffix_len:
        return None
    return ".".join(labels[-(suffix_len + 1):])


LDH = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def host_key(host):
    """Steps shared by websites and e-mail domains, from a bare host. Returns (key, reason)."""
    host = re.sub(r":[0-9]*$", "", host)
    if host.startswith("["):
        return None, "ip address"
    # Lower-case A-Z only; UTS #46 mapping lower-cases the rest (and has no final-sigma rule).
    host = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in host.rstrip("."))
    if not host:
        return None, "empty"
    if any(ch.isspace() for ch in host):
        return None, "invalid host"
    if re.fullmatch(r"[0-9]+(\.[0-9]+){3}", host):
        return None, "ip address"
    if host == "localhost" or "." not in host:
        return None, "no dot"
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        return None, "invalid host"
    labels = ascii_host.split(".")
    if any(not LDH.match(label) for label in labels):
        return None, "invalid host"
    if labels[-1].isdigit():
        return None, "invalid host"  # no top-level domain is numeric: "1.2.3", "127.1"
    domain = registrable_domain(ascii_host)
    if domain is None:
        return None, "public suffix"
    return domain, None


def website_key(value):
    s = unicodedata.normalize("NFC", trim(value or ""))
    if not s:
        return None, "empty"
    if s.lower() in PLACEHOLDERS:
        return None, "placeholder"
    if "@" in s and "://" not in s:
        return email_key(s)
    s = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", s)
    s = re.sub(r"^//", "", s)
    s = re.split(r"[/?#\\]", s, maxsplit=1)[0]
    if "@" in s:
        s = s.rsplit("@", 1)[1]
    return host_key(s)


def email_key(value):
    s = unicodedata.normalize("NFC", trim(value or ""))
    if not s:
        return None, "empty"
    if s.lower().startswith("mailto:"):
        s = s[len("mailto:"):].split("?", 1)[0]
    if "<" in s:
        start = s.rfind("<")
        end = s.find(">", start)
        if end > start:
            s = s[start + 1:end]
    s = trim(s)
    if "@" not in s:
        return None, "not an e-mail address"
    local, domain = s.rsplit("@", 1)
    if not local:
        return None, "not an e-mail address"
    key, reason = host_key(trim(domain))
    if key is None:
        return None, reason
    if key in FREE_MAIL:
        return None, "free-mail provider"
    return key, None


def _lower(ch):
    low = ch.lower()
    # The simple (one-to-one) mapping: where Python's full mapping gives several code points, keep the character.
    return low if len(low) == 1 else ch


def name_tokens(value):
    s = unicodedata.normalize("NFKD", value)
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    # Each code point's own lower-case mapping, without context (no final-sigma rule): ch.lower() per character.
    s = "".join(_lower(ch) for ch in s)
    s = "".join(TRANSLITERATE.get(ch, ch) for ch in s)
    s = s.replace("&", " and ").replace("+", " and ")
    out = []
    for ch in s:
        if ch in DELETED:
            continue
        cat = unicodedata.category(ch)
        out.append(ch if cat.startswith("L") or cat == "Nd" else " ")
    return "".join(out).split()


LEGAL_FORMS = sorted({tuple(name_tokens(line)) for line in _lines("legal-forms.txt")} - {()}, key=len, reverse=True)


def _load_countries():
    table = {}
    codes2, codes3 = set(), {}
    for line in _lines("countries.tsv"):
        alpha2, alpha3, names = line.split("\t")
        codes2.add(alpha2)
        codes3[alpha3] = alpha2
        for n in names.split("|"):
            table[" ".join(name_tokens(n))] = alpha2
    return codes2, codes3, table


COUNTRY_CODES, COUNTRY_ALPHA3, COUNTRY_NAMES = _load_countries()


def country_code(value):
    s = trim(value or "")
    if not s:
        return ""
    # Codes are plain ASCII letters; anything else is read as a name.
    up = s.upper() if re.fullmatch(r"[A-Za-z]+", s) else ""
    if up == "UK":
        return "GB"
    if len(up) == 2 and up in COUNTRY_CODES:
        return up
    if len(up) == 3 and up in COUNTRY_ALPHA3:
        return COUNTRY_ALPHA3[up]
    return COUNTRY_NAMES.get(" ".join(name_tokens(s)), "")


def name_key(name, country=None):
    tokens = name_tokens(trim(name or ""))
    if not tokens:
        return None, "empty"
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    stripped = True
    while stripped:
        stripped = False
        for form in LEGAL_FORMS:
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                tokens = tokens[:-n]
                stripped = True
                break
        if stripped and len(tokens) > 1 and tokens[-1] == "and":
            tokens = tokens[:-1]
    return "".join(tokens) + "|" + country_code(country), None


def identifier_hash(kind, key):
    return hashlib.sha256(f"oe:{SPEC_VERSION}:{kind}:{key}".encode("utf-8")).hexdigest()


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    kind = argv[1]
    if kind == "domain":
        key, reason = website_key(argv[2])
    elif kind == "email":
        key, reason = email_key(argv[2])
    elif kind == "name":
        key, reason = name_key(argv[2], argv[3] if len(argv) > 3 else None)
    else:
        print(f"unknown kind {kind}", file=sys.stderr)
        return 2
    if key is None:
        print(f"no key: {reason}")
        return 1
    hash_kind = "name" if kind == "name" else "domain"
    print(key)
    print(identifier_hash(hash_kind, key))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
