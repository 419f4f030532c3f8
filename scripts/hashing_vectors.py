#!/usr/bin/env python3
"""Generates tests/data/hashing-vectors.json, the published test vectors of the identifier hashing
specification (docs/hashing.md), from the Python reference implementation (scripts/hashing_reference.py).

    python3 scripts/hashing_vectors.py            # (re)write tests/data/hashing-vectors.json
    python3 scripts/hashing_vectors.py --check    # exit 1 if the file differs from what the reference gives

Every key, reason and hash in the file comes from hashing_reference.py; this script only lists the inputs.
The C# client is checked against the file by tests/OverlapEscrow.Client.Tests.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hashing_reference as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "hashing-vectors.json")

# (id, kind, input, country, note). kind "website" and "email" give a key of type "domain"; "name" gives a key of
# type "name" (name|country) and one of type "name_only".
CASES = [
    # ---- Websites: URL syntax -------------------------------------------------------------------------------------
    ("domain-001", "website", "acme.com", None, "a bare registrable domain is its own key"),
    ("domain-002", "website", "https://www.acme.com/", None, "scheme, www. subdomain and path are removed"),
    ("domain-003", "website", "HTTP://WWW.ACME.COM", None, "upper case: scheme and host are case-insensitive, the key is lower case"),
    ("domain-004", "website", "  acme.com  ", None, "white space around the value is trimmed"),
    ("domain-005", "website", "acme.com.", None, "a trailing dot (fully qualified form) is removed"),
    ("domain-006", "website", "https://acme.com:8443/about", None, "a port is removed"),
    ("domain-007", "website", "acme.com:", None, "an empty port is removed"),
    ("domain-008", "website", "acme.com/contact?ref=x#top", None, "path, query and fragment without a scheme"),
    ("domain-009", "website", "https://acme.com?utm_source=crm", None, "a query directly after the host"),
    ("domain-010", "website", "acme.com#about", None, "a fragment directly after the host"),
    ("domain-011", "website", "acme.com\\about", None, "a backslash ends the host like a slash"),
    ("domain-012", "website", "https://user:secret@acme.com/", None, "userinfo before the host is removed"),
    ("domain-013", "website", "//acme.com/path", None, "a scheme-relative URL ('//' without a scheme)"),
    ("domain-014", "website", "ftp://files.acme.com", None, "any scheme, and a subdomain other than www"),
    ("domain-015", "website", "https://acme.com/contact?to=sales@globex.example", None,
     "a value with '://' is a URL even when it holds '@': an '@' after the host is ignored"),
    ("domain-016", "website", "http://user:pw@acme.com:8080/x?y#z", None, "userinfo, port, path, query and fragment together"),
    # ---- Websites: Public Suffix List -----------------------------------------------------------------------------
    ("domain-017", "website", "investors.acme.co.uk", None, "PSL multi-level suffix co.uk: registrable domain is suffix plus one label"),
    ("domain-018", "website", "https://www.Acme.co.uk/about", None, "co.uk with scheme, www., mixed case and path"),
    ("domain-019", "website", "loja.exemplo.com.br", None, "PSL multi-level suffix com.br"),
    ("domain-020", "website", "shop.acme.com.au", None, "PSL multi-level suffix com.au"),
    ("domain-021", "website", "www.acme.b.ck", None, "PSL wildcard rule *.ck: b.ck is a public suffix"),
    ("domain-022", "website", "www.ck", None, "PSL exception rule !www.ck: www.ck is registrable although *.ck matches"),
    ("domain-023", "website", "shop.acme.foo.kawasaki.jp", None, "PSL wildcard rule *.kawasaki.jp: foo.kawasaki.jp is a public suffix"),
    ("domain-024", "website", "www.city.kawasaki.jp", None, "PSL exception rule !city.kawasaki.jp: the suffix is kawasaki.jp"),
    ("domain-025", "website", "acme.github.io", None, "PRIVATE section suffix github.io: each site is its own registrable domain"),
    ("domain-026", "website", "docs.acme.github.io", None, "PRIVATE section suffix github.io with a subdomain"),
    ("domain-027", "website", "github.io", None, "a host that is itself a public suffix (PRIVATE section) gives no key"),
    ("domain-028", "website", "co.uk", None, "a host that is itself a public suffix (ICANN section) gives no key"),
    ("domain-029", "website", "foo.kawasaki.jp", None, "a host matched by a wildcard rule is a public suffix"),
    ("domain-030", "website", "acme.example", None, "a TLD without a PSL rule: the implicit rule '*' makes the last label the suffix"),
    # ---- Websites: internationalized domain names -------------------------------------------------------------------
    ("domain-031", "website", "bücher.de", None, "IDN: ü becomes the A-label xn--bcher-kva"),
    ("domain-032", "website", "xn--bcher-kva.de", None, "an A-label input gives the same key as its Unicode form"),
    ("domain-033", "website", "www.BÜCHER.de", None, "IDN upper case is mapped to lower case"),
    ("domain-034", "website", "faß.de", None, "nontransitional processing: ß is kept (xn--fa-hia), not mapped to ss"),
    ("domain-035", "website", "fass.de", None, "fass.de is a different key from faß.de"),
    ("domain-036", "website", "例え.jp", None, "IDN in CJK script"),
    ("domain-037", "website", "пример.рф", None, "IDN label under an IDN top-level domain (рф is xn--p1ai)"),
    ("domain-038", "website", "acme.公司.cn", None, "PSL rule written in Unicode (公司.cn) is matched in A-label form"),
    ("domain-039", "website", "ＡＣＭＥ.com", None, "full-width letters are mapped to ASCII by UTS #46"),
    ("domain-040", "website", "www.acme\u3002com", None,
     "after the dot check, UTS #46 maps the ideographic full stop U+3002 to '.', so it separates labels"),
    ("domain-041", "website", "acme\u3002com", None, "the dot check looks for U+002E only: U+3002 alone is no dot"),
    ("domain-042", "website", "xn--abc.com", None, "an A-label that is not valid Punycode is an invalid host"),
    # ---- Websites: no key -------------------------------------------------------------------------------------------
    ("domain-043", "website", "N/A", None, "placeholder (case-insensitive)"),
    ("domain-044", "website", "-", None, "placeholder"),
    ("domain-045", "website", "none", None, "placeholder"),
    ("domain-046", "website", "No website", None, "placeholder"),
    ("domain-047", "website", "", None, "empty value"),
    ("domain-048", "website", ".", None, "placeholder: a lone dot"),
    ("domain-049", "website", "n.a.", None, "placeholder with periods"),
    ("domain-050", "website", "TBD", None, "placeholder (case-insensitive)"),
    ("domain-051", "website", "   ", None, "white space only"),
    ("domain-052", "website", "192.168.0.1", None, "IPv4 address"),
    ("domain-053", "website", "http://10.0.0.1:8080/admin", None, "IPv4 address with scheme, port and path"),
    ("domain-054", "website", "[2001:db8::1]", None, "IPv6 address in brackets"),
    ("domain-055", "website", "http://[2001:db8::1]:8080/", None, "IPv6 address in a URL with a port"),
    ("domain-056", "website", "localhost", None, "localhost"),
    ("domain-057", "website", "http://localhost:3000", None, "localhost in a URL"),
    ("domain-058", "website", "acme", None, "a single label (no dot)"),
    ("domain-059", "website", "my_company.com", None, "an underscore is not allowed in a host name (STD3 / LDH)"),
    ("domain-060", "website", "acme..com", None, "an empty label"),
    ("domain-061", "website", "-acme.com", None, "a label may not start with a hyphen"),
    ("domain-062", "website", "acme .com", None, "white space inside the host"),
    ("domain-063", "website", "a" * 64 + ".com", None, "a label longer than 63 characters"),
    # ---- Websites: an e-mail address in the website field -----------------------------------------------------------
    ("domain-064", "website", "jane@acme.com", None, "'@' without '://': the value is read as an e-mail address"),
    ("domain-065", "website", "mailto:jane@acme.com", None, "a mailto: link in the website field"),
    ("domain-066", "website", "jane@gmail.com", None, "an e-mail address in the website field follows the e-mail rule, free-mail list included"),
    # ---- E-mail addresses -------------------------------------------------------------------------------------------
    ("email-001", "email", "jane.doe@acme.com", None, "plain address"),
    ("email-002", "email", "Jane.Doe@Sales.Globex.DE", None, "subdomain and upper case in the domain"),
    ("email-003", "email", "Jane Doe <jane@acme.co.uk>", None, "display name with the address in angle brackets"),
    ("email-004", "email", "\"Doe, Jane\" <jane@acme.com>", None, "quoted display name holding a comma"),
    ("email-005", "email", "mailto:jane@acme.com?subject=Hello&cc=bob@globex.example", None,
     "mailto: link: the query is removed before the last '@' is looked for"),
    ("email-006", "email", "MAILTO:Jane@Acme.com", None, "mailto: is case-insensitive"),
    ("email-007", "email", "  jane@acme.com  ", None, "white space around the value is trimmed"),
    ("email-008", "email", "jane@acme.com.", None, "a trailing dot in the domain"),
    ("email-009", "email", "a@b@acme.com", None, "the domain follows the last '@'"),
    ("email-010", "email", "jane@bücher.de", None, "IDN e-mail domain"),
    ("email-011", "email", "jane@acme.github.io", None, "PRIVATE section suffix in an e-mail domain"),
    ("email-012", "email", "jane@gmail.com", None, "free-mail provider"),
    ("email-013", "email", "Jane@GMAIL.COM", None, "free-mail provider, upper case"),
    ("email-014", "email", "jane@mail.gmx.de", None, "a subdomain of a free-mail domain: the list is matched on the registrable domain"),
    ("email-015", "email", "jane@yahoo.co.uk", None, "free-mail domain under a multi-level public suffix"),
    ("email-016", "email", "acme.com", None, "no '@': not an e-mail address"),
    ("email-017", "email", "@acme.com", None, "empty local part: not an e-mail address"),
    ("email-018", "email", "jane@", None, "empty domain"),
    ("email-019", "email", "jane@localhost", None, "domain without a dot"),
    ("email-020", "email", "jane@[192.168.0.1]", None, "address literal"),
    ("email-021", "email", "jane@my_site.com", None, "invalid host name in the domain"),
    ("email-022", "email", "n/a", None, "the e-mail rule has no placeholder list: a placeholder has no '@'"),
    ("email-023", "email", "", None, "empty value"),
    # ---- Company names ----------------------------------------------------------------------------------------------
    ("name-001", "name", "Acme", None, "no country: the key ends in '|'"),
    ("name-002", "name", "ACME, Inc.", "US", "case, comma and the legal form Inc. are removed"),
    ("name-003", "name", "Acme Ltd.", "United Kingdom", "Ltd. removed; English country name"),
    ("name-004", "name", "Acme Limited", "UK", "Limited removed; UK is GB"),
    ("name-005", "name", "  Acme   Corp  ", "us", "white space trimmed and collapsed; lower-case country code"),
    ("name-006", "name", "Müller GmbH", "DE", "ü loses its diaeresis (NFKD, marks dropped), GmbH removed"),
    ("name-007", "name", "Straßenbau AG", "Deutschland", "ß becomes ss; AG removed; local country name alias"),
    ("name-008", "name", "Ærø Shipping A/S", "DK", "æ becomes ae, ø becomes o; the legal form A/S"),
    ("name-009", "name", "Łódź Logistics Sp. z o.o.", "Poland", "ł becomes l; the legal form Sp. z o.o."),
    ("name-010", "name", "Đorđević d.o.o.", "Serbia", "đ becomes d; the legal form d.o.o."),
    ("name-011", "name", "Þór hf.", "Iceland", "þ becomes th; the legal form hf."),
    ("name-012", "name", "Œuvre Conseil SAS", "FR", "œ becomes oe; the legal form SAS"),
    ("name-013", "name", "Işık Holding A.Ş.", "Türkiye", "dotless ı becomes i; A.Ş. and Holding stripped in turn"),
    ("name-014", "name", "Johnson & Johnson", "USA", "'&' reads as 'and'; USA alias"),
    ("name-015", "name", "A+B Consulting", "DE", "'+' reads as 'and'"),
    ("name-016", "name", "Procter & Gamble Co.", "US", "Co. removed"),
    ("name-017", "name", "Smith & Co", "GB", "dangling 'and' removed once Co is stripped"),
    ("name-018", "name", "O'Brien's Pub Ltd", "IE", "ASCII apostrophes are deleted, not separators"),
    ("name-019", "name", "McDonald\u2019s Corporation", "US", "right single quotation mark U+2019 is deleted like an apostrophe"),
    ("name-020", "name", "Fiat S.p.A.", "ITA", "periods deleted so S.p.A. is spa; alpha-3 country code"),
    ("name-021", "name", "Cemex S.A. de C.V.", "Mexico", "the three-word legal form S.A. de C.V."),
    ("name-022", "name", "Robert Bosch GmbH & Co. KG", "Germany", "the legal form GmbH & Co. KG"),
    ("name-023", "name", "Toyota Motor K.K.", "JP", "the legal form K.K."),
    ("name-024", "name", "Foxconn Technology Co., Ltd.", "Taiwan", "the legal form Co., Ltd."),
    ("name-025", "name", "Acme Holdings Ltd.", "GB", "stacked legal forms: Ltd., then Holdings"),
    ("name-026", "name", "Acme Holding AG & Co. KGaA", "DE", "stacked legal forms with a dangling 'and' in between"),
    ("name-027", "name", "GmbH", "DE", "a name that is only a legal form keeps it (the last word is never removed)"),
    ("name-028", "name", "Limited Ltd", None, "a name made only of legal forms keeps its first word"),
    ("name-029", "name", "The Boring Company", "US", "a leading 'The' is removed; Company removed"),
    ("name-030", "name", "the acme company, inc.", "US", "lower-case 'the'; stacked Company and Inc."),
    ("name-031", "name", "The", None, "'The' alone is kept (the last word is never removed)"),
    ("name-032", "name", "Société Générale S.A.", "France", "accents dropped; S.A. removed"),
    ("name-033", "name", "Nestlé S.A.", "CH", "é becomes e"),
    ("name-034", "name", "Acme Sdn. Bhd.", "MY", "the legal form Sdn. Bhd."),
    ("name-035", "name", "Acme Pte. Ltd.", "Singapore", "the legal form Pte. Ltd."),
    ("name-036", "name", "Acme B.V.", "The Netherlands", "B.V. removed; country alias with a leading 'The'"),
    ("name-037", "name", "Acme S.à r.l.", "LU", "the legal form S.à r.l."),
    ("name-038", "name", "Acme UG (haftungsbeschränkt)", "DE", "legal form with parentheses and ä"),
    ("name-039", "name", "Toshiba Kabushiki Kaisha", "Japan", "the legal form Kabushiki Kaisha"),
    ("name-040", "name", "7-Eleven, Inc.", "US", "digits are kept; a hyphen separates words, which are then joined"),
    ("name-041", "name", "ＡＣＭＥ\u3000Ｃｏｒｐ", "JP", "full-width letters and ideographic space U+3000 (NFKD)"),
    ("name-042", "name", "\ufb01nance Partners LLP", "GB", "the ligature U+FB01 ﬁ is split by NFKD"),
    ("name-043", "name", "Ben & Jerry's", "US", "'&' and an apostrophe"),
    ("name-044", "name", "ΟΔΥΣΣΕΑΣ ΑΕ", "Greece", "Greek: lower-cased per code point, no final-sigma rule (σ, not ς)"),
    ("name-045", "name", "Газпром ПАО", "Russia", "Cyrillic: letters kept; ПАО is not the Latin legal form PAO"),
    ("name-046", "name", "トヨタ自動車株式会社", "Japan", "Japanese kana and kanji are letters"),
    ("name-047", "name", "삼성전자", "KR", "Hangul syllables are decomposed into conjoining jamo by NFKD"),
    ("name-048", "name", "中国移动", "China", "Chinese"),
    ("name-049", "name", "ソニーグループ株式会社", "JP", "kana voicing marks are nonspacing after NFKD and dropped: グ reads as ク"),
    ("name-050", "name", "!!!", "US", "no letter or digit: no key"),
    ("name-051", "name", "", "US", "empty name: no key"),
    # ---- Countries --------------------------------------------------------------------------------------------------
    ("name-052", "name", "Acme", "de", "lower-case alpha-2 code"),
    ("name-053", "name", "Acme", "DEU", "alpha-3 code"),
    ("name-054", "name", "Acme", "deu", "lower-case alpha-3 code"),
    ("name-055", "name", "Acme", "Germany", "English short name"),
    ("name-056", "name", "Acme", "United States of America", "long English name"),
    ("name-057", "name", "Acme", "Korea, Republic of", "ISO name with a comma"),
    ("name-058", "name", "Acme", "U.S.A.", "alias with periods"),
    ("name-059", "name", "Acme", "Côte d'Ivoire", "name with an accent and an apostrophe"),
    ("name-060", "name", "Acme", "Atlantis", "unknown country: empty code"),
    ("name-061", "name", "Acme", "XX", "two letters that are no alpha-2 code: empty code"),
    ("name-062", "name", "Acme", "", "empty country"),
    ("name-063", "name", "Acme", "   ", "white-space country"),
    ("name-064", "name", "Acme", " gb ", "a code with surrounding white space"),
    # ---- IDNA 2008 checks beyond UTS #46 mapping, numeric top-level labels, ASCII-only country codes -------------
    ("domain-901", "website", "ab--cd.com", None, "'--' in positions 3-4 of a label that is not an A-label: invalid (RFC 5891 4.2.3.1)"),
    ("domain-902", "website", "a\u00a9b.com", None, "a symbol (©) is not allowed in a U-label under IDNA 2008"),
    ("domain-903", "website", "\u0391\u03a31.gr", None, "upper-case Greek: lower-cased by UTS #46 mapping, without a final-sigma rule"),
    ("domain-904", "website", "127.1", None, "a numeric top-level label is no domain"),
    ("domain-905", "website", "acme.123", None, "a numeric top-level label is no domain"),
    ("name-901", "name", "Acme", "\u00df", "a country that is not plain ASCII letters is read as a name (and unknown here)"),

]


def vector(case_id, kind, value, country, note):
    v = {"id": case_id, "kind": kind, "input": value, "country": country}
    if kind == "name":
        key, reason = ref.name_key(value, country)
        v.update(key=key, reason=reason, hash=None if key is None else ref.identifier_hash("name", key))
        # name_only is the name part of the key, without "|" and the country.
        name_only = None if key is None else key[:key.rindex("|")]
        v.update(nameOnlyKey=name_only, nameOnlyHash=None if name_only is None else ref.identifier_hash("name_only", name_only))
    else:
        key, reason = (ref.website_key if kind == "website" else ref.email_key)(value)
        v.update(key=key, reason=reason, hash=None if key is None else ref.identifier_hash("domain", key))
        if key is not None:
            # domain_label is the registrable domain's leftmost label.
            label = key.split(".", 1)[0]
            v.update(labelKey=label, labelHash=ref.identifier_hash("domain_label", label))
    v["note"] = note
    return v


def build():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate vector id"
    return {"specVersion": ref.SPEC_VERSION, "vectors": [vector(*c) for c in CASES]}


def render(doc):
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def main(argv):
    text = render(build())
    if "--check" in argv:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{os.path.normpath(OUT)} differs from the reference implementation's output", file=sys.stderr)
                return 1
        print("up to date")
        return 0
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {len(build()['vectors'])} vectors to {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
