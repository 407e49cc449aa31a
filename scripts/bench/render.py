#!/usr/bin/env python3
"""Renders one sitting of scripts/bench.sh: the table, the aims, the charts.

    render.py RESULTS --out DIR [--into BENCHMARKS.md]

Prints the table (each figure, its reference in the same run, the ratio) and
the aims of issue 10 with met / missed from the measured ratio; writes the
curves as SVG line charts into DIR (throughput against concurrency, fan-out
deliveries/s and p99 against room size, RSS against socket count) and the
markdown fragment DIR/results.md (date, machine, load, table, aims, charts).
With --into, that fragment also replaces what stands between the markers
``<!-- bench.sh:begin -->`` and ``<!-- bench.sh:end -->`` of the given file.
Python 3 standard library only (no plotting library: the SVG is written here).
"""

import argparse
import html
import math
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figures  # noqa: E402
from figures import peak, points  # noqa: E402

BEGIN, END = "<!-- bench.sh:begin -->", "<!-- bench.sh:end -->"


def num(value, digits=0):
    if not isinstance(value, (int, float)):
        return "-"
    if digits == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def rat(value):
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


# --- the table ---------------------------------------------------------------

def table(rows):
    """[(figure, measured, reference, ratio)] in the issue's order."""
    out = []
    pg_rot = peak(rows, "pg_rotation_tps")
    pg_sel = peak(rows, "pg_point_select_tps")

    def pg_text(ref, what):
        if not ref:
            return f"pgbench {what}: not measured"
        return f"pgbench {what}: {num(ref['value'])}/s ({ref['clients']} clients)"

    for figure, label, ref, what, conc in (
        ("http_refresh_per_s", "refresh/s end to end (HTTP, gRPC, Postgres, event)", pg_rot,
         "rotation-shaped tx", "clients"),
        ("http_bridge_per_s", "bridge/s end to end", pg_rot, "rotation-shaped tx", "clients"),
        ("grpc_validate_per_s", "ValidateSession/s (gRPC)", pg_sel, "point select", "callers"),
        ("grpc_rotate_per_s", "RotateRefreshToken/s (gRPC)", pg_rot, "rotation-shaped tx", "callers"),
    ):
        best = peak(rows, figure)
        if best:
            measured = (f"{num(best['value'])} ({best.get(conc)} {conc}, p99 {num(best.get('p99_ms'), 1)} ms"
                        f"{', %s errors' % best['errors'] if best.get('errors') else ''})")
            out.append((label, measured, pg_text(ref, what), rat(best.get("ratio"))))
        else:
            out.append((label, "not measured", pg_text(ref, what), "-"))
    batched = peak(rows, "grpc_validate_batched_sessions_per_s")
    out.append(("ValidateSessions, batched (sessions/s)",
                f"{num(batched['value'])} ({batched.get('batch')} ids per call, {batched.get('callers')} callers)"
                if batched else "not measured", "aim: 100,000/s",
                rat(batched["value"] / 100_000) if batched else "-"))

    def rt(figure, **match):
        return (next(iter(points(rows, figure, server="realtime", **match)), None),
                next(iter(points(rows, figure, server="bare", **match)), None),
                next(iter(points(rows, figure, server="node", **match)), None))

    def vs(mine, bare, node, unit="", digits=1):
        reference = "; ".join(x for x in (
            f"bare socketioxide {num(bare['value'], digits)}{unit}" if bare else "",
            f"Node socket.io {num(node['value'], digits)}{unit}" if node else "") if x) or "not measured"
        ratios = "; ".join(x for x in (
            rat(mine.get("ratio")) if mine and bare else "",
            f"{rat(mine.get('ratio_node'))}x Node" if mine and node else "") if x) or "-"
        return reference, ratios

    for members in sizes(rows, "saturated"):
        mine, bare, node = rt("rt_fanout_deliveries_per_s", members=members, mode="saturated")
        ref, ratios = vs(mine, bare, node, "/s", 0)
        out.append((f"fan-out, {num(members)} members, saturated (deliveries/s)",
                    num(mine["value"]) if mine else "not measured", ref, ratios))
    for members in sizes(rows, "fixed"):
        mine, bare, node = rt("rt_fanout_p99_ms", members=members, mode="fixed")
        offered = (mine or bare or node or {}).get("offered")
        ref, ratios = vs(mine, bare, node, " ms")
        out.append((f"fan-out p99, {num(members)} members, {num(offered)} deliveries/s offered (ms)",
                    num(mine["value"], 1) if mine else "not measured", ref, ratios))
    counts = sorted({r.get("sockets") for r in points(rows, "rt_kb_per_idle_socket")})
    if counts:
        mine, bare, node = rt("rt_kb_per_idle_socket", sockets=counts[-1])
        ref, ratios = vs(mine, bare, node, " KB")
        out.append((f"RSS per idle socket ({num(counts[-1])} sockets, KB)",
                    num(mine["value"], 1) if mine else "not measured", ref, ratios))
    for after in sorted({r.get("after_seconds") for r in points(rows, "rt_rss_growth_kept_pct")}):
        mine, bare, node = rt("rt_rss_growth_kept_pct", after_seconds=after)
        measured = "not measured"
        if mine:
            measured = (f"{num(mine['value'], 1)}% of the growth kept "
                        f"({num(mine['rss_kb'] / 1024, 1)} MB; peak {num(mine['rss_peak_kb'] / 1024, 1)} MB, "
                        f"before {num(mine['rss_before_kb'] / 1024, 1)} MB)")
        ref, ratios = vs(mine, bare, node, "%")
        sockets = (mine or bare or node or {}).get("sockets")
        out.append((f"RSS {after} s after all {num(sockets)} sockets disconnect", measured, ref, ratios))
    steps = points(rows, "rt_connects_per_s", server="realtime")
    if steps:
        biggest = max(r.get("step_sockets") or 0 for r in steps)
        mine, bare, node = rt("rt_connects_per_s", step_sockets=biggest)
        ref, ratios = vs(mine, bare, node, "/s", 0)
        out.append((f"connects/s with token check + ValidateSession ({num(biggest)} in one burst)",
                    num(mine["value"]) if mine else "not measured",
                    ref.replace("bare socketioxide", "bare socketioxide (no auth)"), ratios))
    return out


def sizes(rows, mode):
    return sorted({r.get("members") for r in points(rows, "rt_fanout_deliveries_per_s", mode=mode)})


# --- the aims ----------------------------------------------------------------

def aims(rows):
    """[(aim, measured, verdict)]: met / missed from the ratio, or not measured."""
    out = []

    def verdict(value, limit, at_least=True):
        if not isinstance(value, (int, float)):
            return "not measured"
        return "met" if (value >= limit if at_least else value <= limit) else "missed"

    for figure, text, limit in (
        ("http_refresh_per_s", "refresh ≥ 0.67 of the pgbench rotation-shaped rate", 0.67),
        ("http_bridge_per_s", "bridge ≥ 0.6 of the pgbench rotation-shaped rate", 0.6),
        ("grpc_validate_per_s", "ValidateSession ≥ 0.5 of the point-select rate", 0.5),
    ):
        best = peak(rows, figure)
        ratio = best.get("ratio") if best else None
        out.append((text, f"ratio {rat(ratio)}", verdict(ratio, limit)))
    batched = peak(rows, "grpc_validate_batched_sessions_per_s")
    out.append(("batched validation ≥ 100,000 sessions/s",
                f"{num(batched['value'])} sessions/s" if batched else "-",
                verdict(batched["value"] if batched else None, 100_000)))
    counts = sorted({r.get("sockets") for r in points(rows, "rt_kb_per_idle_socket", server="realtime")})
    mine = next(iter(points(rows, "rt_kb_per_idle_socket", server="realtime", sockets=counts[-1])), None) \
        if counts else None
    out.append(("RSS per idle socket ≤ 0.75 of bare socketioxide's",
                f"ratio {rat(mine.get('ratio'))} at {num(counts[-1])} sockets" if mine else "-",
                verdict(mine.get("ratio") if mine else None, 0.75, at_least=False)))
    kept = points(rows, "rt_rss_growth_kept_pct", server="realtime")
    last = max(kept, key=lambda r: r.get("after_seconds") or 0) if kept else None
    early = bool(last) and (last.get("after_seconds") or 0) < 60
    out.append(("60 s after the disconnect wave, RSS ≤ baseline + 25% of the peak's growth",
                (f"{num(last['value'], 1)}% of the growth kept {last['after_seconds']} s after "
                 f"{num(last.get('sockets'))} sockets left") if last else "-",
                "not measured" if early else verdict(last["value"] if last else None, 25, at_least=False)))
    steps = points(rows, "rt_connects_per_s", server="realtime")
    conn = max(steps, key=lambda r: r.get("step_sockets") or 0) if steps else None
    out.append(("connects/s with the full token check ≥ 0.7 of bare socketioxide's",
                f"ratio {rat(conn.get('ratio'))}" if conn else "-",
                verdict(conn.get("ratio") if conn else None, 0.7)))
    for members in (1000, 10000):
        mine = next(iter(points(rows, "rt_fanout_deliveries_per_s", server="realtime", members=members,
                                mode="saturated")), None)
        out.append((f"fan-out ≥ 0.95 of bare at {num(members)} members",
                    f"ratio {rat(mine.get('ratio'))}" if mine else "- (no run at this room size)",
                    verdict(mine.get("ratio") if mine else None, 0.95)))
    mine = next(iter(points(rows, "rt_fanout_p99_ms", server="realtime", members=1000, mode="fixed")), None)
    offered = mine.get("offered") if mine else None
    out.append(("p99 at 20k deliveries/s offered to 1k members ≤ 1.1x bare's p99",
                (f"ratio {rat(mine.get('ratio'))} ({num(mine['value'], 1)} ms at "
                 f"{num(offered)} deliveries/s offered)") if mine else "-",
                verdict(mine.get("ratio") if mine else None, 1.1, at_least=False)
                if offered == 20000 else "not measured"))
    out.append(("session-store exposes Prometheus /metrics (calls, latency per RPC, pool waits)",
                "not part of bench.sh", "not measured"))
    return out


# --- SVG line charts -----------------------------------------------------------

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def nice_ticks(low, high, count=5):
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


def short(value):
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def chart(path, title, xlabel, ylabel, series, logx=False):
    """series: [(name, [(x, y)], dashed)] -> an SVG line chart at path."""
    # Colours follow the series' place in the call, whether or not others were measured.
    series = [(n, sorted((x, y) for x, y in pts if isinstance(y, (int, float)) and x is not None), d,
               COLOURS[i % len(COLOURS)]) for i, (n, pts, d) in enumerate(series)]
    series = [s for s in series if s[1]]
    width, height, left, right, top, bottom = 720, 420, 80, 210, 40, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left + plot_w / 2}" y="22" text-anchor="middle" font-size="15">{html.escape(title)}</text>']
    if not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">not measured</text></svg>')
        write(path, "\n".join(parts))
        return
    xs = [x for _, pts, _, _ in series for x, _ in pts]
    ys = [y for _, pts, _, _ in series for _, y in pts]
    fx = (lambda v: math.log10(v)) if logx else (lambda v: v)
    if logx:
        x_low, x_high = math.floor(fx(min(xs))), math.ceil(fx(max(xs)))
        if x_high == x_low:
            x_high += 1
        x_ticks = [10 ** e for e in range(int(x_low), int(x_high) + 1)]
        # Also tick the measured values (concurrency 16, 64... are not powers of ten).
        x_ticks = sorted(set(x_ticks) | set(xs))
    else:
        x_ticks = nice_ticks(min(0, min(xs)), max(xs))
        x_low, x_high = x_ticks[0], x_ticks[-1]
    y_ticks = nice_ticks(0, max(ys) * 1.05)
    y_low, y_high = y_ticks[0], y_ticks[-1]

    def px(v):
        return left + (fx(v) - x_low) / (x_high - x_low) * plot_w

    def py(v):
        return top + plot_h - (v - y_low) / (y_high - y_low) * plot_h

    for t in y_ticks:
        parts.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + plot_w}" y2="{py(t):.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{short(t)}</text>')
    for t in x_ticks:
        if t <= 0 and logx:
            continue
        parts.append(f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{top + plot_h}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{px(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{short(t)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">'
                 f'{html.escape(xlabel)}{" (log scale)" if logx else ""}</text>')
    parts.append(f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
                 f'{html.escape(ylabel)}</text>')
    for i, (name, pts, dashed, colour) in enumerate(series):
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y in pts:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}">'
                         f'<title>{html.escape(name)}: {num(y, 1)} at {num(x)}</title></circle>')
        ly = top + 10 + i * 20
        parts.append(f'<line x1="{left + plot_w + 15}" y1="{ly}" x2="{left + plot_w + 40}" y2="{ly}" '
                     f'stroke="{colour}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{left + plot_w + 46}" y="{ly + 4}">{html.escape(name)}</text>')
    parts.append("</svg>")
    write(path, "\n".join(parts))


def write(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


SERVERS = (("realtime", "realtime-service"), ("bare", "bare socketioxide"), ("node", "Node socket.io"))


def charts(rows, out):
    """Writes the SVG files; returns [(file name, caption)]."""
    made = []

    def curve(figure, x, **match):
        return [(r.get(x), r.get("value")) for r in points(rows, figure, **match)]

    chart(os.path.join(out, "throughput_refresh.svg"), "Refresh-shaped throughput against concurrency",
          "concurrent clients / callers", "per second", [
              ("refresh (HTTP)", curve("http_refresh_per_s", "clients"), False),
              ("bridge (HTTP)", curve("http_bridge_per_s", "clients"), False),
              ("RotateRefreshToken (gRPC)", curve("grpc_rotate_per_s", "callers"), False),
              ("pgbench rotation-shaped", curve("pg_rotation_tps", "clients"), True),
          ], logx=True)
    made.append(("throughput_refresh.svg", "refresh, bridge and RotateRefreshToken against the pgbench rotation"))
    chart(os.path.join(out, "throughput_validate.svg"), "Validation throughput against concurrency",
          "concurrent callers / clients", "per second", [
              ("ValidateSession (gRPC)", curve("grpc_validate_per_s", "callers"), False),
              ("pgbench point select", curve("pg_point_select_tps", "clients"), True),
          ], logx=True)
    made.append(("throughput_validate.svg", "ValidateSession against the pgbench point select"))
    chart(os.path.join(out, "fanout.svg"), "Fan-out, saturated", "room size (members)", "deliveries/s",
          [(label, curve("rt_fanout_deliveries_per_s", "members", server=s, mode="saturated"), s != "realtime")
           for s, label in SERVERS], logx=True)
    made.append(("fanout.svg", "deliveries/s against room size, saturated"))
    offered = sorted({r.get("offered") for r in points(rows, "rt_fanout_p99_ms", mode="fixed")})
    chart(os.path.join(out, "fanout_p99.svg"),
          f"Fan-out p99 at {'/'.join(num(o) for o in offered) or 'a fixed'} deliveries/s offered",
          "room size (members)", "p99 latency (ms)",
          [(label, curve("rt_fanout_p99_ms", "members", server=s, mode="fixed"), s != "realtime")
           for s, label in SERVERS], logx=True)
    made.append(("fanout_p99.svg", "p99 send-to-receive latency against room size, fixed offered rate"))
    chart(os.path.join(out, "rss.svg"), "Server RSS against idle sockets", "idle sockets", "RSS (MB)",
          [(label, [(x, y / 1024) for x, y in curve("rt_rss_kb", "sockets", server=s)], s != "realtime")
           for s, label in SERVERS])
    made.append(("rss.svg", "resident memory against the number of idle sockets"))
    return made


# --- output ------------------------------------------------------------------

def markdown(rows, made, image_prefix):
    start = next((r for r in rows if r.get("kind") == "meta" and r.get("phase") == "start"), {})
    end = next((r for r in rows if r.get("kind") == "meta" and r.get("phase") == "end"), {})
    load = lambda r: " / ".join(f"{x:.2f}" for x in r.get("loadavg", [])) or "-"  # noqa: E731
    lines = []
    if start.get("quick"):
        lines += ["> **BENCH_QUICK=1: a pipeline check with tiny sizes, not a result.** "
                  "Figures from such a run say only that every step ran.", ""]
    lines += [
        f"Sitting of {start.get('date', '-')} to {end.get('date', '-')}, commit {start.get('commit', '-')}, "
        f"steps: {start.get('steps', '-')}.",
        "",
        f"Machine: {start.get('nproc', '-')} cores ({start.get('cpu') or '-'}), "
        f"{start.get('mem_total_gib', '-')} GiB, kernel {start.get('kernel', '-')}, "
        f"PostgreSQL {start.get('postgres') or '-'}, Node {start.get('node') or '-'}, "
        f"{start.get('rustc') or '-'}. Load average (1 / 5 / 15 min) at start {load(start)}, "
        f"at end {load(end)}.",
        "",
        "| figure | measured | reference in the same sitting | ratio |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table(rows)]
    lines += ["", "| aim (issue 10) | measured | verdict |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in aims(rows)]
    lines += [""]
    for name, caption in made:
        lines.append(f"![{caption}]({image_prefix}{name})")
        lines.append("")
    lines.append(f"Every measurement, with its parameters: [`results.jsonl`]({image_prefix}results.jsonl).")
    return "\n".join(lines) + "\n"


def splice(path, fragment):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    write(path, (head + BEGIN + "\n" + fragment + END + tail).rstrip("\n"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--out", required=True)
    parser.add_argument("--into")
    args = parser.parse_args()
    rows = figures.link(figures.read(args.results))
    if not rows:
        raise SystemExit(f"{args.results}: no results")
    os.makedirs(args.out, exist_ok=True)
    made = charts(rows, args.out)
    write(os.path.join(args.out, "results.md"), markdown(rows, made, "").rstrip("\n"))
    if args.into:
        prefix = os.path.relpath(args.out, os.path.dirname(os.path.abspath(args.into))) + "/"
        splice(args.into, markdown(rows, made, prefix))
    lines = [("figure", "measured", "reference in the same sitting", "ratio")] + table(rows)
    width = [max(len(r[i]) for r in lines) for i in range(4)]
    print()
    for row in lines:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip())
    print()
    for aim, measured, verdict in aims(rows):
        print(f"{verdict:>12}  {aim}: {measured}")
    print(f"\ncharts and results.md in {args.out}")


if __name__ == "__main__":
    main()
