#!/usr/bin/env python3
"""Generates tests/data/hashing-vectors.json, the published test vectors of the identifier hashing
specification v2 (docs/hashing.md), from the Python reference implementation (scripts/hashing_reference.py).

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

# (id, kind, input, country, note). kind "website" and "email" give a key of type "domain" (for "website", the
# fourth field is the account's company name, used by the platform rule); "name" gives a key of
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
    ("domain-064", "website", "jane@acme.com", None, "'@' before any path and no '://': the value is read as an e-mail address"),
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
    ("name-045", "name", "Газпром ПАО", "Russia", "Cyrillic: letters kept; v2 removes the Cyrillic legal form ПАО (v1 kept it)"),
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

    # ---- Spec v2: the '@' rule, the current Public Suffix List, platforms -----------------------------------------
    ("v2-domain-001", "website", "acme.com/careers?ref=jobs@indeed.com", None,
     "v2: an '@' in the query of a value without '://' does not make it an e-mail address (v1 gave indeed.com)"),
    ("v2-domain-002", "website", "acme.com/contact?to=sales@globex.example", None, "v2: the '@' rule, another company's address in the query (v1 gave globex.example)"),
    ("v2-domain-003", "website", "www.acme.com#mailto:jane@acme.com", None, "v2: an '@' in the fragment"),
    ("v2-domain-004", "website", "jane@acme.com?subject=hello", None, "v2: an '@' before the query: the e-mail address is what precedes the query"),
    ("v2-domain-005", "website", "acme.notion.site", None, "v2 list: notion.site is a private suffix of the 2026 Public Suffix List"),
    ("v2-domain-006", "website", "https://acme.hf.space/demo", None, "v2 list: hf.space is a private suffix"),
    ("v2-domain-007", "website", "acme.webflow.io", None, "v2 list: webflow.io is a private suffix"),
    ("v2-domain-008", "website", "notion.site", None, "a private suffix itself has no key"),
    ("v2-domain-009", "website", "https://www.linkedin.com/company/acme", None, "v2 platform: a LinkedIn profile is not the account's site"),
    ("v2-domain-010", "website", "facebook.com/acme", None, "v2 platform: a Facebook page"),
    ("v2-domain-011", "website", "google.com", None, "v2 platform: a search engine typed as a placeholder"),
    ("v2-domain-012", "website", "bit.ly/3xYz9Ab", None, "v2 platform: a link shortener of the upstream list"),
    ("v2-domain-013", "website", "https://acme.surge.sh", None, "v2 platform: a host below a hosting platform that the Public Suffix List does not split"),
    ("v2-domain-014", "website", "https://acme.wordpress.com/about", None, "v2 platform: a website builder's customer site"),
    ("v2-domain-015", "website", "go.shell.com/careers", None, "v2 platform: a listed shortener host below a company's domain"),
    ("v2-domain-016", "website", "www.shell.com", None, "v2 platform: the company's own host is not the listed go.shell.com"),
    ("v2-domain-017", "website", "acme.github.io", None, "PRIVATE suffix github.io: the customer's own registrable domain, no platform rule"),
    ("v2-domain-018", "website", "github.com/acme", None, "v2 platform: a code-hosting profile"),
    ("v2-domain-019", "website", "https://www.amzn.to/abc", None, "v2 platform: a vanity shortener"),
    ("v2-name-platform-001", "website", "https://www.google.com/", "Google LLC", "v2 platform: the platform's own account keeps its key (name key equals the label)"),
    ("v2-name-platform-002", "website", "cloud.google.com", "Google Cloud", "v2 platform: a name key that starts with the label (3+ characters)"),
    ("v2-name-platform-003", "website", "youtu.be", "YouTube", "v2 platform: youtu.be for YouTube (label youtu)"),
    ("v2-name-platform-004", "website", "linkedin.com/company/linkedin", "LinkedIn Corporation", "v2 platform: LinkedIn's own page"),
    ("v2-name-platform-005", "website", "x.com/acme", "Xerox", "v2 platform: a one-letter label needs the whole name key to equal it"),
    ("v2-name-platform-006", "website", "https://www.linkedin.com/company/acme", "Acme Inc.", "v2 platform: another company's profile"),
    # ---- Spec v2: names ---------------------------------------------------------------------------------------------
    ("v2-name-001", "name", "Acme Intl Corp", "US", "v2 abbreviations: Intl is international, Corp is corporation (then removed)"),
    ("v2-name-002", "name", "Acme Mfg. Co.", "US", "v2 abbreviations: Mfg. is manufacturing; Co. removed"),
    ("v2-name-003", "name", "Acme Svcs Int'l", "GB", "v2 abbreviations: Svcs and Int'l"),
    ("v2-name-004", "name", "Acme Labs", "US", "v2 abbreviations: Labs is laboratories"),
    ("v2-name-005", "name", "AG Siemens", "DE", "v2 legal form before the name"),
    ("v2-name-006", "name", "PT Bank Mandiri (Persero) Tbk", "ID", "v2: PT before, Tbk and Persero after"),
    ("v2-name-007", "name", "Kabushiki Kaisha Toshiba", "JP", "v2: a two-word form before the name"),
    ("v2-name-008", "name", "株式会社ニトリ", "JP", "v2: a joined-script form at the start; kana transliterated (Hepburn)"),
    ("v2-name-009", "name", "トヨタ自動車株式会社", "JP", "v2: a joined-script form at the end; kanji are not transliterated"),
    ("v2-name-010", "name", "(株)カプコン", "JP", "v2: (株) at the start"),
    ("v2-name-011", "name", "ООО Яндекс", "RU", "v2: Cyrillic form before the name; ICAO 9303 transliteration"),
    ("v2-name-012", "name", "Газпром ПАО", "Russia", "v2: Cyrillic form after the name (v1 kept it)"),
    ("v2-name-013", "name", "Müller GmbH", "DE", "v2: ü gives muller (as v1) and the German spelling mueller"),
    ("v2-name-014", "name", "Mueller GmbH", "DE", "v2: mueller meets the second key of Müller"),
    ("v2-name-015", "name", "Ørsted A/S", "DK", "v2: ø gives o, and oe in the Scandinavian spelling"),
    ("v2-name-016", "name", "Ålborg Portland", "DK", "v2: å gives a, and aa"),
    ("v2-name-017", "name", "Acme Ltd t/a Widget World", "GB", "v2 trading name: t/a"),
    ("v2-name-018", "name", "Globex Corporation d/b/a Initech", "US", "v2 trading name: d/b/a"),
    ("v2-name-019", "name", "Acme Trading AS", "NO", "'trading as' at the end is the word Trading and the legal form AS, not a trading name"),
    ("v2-name-020", "name", "Summit Consulting Group", "US", "v2 generic: only common words"),
    ("v2-name-021", "name", "A & B Consulting", "US", "v2 generic: single letters next to a common word"),
    ("v2-name-022", "name", "Apple", "US", "a brand that is an English word is distinctive"),
    ("v2-name-023", "name", "University of Oxford", "GB", "v2 word order: the sorted words without 'of'"),
    ("v2-name-024", "name", "Oxford University", "GB", "v2 word order: meets University of Oxford"),
    ("v2-name-025", "name", "Κωτσόβολος", "GR", "v2: ELOT 743 transliteration"),
    ("v2-name-026", "name", "Αλουμύλ ΑΕ", "Greece", "v2: Greek legal form; ου is ou"),
    ("v2-name-027", "name", "삼성전자", "KR", "v2: Revised Romanization, letter by letter"),
    ("v2-name-028", "name", "ヤマハ株式会社", "JP", "v2: katakana"),
    ("v2-name-029", "name", "ニッポン", "JP", "v2: small tsu doubles the next consonant"),
    ("v2-name-030", "name", "トーキョー", "JP", "v2: long vowel mark and ou written as one vowel"),
    ("v2-name-031", "name", "Українська Залізниця", "UA", "v2: Cyrillic letters of Ukrainian by the same ICAO table"),
    ("v2-name-032", "name", "Digital 14", "AE", "v2 generic: a number next to a common word"),
    ("v2-name-033", "name", "e", "US", "a single letter alone is not generic"),
    ("v2-name-034", "name", "Societe Generale", "FR", "accents already folded (v1), sorted variant"),
    ("v2-name-035", "name", "Łódź Logistics Sp. z o.o.", "PL", "v1 key equals the v2 key"),
]

# Accounts: every identifier an upload carries (spec v2 "What one account uploads").
ACCOUNTS = [
    ("account-001", "https://www.Acme.co.uk/about", "jane@acme.co.uk", "Acme Ltd.", "United Kingdom", "website and e-mail agree: one domain"),
    ("account-002", "acme.com", "jane@acme.de", "Acme GmbH", "DE", "two domains with one label"),
    ("account-003", "youtube.com", "jane@google.com", "YouTube LLC", "US", "e-mail at the parent's domain: its label only"),
    ("account-004", "", "jane@intuit.com", "Credit Karma", "US", "no website, the name disagrees with the e-mail domain: its label only; no domain key, so the name key is a label too"),
    ("account-005", "", "jane@chocolatey.org", "Chocolatey", "US", "no website, the name agrees with the e-mail domain"),
    ("account-006", "", "jo@ibm.com", "International Business Machines Corp", "US", "the e-mail label is the name's initials"),
    ("account-007", "https://www.linkedin.com/company/acme", "", "Acme Inc", "US", "platform website: no domain, the name keys and the name key as a label"),
    ("account-008", "", "", "Summit Consulting Group", "US", "a generic name: name_generic, no skeleton"),
    ("account-009", "", "", "Kickstarter", "", "no country: a distinctive name is sent as name_only only"),
    ("account-010", "", "", "Summit Consulting", "", "no country, generic name: name_generic with an empty country"),
    ("account-011", "", "", "Mytilineos", "GR", "a skeleton key"),
    ("account-012", "", "", "Μυτιληναίος", "GR", "transliterated, with the skeleton of the Latin key"),
    ("account-013", "", "", "Müller GmbH dba Widget Mfg", "DE", "trading name, German spelling, sorted words, at most five name keys"),
    ("account-014", "acme.com/careers?ref=jobs@indeed.com", "jane@gmail.com", "Acme", "US", "the '@' rule and a free-mail address"),
    ("account-015", "n/a", "", "!!!", "US", "nothing to match on"),
    ("account-016", "", "", "Qualys Inc", "US", "a distinctive key of six characters: name_typo keys, the key and its deletions"),
    ("account-017", "", "", "Qualis", "US", "one substitution from account-016: both carry the name_typo key quals|US"),
    ("account-018", "", "", "Acmee", "US", "a key of five characters: no name_typo keys"),
    ("account-019", "hoppmann.de", "", "Hoppmann Engineering GmbH", "DE", "doubled letters: each deletion once, in ordinal order"),
    ("account-020", "", "", "Wistron InfoComm Zhongshan Corp", "CN", "a key of 24 characters: name_typo keys"),
    ("account-021", "", "", "Nationz Technologies Shenzhen", "CN", "a key of 27 characters: no name_typo keys"),
    ("account-022", "", "", "Ålesund Tre", "NO", "a non-ASCII name: the typo keys come from the first key, in ASCII"),
    ("account-023", "", "chloe@yahoo.com", "Kickstarter Corp.", "US", "no domain key: the distinctive first name key is a domain_label too (meets kickstarter.com by rule c)"),
    ("account-024", "http://KICKSTARTER.COM", "", "Kickstarter", "DE", "a domain key: no label from the name"),
    ("account-025", "", "", "株式会社ニトリ", "JP", "no domain key, a first name key that is not ASCII: no label from the name"),
    ("account-026", "", "", "Summit Consulting", "US", "no domain key, a generic name: no label from the name"),
]


def vector(case_id, kind, value, country, note):
    v = {"id": case_id, "kind": kind, "input": value, "country": country}
    if kind == "name":
        key, reason = ref.name_key(value, country)
        v.update(key=key, reason=reason, hash=None if key is None else ref.identifier_hash("name", key))
        # name_only is the name part of the key, without "|" and the country.
        name_only = None if key is None else key[:key.rindex("|")]
        v.update(nameOnlyKey=name_only, nameOnlyHash=None if name_only is None else ref.identifier_hash("name_only", name_only))
        v1, _ = ref.name_key_v1(value, country)
        v["v1Key"] = v1
        v["variants"] = [{"key": k, "generic": g} for k, g in ref.name_variants(value)]
    else:
        if kind == "website":
            # For websites the fourth field is the account's company name (the platform rule), not a country.
            key, reason = ref.website_key(value, country)
            v["country"] = None
            v["name"] = country
        else:
            key, reason = ref.email_key(value)
        v.update(key=key, reason=reason, hash=None if key is None else ref.identifier_hash("domain", key))
        if key is not None:
            # domain_label is the registrable domain's leftmost label.
            label = key.split(".", 1)[0]
            v.update(labelKey=label, labelHash=ref.identifier_hash("domain_label", label))
    v["note"] = note
    return v


def account(case_id, website, email, name, country, note):
    values = [x if x != "" else None for x in (website, email, name, country)]
    identifiers, missing = ref.account_identifiers(*values)
    return {"id": case_id, "kind": "account", "website": values[0], "email": values[1], "name": values[2], "country": values[3],
            "identifiers": [{"type": t, "key": k, "hash": ref.identifier_hash(t, k)} for t, k in identifiers],
            "missing": missing, "note": note}


def build():
    ids = [c[0] for c in CASES] + [a[0] for a in ACCOUNTS]
    assert len(ids) == len(set(ids)), "duplicate vector id"
    return {"specVersion": ref.SPEC_VERSION, "hashPrefix": ref.HASH_PREFIX,
            "vectors": [vector(*c) for c in CASES], "accounts": [account(*a) for a in ACCOUNTS]}


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
    print(f"wrote {len(build()['vectors'])} vectors and {len(build()['accounts'])} accounts to {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
