// The population upload page: reads a CRM export (CSV, comma or semicolon, UTF-8) in the browser, normalizes and
// hashes every account here with hashing.js (docs/hashing.md, v2), and sends only NDJSON of record ids, identifier
// hashes and the attributes the member chose, gzip-compressed, to the dashboard's upload endpoint (the API's own
// upload use case). Raw websites, e-mail addresses and company names never leave the browser.
(function () {
  "use strict";
  var root = document.getElementById("browser-upload");
  if (!root) return;
  var H = window.OverlapHashing;
  var $ = function (id) { return document.getElementById(id); };
  var status = $("upload-status"), form = $("upload-form");

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "alert" : "notice";
  }

  if (!H || !window.crypto || !window.crypto.subtle || !window.TextEncoder) {
    say("This browser cannot hash here: it needs a secure connection (HTTPS, or this computer's own address). Use the command line below.", true);
    return;
  }
  root.hidden = false;

  var spec = null, header = [], rows = [], lines = [], lineRows = [];
  say("Loading the hashing rules…");
  H.load(root.getAttribute("data-hashing-base")).then(function (s) {
    spec = s;
    say("Choose your CRM export (CSV).");
  }, function (e) { say("The hashing rules could not be loaded: " + e.message, true); });

  // RFC 4180 CSV with a header row; the delimiter is the header's comma or semicolon, whichever occurs more.
  function parseCsv(text) {
    if (text.charCodeAt(0) === 0xfeff) text = text.substring(1);
    var firstLine = text.split(/\r?\n/, 1)[0] || "";
    var delimiter = (firstLine.split(";").length > firstLine.split(",").length) ? ";" : ",";
    var out = [], row = [], field = "", quoted = false;
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false; }
        else field += c;
        continue;
      }
      if (c === '"' && field.length === 0) quoted = true;
      else if (c === delimiter) { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field); field = "";
        if (!(row.length === 1 && row[0] === "")) out.push(row);
        row = [];
      } else field += c;
    }
    if (field.length > 0 || row.length > 0) { row.push(field); out.push(row); }
    return out;
  }

  // A column's wire name, as the CLI makes it (src/OverlapEscrow.Client/Upload/AttributeNames.cs): camelCase.
  function wireName(column) {
    var words = [], word = "";
    Array.from(column.normalize("NFKD")).forEach(function (c) {
      if (/^\p{Mn}$/u.test(c)) return;
      if (/^[A-Za-z0-9]$/.test(c)) word += c;
      else if (word.length > 0) { words.push(word); word = ""; }
    });
    if (word.length > 0) words.push(word);
    var name = "";
    words.forEach(function (w) {
      var part = /[a-z]/.test(w) ? w : w.toLowerCase();
      name += (name.length === 0 ? part[0].toLowerCase() : part[0].toUpperCase()) + part.substring(1);
    });
    return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : null;
  }

  var roles = [
    ["col-id", /^(account ?id|record ?id|id)$/i],
    ["col-website", /^(website|web ?site|domain|url)$/i],
    ["col-email", /e-?mail/i],
    ["col-name", /^(account ?name|company( ?name)?|name)$/i],
    ["col-country", /country/i]
  ];

  $("csv-file").addEventListener("change", function () {
    var file = this.files && this.files[0];
    if (!file) return;
    file.text().then(function (text) {
      var table = parseCsv(text);
      if (table.length < 2) { say("The file has no data rows below its header.", true); return; }
      header = table[0].map(function (h) { return h.trim(); });
      rows = table.slice(1);
      roles.forEach(function (r) {
        var select = $(r[0]);
        select.innerHTML = "";
        var none = document.createElement("option");
        none.value = "";
        none.textContent = r[0] === "col-id" ? "(choose)" : "(none)";
        select.appendChild(none);
        var guessed = false;
        header.forEach(function (h, i) {
          var o = document.createElement("option");
          o.value = String(i);
          o.textContent = h;
          if (!guessed && r[1].test(h)) { o.selected = true; guessed = true; }
          select.appendChild(o);
        });
      });
      var list = $("attribute-list");
      list.innerHTML = "";
      header.forEach(function (h, i) {
        var name = wireName(h);
        if (!name) return;
        var id = "attr-" + i;
        var span = document.createElement("span");
        span.className = "check";
        var input = document.createElement("input");
        input.type = "checkbox"; input.id = id; input.value = String(i); input.setAttribute("data-name", name);
        var label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = h + " → " + name;
        span.appendChild(input); span.appendChild(label);
        list.appendChild(span);
      });
      form.hidden = false;
      $("hash-summary").hidden = true;
      $("upload-button").disabled = true;
      say(rows.length + " rows read from " + file.name + ". Choose the columns, then hash.");
    });
  });

  function cell(row, selectId) {
    var v = $(selectId).value;
    if (v === "") return null;
    var value = row[Number(v)];
    return value === undefined ? "" : value;
  }

  $("hash-button").addEventListener("click", function () {
    if (!spec) { say("The hashing rules are still loading.", true); return; }
    if ($("col-id").value === "") { say("Choose the column with your record ids.", true); $("col-id").focus(); return; }
    var attributes = Array.prototype.slice.call(document.querySelectorAll("#attribute-list input:checked"))
      .map(function (i) { return { index: Number(i.value), name: i.getAttribute("data-name") }; });
    lines = []; lineRows = [];
    var skipped = {}, perType = {}, noId = 0;
    var i = 0;
    $("hash-button").disabled = true;
    function next() {
      var batch = [];
      for (var n = 0; n < 500 && i < rows.length; n++, i++) {
        var row = rows[i];
        var id = H.trim(cell(row, "col-id") || "");
        if (id.length === 0) { noId++; continue; }
        var acct = spec.account(cell(row, "col-website"), cell(row, "col-email"), cell(row, "col-name"), cell(row, "col-country"));
        if (acct.isEmpty) {
          Object.keys(acct.missing).forEach(function (f) { var k = f + ": " + acct.missing[f]; skipped[k] = (skipped[k] || 0) + 1; });
          if (Object.keys(acct.missing).length === 0) skipped["no identifier column"] = (skipped["no identifier column"] || 0) + 1;
          continue;
        }
        batch.push({ id: id, acct: acct, row: row, csvRow: i + 2 });
      }
      Promise.all(batch.map(function (b) { return H.hashes(b.acct); })).then(function (hashes) {
        batch.forEach(function (b, k) {
          var attrs = {};
          attributes.forEach(function (a) { var v = H.trim(b.row[a.index] || ""); if (v.length > 0) attrs[a.name] = v; });
          Object.keys(hashes[k]).forEach(function (t) { perType[t] = (perType[t] || 0) + 1; });
          lines.push(JSON.stringify({ recordId: b.id, identifiers: hashes[k], attributes: attrs }));
          lineRows.push(b.csvRow);
        });
        say("Hashed " + i + " of " + rows.length + " rows…");
        if (i < rows.length) setTimeout(next, 0); else done();
      });
    }
    function done() {
      $("hash-button").disabled = false;
      var summary = $("hash-summary");
      var parts = ["<p><strong>" + lines.length + "</strong> accounts to upload, of " + rows.length + " rows.</p>"];
      var types = Object.keys(perType).map(function (t) { return t + ": " + perType[t]; }).join(", ");
      if (types) parts.push("<p>Accounts with keys, by type: " + escapeHtml(types) + ".</p>");
      var reasons = Object.keys(skipped).map(function (k) { return k + " (" + skipped[k] + ")"; });
      if (noId > 0) reasons.unshift("no record id (" + noId + ")");
      if (reasons.length) parts.push("<p>Not uploaded (no key to match on): " + escapeHtml(reasons.join(", ")) + ".</p>");
      if (lines.length) parts.push("<p>What is sent for the first account (hashes only):</p><pre class=\"command\"><code>" + escapeHtml(lines[0]) + "</code></pre>");
      summary.innerHTML = parts.join("");
      summary.hidden = false;
      $("upload-button").disabled = lines.length === 0;
      $("upload-button").textContent = "Upload " + lines.length + " accounts (replaces the population)";
      say("Hashed in this browser. Check the summary, then upload.");
    }
    next();
  });

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }

  function body() {
    var text = lines.join("\n") + "\n";
    var blob = new Blob([text], { type: "application/x-ndjson" });
    if (!window.CompressionStream) return Promise.resolve({ data: blob, gzip: false });
    var stream = blob.stream().pipeThrough(new CompressionStream("gzip"));
    return new Response(stream).blob().then(function (b) { return { data: b, gzip: true }; });
  }

  function key() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "dashboard-" + Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  $("upload-button").addEventListener("click", function () {
    var button = this;
    button.disabled = true;
    say("Uploading…");
    var token = document.querySelector("#browser-upload input[name=__RequestVerificationToken]").value;
    body().then(function (b) {
      var headers = { "Content-Type": "application/x-ndjson", "X-CSRF-TOKEN": token, "Idempotency-Key": key(), "Hashing-Spec": H.specVersion };
      if (b.gzip) headers["Content-Encoding"] = "gzip";
      return fetch(root.getAttribute("data-upload-url"), { method: "PUT", headers: headers, body: b.data, credentials: "same-origin" });
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) { return { ok: response.ok, status: response.status, json: json }; });
    }).then(function (r) {
      var result = $("upload-result");
      if (r.ok) {
        result.innerHTML = "<p>Committed: <strong>" + r.json.recordCount + "</strong> records are now the population (" + r.json.rowsRejected +
          " rows rejected). <a href=\"" + escapeHtml(root.getAttribute("data-population-url")) + "\">Back to the population</a>.</p>";
        say("Upload committed.");
        return;
      }
      var parts = ["<p>" + escapeHtml((r.json.title || "The upload was refused") + (r.json.detail ? ": " + r.json.detail : "")) + "</p>"];
      var errors = r.json.errors;
      if (Array.isArray(errors) && errors.length) {
        parts.push("<table class=\"data narrow\"><caption>Row errors (CSV rows of your file)</caption><thead><tr><th scope=\"col\">Row</th><th scope=\"col\">Field</th><th scope=\"col\">Problem</th></tr></thead><tbody>");
        errors.forEach(function (e) {
          var row = e.row >= 1 && e.row <= lineRows.length ? lineRows[e.row - 1] : e.row;
          parts.push("<tr><td>" + escapeHtml(row) + "</td><td>" + escapeHtml(e.field || "") + "</td><td>" + escapeHtml(e.message) + "</td></tr>");
        });
        parts.push("</tbody></table>");
      }
      result.innerHTML = parts.join("");
      if (r.status === 401) {
        result.innerHTML = "<p>Your session has ended (signed out, idle too long, or your access changed). <a href=\"/signin\">Sign in again</a>, then upload the file once more.</p>";
        say("Your session has ended: nothing was applied. Sign in again and upload once more.", true);
      } else if (r.status === 403) {
        result.innerHTML = "<p>Your role does not allow uploading to this population. Admins, partner managers and sales ops members can.</p>";
        say("Not allowed for your role: nothing was applied.", true);
      } else {
        say("The upload was refused (" + r.status + "); nothing was applied.", true);
      }
      button.disabled = false;
    }, function (e) {
      say("The upload failed: " + e.message + ". Nothing was applied unless the population page says so.", true);
      button.disabled = false;
    });
  });
})();
