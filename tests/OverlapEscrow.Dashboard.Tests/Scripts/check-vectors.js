// Checks window.OverlapHashing (the dashboard's wwwroot/js/hashing.js, as served) against every vector of
// tests/data/hashing-vectors.json: keys, reasons, name variants, version 1 keys, whole accounts and every hash.
// Evaluated in the page by HashingVectorTests; returns the mismatches.
async (text) => {
  const file = JSON.parse(text);
// Shared checker: given the spec object and the vector file, returns a list of mismatches.
  const checkVectors = async (spec, file, H) => {
  const bad = [];
  const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  for (const v of file.vectors) {
    try {
      if (v.kind === "name") {
        const k = spec.nameKeys(v.input, v.country);
        const vs = spec.variants(v.input).map(x => ({ key: x.key, generic: x.generic }));
        const v1 = spec.keyV1(v.input);
        const exp = { key: v.key, reason: v.reason, variants: v.variants, v1: v.v1Key, nameOnly: v.nameOnlyKey };
        const got = { key: k.withCountry.key, reason: k.withCountry.reason, variants: vs, v1: v1 === null ? null : v1 + "|" + spec.countryCode(v.country), nameOnly: k.nameOnly.key };
        if (!eq(exp, got)) { bad.push({ id: v.id, exp, got }); continue; }
        if (v.key !== null) {
          if (await H.hash("name", k.withCountry.key) !== v.hash || await H.hash("name_only", k.nameOnly.key) !== v.nameOnlyHash) bad.push({ id: v.id, what: "hash" });
        }
      } else {
        const r = v.kind === "website" ? spec.fromWebsite(v.input, v.name) : spec.fromEmail(v.input);
        if (r.key !== v.key || r.reason !== v.reason) { bad.push({ id: v.id, input: v.input, exp: [v.key, v.reason], got: [r.key, r.reason] }); continue; }
        if (v.key !== null) {
          if (await H.hash("domain", r.key) !== v.hash || spec.label(r.key) !== v.labelKey || await H.hash("domain_label", spec.label(r.key)) !== v.labelHash) bad.push({ id: v.id, what: "hash" });
        }
      }
    } catch (e) { bad.push({ id: v.id, error: String(e) }); }
  }
  for (const a of file.accounts) {
    try {
      const acct = spec.account(a.website, a.email, a.name, a.country);
      const hs = await H.hashes(acct);
      const exp = {}, got = {};
      a.identifiers.forEach(i => (exp[i.type] = exp[i.type] || []).push(i.key + "=" + i.hash));
      acct.identifiers.forEach((k, n) => (got[k.type] = got[k.type] || []).push(k.key));
      for (const t of Object.keys(got)) got[t] = got[t].map((k, n) => k + "=" + hs[t][n]);
      const sortKeys = o => Object.keys(o).sort().reduce((r, k) => (r[k] = o[k], r), {});
      if (!eq(sortKeys(exp), sortKeys(got)) || !eq(sortKeys(a.missing), sortKeys(acct.missing))) bad.push({ id: a.id, exp, got, missing: [a.missing, acct.missing] });
    } catch (e) { bad.push({ id: a.id, error: String(e) }); }
  }
  return { vectors: file.vectors.length, accounts: file.accounts.length, mismatches: bad };
}

  const H = window.OverlapHashing;
  const spec = await H.load("/hashing/data/");
  return JSON.stringify(await checkVectors(spec, file, H));
}
