#!/usr/bin/env python3
"""Reference implementation of the OverlapEscrow identifier hashing specification v2 (docs/hashing.md).

Written independently of the C# client so that each checks the other: the test vectors in
tests/data/hashing-vectors.json are produced by this file and verified by the C# test suite.
Needs Python 3.9+ and the `idna` package (UTS #46 / IDNA 2008), and reads the data files that the
C# client ships in src/OverlapEscrow.Client/Data.

    python3 scripts/hashing_reference.py domain "https://www.Acme.co.uk/about"
    python3 scripts/hashing_reference.py email "Jane <jane@acme.co.uk>"
    python3 scripts/hashing_reference.py name "ACME Ltd." "United Kingdom"
    python3 scripts/hashing_reference.py account WEBSITE EMAIL NAME COUNTRY   # every identifier of one account

Version 1 name keys stay computable (name_key_v1), because a version 2 upload carries them where they differ.
"""
import hashlib
import os
import re
import sys
import unicodedata

import idna

SPEC_VERSION = "v2"
# The hash prefix names the hash construction, not the rules: it stays "oe:v1:" so that a key that versions 1 and 2
# derive alike hashes alike, and partners on different versions still match on it.
HASH_PREFIX = "oe:v1:"
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
# Hosts of platforms (profiles, searches, short links, hosted pages): the project's list and the upstream list of
# link shorteners. A line's first field is the host.
PLATFORMS = {line.split()[0].lower() for name in ("platform-domains.txt", "url-shorteners.txt") for line in _lines(name)}


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
    key, reason, _ = _host(host)
    return key, reason


def _host(host):
    """The host rule; also returns the host's ASCII form, which the platform rule looks at."""
    host = re.sub(r":[0-9]*$", "", host)
    if host.startswith("["):
        return None, "ip address", None
    # Lower-case A-Z only; UTS #46 mapping lower-cases the rest (and has no final-sigma rule).
    host = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in host.rstrip("."))
    if not host:
        return None, "empty", None
    if any(ch.isspace() for ch in host):
        return None, "invalid host", None
    if re.fullmatch(r"[0-9]+(\.[0-9]+){3}", host):
        return None, "ip address", None
    if host == "localhost" or "." not in host:
        return None, "no dot", None
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        return None, "invalid host", None
    labels = ascii_host.split(".")
    if any(not LDH.match(label) for label in labels):
        return None, "invalid host", None
    if labels[-1].isdigit():
        return None, "invalid host", None  # no top-level domain is numeric: "1.2.3", "127.1"
    domain = registrable_domain(ascii_host)
    if domain is None:
        return None, "public suffix", None
    return domain, None, ascii_host


def website_key(value, name=None):
    """The domain key of a website field. `name` is the account's company name, for the platform rule (spec v2):
    a website on a platform host gives a key only when the account is that platform."""
    s = unicodedata.normalize("NFC", trim(value or ""))
    if not s:
        return None, "empty"
    if s.lower() in PLACEHOLDERS:
        return None, "placeholder"
    # Spec v2: the value is an e-mail address only when an '@' stands before any path, query or fragment, and the
    # address is what precedes them: "acme.com/careers?ref=jobs@indeed.com" is a URL of acme.com, not an address at
    # indeed.com, and "jane@acme.com?subject=Hi" is jane@acme.com.
    head = re.split(r"[/?#\\]", s, maxsplit=1)[0]
    if "://" not in s and "@" in head:
        return email_key(head)
    s = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", s)
    s = re.sub(r"^//", "", s)
    s = re.split(r"[/?#\\]", s, maxsplit=1)[0]
    if "@" in s:
        s = s.rsplit("@", 1)[1]
    key, reason, ascii_host = _host(s)
    if key is not None and _on_platform(ascii_host) and not _platform_owner(key, name):
        return None, "platform"
    return key, reason


def _on_platform(ascii_host):
    """Whether the host is a listed platform host or below one."""
    labels = ascii_host.split(".")
    return any(".".join(labels[i:]) in PLATFORMS for i in range(len(labels)))


def _platform_owner(domain, name):
    """Whether the account is the platform itself: one of its name keys is the domain's label, or starts with it
    when the label has at least three characters ("YouTube" on youtu.be, "Google Cloud" on google.com)."""
    label = domain.split(".", 1)[0]
    for key, _ in name_variants(name):
        if key == label or (len(label) >= 3 and key.startswith(label)):
            return True
    return False


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


def _abbreviations():
    table = {}
    for line in _lines("abbreviations.tsv"):
        short, _, full = line.partition("\t")
        words = name_tokens(short)
        if len(words) == 1:
            table[words[0]] = name_tokens(full)
    return table


ABBREVIATIONS = _abbreviations()


def words_v2(value):
    """The words of a name (name_tokens), each abbreviation replaced by the words it stands for."""
    out = []
    for w in name_tokens(value):
        out.extend(ABBREVIATIONS.get(w, [w]))
    return out


def _joined_script(text):
    """Whether every character is of a script written without spaces between words (Hangul jamo, kana, Han)."""
    return all(0x1100 <= ord(c) <= 0x11FF or 0x3040 <= ord(c) <= 0x30FF or 0x3400 <= ord(c) <= 0x4DBF
               or 0x4E00 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFAFF for c in text)


def _legal_forms(name, words_of):
    """(end forms, start forms, joined forms): word sequences longest first, and joined-script strings."""
    end, start, joined = set(), set(), set()
    for line in _lines(name):
        at_start = line.startswith("<")
        words = tuple(words_of(line[1:] if at_start else line))
        if not words:
            continue
        if all(_joined_script(w) for w in words):
            joined.add("".join(words))
            continue
        end.add(words)
        if at_start:
            start.add(words)
    order = lambda forms: sorted(forms, key=lambda f: (-len(f), f))
    return order(end), order(start), sorted(joined, key=lambda f: (-len(f), f))


# Version 1 forms: the v1 file, end only (its lines carry no markers).
LEGAL_FORMS = sorted({tuple(name_tokens(line)) for line in _lines("legal-forms-v1.txt")} - {()}, key=len, reverse=True)
LEGAL_END, LEGAL_START, LEGAL_JOINED = _legal_forms("legal-forms.txt", words_v2)
COMMON_WORDS = {w for line in _lines("common-words.txt") for w in name_tokens(line)}
STOP_WORDS = {"and", "of", "the", "de", "du", "des", "la", "le", "der", "die", "das", "von", "van", "y", "et", "und"}


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


def name_key_v1(name, country=None):
    """The name key of specification version 1 (legal forms at the end only, the v1 list)."""
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


def strip_legal_forms(tokens):
    """Spec v2 step 3: a leading "the", then legal forms at the end and, where marked, at the start, until none is
    left; joined-script forms at the end or start of the last or first word. At least one word always remains."""
    tokens = list(tokens)
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    changed = True
    while changed:
        changed = False
        for form in LEGAL_END:
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                tokens = tokens[:-n]
                if len(tokens) > 1 and tokens[-1] == "and":
                    tokens = tokens[:-1]
                changed = True
                break
        if changed:
            continue
        for form in LEGAL_START:
            n = len(form)
            if len(tokens) > n and tuple(tokens[:n]) == form:
                tokens = tokens[n:]
                changed = True
                break
        if changed:
            continue
        for form in LEGAL_JOINED:
            if len(tokens[-1]) > len(form) and tokens[-1].endswith(form):
                tokens[-1] = tokens[-1][:-len(form)]
                changed = True
            elif len(tokens[0]) > len(form) and tokens[0].startswith(form):
                tokens[0] = tokens[0][len(form):]
                changed = True
            elif len(tokens) > 1 and tokens[-1] == form:
                tokens = tokens[:-1]
                changed = True
            elif len(tokens) > 1 and tokens[0] == form:
                tokens = tokens[1:]
                changed = True
            if changed:
                break
    return tokens


# Trading-name separators, as words: "Acme Ltd t/a Widgets", "Acme dba Widgets", "Acme (formerly Widgets)".
DBA_SEPARATORS = [("doing", "business", "as"), ("also", "known", "as"), ("trading", "as"), ("d", "b", "a"),
                  ("a", "k", "a"), ("f", "k", "a"), ("t", "a"), ("dba",), ("aka",), ("fka",), ("formerly",)]


def split_trading_name(words):
    """Splits the words at the first separator that has words on both sides: [legal name, trading name]."""
    for i in range(1, len(words)):
        for sep in DBA_SEPARATORS:
            n = len(sep)
            if tuple(words[i:i + n]) == sep and i + n < len(words):
                return [words[:i], words[i + n:]]
    return [words]


def _expand(words):
    out = []
    for w in words:
        out.extend(ABBREVIATIONS.get(w, [w]))
    return out


def is_generic(words):
    """A name made only of common words identifies no company on its own. Single characters and numbers count as
    common next to a common word ("A & B Consulting", "Digital 14"), not alone."""
    return any(w in COMMON_WORDS for w in words) and all(w in COMMON_WORDS or len(w) == 1 or w.isdigit() for w in words)


UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "å": "aa", "ø": "oe", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "Å": "Aa", "Ø": "Oe"}


def umlaut_spelling(text):
    """The German and Scandinavian spelling of ä ö ü å ø (ae oe ue aa oe), or None when the name has none."""
    text = unicodedata.normalize("NFC", text)
    if not any(c in UMLAUTS for c in text):
        return None
    return "".join(UMLAUTS.get(c, c) for c in text)


def _load_transliteration():
    table = {}
    for line in _lines("transliteration.tsv"):
        source, _, target = line.partition("\t")
        table[source] = target
    return table


TRANSLIT = _load_transliteration()
TRANSLIT_MAX = max(len(k) for k in TRANSLIT)
KANA_LONG = [("ou", "o"), ("oo", "o"), ("uu", "u")]


def _is_kana(c):
    return 0x3041 <= ord(c) <= 0x3096 or 0x30A1 <= ord(c) <= 0x30FA or c == "\u30fc"


def _romanize_kana(run):
    run = "".join(chr(ord(c) - 0x60) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in run)  # katakana as hiragana
    out, i, double = [], 0, False
    while i < len(run):
        c = run[i]
        if c in ("\u3063", "\u30c3"):  # small tsu: doubles the next consonant
            double = True
            i += 1
            continue
        if c == "\u30fc":  # long vowel mark: written without a macron
            i += 1
            continue
        for n in (2, 1):
            piece = run[i:i + n]
            if len(piece) == n and piece in TRANSLIT:
                roman = TRANSLIT[piece]
                if double and roman and roman[0] not in "aeiou":
                    roman = ("t" if roman.startswith("ch") else roman[0]) + roman
                out.append(roman)
                double = False
                i += n
                break
        else:
            out.append(c)
            double = False
            i += 1
    roman = "".join(out)
    for long, short in KANA_LONG:
        roman = roman.replace(long, short)
    return roman


def _latin(c):
    return ord(c) <= 0x024F or 0x1E00 <= ord(c) <= 0x1EFF


def transliterate(text):
    """The name with its Cyrillic, Greek, kana and Hangul letters in Latin letters, or None when it has none. Other
    letters (Han, Arabic ...) stay: a part that keeps any after its legal forms are removed gives no key."""
    text = "".join(_lower(c) for c in unicodedata.normalize("NFC", text))
    # Hangul syllables into conjoining jamo (Unicode 3.12, Hangul Syllable Decomposition).
    text = "".join(unicodedata.normalize("NFD", c) if 0xAC00 <= ord(c) <= 0xD7A3 else c for c in text)
    out, i, changed = [], 0, False
    while i < len(text):
        if _is_kana(text[i]):
            j = i
            while j < len(text) and _is_kana(text[j]):
                j += 1
            out.append(_romanize_kana(text[i:j]))
            changed = True
            i = j
            continue
        for n in range(TRANSLIT_MAX, 0, -1):
            piece = text[i:i + n]
            if len(piece) == n and piece in TRANSLIT:
                out.append(TRANSLIT[piece])
                changed = True
                i += n
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out) if changed else None


MAX_NAME_KEYS = 5
MAX_SKELETONS = 2
SKELETON_MIN = 5
TYPO_MIN = 6
TYPO_MAX = 24


def skeleton(key):
    """The consonant skeleton of a name key made of ASCII letters and digits: without a e i o u y, each run of one
    letter written once ("mytilineos" and "mytilinaios" are "mtlns"), or None when shorter than five characters."""
    if not re.fullmatch(r"[a-z0-9]+", key):
        return None
    s = re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouy]", "", key))
    return s if len(s) >= SKELETON_MIN else None


def typo_keys(key):
    """The one-deletion neighbourhood of a name key made of ASCII letters and digits (symmetric deletion: Garbe 2012, SymSpell):
    the key itself and each string made by deleting one of its characters, distinct, in ordinal order; empty when the
    key is shorter than six or longer than 24 characters. Two keys within one substitution, insertion, deletion or
    swap of neighbouring characters share at least one of them."""
    if not re.fullmatch(r"[a-z0-9]+", key) or not TYPO_MIN <= len(key) <= TYPO_MAX:
        return []
    return sorted({key} | {key[:i] + key[i + 1:] for i in range(len(key))})


def _parts(text):
    """The finished words of each part (legal name, trading name) of a name text."""
    parts = []
    for part in split_trading_name(name_tokens(text)):
        words = strip_legal_forms(_expand(part))
        if words:
            parts.append(words)
    return parts


def name_variants(name):
    """The name keys of a company name, without the country, as (key, generic) in the order of the specification:
    the key of each part (legal name, then trading name), then per part its German/Scandinavian spelling, its
    transliteration and its words in sorted order where these differ, then the version 1 key; at most five."""
    text = trim(name or "")
    if not name_tokens(text):
        return []
    primary = _parts(text)
    candidates = [words for words in primary]
    for i, words in enumerate(primary):
        for variant, latin_only in ((umlaut_spelling(text), False), (transliterate(text), True)):
            if variant is not None:
                other = _parts(variant)
                if i < len(other) and (not latin_only or all(_latin(c) for w in other[i] for c in w)):
                    candidates.append(other[i])
        rest = [w for w in words if w not in STOP_WORDS]
        if len(rest) >= 2:
            candidates.append(sorted(rest))
    out, seen = [], set()
    for words in candidates:
        key = "".join(words)
        if key and key not in seen:
            seen.add(key)
            out.append((key, is_generic(words)))
    v1, _ = name_key_v1(text)
    v1 = v1[:v1.rindex("|")]
    if v1 not in seen and not is_generic(_expand(name_tokens(v1))):
        out.append((v1, False))
    return out[:MAX_NAME_KEYS]


def name_key(name, country=None):
    """The first name key with its country ("acme|GB"): the key of the name itself."""
    variants = name_variants(name)
    if not variants:
        return None, "empty"
    return variants[0][0] + "|" + country_code(country), None


EMAIL_NAME_CHECK = True


def _name_agrees(label, name):
    """Whether a domain label and a company name speak of one company: the label (without hyphens) contains one of
    the name's keys or is contained in one, or is the initials of the words of one of its parts, with or without
    the connecting words ("ibm" for International Business Machines, "boa" or "ba" for Bank of America)."""
    label = label.replace("-", "")
    for key, _ in name_variants(name):
        if label in key or key in label:
            return True
    for words in _parts(trim(name)):
        if len(words) >= 2 and label in ("".join(w[0] for w in words), "".join(w[0] for w in words if w not in STOP_WORDS)):
            return True
    return False


def account_identifiers(website=None, email=None, name=None, country=None):
    """Every identifier of one account as (type, key), in upload order (docs/hashing.md, "What one account uploads").
    Returns (identifiers, reasons) where reasons maps a field without a key to why."""
    reasons = {}
    names = name_variants(name) if name is not None else []
    if name is not None and not names:
        reasons["name"] = "empty"
    site = email_domain = None
    if website is not None:
        site, reason = website_key(website, name)
        if site is None:
            reasons["website"] = reason
    if email is not None:
        email_domain, reason = email_key(email)
        if email_domain is None:
            reasons["email"] = reason
    label = lambda d: d.split(".", 1)[0]
    domains = [site] if site else []
    labels = [label(site)] if site else []
    if email_domain:
        # A contact writing from another organization's domain (a parent company, an agency) does not make the
        # account that organization: the e-mail domain counts as a domain only when the website agrees with it, or,
        # without a website, when the account's name agrees with it (or the account has no name).
        if (label(email_domain) == label(site)) if site else (not names or _name_agrees(label(email_domain), name) or not EMAIL_NAME_CHECK):
            if email_domain not in domains:
                domains.append(email_domain)
        if label(email_domain) not in labels:
            labels.append(label(email_domain))
    # An account without a domain key sends its distinctive first name key, when it could be a domain label (ASCII
    # letters and digits), as a label too: the label its own domain would have if it is named after the company. It
    # meets the label of a partner's record that has a domain named so (rule c); without a domain on either side the
    # server ignores it.
    if not domains and names and not names[0][1] and re.fullmatch(r"[a-z0-9]+", names[0][0]) and names[0][0] not in labels:
        labels.append(names[0][0])
    out = [("domain", d) for d in domains] + [("domain_label", l) for l in labels]
    code = country_code(country)
    for key, generic in names:
        # Without a known country a distinctive name is sent as name_only alone: the server reads a record that has
        # name_only keys and no name key as one whose country is unknown (docs/hashing.md, "Server match rules").
        if generic or code:
            out.append(("name_generic" if generic else "name", key + "|" + code))
    for key, _ in names:
        out.append(("name_only", key))
    if code:
        skeletons = []
        for key, generic in names:
            sk = None if generic else skeleton(key)
            if sk and sk not in skeletons and len(skeletons) < MAX_SKELETONS:
                skeletons.append(sk)
        out += [("name_skeleton", sk + "|" + code) for sk in skeletons]
        # The typo neighbourhood of the name's own key (the first), when it is distinctive.
        if names and not names[0][1]:
            out += [("name_typo", t + "|" + code) for t in typo_keys(names[0][0])]
    return out, reasons


def identifier_hash(kind, key):
    return hashlib.sha256(f"{HASH_PREFIX}{kind}:{key}".encode("utf-8")).hexdigest()


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    kind = argv[1]
    if kind == "account":
        values = (argv[2:] + [None] * 4)[:4]
        identifiers, reasons = account_identifiers(*[v if v else None for v in values])
        for t, k in identifiers:
            print(f"{t}\t{k}\t{identifier_hash(t, k)}")
        for field, reason in reasons.items():
            print(f"{field}: no key ({reason})")
        return 0
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
