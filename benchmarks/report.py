"""BENCHMARKS.md and its charts from one pytest-benchmark JSON file (one run).

Usage: ``python benchmarks/report.py RESULTS.json BENCHMARKS.md [CHART_FOLDER]``

Generic over the convention of convention.py: each benchmark's ``extra_info`` names its area,
case, implementation and role. Every area becomes a table with one row per case and one column
per implementation (its rate and median), then one column per subject and other implementation
with the ratio of their times per operation -- computed only inside a case, so only between
figures of the same run. Figures a case reports besides time (peak RSS, key-service calls, bytes
on the wire) get a table of their own. Charts are drawn as the areas declare them.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """One benchmark of the run, as the report needs it."""

    area: str
    case: str
    impl: str
    role: str
    median: float
    rounds: int
    nbytes: int | None
    ops: int
    rate: float | None
    series: str | None
    x: float | None
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def per_op(self) -> float:
        """Seconds per operation: from a measured rate, else the median round over its ops."""
        if self.rate:
            return 1.0 / self.rate
        return self.median / self.ops

    @property
    def throughput(self) -> float | None:
        """Bytes per second, for cases that move bytes."""
        return self.nbytes / self.median if self.nbytes and self.median else None

    @property
    def ops_per_s(self) -> float:
        return 1.0 / self.per_op if self.per_op else 0.0


def load(path: Path) -> tuple[dict[str, Any], list[Result]]:
    """The run's JSON: (the whole document, its tagged results in run order)."""
    document = json.loads(path.read_text())
    results = []
    for bench in document.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if not {"area", "case", "impl", "role"} <= info.keys():
            continue
        stats = bench["stats"]
        results.append(Result(
            area=info["area"], case=info["case"], impl=info["impl"], role=info["role"],
            median=float(stats["median"]), rounds=int(stats["rounds"]),
            nbytes=info.get("bytes"), ops=int(info.get("ops") or 1), rate=info.get("rate"),
            series=info.get("series"), x=info.get("x", info.get("bytes")),
            figures=dict(info.get("figures", {})),
        ))  # fmt: skip
    return document, results


# --- Formatting ----------------------------------------------------------------------------------


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def throughput(value: float) -> str:
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} B/s"


def rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.3g} M/s"
    if value >= 1e4:
        return f"{value / 1e3:.3g} k/s"
    return f"{value:,.0f}/s" if value >= 100 else f"{value:.3g}/s"


def size_label(value: float) -> str:
    """``1048576`` -> ``1 MiB``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{value:g} B"


def ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def cell(result: Result, metric: str) -> str:
    """One implementation's figure for a case: its main metric, then its median."""
    if metric == "throughput" and result.throughput:
        return f"**{throughput(result.throughput)}** ({seconds(result.median)})"
    if metric == "time":
        return f"**{seconds(result.per_op)}**"
    if result.rate:  # counted over several clients: its time per operation is no latency
        return f"**{rate(result.ops_per_s)}**"
    return f"**{rate(result.ops_per_s)}** ({seconds(result.per_op)})"


# --- Tables --------------------------------------------------------------------------------------


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def area_tables(area: str, spec: dict[str, Any], results: list[Result]) -> list[str]:
    """The markdown for one area: its title, how it was measured, its tables."""
    metric = spec["metric"]
    impls = _ordered([r.impl for r in results])
    roles = {r.impl: r.role for r in results}
    impls.sort(key=lambda i: ("subject", "peer", "limit").index(roles[i]))
    cases = _ordered([r.case for r in results])
    by_case: dict[str, dict[str, Result]] = defaultdict(dict)
    for r in results:
        by_case[r.case][r.impl] = r
    subjects = [i for i in impls if roles[i] == "subject"]
    pairs = [(s, o) for s in subjects for o in impls if o != s and roles[o] != "subject"]
    if not pairs:  # only subjects: compare each later subject with the first
        pairs = [(s, subjects[0]) for s in subjects[1:]]
    unit = {"throughput": "throughput (median time per round)", "time": "median time",
            "rate": "operations/s (time per operation)"}[metric]  # fmt: skip
    lines = [f"## {spec['title']}", "", spec["how"], "",
             f"Cells: {unit}. Ratios: time per operation of the first over the second, in the "
             "same case (below 1: the first is faster).", ""]  # fmt: skip
    header = ["case", *impls, *(f"{s} ÷ {o}" for s, o in pairs)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case in cases:
        row = [case]
        for impl in impls:
            r = by_case[case].get(impl)
            row.append(cell(r, metric) if r else "")
        for s, o in pairs:
            a, b = by_case[case].get(s), by_case[case].get(o)
            row.append(ratio(a.per_op / b.per_op) if a and b and b.per_op else "")
        lines.append("| " + " | ".join(row) + " |")
    figures = _ordered([name for r in results for name in r.figures])
    if figures:
        lines += ["", "| case | implementation | " + " | ".join(figures) + " |",
                  "|" + "---|" * (len(figures) + 2)]  # fmt: skip
        for case in cases:
            for impl in impls:
                r = by_case[case].get(impl)
                if r and r.figures:
                    values = [_number(r.figures.get(name)) for name in figures]
                    lines.append(f"| {case} | {impl} | " + " | ".join(values) + " |")
    lines.append("")
    return lines


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"
    return f"{int(value):,}"


# --- Charts --------------------------------------------------------------------------------------


def draw(chart: dict[str, Any], results: list[Result], folder: Path) -> Path | None:
    """One PNG: chart['y'] against x (log-log) per implementation. None if nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in results:
        if chart["series"] is not None and r.series != chart["series"]:
            continue
        if chart["impls"] and r.impl not in chart["impls"]:
            continue
        y = r.throughput / 1e6 if chart["y"] == "throughput" and r.throughput else (
            r.ops_per_s if chart["y"] == "rate" else r.figures.get(chart["y"]))
        if r.x and y:
            series[r.impl].append((float(r.x), float(y)))
    if not series:
        return None
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    for impl in chart["impls"] or sorted(series):
        points = sorted(series.get(impl, []))
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=impl)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    xs = sorted({x for points in series.values() for x, _ in points})
    axes.set_xticks(xs, [size_label(x) for x in xs])
    axes.minorticks_off()
    axes.set_xlabel(chart["x_label"])
    axes.set_ylabel(chart["y_label"])
    axes.set_title(chart["title"])
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / chart["file"]
    figure.savefig(path)
    plt.close(figure)
    return path


# --- The document --------------------------------------------------------------------------------


def machine(document: dict[str, Any]) -> list[str]:
    info = document.get("machine_info", {})
    mine = info.get("envelope_report", {})
    load_avg = mine.get("load_average")
    lines = ["## Machine", "",
             f"- CPU: {mine.get('cpu', info.get('cpu', {}).get('brand_raw', '?'))}, "
             f"{mine.get('cores', '?')} cores"
             + (f" (load average at the start: {load_avg[0]:.1f})" if load_avg else ""),
             f"- {mine.get('system', info.get('system', ''))}, Python {mine.get('python', '?')},"
             f" {mine.get('openssl', '?')}",
             f"- Run: {document.get('datetime', '?')}"]  # fmt: skip
    versions = mine.get("versions", {})
    if versions:
        lines.append("- Libraries: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return [*lines, ""]


def targets(document: dict[str, Any], results: list[Result]) -> list[str]:
    """The goals of convention.TARGETS, each checked on two figures of this run."""
    goals = document.get("targets", [])
    if not goals:
        return []
    found = {(r.area, r.case, r.impl): r for r in results}
    lines = ["## Targets", "", "Each checked on two figures of this run.", "",
             "| target | envelope | peer | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for goal in goals:
        a = found.get((goal["area"], goal["case"], goal["subject"]))
        b = found.get((goal["area"], goal["case"], goal["peer"]))
        if a is None or b is None or not b.per_op:
            lines.append(f"| {goal['what']} | | {goal['peer']} | not measured | "
                         f"<= {goal['at_most']}x | no |")  # fmt: skip
            continue
        value = a.per_op / b.per_op
        lines.append(f"| {goal['what']} | {seconds(a.per_op)} | {goal['peer']}: "
                     f"{seconds(b.per_op)} | {ratio(value)} | <= {goal['at_most']}x | "
                     f"{'yes' if value <= goal['at_most'] else '**no**'} |")  # fmt: skip
    return [*lines, ""]


def render(document: dict[str, Any], results: list[Result], charts_folder: Path,
           output: Path) -> str:  # fmt: skip
    """The whole BENCHMARKS.md; charts are written into ``charts_folder``."""
    areas: dict[str, Any] = document.get("areas", {})
    by_area: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_area[r.area].append(r)
    lines = ["# Benchmarks", "",
             "Written by `make bench` (pytest-benchmark, then `benchmarks/report.py`) from one "
             "run: every ratio compares figures of that run, on the machine below. The machine is "
             "shared and often loaded, so read the ratios, not the absolute times.", ""]
    lines += machine(document)
    contents = [f"- [{areas[a]['title']}](#{_anchor(areas[a]['title'])})"
                for a in areas if a in by_area]  # fmt: skip
    lines += targets(document, results)
    lines += ["## Contents", "", *contents, ""]
    for name, spec in areas.items():
        if name not in by_area:
            continue
        lines += area_tables(name, spec, by_area[name])
        for chart in spec.get("charts", ()):
            path = draw(chart, by_area[name], charts_folder)
            if path is not None:
                parent = output.resolve().parent
                link = path.resolve().relative_to(parent) if path.resolve().is_relative_to(
                    parent) else path  # fmt: skip
                lines += [f"![{chart['title']}]({link.as_posix()})", ""]
    missing = [a for a in by_area if a not in areas]
    if missing:
        raise SystemExit(f"results name unknown areas: {', '.join(missing)}")
    return "\n".join(lines).rstrip() + "\n"


def _anchor(title: str) -> str:
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return kept.replace(" ", "-")


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    source, output = Path(argv[0]), Path(argv[1])
    charts = Path(argv[2]) if len(argv) == 3 else output.parent / "benchmarks" / "charts"
    document, results = load(source)
    if not results:
        sys.stderr.write(f"{source}: no tagged benchmark results\n")
        return 1
    output.write_text(render(document, results, charts, output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
