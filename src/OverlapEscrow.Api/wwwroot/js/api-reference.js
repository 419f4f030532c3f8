// Starts Scalar's API reference renderer on the served OpenAPI document. A file, not an inline script: the
// dashboard's Content-Security-Policy allows scripts from this service only. Nothing is fetched from elsewhere:
// no default fonts (they come from a CDN), no telemetry, no request proxy.
(function () {
  "use strict";
  var app = document.getElementById("app");
  if (!app || !window.Scalar) return;
  window.Scalar.createApiReference("#app", {
    url: app.getAttribute("data-document"),
    withDefaultFonts: false,
    telemetry: false,
    proxyUrl: "",
    hideClientButton: true,
    showDeveloperTools: "never",
    agent: { disabled: true },
    mcp: { disabled: true },
    layout: "modern",
    theme: "default"
  });
})();
