#!/usr/bin/env python3
"""The growth picture of docs/performance.md, from scripts/bench-growth's figures; run by that script.

Python 3 standard library only (the SVG is written here, as scripts/privacy_tradeoff.py writes its own). Input: one
figures.json per population size, as the bench console's `overlap` subcommand writes it (milliseconds), or one file
holding a list of them (scripts/bench-growth keeps its run's beside the picture, so it can be drawn again). Left: each
overlap figure against the records per side. Right: the same divided by millions of records per side, so a flat line
is linear growth and a rising one grows faster than the data.
"""
import argparse
import json

SERIES = [  # key, label, colour, dashed (a baseline measured in the same run)
    ("restartMs", "cold overlap after a restart", "#d95f02", False),
    ("coldMedianMs", "cold overlap (median of 3)", "#7b3294", False),
    ("sortMergeMs", "baseline: sort + merge of the same tokens", "#7b3294", True),
    ("inMemoryMs", "overlap, both versions in memory", "#1b9e77", False),
    ("mergeMs", "baseline: merge of already sorted tokens", "#1b9e77", True),
]


def nice_max(value):
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above value."""
    step = 1.0
    while step * 10 < value:
        step *= 10
    while step > value and step >= 1:
        step /= 10
    for m in (1, 2, 2.5, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def panel(x0, y0, w, h, points, per_million, title):
    """One chart: its axes, grid, and a polyline per series; returns SVG elements."""
    xs = [p["records"] / 1e6 for p in points]
    def value(p, key):
        return p[key] / (p["records"] / 1e6) if per_million else p[key]
    top = nice_max(max(value(p, k) for p in points for k, *_ in SERIES))
    # The x axis to the largest size, ticked at whole millions (half millions below two million), not at every size.
    right = max(xs)
    step = 0.5 if right <= 2 else 1.0
    ticks = [step * i for i in range(int(right / step) + 1)]
    out = [f'<text x="{x0 + w / 2}" y="{y0 - 12}" text-anchor="middle" font-weight="bold">{title}</text>']
    for i in range(6):
        v = top * i / 5
        y = y0 + h - h * i / 5
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    for x in ticks:
        px = x0 + w * x / right
        out.append(f'<line x1="{px:.1f}" y1="{y0 + h}" x2="{px:.1f}" y2="{y0 + h + 5}" stroke="#333"/>')
        out.append(f'<text x="{px:.1f}" y="{y0 + h + 18}" text-anchor="middle">{x:g}M</text>')
    out.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="#333"/>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" stroke="#333"/>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 36}" text-anchor="middle">records per side</text>')
    label = "ms per million records per side" if per_million else "ms"
    out.append(f'<text transform="translate({x0 - 48},{y0 + h / 2}) rotate(-90)" text-anchor="middle">{label}</text>')
    for key, _, colour, dashed in SERIES:
        coords = " ".join(f"{x0 + w * p['records'] / 1e6 / right:.1f},{y0 + h - h * value(p, key) / top:.1f}" for p in points)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for c in coords.split():
            cx, cy = c.split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
    return out


def svg(points, caption):
    width, height = 1000, 520
    body = panel(80, 50, 380, 300, points, False, "time per overlap")
    body += panel(580, 50, 380, 300, points, True, "the same per million records (flat = linear)")
    y = 420
    for i, (_, label, colour, dashed) in enumerate(SERIES):
        x = 80 + (i % 3) * 310
        yy = y + (i // 3) * 22
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        body.append(f'<line x1="{x}" y1="{yy - 4}" x2="{x + 28}" y2="{yy - 4}" stroke="{colour}" stroke-width="2"{dash}/>')
        body.append(f'<text x="{x + 34}" y="{yy}">{label}</text>')
    body.append(f'<text x="80" y="{height - 20}" fill="#555">{caption}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--caption", default="")
    parser.add_argument("figures", nargs="+", help="figures.json files, one per size, or one file holding a list of them")
    args = parser.parse_args()
    points = []
    for f in args.figures:
        figures = json.load(open(f))
        points += figures if isinstance(figures, list) else [figures]
    points.sort(key=lambda p: p["records"])
    with open(args.out, "w") as f:
        f.write(svg(points, args.caption))


if __name__ == "__main__":
    main()
