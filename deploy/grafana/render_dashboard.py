#!/usr/bin/python3
"""Renders deploy/grafana/tokend-dashboard.json to a PNG from a real Prometheus.

Every panel's queries are run as they are in the JSON (Grafana variables substituted: all
namespaces and instances, $__rate_interval) against Prometheus's HTTP API (query_range), and
drawn where the panel's gridPos puts it, in Grafana's dark theme: time series as lines (stacked
where the panel stacks), stat panels as their last value coloured by the panel's thresholds.
No Grafana needed; what you see is what the dashboard's queries return.

usage: render_dashboard.py --prometheus http://127.0.0.1:PORT --out docs/dashboard.png
                           [--dashboard deploy/grafana/tokend-dashboard.json]
                           [--minutes 10] [--rate-interval 30s] [--title "..."]
Exits 1 if a query fails (a broken query in the dashboard), 0 otherwise; prints one line per
panel with the number of series it drew.
"""

import argparse
import datetime
import json
import math
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BG, PANEL, BORDER, TEXT, MUTED, GRID = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e9e", "#2a2d33"
PALETTE = ["#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9",
           "#FF9830", "#96D98D", "#FADE2A", "#C0D8FF", "#FFB357", "#FF7383", "#CA95E5"]
NAMED = {"green": "#73BF69", "red": "#F2495C", "yellow": "#FADE2A", "orange": "#FF9830"}


def query_range(base, expr, start, end, step):
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{body.get('errorType')}: {body.get('error')}")
    return body["data"]["result"]


def substitute(expr, rate_interval):
    expr = expr.replace("$__rate_interval", rate_interval)
    expr = re.sub(r'=~"\$(namespace|instance)"', '=~".*"', expr)
    return expr


def legend(fmt, labels, expr):
    if not fmt:
        return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or expr[:40]
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def fmt_value(v, unit):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if unit == "s":
        a = abs(v)
        if a == 0:
            return "0 s"
        if a < 1e-3:
            return f"{v * 1e6:.3g} µs"
        if a < 1:
            return f"{v * 1e3:.3g} ms"
        if a < 120:
            return f"{v:.3g} s"
        if a < 7200:
            return f"{v / 60:.3g} min"
        if a < 2 * 86400:
            return f"{v / 3600:.3g} h"
        return f"{v / 86400:.3g} d"
    if unit == "percentunit":
        return f"{v * 100:.3g}%"
    if unit == "reqps":
        return f"{v:.3g} req/s"
    if unit == "none":
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.3g}"
    return f"{v:.3g}"


def threshold_color(value, steps):
    color = steps[0]["color"] if steps else "green"
    for s in steps:
        if s.get("value") is None or (value is not None and value >= s["value"]):
            color = s["color"]
    return NAMED.get(color, color)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--dashboard", default=os.path.join(ROOT, "deploy/grafana/tokend-dashboard.json"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--end", type=float, default=None, help="unix time (default now)")
    ap.add_argument("--rate-interval", default="30s")
    ap.add_argument("--title", default=None)
    args = ap.parse_args()

    with open(args.dashboard) as f:
        dash = json.load(f)
    end = args.end or time.time()
    start = end - args.minutes * 60
    step = max(1, round(args.minutes * 60 / 240))
    panels = dash["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    unit_w, unit_h = 0.82, 0.36  # inches per grid column / row
    width, height = 24 * unit_w, rows * unit_h + 0.8
    fig = plt.figure(figsize=(width, height), dpi=80, facecolor=BG)
    title = args.title or f"{dash['title']} — Grafana dashboard rendered from Prometheus"
    fig.text(0.01, 1 - 0.35 / height, title, color=TEXT, fontsize=15, weight="bold", va="center")
    span = f"{datetime.datetime.fromtimestamp(start):%Y-%m-%d %H:%M:%S} → {datetime.datetime.fromtimestamp(end):%H:%M:%S}"
    fig.text(0.99, 1 - 0.35 / height, span, color=MUTED, fontsize=10, ha="right", va="center")
    top = 0.8  # inches reserved for the title

    def rect(gp, pad=0.06):
        x = gp["x"] * unit_w / width
        y = 1 - (top + (gp["y"] + gp["h"]) * unit_h) / height
        return [x + pad / width, y + pad / height, gp["w"] * unit_w / width - 2 * pad / width,
                gp["h"] * unit_h / height - 2 * pad / height]

    failures = 0
    for p in panels:
        gp = p["gridPos"]
        if p["type"] == "row":
            x, y, w, h = rect(gp, pad=0)
            fig.text(x + 0.003, y + h * 0.35, p["title"], color=TEXT, fontsize=12.5, weight="bold", va="center")
            continue
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        series = []
        for t in p.get("targets", []):
            expr = substitute(t["expr"], args.rate_interval)
            try:
                result = query_range(args.prometheus, expr, start, end, step)
            except Exception as e:  # a broken query is a broken dashboard
                print(f"FAIL panel {p['title']!r}: {expr}: {e}")
                failures += 1
                continue
            for r in result:
                pts = [(float(ts), float(v)) for ts, v in r["values"]]
                pts = [(ts, v) for ts, v in pts if not math.isnan(v) and not math.isinf(v)]
                if pts:
                    series.append((legend(t.get("legendFormat"), r["metric"], expr), pts))
        frame = fig.add_axes(rect(gp), facecolor=PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for s in frame.spines.values():
            s.set_color(BORDER)
        frame.text(0.012, 1 - 0.16 / (gp["h"] * unit_h), p["title"], transform=frame.transAxes,
                   color=TEXT, fontsize=10.5, weight="bold", va="center")
        x, y, w, h = rect(gp)
        if p["type"] == "stat":
            ax = fig.add_axes([x, y, w, h - 0.32 / height], facecolor="none")
        else:
            ax = fig.add_axes([x + 0.78 / width, y + 0.3 / height, w - 0.9 / width,
                               h - 0.68 / height], facecolor="none")
        for s in ax.spines.values():
            s.set_visible(False)
        print(f"panel {p['title']!r}: {len(series)} series")
        if p["type"] == "stat":
            ax.set_xticks([])
            ax.set_yticks([])
            last = series[0][1][-1][1] if series else None
            steps = p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
            color = threshold_color(last, steps)
            if series:
                xs = [datetime.datetime.fromtimestamp(ts) for ts, _ in series[0][1]]
                ys = [v for _, v in series[0][1]]
                ax.fill_between(xs, ys, color=color, alpha=0.15, linewidth=0)
                ax.plot(xs, ys, color=color, alpha=0.5, linewidth=1)
                lo, hi = min(ys), max(ys)
                ax.set_ylim(lo - (hi - lo or 1) * 0.1, hi + (hi - lo or 1) * 1.2)
            ax.text(0.5, 0.45, fmt_value(last, unit), transform=ax.transAxes, color=color,
                    fontsize=22, weight="bold", ha="center", va="center")
            continue
        # Series that stay at zero are left out (Grafana: "hide series with only zeros").
        series = [s for s in series if any(v != 0 for _, v in s[1])]
        stacked = p.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get("stacking", {}).get("mode") == "normal"
        ax.tick_params(colors=MUTED, labelsize=8)
        ax.grid(True, color=GRID, linewidth=0.6)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M" if args.minutes > 20 else "%H:%M:%S"))
        ax.xaxis.set_major_locator(plt.MaxNLocator(6))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _, u=unit: fmt_value(v, u)))
        if not series:
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, color=MUTED, ha="center", va="center", fontsize=12)
            ax.set_xlim(datetime.datetime.fromtimestamp(start), datetime.datetime.fromtimestamp(end))
            continue
        series.sort(key=lambda s: -max(v for _, v in s[1]))
        base = {}
        for i, (name, pts) in enumerate(series[:12]):
            color = PALETTE[i % len(PALETTE)]
            xs = [datetime.datetime.fromtimestamp(ts) for ts, _ in pts]
            ys = [v for _, v in pts]
            if stacked:
                lows = [base.get(ts, 0.0) for ts, _ in pts]
                ys = [lo + v for lo, v in zip(lows, ys)]
                for (ts, _), y in zip(pts, ys):
                    base[ts] = y
                ax.fill_between(xs, lows, ys, color=color, alpha=0.25, linewidth=0)
            else:
                ax.fill_between(xs, ys, color=color, alpha=0.08, linewidth=0)
            ax.plot(xs, ys, color=color, linewidth=1.3, label=name)
        ax.set_ylim(bottom=0)
        ax.set_xlim(datetime.datetime.fromtimestamp(start), datetime.datetime.fromtimestamp(end))
        leg = ax.legend(loc="upper left", fontsize=7, ncol=3 if len(series) > 4 else 2, frameon=False,
                        labelcolor=TEXT, handlelength=1.2, columnspacing=0.8)
        leg.set_zorder(5)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, facecolor=BG)
    print(f"wrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
