// The identifier hashing specification, version 2 (docs/hashing.md), in the browser: the same rules as the .NET
// client (src/OverlapEscrow.Client/Hashing) and the Python reference (scripts/hashing_reference.py), on the same
// data files, which the service serves from /hashing/data/. Raw identifiers are normalized and hashed here, on the
// member's machine; only the hashes leave it. Checked against every vector of tests/data/hashing-vectors.json by the
// dashboard's browser tests (tests/OverlapEscrow.Dashboard.Tests).
//
// IDNA: the browser's URL parser applies UTS #46 (nontransitional, CheckBidi, CheckJoiners) to non-ASCII hosts; the
// rest of the host rule (STD3 letters, hyphens, lengths, IDNA 2008 code points) is checked here as the .NET client
// checks it (docs/hashing.md, "Conformance of the C# reference client").
(function (root) {
  "use strict";

  var SPEC_VERSION = "v2";
  var HASH_PREFIX = "oe:v1:";
  var TYPO_MIN = 6, TYPO_MAX = 24;
  var TYPES = ["domain", "domain_label", "name", "name_generic", "name_only", "name_skeleton", "name_typo"];
  var FILES = ["public_suffix_list.dat", "platform-domains.txt", "url-shorteners.txt", "free-mail-domains.txt", "legal-forms.txt",
    "legal-forms-v1.txt", "abbreviations.tsv", "common-words.txt", "transliteration.tsv", "countries.tsv"];

  // Unicode White_Space (PropList.txt), exactly: U+200B and U+FEFF are not white space.
  var WS = "\t\n\u000b\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
  function isWs(c) { return WS.indexOf(c) >= 0; }
  function trim(value) {
    var s = value == null ? "" : String(value);
    var a = 0, b = s.length;
    while (a < b && isWs(s[a])) a++;
    while (b > a && isWs(s[b - 1])) b--;
    return s.substring(a, b);
  }

  var PLACEHOLDERS = ["n/a", "na", "n.a.", "-", "--", "none", "null", "nil", "unknown", "tbd", "not available", "no website", "."];
  var TRANSLITERATIONS = { "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i" };
  var DELETED = "'\u2019\u02bc`.";
  var STOP_WORDS = ["and", "of", "the", "de", "du", "des", "la", "le", "der", "die", "das", "von", "van", "y", "et", "und"];
  var UMLAUTS = { "ä": "ae", "ö": "oe", "ü": "ue", "å": "aa", "ø": "oe", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "Å": "Aa", "Ø": "Oe" };
  var TRADING_SEPARATORS = [["doing", "business", "as"], ["also", "known", "as"], ["trading", "as"], ["d", "b", "a"], ["a", "k", "a"],
    ["f", "k", "a"], ["t", "a"], ["dba"], ["aka"], ["fka"], ["formerly"]];
  var MAX_KEYS = 5, MAX_SKELETONS = 2;

  var RE_MN = /^\p{Mn}$/u, RE_LETTER = /^\p{L}$/u, RE_ND = /^\p{Nd}$/u, RE_MARK = /^\p{M}$/u;
  var RE_SCHEME = /^[A-Za-z][A-Za-z0-9+.\-]*:\/\//, RE_PORT = /:[0-9]*$/, RE_IPV4 = /^[0-9]+(\.[0-9]+){3}$/;
  var RE_LDH = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, RE_PLAIN_HOST = /^[a-z0-9.\-]*$/;

  function lines(text) {
    var out = [];
    text.split("\n").forEach(function (raw) {
      var t = trim(raw.replace(/^\ufeff/, ""));
      if (t.length === 0 || t[0] === "#") return;
      out.push(t);
    });
    return out;
  }

  /** The code point's own simple lower-case mapping (no context, no language rule). */
  function lower(c) {
    if (c === "\u0130") return "i";
    var l = c.toLowerCase();
    return Array.from(l).length === 1 ? l : c;
  }

  function compareCodePoints(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) return d;
    }
    return x.length - y.length;
  }

  // ---- IDNA (RFC 3492 decoding; UTS #46 mapping by the URL parser)
  function punycodeDecode(input) {
    var base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, n = 128, i = 0, bias = 72, output = [];
    var basic = input.lastIndexOf("-");
    if (basic < 0) basic = 0;
    for (var j = 0; j < basic; j++) {
      if (input.charCodeAt(j) >= 0x80) return null;
      output.push(input.charCodeAt(j));
    }
    for (var index = basic > 0 ? basic + 1 : 0; index < input.length;) {
      var oldi = i, w = 1;
      for (var k = base; ; k += base) {
        if (index >= input.length) return null;
        var c = input.charCodeAt(index++);
        var digit = c - 48 < 10 ? c - 22 : c - 65 < 26 ? c - 65 : c - 97 < 26 ? c - 97 : base;
        if (digit >= base) return null;
        i += digit * w;
        var t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
        if (digit < t) break;
        w *= base - t;
        if (i > 0x7fffffff) return null;
      }
      var len = output.length + 1, delta = oldi === 0 ? Math.floor((i - oldi) / damp) : (i - oldi) >> 1;
      delta += Math.floor(delta / len);
      for (k = 0; delta > ((base - tMin) * tMax) >> 1; k += base) delta = Math.floor(delta / (base - tMin));
      bias = Math.floor(k + (base - tMin + 1) * delta / (delta + skew));
      n += Math.floor(i / len);
      i %= len;
      if (n > 0x10ffff) return null;
      output.splice(i++, 0, n);
    }
    return String.fromCodePoint.apply(null, output);
  }

  /** UTS #46 ToASCII of a host by the URL parser (nontransitional, CheckBidi, CheckJoiners); null when it fails. */
  function urlToAscii(host) {
    try {
      return new URL("http://" + host + "/").hostname;
    } catch (e) {
      return null;
    }
  }

  /** The ASCII form of a lower-cased host, or null when the host is invalid (docs/hashing.md, host rule step 8). */
  function toAscii(host) {
    var hasAce = host.split(".").some(function (l) { return l.indexOf("xn--") === 0; });
    if (RE_PLAIN_HOST.test(host) && !hasAce) return host;
    for (var i = 0; i < host.length; i++) {
      var c = host.charCodeAt(i);
      // STD3 rules: an ASCII character outside letters, digits, '-' and '.' makes the host invalid.
      if (c < 0x80 && !/[a-z0-9.\-]/.test(host[i])) return null;
    }
    var ascii = urlToAscii(host);
    if (ascii === null) return null;
    if (hasAce && RE_PLAIN_HOST.test(host) && ascii !== host) return null; // an A-label that is not what UTS #46 would make
    return ascii;
  }

  /** The IDNA 2008 checks of the .NET client: no "--" in positions 3-4 (A-labels excepted), U-labels of letters, marks, digits and '-'. */
  function isValidIdnaLabel(label) {
    if (label.indexOf("xn--") !== 0) return label.length < 4 || label.substring(2, 4) !== "--";
    var unicode = punycodeDecode(label.substring(4));
    if (unicode === null || unicode.length === 0 || /^[\x00-\x7f]*$/.test(unicode)) return false;
    if (urlToAscii(unicode) !== label) return false;
    if (unicode.length >= 4 && unicode.substring(2, 4) === "--") return false;
    var points = Array.from(unicode);
    for (var i = 0; i < points.length; i++) {
      var p = points[i];
      if (!(p === "-" || RE_LETTER.test(p) || RE_MARK.test(p) || RE_ND.test(p))) return false;
    }
    return true;
  }

  function Spec(files) {
    var self = this;

    // ---- Public Suffix List
    var normal = new Set(), wildcards = new Set(), exceptions = new Set();
    function asciiRule(rule) {
      return rule.split(".").map(function (label) { return /^[\x00-\x7f]*$/.test(label) ? label : (urlToAscii(label) || label); }).join(".");
    }
    lines(files["public_suffix_list.dat"]).forEach(function (raw) {
      if (raw.indexOf("//") === 0) return;
      var rule = raw.split(/\s+/)[0].toLowerCase();
      if (rule[0] === "!") exceptions.add(asciiRule(rule.substring(1)));
      else if (rule.indexOf("*.") === 0) wildcards.add(asciiRule(rule.substring(2)));
      else normal.add(asciiRule(rule));
    });
    function registrableDomain(host) {
      var labels = host.split("."), suffixLength = 1;
      for (var i = 0; i < labels.length; i++) {
        var candidate = labels.slice(i).join(".");
        if (exceptions.has(candidate)) return labels.length - i - 1 < 1 ? null : candidate;
        if (normal.has(candidate)) suffixLength = Math.max(suffixLength, labels.length - i);
        else if (i + 1 < labels.length && wildcards.has(labels.slice(i + 1).join("."))) suffixLength = Math.max(suffixLength, labels.length - i);
      }
      return labels.length <= suffixLength ? null : labels.slice(labels.length - suffixLength - 1).join(".");
    }

    var freeMail = new Set(lines(files["free-mail-domains.txt"]));
    var platforms = new Set(lines(files["platform-domains.txt"]).concat(lines(files["url-shorteners.txt"]))
      .map(function (l) { return l.split(/\s+/)[0].replace(/[A-Z]/g, function (c) { return c.toLowerCase(); }); }));

    // ---- words of a name
    function tokens(value) {
      var out = "";
      Array.from(value.normalize("NFKD")).forEach(function (c) {
        if (RE_MN.test(c)) return;
        var l = lower(c);
        if (Object.prototype.hasOwnProperty.call(TRANSLITERATIONS, l)) { out += TRANSLITERATIONS[l]; return; }
        if (l === "&" || l === "+") { out += " and "; return; }
        if (DELETED.indexOf(l) >= 0) return;
        out += RE_LETTER.test(l) || RE_ND.test(l) ? l : " ";
      });
      return out.split(" ").filter(function (w) { return w.length > 0; });
    }

    var abbreviations = new Map();
    lines(files["abbreviations.tsv"]).forEach(function (line) {
      var tab = line.indexOf("\t");
      var short = tab < 0 ? line : line.substring(0, tab), full = tab < 0 ? "" : line.substring(tab + 1);
      var words = tokens(short);
      if (words.length === 1) abbreviations.set(words[0], tokens(full));
    });
    function expand(words) {
      var out = [];
      words.forEach(function (w) { if (abbreviations.has(w)) out.push.apply(out, abbreviations.get(w)); else out.push(w); });
      return out;
    }

    var common = new Set();
    lines(files["common-words.txt"]).forEach(function (l) { tokens(l).forEach(function (w) { common.add(w); }); });
    function isGeneric(words) {
      var any = false;
      for (var i = 0; i < words.length; i++) {
        var w = words[i];
        if (common.has(w)) { any = true; continue; }
        var points = Array.from(w);
        if (points.length === 1 || points.every(function (p) { return RE_ND.test(p); })) continue;
        return false;
      }
      return any;
    }

    function isJoinedScript(text) {
      for (var i = 0; i < text.length; i++) {
        var c = text.charCodeAt(i);
        if (!((c >= 0x1100 && c <= 0x11ff) || (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff))) return false;
      }
      return true;
    }

    var end = [], start = [], joined = [], seenEnd = new Set(), seenStart = new Set();
    lines(files["legal-forms.txt"]).forEach(function (line) {
      var atStart = line[0] === "<";
      var words = expand(tokens(atStart ? line.substring(1) : line));
      if (words.length === 0) return;
      if (words.every(isJoinedScript)) {
        var form = words.join("");
        if (joined.indexOf(form) < 0) joined.push(form);
        return;
      }
      var id = words.join(" ");
      if (!seenEnd.has(id)) { seenEnd.add(id); end.push(words); }
      if (atStart && !seenStart.has(id)) { seenStart.add(id); start.push(words); }
    });
    function byLengthThenCodePoint(a, b) { return b.length - a.length || compareCodePoints(a.join(" "), b.join(" ")); }
    end.sort(byLengthThenCodePoint);
    start.sort(byLengthThenCodePoint);
    joined.sort(function (a, b) { return b.length - a.length || compareCodePoints(a, b); });

    var formsV1 = [], seenV1 = new Set();
    lines(files["legal-forms-v1.txt"]).forEach(function (line) {
      var t = tokens(line);
      if (t.length === 0 || seenV1.has(t.join(" "))) return;
      seenV1.add(t.join(" "));
      formsV1.push(t);
    });
    formsV1.sort(function (a, b) { return b.length - a.length; }); // stable: the file's order within a length

    function endsWith(words, form) {
      if (words.length <= form.length) return false;
      var offset = words.length - form.length;
      for (var k = 0; k < form.length; k++) if (words[offset + k] !== form[k]) return false;
      return true;
    }
    function startsWith(words, form) {
      if (words.length <= form.length) return false;
      for (var k = 0; k < form.length; k++) if (words[k] !== form[k]) return false;
      return true;
    }

    function stripLegalForms(words) {
      if (words.length > 1 && words[0] === "the") words.shift();
      for (var changed = true; changed;) {
        changed = false;
        for (var a = 0; a < end.length; a++) {
          if (!endsWith(words, end[a])) continue;
          words.splice(words.length - end[a].length, end[a].length);
          if (words.length > 1 && words[words.length - 1] === "and") words.pop();
          changed = true;
          break;
        }
        if (changed) continue;
        for (var b = 0; b < start.length; b++) {
          if (!startsWith(words, start[b])) continue;
          words.splice(0, start[b].length);
          changed = true;
          break;
        }
        if (changed) continue;
        for (var c = 0; c < joined.length; c++) {
          var form = joined[c], last = words[words.length - 1], first = words[0];
          if (last.length > form.length && last.endsWith(form)) words[words.length - 1] = last.substring(0, last.length - form.length);
          else if (first.length > form.length && first.startsWith(form)) words[0] = first.substring(form.length);
          else if (words.length > 1 && last === form) words.pop();
          else if (words.length > 1 && first === form) words.shift();
          else continue;
          changed = true;
          break;
        }
      }
      return words;
    }

    function splitTradingName(words) {
      for (var i = 1; i < words.length; i++) {
        for (var s = 0; s < TRADING_SEPARATORS.length; s++) {
          var sep = TRADING_SEPARATORS[s], n = sep.length;
          if (i + n >= words.length) continue;
          var match = true;
          for (var k = 0; k < n && match; k++) match = words[i + k] === sep[k];
          if (match) return [words.slice(0, i), words.slice(i + n)];
        }
      }
      return [words];
    }

    function parts(words) {
      var out = [];
      splitTradingName(words).forEach(function (part) {
        var w = stripLegalForms(expand(part));
        if (w.length > 0) out.push(w);
      });
      return out;
    }

    function umlautSpelling(text) {
      if (/^[\x00-\x7f]*$/.test(text)) return null;
      text = text.normalize("NFC");
      var any = false, out = "";
      for (var i = 0; i < text.length; i++) {
        var c = text[i];
        if (Object.prototype.hasOwnProperty.call(UMLAUTS, c)) { out += UMLAUTS[c]; any = true; } else out += c;
      }
      return any ? out : null;
    }

    function isLatin(word) {
      return Array.from(word).every(function (p) { var c = p.codePointAt(0); return c <= 0x024f || (c >= 0x1e00 && c <= 0x1eff); });
    }

    // ---- transliteration (docs/hashing.md, "Transliteration")
    var translit = new Map(), longest = 0;
    lines(files["transliteration.tsv"]).forEach(function (line) {
      var tab = line.indexOf("\t");
      if (tab < 0) translit.set(line, ""); else translit.set(line.substring(0, tab), line.substring(tab + 1));
    });
    translit.forEach(function (_, k) { longest = Math.max(longest, k.length); });
    function isKana(c) { var x = c.charCodeAt(0); return (x >= 0x3041 && x <= 0x3096) || (x >= 0x30a1 && x <= 0x30fa) || x === 0x30fc; }
    function romanizeKana(run) {
      var kana = "";
      for (var k = 0; k < run.length; k++) {
        var x = run.charCodeAt(k);
        kana += x >= 0x30a1 && x <= 0x30f6 ? String.fromCharCode(x - 0x60) : run[k];
      }
      var out = "", doubled = false;
      for (var i = 0; i < kana.length;) {
        var c = kana[i];
        if (c === "\u3063" || c === "\u30c3") { doubled = true; i++; continue; }
        if (c === "\u30fc") { i++; continue; }
        var matched = false;
        for (var n = Math.min(2, kana.length - i); n >= 1; n--) {
          var roman = translit.get(kana.substr(i, n));
          if (roman === undefined) continue;
          if (doubled && roman.length > 0 && "aeiou".indexOf(roman[0]) < 0) roman = (roman.indexOf("ch") === 0 ? "t" : roman[0]) + roman;
          out += roman;
          doubled = false;
          matched = true;
          i += n;
          break;
        }
        if (!matched) { out += c; doubled = false; i++; }
      }
      return out.split("ou").join("o").split("oo").join("o").split("uu").join("u");
    }
    function transliterate(text) {
      if (!/[\u0370-\u052f\u1100-\u11ff\u1f00-\u1fff\u3040-\u30ff\uac00-\ud7a3]/.test(text)) return null;
      var s = "";
      Array.from(text.normalize("NFC")).forEach(function (p) {
        var c = p.codePointAt(0);
        s += c >= 0xac00 && c <= 0xd7a3 ? p.normalize("NFD") : lower(p);
      });
      var out = "", changed = false;
      for (var i = 0; i < s.length;) {
        if (isKana(s[i])) {
          var j = i;
          while (j < s.length && isKana(s[j])) j++;
          out += romanizeKana(s.substring(i, j));
          changed = true;
          i = j;
          continue;
        }
        var matched = false;
        for (var n = Math.min(longest, s.length - i); n >= 1; n--) {
          var latin = translit.get(s.substr(i, n));
          if (latin === undefined) continue;
          out += latin;
          changed = matched = true;
          i += n;
          break;
        }
        if (!matched) out += s[i++];
      }
      return changed ? out : null;
    }

    // ---- name keys
    function keyV1(words) {
      if (words.length === 0) return null;
      if (words.length > 1 && words[0] === "the") words.shift();
      for (var stripped = true; stripped;) {
        stripped = false;
        for (var i = 0; i < formsV1.length; i++) {
          if (!endsWith(words, formsV1[i])) continue;
          words.splice(words.length - formsV1[i].length, formsV1[i].length);
          stripped = true;
          break;
        }
        if (stripped && words.length > 1 && words[words.length - 1] === "and") words.pop();
      }
      return words.join("");
    }

    function variants(name) {
      var text = trim(name);
      var words = tokens(text);
      if (words.length === 0) return [];
      var primary = parts(words.slice());
      var candidates = primary.slice();
      var umlaut = umlautSpelling(text), latin = transliterate(text);
      var umlautParts = umlaut === null ? null : parts(tokens(umlaut));
      var latinParts = latin === null ? null : parts(tokens(latin));
      for (var i = 0; i < primary.length; i++) {
        if (umlautParts !== null && i < umlautParts.length) candidates.push(umlautParts[i]);
        if (latinParts !== null && i < latinParts.length && latinParts[i].every(isLatin)) candidates.push(latinParts[i]);
        var rest = primary[i].filter(function (w) { return STOP_WORDS.indexOf(w) < 0; });
        if (rest.length >= 2) { rest.sort(compareCodePoints); candidates.push(rest); }
      }
      var result = [], seen = new Set();
      candidates.forEach(function (ws) {
        var key = ws.join("");
        if (key.length > 0 && !seen.has(key)) { seen.add(key); result.push({ key: key, generic: isGeneric(ws) }); }
      });
      var v1 = keyV1(words.slice());
      if (v1 !== null && !seen.has(v1) && !isGeneric(expand(tokens(v1)))) result.push({ key: v1, generic: false });
      return result.slice(0, MAX_KEYS);
    }

    /** The key and each one-letter deletion of it, distinct, in ordinal order; none outside 6-24 ASCII letters and digits ("Typo keys"). */
    function typoKeys(key) {
      if (key.length < TYPO_MIN || key.length > TYPO_MAX || !/^[a-z0-9]+$/.test(key)) return [];
      var keys = [key];
      for (var i = 0; i < key.length; i++) {
        var d = key.slice(0, i) + key.slice(i + 1);
        if (keys.indexOf(d) < 0) keys.push(d);
      }
      return keys.sort();
    }

    function skeleton(key) {
      var cap = Math.min(key.length, 256), out = "";
      for (var i = 0; i < key.length; i++) {
        var c = key[i];
        if (!/[a-z0-9]/.test(c)) return null;
        if ("aeiouy".indexOf(c) >= 0) continue;
        if (out.length > 0 && out[out.length - 1] === c) continue;
        if (out.length === cap) return null;
        out += c;
      }
      return out.length >= 5 ? out : null;
    }

    function agrees(label, name, vs) {
      label = label.split("-").join("");
      for (var i = 0; i < vs.length; i++) if (vs[i].key.indexOf(label) >= 0 || label.indexOf(vs[i].key) >= 0) return true;
      var ps = parts(tokens(trim(name)));
      for (var j = 0; j < ps.length; j++) {
        var words = ps[j];
        if (words.length < 2) continue;
        var all = words.map(function (w) { return w[0]; }).join("");
        var some = words.filter(function (w) { return STOP_WORDS.indexOf(w) < 0; }).map(function (w) { return w[0]; }).join("");
        if (label === all || label === some) return true;
      }
      return false;
    }

    var alpha2 = new Set(), alpha3 = new Map(), countryNames = new Map();
    lines(files["countries.tsv"]).forEach(function (line) {
      var p = line.split("\t");
      alpha2.add(p[0]);
      alpha3.set(p[1], p[0]);
      p[2].split("|").forEach(function (n) { countryNames.set(tokens(n).join(" "), p[0]); });
    });
    function countryCode(country) {
      var s = trim(country);
      if (s.length === 0) return "";
      var upper = /^[A-Za-z]+$/.test(s) ? s.toUpperCase() : "";
      if (upper === "UK") return "GB";
      if (upper.length === 2 && alpha2.has(upper)) return upper;
      if (upper.length === 3 && alpha3.has(upper)) return alpha3.get(upper);
      var byName = countryNames.get(tokens(s).join(" "));
      return byName === undefined ? "" : byName;
    }

    // ---- domains
    function none(reason) { return { key: null, reason: reason }; }
    function of(key) { return { key: key, reason: null }; }
    function label(domain) { return domain.substring(0, domain.indexOf(".")); }

    function fromHost(host) {
      host = host.replace(RE_PORT, "");
      if (host[0] === "[") return none("ip address");
      host = host.replace(/\.+$/, "").replace(/[A-Z]/g, function (c) { return c.toLowerCase(); });
      if (host.length === 0) return none("empty");
      for (var i = 0; i < host.length; i++) if (isWs(host[i])) return none("invalid host");
      if (RE_IPV4.test(host)) return none("ip address");
      if (host === "localhost" || host.indexOf(".") < 0) return none("no dot");
      var ascii = toAscii(host);
      if (ascii === null || ascii.length > 253) return none("invalid host");
      var labels = ascii.split(".");
      if (labels.some(function (l) { return !RE_LDH.test(l) || !isValidIdnaLabel(l); })) return none("invalid host");
      if (/^[0-9]+$/.test(labels[labels.length - 1])) return none("invalid host");
      var domain = registrableDomain(ascii);
      if (domain === null) return none("public suffix");
      var result = of(domain);
      result.asciiHost = ascii;
      return result;
    }

    function onPlatform(host) {
      for (var i = 0; ; i++) {
        if (platforms.has(host.substring(i))) return true;
        i = host.indexOf(".", i);
        if (i < 0) return false;
      }
    }

    function isPlatformOwner(domain, name) {
      var l = label(domain), vs = variants(name);
      for (var i = 0; i < vs.length; i++) if (vs[i].key === l || (l.length >= 3 && vs[i].key.indexOf(l) === 0)) return true;
      return false;
    }

    function fromEmail(value) {
      var s = trim(value).normalize("NFC");
      if (s.length === 0) return none("empty");
      if (s.substring(0, 7).toLowerCase() === "mailto:") {
        s = s.substring(7);
        var q = s.indexOf("?");
        if (q >= 0) s = s.substring(0, q);
      }
      var open = s.lastIndexOf("<");
      if (open >= 0) {
        var close = s.indexOf(">", open);
        if (close > open) s = s.substring(open + 1, close);
      }
      s = trim(s);
      var at = s.lastIndexOf("@");
      if (at <= 0) return none("not an e-mail address");
      var key = fromHost(trim(s.substring(at + 1)));
      if (key.key === null) return none(key.reason);
      return freeMail.has(key.key) ? none("free-mail provider") : of(key.key);
    }

    function fromWebsite(value, name) {
      var s = trim(value).normalize("NFC");
      if (s.length === 0) return none("empty");
      if (PLACEHOLDERS.indexOf(s.toLowerCase()) >= 0) return none("placeholder");
      var end = s.search(/[\/?#\\]/);
      var head = end < 0 ? s : s.substring(0, end);
      if (s.indexOf("://") < 0 && head.indexOf("@") >= 0) return fromEmail(head);
      s = s.replace(RE_SCHEME, "");
      if (s.indexOf("//") === 0) s = s.substring(2);
      end = s.search(/[\/?#\\]/);
      if (end >= 0) s = s.substring(0, end);
      var at = s.lastIndexOf("@");
      if (at >= 0) s = s.substring(at + 1);
      var key = fromHost(s);
      if (key.key !== null && onPlatform(key.asciiHost) && !isPlatformOwner(key.key, name)) return none("platform");
      return key.key === null ? none(key.reason) : of(key.key);
    }

    /** Every identifier of one CRM account, in upload order, and why a field gave none (docs/hashing.md, "What one account uploads"). */
    function account(website, email, name, country) {
      var missing = {};
      var names = name == null ? [] : variants(name);
      if (name != null && names.length === 0) missing.name = "empty";
      var site = null, mail = null, r;
      if (website != null) { r = fromWebsite(website, name); if (r.key !== null) site = r.key; else missing.website = r.reason; }
      if (email != null) { r = fromEmail(email); if (r.key !== null) mail = r.key; else missing.email = r.reason; }
      var ids = [], labels = [];
      if (site !== null) { ids.push({ type: "domain", key: site }); labels.push(label(site)); }
      if (mail !== null) {
        var l = label(mail);
        var ok = site !== null ? l === labels[0] : names.length === 0 || agrees(l, name, names);
        if (ok && mail !== site) ids.push({ type: "domain", key: mail });
        if (labels.indexOf(l) < 0) labels.push(l);
      }
      // Without a domain key, the distinctive first name key (ASCII letters and digits) is also a label: the label
      // the account's own domain would have if named after the company (rule c on the server).
      if (ids.length === 0 && names.length > 0 && !names[0].generic && /^[a-z0-9]+$/.test(names[0].key) && labels.indexOf(names[0].key) < 0)
        labels.push(names[0].key);
      labels.forEach(function (x) { ids.push({ type: "domain_label", key: x }); });
      var code = countryCode(country);
      names.forEach(function (v) {
        if (v.generic || code.length > 0) ids.push({ type: v.generic ? "name_generic" : "name", key: v.key + "|" + code });
      });
      names.forEach(function (v) { ids.push({ type: "name_only", key: v.key }); });
      if (code.length > 0) {
        var skeletons = [];
        names.forEach(function (v) {
          var sk = v.generic ? null : skeleton(v.key);
          if (sk !== null && skeletons.indexOf(sk) < 0 && skeletons.length < MAX_SKELETONS) skeletons.push(sk);
        });
        skeletons.forEach(function (x) { ids.push({ type: "name_skeleton", key: x + "|" + code }); });
        // The typo neighbourhood of the name's own key (the first), when it is distinctive.
        if (names.length > 0 && !names[0].generic) typoKeys(names[0].key).forEach(function (t) { ids.push({ type: "name_typo", key: t + "|" + code }); });
      }
      return { identifiers: ids, missing: missing, isEmpty: ids.every(function (k) { return k.type === "domain_label"; }) };
    }

    function nameKeys(name, country) {
      var vs = variants(name);
      if (vs.length === 0) return { withCountry: none("empty"), nameOnly: none("empty") };
      return { withCountry: of(vs[0].key + "|" + countryCode(country)), nameOnly: of(vs[0].key) };
    }

    self.fromWebsite = fromWebsite;
    self.fromEmail = fromEmail;
    self.label = label;
    self.variants = variants;
    self.keyV1 = function (name) { return keyV1(tokens(trim(name))); };
    self.nameKeys = nameKeys;
    self.countryCode = countryCode;
    self.skeleton = skeleton;
    self.typoKeys = typoKeys;
    self.account = account;
  }

  var encoder = new TextEncoder();
  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  /** hex(SHA-256(UTF-8("oe:v1:" + type + ":" + key))), with the platform's SHA-256 (Web Crypto). */
  function hash(type, key) {
    return root.crypto.subtle.digest("SHA-256", encoder.encode(HASH_PREFIX + type + ":" + key)).then(hex);
  }

  /** The upload's "identifiers" object of an account: hashes grouped by type, types in upload order. */
  function hashes(acct) {
    var jobs = acct.identifiers.map(function (k) { return hash(k.type, k.key); });
    return Promise.all(jobs).then(function (values) {
      var out = {};
      TYPES.forEach(function (type) {
        acct.identifiers.forEach(function (k, i) {
          if (k.type !== type) return;
          (out[type] = out[type] || []).push(values[i]);
        });
      });
      return out;
    });
  }

  /** Loads the specification's data files from the service (base: "/hashing/data/"). */
  function load(base, fetcher) {
    var get = fetcher || function (url) {
      return root.fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("Could not load " + url + " (" + r.status + ")");
        return r.text();
      });
    };
    return Promise.all(FILES.map(function (f) { return get(base + f); })).then(function (texts) {
      var files = {};
      FILES.forEach(function (f, i) { files[f] = texts[i]; });
      return new Spec(files);
    });
  }

  root.OverlapHashing = { specVersion: SPEC_VERSION, hashPrefix: HASH_PREFIX, types: TYPES, files: FILES, load: load, hash: hash, hashes: hashes, trim: trim };
})(typeof window !== "undefined" ? window : globalThis);
