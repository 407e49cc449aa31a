#!/usr/bin/env python3
"""Turns one tool's raw output into result lines of scripts/bench.sh.

    record.py RESULTS meta start|end [--quick 0|1] [--steps "..."] [--admin-url URL]
    record.py RESULTS pgbench --shape rotation|point_select --clients C --threads J < pgbench output
    record.py RESULTS grpc --connections M < grpc_load output (BENCH_JSON=1)
    record.py RESULTS http < examples/load output (--json)
    record.py RESULTS realtime < e2e/bench/run.sh output

Each measurement becomes one JSON line (figures.py says which), appended to
RESULTS; then every line's reference and ratio are filled in again from the
whole file, so the order of the steps does not matter and a skipped step
leaves its references null. Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figures  # noqa: E402


def point(step, figure, value, **params):
    unit = figures.FIGURES[figure][0]
    row = {"kind": "point", "step": step, "figure": figure, "value": value, "unit": unit,
           "reference": None, "reference_figure": None, "ratio": None}
    row.update(params)
    return row


def json_lines(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def rounded(value, digits=2):
    return round(value, digits) if isinstance(value, (int, float)) else None


def command_output(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def meta(args):
    row = {"kind": "meta", "phase": args.phase,
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
           "loadavg": list(os.getloadavg())}
    if args.phase == "start":
        mem_kb = None
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
        cpu = None
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        row.update({
            "nproc": os.cpu_count(),
            "mem_total_gib": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
            "kernel": platform.release(),
            "cpu": cpu,
            "postgres": command_output(["psql", args.admin_url, "-Atc", "SHOW server_version"]),
            "node": command_output(["node", "--version"]),
            "rustc": command_output(["rustc", "--version"]),
            "commit": command_output(["git", "rev-parse", "--short", "HEAD"]),
            "quick": args.quick == "1",
            "steps": args.steps,
        })
    return [row]


PGBENCH = {
    "tps": re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M),
    "latency": re.compile(r"^latency average = ([0-9.]+) ms", re.M),
    "processed": re.compile(r"^number of transactions actually processed: (\d+)", re.M),
    "failed": re.compile(r"^number of failed transactions: (\d+)", re.M),
}


def pgbench(args, text):
    found = {k: (float(m.group(1)) if m else None) for k, m in
             ((k, rx.search(text)) for k, rx in PGBENCH.items())}
    for k in ("processed", "failed"):
        found[k] = int(found[k]) if found[k] is not None else None
    figure = {"rotation": "pg_rotation_tps", "point_select": "pg_point_select_tps"}[args.shape]
    row = point("pg", figure, rounded(found["tps"], 1), clients=args.clients, threads=args.threads,
                latency_avg_ms=found["latency"], transactions=found["processed"],
                failed=found["failed"])
    if found["tps"] is None:
        row["detail"] = text.strip().splitlines()[-3:]
    return [row]


def grpc(args, text):
    rows = []
    names = {"ValidateSession": "grpc_validate_per_s", "RotateRefreshToken": "grpc_rotate_per_s"}
    for o in json_lines(text):
        if o.get("bench") != "grpc_load":
            continue
        common = {"errors": o.get("errors"), "calls": o.get("calls"), "p50_ms": rounded(o.get("p50_ms")),
                  "p99_ms": rounded(o.get("p99_ms")), "cpu_us_per_call": o.get("cpu_us_per_call")}
        if o.get("phase") in names:
            rows.append(point("grpc", names[o["phase"]], rounded(o.get("calls_per_s"), 1),
                              callers=o.get("callers"), connections=args.connections, **common))
        elif o.get("phase") == "ValidateSessions":
            rows.append(point("grpc", "grpc_validate_batched_sessions_per_s",
                              rounded(o.get("sessions_per_s"), 0), callers=o.get("callers"),
                              batch=o.get("sessions_per_call"), connections=args.connections, **common))
    return rows


def http(args, text):
    rows = []
    for o in json_lines(text):
        if o.get("bench") != "auth_load":
            continue
        figure = {"refresh": "http_refresh_per_s", "bridge": "http_bridge_per_s"}.get(o.get("mode"))
        if figure:
            rows.append(point("http", figure, rounded(o.get("per_s"), 1), clients=o.get("clients"),
                              errors=o.get("errors"), ok=o.get("ok"), p50_ms=rounded(o.get("p50_ms")),
                              p99_ms=rounded(o.get("p99_ms")), pool=o.get("pool")))
    return rows


def worst(values):
    found = [v for v in values if isinstance(v, (int, float))]
    return max(found) if found else None


def realtime(args, text):
    rows = []
    baselines = set()
    for o in json_lines(text):
        server, test = o.get("server"), o.get("test")
        if test == "idle":
            sockets, before, rss = o["sockets"], o["rss_before_kb"], o["rss_kb"]
            if server not in baselines:
                baselines.add(server)
                rows.append(point("realtime", "rt_rss_kb", before, server=server, sockets=0))
            rows.append(point("realtime", "rt_rss_kb", rss, server=server, sockets=sockets))
            rows.append(point("realtime", "rt_kb_per_idle_socket", rounded((rss - before) / sockets),
                              server=server, sockets=sockets))
            loads = [x for x in o.get("load", []) if isinstance(x, dict)]
            connected = sum(x.get("ready", 0) for x in loads)
            seconds = worst(x.get("connect_seconds") for x in loads)
            rows.append(point("realtime", "rt_connects_per_s",
                              rounded(connected / seconds, 0) if seconds else None, server=server,
                              sockets=sockets, step_sockets=o.get("step_sockets"),
                              connected=connected, errors=sum(x.get("errors", 0) for x in loads)))
        elif test == "disconnect":
            before, peak, rss = o["rss_before_kb"], o["rss_peak_kb"], o["rss_kb"]
            common = {"server": server, "sockets": o["sockets"], "after_seconds": o["after_seconds"]}
            kept = (rss - before) / (peak - before) * 100 if peak > before else None
            rows.append(point("realtime", "rt_rss_growth_kept_pct", rounded(kept, 1), rss_kb=rss,
                              rss_peak_kb=peak, rss_before_kb=before, **common))
            rows.append(point("realtime", "rt_rss_kept_of_peak_pct", rounded(rss / peak * 100, 1), **common))
        elif test == "fanout":
            loads = [x for x in o.get("load", []) if isinstance(x, dict)]
            members, rate = o["members"], o["rate_per_sender"]
            params = {"server": server, "members": members}
            if rate:
                params.update(mode="fixed", offered=int(round(rate * o.get("senders", 4) * members)))
            else:
                params.update(mode="saturated")
            delivered = sum(x.get("deliveries_per_second", 0) for x in loads) if loads else None
            rows.append(point("realtime", "rt_fanout_deliveries_per_s", rounded(delivered, 0),
                              sent=sum(x.get("sent", 0) for x in loads), **params))
            rows.append(point("realtime", "rt_fanout_p50_ms", rounded(worst(x.get("p50_ms") for x in loads)),
                              **params))
            rows.append(point("realtime", "rt_fanout_p99_ms", rounded(worst(x.get("p99_ms") for x in loads)),
                              **params))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("meta")
    m.add_argument("phase", choices=["start", "end"])
    m.add_argument("--quick", default="0")
    m.add_argument("--steps", default="")
    m.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p = sub.add_parser("pgbench")
    p.add_argument("--shape", required=True, choices=["rotation", "point_select"])
    p.add_argument("--clients", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    g = sub.add_parser("grpc")
    g.add_argument("--connections", type=int, default=None)
    sub.add_parser("http")
    sub.add_parser("realtime")
    args = parser.parse_args()

    if args.what == "meta":
        new = meta(args)
    else:
        text = sys.stdin.read()
        new = {"pgbench": pgbench, "grpc": grpc, "http": http, "realtime": realtime}[args.what](args, text)
        if not new:
            print(f"record.py {args.what}: no measurement in its output", file=sys.stderr)
    rows = figures.link(figures.read(args.results) + new)
    tmp = args.results + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=False) + "\n")
    os.replace(tmp, args.results)
    for row in new:
        if row.get("kind") == "point":
            print(f"  {row['figure']}: {row['value']} {row['unit']} "
                  f"{ {k: v for k, v in figures.params(row).items() if k in ('clients', 'callers', 'sockets', 'members', 'mode', 'after_seconds')} }"
                  f"{' ' + row.get('server') if row.get('server') else ''}", file=sys.stderr)


if __name__ == "__main__":
    main()
