#!/usr/bin/env python3
"""The trade-off picture of docs/privacy.md, from the implementation's own figures; run by scripts/privacy-tradeoff.

Python 3 standard library only (no plotting library: the SVG is written here). One owner and one partner sign up on
a running escrow; the owner sets its privacy settings for the partner over a range of values, and the service
answers with what they imply (PUT /v1/partnerships/{id}/privacy: medianError and marginOfError of one release for
each ε per release, advantageBound for each ε per period). Left: the median relative error of a released count by
cell size, one line per ε per release; right: the bound on the membership advantage by ε per period. The defaults
are marked, with the targets (10 % at 500 accounts, advantage 0.3).
"""
import argparse
import math
import sys
from urllib.parse import urlparse

from privacy_service import Org

PER_RELEASE = [0.005, 0.01, 0.02, 0.05, 0.1]
PER_PERIOD = [round(0.05 * i, 2) for i in range(1, 61)]  # 0.05 .. 3
SIZES = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
COLORS = ["#7b3294", "#c2a5cf", "#d95f02", "#1b9e77", "#2c7bb6"]


def figures(url):
    host, port = urlparse(url).hostname, urlparse(url).port
    owner, partner = Org(host, port, "tradeoff-owner"), Org(host, port, "tradeoff-partner")
    partnership = partner.partner(owner)
    defaults = owner.privacy(partnership)["defaults"]
    errors = {}
    for e in PER_RELEASE:
        s = owner.privacy(partnership, {"epsilonPerPeriod": 3, "epsilonPerRelease": e})["settings"]
        errors[e] = (s["medianError"], s["marginOfError"])
    bounds = {}
    for e in PER_PERIOD:
        bounds[e] = owner.privacy(partnership, {"epsilonPerPeriod": e, "epsilonPerRelease": min(e, 0.005)})["settings"]["advantageBound"]
    return defaults, errors, bounds


def svg(defaults, errors, bounds):
    width, height = 960, 500
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']

    def text(x, y, s, anchor="start", size=12, weight="normal", color="#222"):
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" fill="{color}">{s}</text>')

    def line(x1, y1, x2, y2, color="#222", width_=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" stroke-width="{width_}"{d}/>')

    def polyline(points, color, width_=2):
        p = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{p}" fill="none" stroke="{color}" stroke-width="{width_}"/>')

    # Left panel: median relative error (%) by cell size, log-log.
    left, top, w, h = 70, 50, 360, 300
    xmin, xmax = math.log10(SIZES[0]), math.log10(SIZES[-1])
    ymin, ymax = math.log10(0.1), math.log10(200)  # percent
    X = lambda n: left + (math.log10(n) - xmin) / (xmax - xmin) * w  # noqa: E731
    Y = lambda pct: top + h - (math.log10(min(max(pct, 0.1), 200)) - ymin) / (ymax - ymin) * h  # noqa: E731
    text(left, top - 22, "Median error of a released count, by cell size", weight="bold", size=13)
    for pct in [0.1, 1, 10, 100]:
        line(left, Y(pct), left + w, Y(pct), "#ddd")
        text(left - 6, Y(pct) + 4, f"{pct:g} %", "end")
    for n in SIZES:
        line(X(n), top, X(n), top + h, "#eee")
        text(X(n), top + h + 16, f"{n:,}", "middle")
    text(left + w / 2, top + h + 36, "true count of the cell (accounts), log scale", "middle")
    line(left, Y(10), left + w, Y(10), "#c00", 1, "4,3")
    line(X(500), top, X(500), top + h, "#c00", 1, "4,3")
    text(left + w - 2, Y(10) - 4, "10 %", "end", color="#c00")
    text(X(500) + 3, top + 12, "500", color="#c00")
    default_release = float(defaults["epsilonPerRelease"])
    for (e, (median, _)), color in zip(errors.items(), COLORS):
        points = [(X(n), Y(100 * median / n)) for n in SIZES]
        polyline(points, color, 3 if math.isclose(e, default_release) else 1.5)
    lx, ly = left, top + h + 60  # below the axis: the lines fill the plot
    for i, ((e, (median, margin)), color) in enumerate(zip(errors.items(), COLORS)):
        y = ly + 16 * i
        line(lx, y - 4, lx + 18, y - 4, color, 3 if math.isclose(e, default_release) else 1.5)
        mark = " (default)" if math.isclose(e, default_release) else ""
        text(lx + 24, y, f"ε per release {e:g}: median ±{median}, 90 % ±{margin}{mark}", size=11)

    # Right panel: advantage bound by ε per period.
    left2, w2 = 560, 360
    emax = PER_PERIOD[-1]
    X2 = lambda e: left2 + e / emax * w2  # noqa: E731
    Y2 = lambda a: top + h - a * h  # noqa: E731
    text(left2, top - 22, "Bound on membership advantage, by budget", weight="bold", size=13)
    for a in [0, 0.2, 0.4, 0.6, 0.8, 1.0]:
        line(left2, Y2(a), left2 + w2, Y2(a), "#ddd")
        text(left2 - 6, Y2(a) + 4, f"{a:.1f}", "end")
    for e in [0, 0.5, 1, 1.5, 2, 2.5, 3]:
        line(X2(e), top, X2(e), top + h, "#eee")
        text(X2(e), top + h + 16, f"{e:g}", "middle")
    text(left2 + w2 / 2, top + h + 36, "ε per period (per owner, partner and period)", "middle")
    polyline([(X2(0), Y2(0))] + [(X2(e), Y2(b)) for e, b in bounds.items()], "#2c7bb6", 2.5)
    line(left2, Y2(0.3), left2 + w2, Y2(0.3), "#c00", 1, "4,3")
    text(left2 + w2 - 2, Y2(0.3) - 4, "0.3", "end", color="#c00")
    period = float(defaults["epsilonPerPeriod"])
    bound = defaults["advantageBound"]
    out.append(f'<circle cx="{X2(period):.1f}" cy="{Y2(bound):.1f}" r="5" fill="#c00"/>')
    text(X2(period) + 8, Y2(bound) + 16, f"default ε {period:g}: tanh(ε/2) = {bound:.3f}", color="#c00")
    text(left2 + w2 - 2, top + h - 8, "advantage ≤ tanh(ε/2)", "end", size=11)

    text(width / 2, height - 8, "Figures from the escrow's own privacy endpoint (scripts/privacy-tradeoff); discrete Laplace noise, pure ε-DP.",
         "middle", size=11, color="#555")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    defaults, errors, bounds = figures(args.url)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(svg(defaults, errors, bounds))
    for e, (median, margin) in errors.items():
        print(f"ε per release {e:g}: median error {median}, ±{margin} at 90 %; at 500 accounts {100 * median / 500:.1f} %")
    print(f"defaults: ε per period {defaults['epsilonPerPeriod']}, advantage bound {defaults['advantageBound']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
