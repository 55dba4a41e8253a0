#!/usr/bin/python3
"""Markdown tables from peers.sh's raw results: summarize.py OUT_DIR > summary.md"""
import csv
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

out = Path(sys.argv[1])
runs = defaultdict(list)
for r in csv.DictReader(open(out / "runs.csv")):
    if r["exit"] == "0" and r["wall_s"]:
        runs[(int(r["n"]), r["tool"])].append(r)
quality = {(int(r["n"]), r["tool"]): r for r in csv.DictReader(open(out / "quality.csv"))}
names = {"treesne": "treesne", "rtsne": "Rtsne", "sklearn": "scikit-learn"}


def seconds(text):
    """'1 min 59 s' / '0.54 s' / '1 h 2 min 3 s' -> seconds."""
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)\s*(h|min|s)\b", text):
        total += float(value) * {"h": 3600, "min": 60, "s": 1}[unit]
    return total


def cpu_seconds(path):
    """user + system seconds from a /usr/bin/time -v report."""
    t = 0.0
    for line in open(path, errors="replace"):
        m = re.match(r"\s*(User|System) time \(seconds\): ([\d.]+)", line)
        if m:
            t += float(m.group(2))
    return t


def stages(log):
    """treesne's per-stage times from its --verbose progress output."""
    t = {}
    for line in open(log, errors="replace"):
        m = re.match(r"(read|pca|neighbours|affinities|init):.* in (.+)$", line.strip())
        if m:
            t[m.group(1)] = seconds(m.group(2))
        m = re.match(r"optimise: \d+ iterations, .* in (.+)$", line.strip())
        if m:
            t["optimise"] = seconds(m.group(1))
    return t


def fmt(v, spec):
    try:
        return format(float(v), spec)
    except (TypeError, ValueError):
        return "–"


for n in sorted({k[0] for k in runs}):
    tools = [t for t in ("treesne", "rtsne", "sklearn") if (n, t) in runs]
    wall = {t: [float(r["wall_s"]) for r in runs[(n, t)]] for t in tools}
    cpu = {t: [cpu_seconds(out / "logs" / f"{t}_{n}_r{r['rep']}.time") for r in runs[(n, t)]] for t in tools}
    print(f"\n### N = {n:,}\n")
    print("| tool | runs | wall s: median (min–max) | CPU s (user+sys), median | peak RSS MB | exact KL "
          "| 10-NN preservation | trustworthiness (k=10) | 10-NN accuracy | peer / treesne: median wall, min wall |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in tools:
        w = wall[t]
        rss = statistics.median(float(r["max_rss_mb"]) for r in runs[(n, t)])
        q = quality.get((n, t), {})
        if t == "treesne":
            ratio = "1 (reference)"
        elif "treesne" in wall:
            ratio = (f"{statistics.median(w) / statistics.median(wall['treesne']):.2f}×, "
                     f"{min(w) / min(wall['treesne']):.2f}×")
        else:
            ratio = "–"
        print(f"| {names[t]} | {len(w)} | {statistics.median(w):.1f} ({min(w):.1f}–{max(w):.1f}) | "
              f"{statistics.median(cpu[t]):.1f} | {rss:.0f} | "
              f"{fmt(q.get('kl'), '.4f')} | {fmt(q.get('knn_preservation'), '.4f')} | "
              f"{fmt(q.get('trustworthiness'), '.4f')} | {fmt(q.get('knn_accuracy'), '.4f')} | {ratio} |")
    logs = sorted((out / "logs").glob(f"treesne_{n}_r*.log"))
    per = [stages(p) for p in logs]
    per = [p for p in per if p]
    if per:
        keys = [k for k in ("read", "pca", "neighbours", "affinities", "init", "optimise") if k in per[0]]
        cells = ", ".join(f"{k} {statistics.median(p.get(k, 0) for p in per):.2f} s" for k in keys)
        print(f"\ntreesne stages (median of {len(per)}): {cells}")
