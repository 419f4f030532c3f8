#!/usr/bin/env python3
"""Generates the harder match-quality sample, tests/data/hard/{dev,heldout}, from real company lists available
offline (sources and licences in tests/data/hard/README.md): two partners' CRM exports (alpha/accounts.csv,
beta/accounts.csv) written the way real CRMs write accounts, and truth.json saying which records are one company
and which difficulty of docs/hashing.md each alpha record stands for.

    sudo apt-get install ieee-data        # /usr/share/ieee-data/oui.csv, the IEEE OUI public listing
    python3 scripts/match_sample.py       # writes tests/data/hard/dev and tests/data/hard/heldout

The two splits draw their companies from disjoint halves of every source (by a hash of the company's name), so the
held-back split shares no company, and no hand-listed pair, with the development split. Tune rules on dev only.
The generator knows nothing of the hashing rules: it writes names, websites and addresses as CRMs do.
"""
import csv
import hashlib
import json
import os
import random
import re
import sys
import unicodedata

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "data", "hard")
OUI = "/usr/share/ieee-data/oui.csv"
PSL = os.path.join(ROOT, "src", "OverlapEscrow.Client", "Data", "public_suffix_list.dat")
PARTNERS = os.path.join(ROOT, "tests", "data", "partners")
COUNTRIES = os.path.join(ROOT, "src", "OverlapEscrow.Client", "Data", "countries.tsv")

# Real companies whose registered name is in a non-Latin script, with the Latin name they use abroad. Compiled by
# the project from the companies' own English-language names (facts, no third-party text).
NON_LATIN = [
    ("Газпром", "Gazprom", "RU"), ("Лукойл", "Lukoil", "RU"), ("Роснефть", "Rosneft", "RU"), ("Сбербанк", "Sberbank", "RU"),
    ("Аэрофлот", "Aeroflot", "RU"), ("Северсталь", "Severstal", "RU"), ("Магнит", "Magnit", "RU"), ("Татнефть", "Tatneft", "RU"),
    ("Новатэк", "Novatek", "RU"), ("Мечел", "Mechel", "RU"), ("Полюс", "Polyus", "RU"), ("Яндекс", "Yandex", "RU"),
    ("Мегафон", "MegaFon", "RU"), ("Ростелеком", "Rostelecom", "RU"), ("Русал", "Rusal", "RU"), ("Акрон", "Acron", "RU"),
    ("Лента", "Lenta", "RU"), ("Фосагро", "PhosAgro", "RU"), ("Камаз", "Kamaz", "RU"), ("Транснефть", "Transneft", "RU"),
    ("Алроса", "Alrosa", "RU"), ("Мосэнерго", "Mosenergo", "RU"), ("Россети", "Rosseti", "RU"), ("Тинькофф", "Tinkoff", "RU"),
    ("Озон", "Ozon", "RU"), ("Авито", "Avito", "RU"), ("Касперский", "Kaspersky", "RU"), ("Сибур", "Sibur", "RU"),
    ("Евраз", "Evraz", "RU"), ("Уралкалий", "Uralkali", "RU"), ("Нафтогаз", "Naftogaz", "UA"), ("Укрзалізниця", "Ukrzaliznytsia", "UA"),
    ("Киевстар", "Kyivstar", "UA"), ("Софтсерв", "SoftServe", "UA"), ("Ростех", "Rostec", "RU"), ("Интер РАО", "Inter RAO", "RU"),
    ("トヨタ自動車株式会社", "Toyota Motor Corporation", "JP"), ("株式会社ニトリ", "Nitori Co., Ltd.", "JP"),
    ("ヤマハ株式会社", "Yamaha Corporation", "JP"), ("スズキ株式会社", "Suzuki Motor Corporation", "JP"),
    ("本田技研工業株式会社", "Honda Motor Co., Ltd.", "JP"), ("株式会社ニコン", "Nikon Corporation", "JP"),
    ("株式会社セガ", "Sega Corporation", "JP"), ("コナミ株式会社", "Konami Corporation", "JP"), ("キヤノン株式会社", "Canon Inc.", "JP"),
    ("カシオ計算機株式会社", "Casio Computer Co., Ltd.", "JP"), ("株式会社リコー", "Ricoh Company, Ltd.", "JP"),
    ("株式会社カプコン", "Capcom Co., Ltd.", "JP"), ("ヤクルト本社", "Yakult Honsha", "JP"), ("株式会社マキタ", "Makita Corporation", "JP"),
    ("株式会社デンソー", "Denso Corporation", "JP"), ("株式会社クボタ", "Kubota Corporation", "JP"), ("株式会社ユニクロ", "Uniqlo Co., Ltd.", "JP"),
    ("株式会社バンダイ", "Bandai Co., Ltd.", "JP"), ("株式会社タカラトミー", "Takara Tomy Co., Ltd.", "JP"), ("株式会社ヤマダ", "Yamada Co., Ltd.", "JP"),
    ("삼성전자", "Samsung Electronics", "KR"), ("현대자동차", "Hyundai Motor Company", "KR"), ("카카오", "Kakao", "KR"),
    ("네이버", "Naver", "KR"), ("한화", "Hanwha", "KR"), ("기아", "Kia", "KR"), ("롯데", "Lotte", "KR"), ("신한은행", "Shinhan Bank", "KR"),
    ("코웨이", "Coway", "KR"), ("넥슨", "Nexon", "KR"), ("Κωτσόβολος", "Kotsovolos", "GR"), ("ΟΤΕ", "OTE", "GR"),
    ("Μυτιληναίος", "Mytilineos", "GR"), ("Αλουμύλ", "Alumil", "GR"), ("Τιτάν", "Titan", "GR"), ("Πλαίσιο", "Plaisio", "GR"),
]

# Parents and the subsidiaries whose contacts write from the parent's domain. Compiled by the project (public facts).
PARENTS = [
    ("Alphabet", "google.com", ["YouTube", "Waymo", "Verily", "DeepMind", "Fitbit", "Nest Labs"]),
    ("Microsoft", "microsoft.com", ["LinkedIn", "GitHub", "Mojang", "Nuance Communications", "Xamarin"]),
    ("Meta Platforms", "meta.com", ["Instagram", "WhatsApp", "Oculus"]),
    ("Amazon", "amazon.com", ["Zappos", "Twitch Interactive", "Audible", "Ring", "Whole Foods Market"]),
    ("Salesforce", "salesforce.com", ["Tableau Software", "Slack Technologies", "MuleSoft", "Heroku"]),
    ("Adobe", "adobe.com", ["Marketo", "Magento", "Figma Design", "Frame.io"]),
    ("Oracle", "oracle.com", ["NetSuite", "Cerner", "MySQL AB"]),
    ("Cisco Systems", "cisco.com", ["Webex", "Meraki", "Duo Security", "Splunk Services"]),
    ("Intuit", "intuit.com", ["Mailchimp", "Credit Karma", "TurboTax"]),
    ("Atlassian", "atlassian.com", ["Trello", "Loom Video", "Opsgenie"]),
    ("Siemens", "siemens.com", ["Mendix", "Mentor Graphics", "Bentley Infra"]),
    ("Unilever", "unilever.com", ["Dollar Shave Club", "Ben & Jerry's Homemade", "Seventh Generation"]),
    ("Nestlé", "nestle.com", ["Nespresso", "Purina", "Gerber Products"]),
    ("Volkswagen", "volkswagen.de", ["Audi", "Porsche", "Skoda Auto", "Scania"]),
    ("Thermo Fisher Scientific", "thermofisher.com", ["Invitrogen", "Patheon", "PPD Development"]),
    ("Broadcom", "broadcom.com", ["VMware", "Symantec Enterprise", "CA Technologies"]),
]

FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "icloud.com", "proton.me", "aol.com", "yahoo.co.uk", "web.de"]
PEOPLE = ["jane.doe", "john.smith", "maria.garcia", "li.wei", "amit.patel", "olga.ivanova", "ken.sato", "sara.rossi",
          "pierre.martin", "anna.schmidt", "chloe.dubois", "noah.kim", "ahmed.khan", "lucas.silva", "emma.jones"]
SOCIAL = ["https://www.linkedin.com/company/{slug}", "linkedin.com/company/{slug}/about", "https://facebook.com/{slug}",
          "www.facebook.com/{slug}", "https://twitter.com/{slug}", "instagram.com/{slug}", "google.com",
          "https://www.google.com/maps/place/{slug}", "bit.ly/{code}", "https://goo.gl/{code}", "https://youtube.com/@{slug}",
          "https://sites.google.com/view/{slug}", "https://{slug}.wordpress.com", "https://linktr.ee/{slug}",
          "https://www.crunchbase.com/organization/{slug}", "https://{slug}.surge.sh", "github.com/{slug}"]
TLD = {"US": "com", "GB": "co.uk", "DE": "de", "FR": "fr", "JP": "co.jp", "CN": "com.cn", "TW": "com.tw", "KR": "co.kr",
       "IN": "in", "BR": "com.br", "CA": "ca", "IT": "it", "ES": "es", "NL": "nl", "SE": "se", "CH": "ch", "AU": "com.au",
       "RU": "ru", "UA": "ua", "GR": "gr"}
COUNTRY_WRITING = {"US": ["US", "USA", "United States", "United States of America"], "GB": ["GB", "UK", "United Kingdom"],
                   "DE": ["DE", "Germany", "Deutschland"], "FR": ["FR", "France"], "JP": ["JP", "Japan"], "KR": ["KR", "South Korea", "Korea, Republic of"],
                   "RU": ["RU", "Russia", "Russian Federation"], "CN": ["CN", "China"], "TW": ["TW", "Taiwan"]}
ABBREVIATE = [("International", ["Intl", "Int'l", "Intl."]), ("Manufacturing", ["Mfg", "Mfg."]), ("Corporation", ["Corp", "Corp."]),
              ("Services", ["Svcs", "Svcs."]), ("Management", ["Mgmt"]), ("Laboratories", ["Labs"]), ("Associates", ["Assoc"]),
              ("Brothers", ["Bros"]), ("Systems", ["Sys"]), ("Engineering", ["Engg"]), ("Industries", ["Inds"]), ("Company", ["Co"])]
LEGAL_SUFFIX = {"US": ["Inc.", "LLC", "Corp.", "Inc"], "GB": ["Ltd", "Limited", "PLC"], "DE": ["GmbH", "AG"], "FR": ["SAS", "SA", "SARL"],
                "JP": ["K.K.", "Co., Ltd."], "CN": ["Co., Ltd."], "TW": ["Co., Ltd."], "KR": ["Co., Ltd."], "IN": ["Pvt Ltd", "Private Limited"]}
PREFIX_FORMS = [("AG", "DE", "AG"), ("AG", "CH", "AG"), ("PT", "ID", "Tbk"), ("OOO", "RU", ""), ("Kabushiki Kaisha", "JP", "K.K."),
                ("UAB", "LT", ""), ("SIA", "LV", ""), ("JSC", "KZ", "")]


def split_of(name):
    return "heldout" if int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % 2 else "dev"


def fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if unicodedata.category(c) != "Mn")


def slug(name, words=2):
    ws = re.findall(r"[a-z0-9]+", fold(name).lower())
    legal = {"inc", "llc", "ltd", "limited", "corp", "corporation", "co", "gmbh", "ag", "sa", "sas", "sarl", "plc", "kk", "bv", "nv", "oy", "ab", "spa", "srl", "pvt", "pte"}
    ws = [w for w in ws if w not in legal] or ws
    return "".join(ws[:words])


def load_oui():
    codes = {l.split("\t")[0] for l in open(COUNTRIES, encoding="utf-8") if l.strip() and not l.startswith("#")}
    out, seen = {}, set()
    for r in csv.DictReader(open(OUI, encoding="utf-8")):
        toks = r["Organization Address"].split()
        cc = next((t for t in reversed(toks) if t in codes), None)
        n = " ".join(r["Organization Name"].split())
        # One organization is often listed several times, written differently: keep its first spelling only.
        plain = re.sub(r"\b(inc|llc|ltd|limited|co|corp|corporation|gmbh|ag|sa|kk)\b", "", re.sub(r"[^a-z0-9 ]", " ", fold(n).lower()))
        plain = "".join(plain.split())
        if cc and n and plain and plain not in seen and n.isprintable():
            seen.add(plain)
            out[n] = cc
    return out


def load_psl_orgs():
    orgs, private = [], False
    for line in open(PSL, encoding="utf-8"):
        if "BEGIN PRIVATE" in line:
            private = True
        m = re.match(r"^// (.+?) : (https?://\S+)", line) if private else None
        if m:
            host = re.sub(r"^https?://(www\.)?", "", m.group(2)).split("/")[0].lower()
            if re.fullmatch(r"[a-z0-9-]+\.[a-z.]+", host) and len(m.group(1)) < 40:
                orgs.append((m.group(1).strip(), host))
    return orgs


def load_partner_sample():
    seen = {}
    for side in ("alpha/customers", "alpha/prospects", "beta/customers", "beta/opportunities"):
        for r in csv.DictReader(open(os.path.join(PARTNERS, side + ".csv"), encoding="utf-8")):
            site = re.sub(r"^\s*(https?://)?(www\.)?", "", r["Website"].strip().lower()).split("/")[0]
            name = " ".join(r["Account Name"].split())
            if re.fullmatch(r"[a-z0-9-]+\.[a-z.]+", site) and name and name.lower() not in seen:
                seen[name.lower()] = (name, site)
    return list(seen.values())


class Sample:
    def __init__(self, rng):
        self.rng = rng
        self.alpha, self.beta = [], []
        self.entity = 0
        self.difficulty = {}
        self.domains = set()

    def new_entity(self):
        self.entity += 1
        return self.entity

    def website(self, domain):
        r = self.rng.random()
        if r < 0.3:
            return domain
        if r < 0.55:
            return "www." + domain
        if r < 0.8:
            return "https://www." + domain + "/"
        return "http://" + domain + self.rng.choice(["/about", "/en/", "/contact?ref=crm", ""])

    def email(self, domain):
        return self.rng.choice(PEOPLE) + "@" + domain

    def free_email(self):
        return self.rng.choice(PEOPLE).replace(".", "") + str(self.rng.randint(1, 99)) + "@" + self.rng.choice(FREE_MAIL)

    def country(self, code):
        return self.rng.choice(COUNTRY_WRITING.get(code, [code]))

    def add(self, side, entity, name, website="", email="", country="", difficulty=None):
        rows = self.alpha if side == "alpha" else self.beta
        prefix = "A" if side == "alpha" else "B"
        rid = f"{prefix}-{len(rows) + 1:05d}"
        case = self.rng.random()
        shown = name.upper() if case < 0.08 else (name.lower() if case < 0.14 else name)
        rows.append({"Account ID": rid, "Account Name": shown, "Website": website, "Primary Contact Email": email,
                     "Billing Country": country, "Owner": self.rng.choice(["ana", "bo", "cy", "dee"]) + "@" + side + ".example",
                     "Stage": self.rng.choice(["Discovery", "Evaluation", "Proposal", "Negotiation", "Customer"]), "_entity": entity})
        if side == "alpha" and difficulty:
            self.difficulty[rid] = difficulty
        return rid


def domain_for(name, code, taken, rng):
    base = slug(name, rng.choice([1, 2]))
    if len(base) < 3:
        base = slug(name, 3)
    if len(base) < 3:
        return None
    domain = f"{base}.{TLD.get(code, 'com')}"
    if domain in taken:
        domain = f"{slug(name, 3)}-{code.lower()}.com"
    if domain in taken:
        return None
    taken.add(domain)
    return domain


def typo(name, rng):
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    i = rng.choice(letters[1:-1] or letters)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap" and i + 1 < len(name) and name[i + 1].isalpha():
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if kind == "drop":
        return name[:i] + name[i + 1:]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    near = {"a": "s", "s": "a", "e": "r", "r": "e", "i": "o", "o": "i", "n": "m", "m": "n", "t": "y", "c": "v", "l": "k", "u": "y"}
    c = name[i].lower()
    return name[:i] + near.get(c, "e" if c != "e" else "a") + name[i + 1:]


def build(split, oui, psl_orgs, partner_orgs, seed):
    rng = random.Random(seed)
    s = Sample(rng)
    taken = set()
    pool = [(n, cc) for n, cc in oui.items() if split_of(n) == split]
    rng.shuffle(pool)
    real = [(n, d) for n, d in psl_orgs + partner_orgs if split_of(n) == split]
    taken.update(d for _, d in psl_orgs + partner_orgs)
    rng.shuffle(real)
    # How many organizations of the whole listing use a word: the generator's own idea of a common word.
    words = {}
    for n in oui:
        for w in set(t for t in re.split(r"[\s,.()&/-]+", fold(n).lower()) if t.isalpha()):
            words[w] = words.get(w, 0) + 1
    it = iter(pool)
    used = set()  # every organization plays one company only

    def company():
        while True:
            n, cc = next(it)
            if n not in used and re.search(r"[A-Za-z]{3}", n) and len(n) < 45:
                used.add(n)
                return n, cc

    def unused(candidates, count):
        out = []
        for c in candidates:
            n = c[0] if isinstance(c, tuple) else c
            if n not in used and len(out) < count:
                used.add(n)
                out.append(c)
        return out

    def legal(name, cc):
        if re.search(r"\b(inc|llc|ltd|limited|corp|corporation|gmbh|ag|sa|co|kk|plc|bv|ab|oy)\.?$", name, re.I):
            return name
        return name if rng.random() < 0.4 else f"{name} {rng.choice(LEGAL_SUFFIX.get(cc, ['Ltd', 'Inc.']))}"

    # ---- easy: one company, both sides, the way the partner sample writes it (shared domain or name + country)
    for n, d in real[:150]:
        e = s.new_entity()
        cc = rng.choice(["US", "US", "GB", "DE", "FR", "CA"])
        s.add("alpha", e, legal(n, cc), s.website(d), s.email(d) if rng.random() < 0.5 else "", s.country(cc), "easy")
        s.add("beta", e, n, s.website(d) if rng.random() < 0.8 else "", s.email(d) if rng.random() < 0.4 else "", s.country(cc))
    for _ in range(100):
        n, cc = company()
        d = domain_for(n, cc, taken, rng)
        e = s.new_entity()
        s.add("alpha", e, n, s.website(d) if d and rng.random() < 0.6 else "", "", s.country(cc), "easy")
        s.add("beta", e, n if rng.random() < 0.5 else fold(n), s.website(d) if d and rng.random() < 0.6 else "", s.email(d) if d and rng.random() < 0.5 else "", s.country(cc))

    # ---- a social, search, link-shortener or hosting URL in the website field
    for i in range(60):
        n, cc = company()
        slug_ = slug(n, 2)
        url = rng.choice(SOCIAL).format(slug=slug_, code="".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(7)))
        if i % 2 == 0:  # a different company on the other side with a platform URL too: must not match
            e1, e2 = s.new_entity(), s.new_entity()
            m, cc2 = company()
            url2 = rng.choice(SOCIAL).format(slug=slug(m, 2), code="x" + str(i))
            if "{" not in url2 and url2.split("/")[0] == url.split("/")[0]:
                pass
            s.add("alpha", e1, legal(n, cc), url, "", s.country(cc), "social_url")
            s.add("beta", e2, legal(m, cc2), rng.choice(["google.com", "https://www.linkedin.com/", "linkedin.com/company/" + slug(m, 2), url.split("?")[0]]), "", s.country(cc2))
        else:  # the same company: a platform URL on one side, its own site on the other
            e = s.new_entity()
            d = domain_for(n, cc, taken, rng)
            s.add("alpha", e, legal(n, cc), url, "", s.country(cc), "social_url")
            s.add("beta", e, n, s.website(d) if d else "", "", s.country(cc))

    # ---- two different companies with the same generic name in one country, no domain
    plain = lambda n: [t for t in re.split(r"[\s,.]+", fold(n).lower()) if t and t not in {"inc", "llc", "ltd", "co", "corp", "gmbh", "limited", "corporation"}]
    generic = [n for n, cc in pool if 2 <= len(plain(n)) <= 3 and all(t.isalpha() and len(t) >= 3 and words.get(t, 0) >= 40 for t in plain(n))]
    rng.shuffle(generic)
    for n in unused(generic, 60)[:40]:
        cc = oui[n]
        e1, e2 = s.new_entity(), s.new_entity()
        s.add("alpha", e1, n, "", s.free_email() if rng.random() < 0.5 else "", s.country(cc), "generic_same_name")
        s.add("beta", e2, n, "", "", s.country(cc))
    for n in [g for g in generic if g in used][40:60]:  # the same generic company with its site on both sides: still an overlap
        cc = oui[n]
        d = domain_for(n, cc, taken, rng)
        if not d:
            continue
        e = s.new_entity()
        s.add("alpha", e, n, s.website(d), "", s.country(cc), "generic_same_name")
        s.add("beta", e, n, "", s.email(d), s.country(cc))

    # ---- a subsidiary whose contacts write from the parent's e-mail domain
    parents = [p for p in PARENTS if split_of(p[0]) == split] or PARENTS[:4]
    for parent, pdomain, subs in parents:
        pe = s.new_entity()
        s.add("beta", pe, parent, s.website(pdomain), "", s.country("US"))
        for sub in subs:
            se = s.new_entity()
            sd = slug(sub, 2) + ".com"
            if sd in taken:
                continue
            taken.add(sd)
            s.add("alpha", se, sub, s.website(sd) if rng.random() < 0.7 else "", s.email(pdomain), s.country("US"), "subsidiary_parent_email")
            if rng.random() < 0.5:  # the subsidiary itself is on the other side too
                s.add("beta", se, sub, s.website(sd), "", s.country("US"))

    # ---- abbreviations (no shared domain: one side has none)
    long_names = [(n, cc) for n, cc in pool if any(re.search(r"\b" + full + r"\b", n, re.I) for full, _ in ABBREVIATE)]
    rng.shuffle(long_names)
    for n, cc in unused(long_names, 60):
        e = s.new_entity()
        short = n
        for full, abbr in ABBREVIATE:
            short = re.sub(r"\b" + full + r"\b", rng.choice(abbr), short, flags=re.I)
        d = domain_for(n, cc, taken, rng)
        s.add("alpha", e, short, "", s.free_email() if rng.random() < 0.5 else "", s.country(cc), "abbreviation")
        s.add("beta", e, n, s.website(d) if d and rng.random() < 0.5 else "", "", s.country(cc))

    # ---- a one-character typo in the name
    for _ in range(60):
        n, cc = company()
        e = s.new_entity()
        d = domain_for(n, cc, taken, rng)
        s.add("alpha", e, typo(n, rng), "", s.free_email() if rng.random() < 0.5 else "", s.country(cc), "typo")
        s.add("beta", e, n, s.website(d) if d and rng.random() < 0.5 else "", "", s.country(cc))

    # ---- legal form before the name, or another word order
    for _ in range(40):
        n, _cc = company()
        form, cc, suffix = rng.choice(PREFIX_FORMS)
        base = slug(n, 9) and " ".join(w for w in n.split() if w.rstrip(".,").lower() not in {"inc", "llc", "ltd", "corp", "gmbh", "ag", "co", "limited"})
        e = s.new_entity()
        s.add("alpha", e, f"{form} {base}", "", "", s.country(cc), "legal_form_order")
        s.add("beta", e, f"{base} {suffix}".strip() if rng.random() < 0.7 else base, "", s.free_email() if rng.random() < 0.3 else "", s.country(cc))
    for n, cc in unused([(n, cc) for n, cc in pool if re.match(r"^(University|Institute|Bank|Academy|College) of \w+$", n)], 15):
        m = re.match(r"^(\w+) of (\w+)$", n)
        e = s.new_entity()
        s.add("alpha", e, f"{m.group(2)} {m.group(1)}", "", "", s.country(cc), "legal_form_order")
        s.add("beta", e, n, "", "", s.country(cc))

    # ---- diacritics in one CRM and not the other
    accented = [(n, cc) for n, cc in pool if re.search(r"[äöüÄÖÜåÅøØéèêàçñóíúâôîßæ]", n) and len(n) < 45]
    rng.shuffle(accented)
    for n, cc in unused(accented, 50):
        e = s.new_entity()
        if re.search(r"[äöüÄÖÜåÅøØ]", n) and rng.random() < 0.6:
            plain = n
            for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("å", "aa"), ("Å", "Aa"), ("ø", "oe"), ("Ø", "Oe")):
                plain = plain.replace(a, b)
        else:
            plain = fold(n)
        s.add("alpha", e, plain, "", "", s.country(cc), "diacritics")
        s.add("beta", e, n, "", s.free_email() if rng.random() < 0.3 else "", s.country(cc))

    # ---- a non-Latin legal name in one CRM, the Latin name in the other
    for native, latin, cc in [x for x in NON_LATIN if split_of(x[1]) == split]:
        e = s.new_entity()
        d = slug(latin, 1) + "." + TLD.get(cc, "com")
        taken.add(d)
        s.add("alpha", e, native, "", "", s.country(cc), "non_latin")
        s.add("beta", e, latin, s.website(d) if rng.random() < 0.5 else "", "", s.country(cc))

    # ---- a company under a corporate and a brand domain
    for _ in range(40):
        n, cc = company()
        brand = domain_for(n, cc, taken, rng)
        if not brand:
            continue
        corp = slug(n, 1) + rng.choice(["group", "-corp", "holdings", "inc"]) + ".com"
        if corp in taken:
            continue
        taken.add(corp)
        e = s.new_entity()
        if rng.random() < 0.5:  # the account's contacts write from the corporate domain
            s.add("alpha", e, legal(n, cc), s.website(brand), s.email(corp), s.country(cc), "brand_domain")
        else:
            s.add("alpha", e, legal(n, cc), s.website(brand), "", s.country(cc), "brand_domain")
        s.add("beta", e, n, s.website(corp), "", s.country(cc))

    # ---- several records of one company in one CRM
    for _ in range(30):
        n, cc = company()
        d = domain_for(n, cc, taken, rng)
        if not d:
            continue
        e = s.new_entity()
        s.add("alpha", e, legal(n, cc), s.website(d), "", s.country(cc), "duplicates")
        s.add("alpha", e, n, "", s.free_email(), s.country(cc), "duplicates")
        s.add("alpha", e, n.upper(), "", s.email(d), "", "duplicates")
        s.add("beta", e, n, s.website(d) if rng.random() < 0.5 else "", "", s.country(cc))

    # ---- e-mail at a free-mail provider only
    for _ in range(50):
        n, cc = company()
        d = domain_for(n, cc, taken, rng)
        e = s.new_entity()
        s.add("alpha", e, legal(n, cc), "", s.free_email(), s.country(cc), "free_mail_only")
        s.add("beta", e, n, s.website(d) if d else "", "", s.country(cc))

    # ---- what no rule can see: a rebrand with no shared identifier, and two companies with one distinctive name
    for _ in range(15):
        n, cc = company()
        m, _ = company()
        e = s.new_entity()
        s.add("alpha", e, n, "", "", s.country(cc), "unseeable")
        s.add("beta", e, m, "", "", s.country(cc))
    for _ in range(15):
        n, cc = company()
        e1, e2 = s.new_entity(), s.new_entity()
        s.add("alpha", e1, n, "", "", s.country(cc), "unseeable")
        s.add("beta", e2, n, "", s.free_email(), s.country(cc))

    # ---- accounts only one side has
    for side in ("alpha", "beta"):
        for _ in range(350):
            n, cc = company()
            d = domain_for(n, cc, taken, rng)
            r = rng.random()
            s.add(side, s.new_entity(), legal(n, cc), s.website(d) if d and r < 0.6 else "", s.email(d) if d and r > 0.8 else (s.free_email() if r > 0.7 else ""),
                  s.country(cc), "alone" if side == "alpha" else None)
    return s


def write(split, s):
    base = os.path.join(OUT, split)
    rng = random.Random(split)
    truth = {"records": {"alpha/accounts": {}, "beta/accounts": {}}, "difficulty": s.difficulty}
    beta_entities = {r["_entity"] for r in s.beta}
    for side, rows in (("alpha", s.alpha), ("beta", s.beta)):
        rows = rows[:]
        rng.shuffle(rows)
        os.makedirs(os.path.join(base, side), exist_ok=True)
        with open(os.path.join(base, side, "accounts.csv"), "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, ["Account ID", "Account Name", "Website", "Primary Contact Email", "Billing Country", "Owner", "Stage"],
                               lineterminator="\r\n", extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        for r in rows:
            truth["records"][f"{side}/accounts"][r["Account ID"]] = r["_entity"]
    alpha_true = sorted(r["Account ID"] for r in s.alpha if r["_entity"] in beta_entities)
    alpha_entities = {r["_entity"] for r in s.alpha}
    beta_true = sorted(r["Account ID"] for r in s.beta if r["_entity"] in alpha_entities)
    truth["pairs"] = {"alpha/accounts~beta/accounts": {"alpha_records": alpha_true, "beta_records": beta_true}}
    with open(os.path.join(base, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{split}: alpha {len(s.alpha)} records, beta {len(s.beta)}, alpha records that overlap {len(alpha_true)}")


def main():
    if not os.path.exists(OUI):
        print(f"{OUI} is missing: apt-get install ieee-data", file=sys.stderr)
        return 1
    oui = load_oui()
    psl_orgs = load_psl_orgs()
    partner_orgs = load_partner_sample()
    for split, seed in (("dev", 20261130), ("heldout", 777013)):
        write(split, build(split, oui, psl_orgs, partner_orgs, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
