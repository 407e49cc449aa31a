"""What scripts/bench.sh measures: figure names, units, references and aims.

One place for the rules that turn measurements into ratios, shared by
record.py (which writes the JSON lines, each with its reference and ratio)
and render.py (which prints the table, the aims and the charts). Python 3
standard library only.

A results file holds one JSON object per line. Measurements have
``kind == "point"``: ``figure``, ``value``, ``unit``, ``reference`` (the
reference's value in the same run, or null), ``reference_figure``, ``ratio``
(value / reference), and their parameters as further keys (``clients``,
``server``, ``members``...). Lines with ``kind == "meta"`` describe the
machine at the start and the end of the sitting.
"""

import json

# figure -> (unit, label)
FIGURES = {
    "pg_rotation_tps": ("tx/s", "pgbench rotation-shaped transaction"),
    "pg_point_select_tps": ("tx/s", "pgbench point select"),
    "grpc_validate_per_s": ("calls/s", "ValidateSession (gRPC)"),
    "grpc_rotate_per_s": ("calls/s", "RotateRefreshToken (gRPC)"),
    "grpc_validate_batched_sessions_per_s": ("sessions/s", "ValidateSessions, batched (gRPC)"),
    "http_refresh_per_s": ("req/s", "refresh end to end (HTTP)"),
    "http_bridge_per_s": ("req/s", "bridge end to end (HTTP)"),
    "rt_rss_kb": ("KB", "server RSS with idle sockets"),
    "rt_kb_per_idle_socket": ("KB", "RSS per idle socket"),
    "rt_connects_per_s": ("connects/s", "socket connects"),
    "rt_rss_growth_kept_pct": ("%", "RSS growth kept after the disconnect wave"),
    "rt_rss_kept_of_peak_pct": ("%", "RSS after the disconnect wave, of the peak"),
    "rt_fanout_deliveries_per_s": ("deliveries/s", "fan-out"),
    "rt_fanout_p50_ms": ("ms", "fan-out p50 latency"),
    "rt_fanout_p99_ms": ("ms", "fan-out p99 latency"),
}

# Throughput figures compared with the best (peak over the sweep) rate of a
# pgbench shape in the same run.
PEAK_REFERENCES = {
    "grpc_validate_per_s": "pg_point_select_tps",
    "grpc_rotate_per_s": "pg_rotation_tps",
    "http_refresh_per_s": "pg_rotation_tps",
    "http_bridge_per_s": "pg_rotation_tps",
}

# Realtime figures of realtime-service are compared with bare socketioxide
# (reference, ratio) and Node socket.io (reference_node, ratio_node) measured
# with the same parameters.
SERVER_COMPARED = {
    "rt_kb_per_idle_socket",
    "rt_rss_kb",
    "rt_connects_per_s",
    "rt_rss_growth_kept_pct",
    "rt_rss_kept_of_peak_pct",
    "rt_fanout_deliveries_per_s",
    "rt_fanout_p50_ms",
    "rt_fanout_p99_ms",
}

# Keys that are results, not parameters.
NOT_PARAMS = {
    "figure", "value", "unit", "reference", "reference_figure", "ratio",
    "reference_node", "ratio_node", "kind", "server", "step", "detail",
}

# The parameters that make two servers' lines the same measurement.
SERVER_MATCH = ("sockets", "step_sockets", "after_seconds", "members", "mode", "offered")


def read(path):
    """All JSON objects of a results file (blank or broken lines skipped)."""
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return rows


def points(rows, figure, **match):
    """Measurements of a figure whose parameters include ``match``."""
    return [
        r for r in rows
        if r.get("kind") == "point" and r.get("figure") == figure
        and all(r.get(k) == v for k, v in match.items())
    ]


def peak(rows, figure, **match):
    """The measurement with the highest value, or None."""
    found = [r for r in points(rows, figure, **match) if isinstance(r.get("value"), (int, float))]
    return max(found, key=lambda r: r["value"]) if found else None


def params(row):
    return {k: v for k, v in row.items() if k not in NOT_PARAMS}


def same_params(rows, row, server):
    """The line of ``server`` measured with the same parameters as ``row``."""
    want = {k: row.get(k) for k in SERVER_MATCH}
    for other in rows:
        if (other.get("kind") == "point" and other.get("figure") == row.get("figure")
                and other.get("server") == server and {k: other.get(k) for k in SERVER_MATCH} == want):
            return other
    return None


def ratio(value, reference):
    if not isinstance(value, (int, float)) or not isinstance(reference, (int, float)) or reference == 0:
        return None
    return round(value / reference, 3)


def link(rows):
    """Fills reference, reference_figure and ratio (and for realtime-service
    the Node comparison) on every measurement, from the other lines."""
    for row in rows:
        if row.get("kind") != "point":
            continue
        figure = row.get("figure")
        row.setdefault("reference", None)
        row.setdefault("reference_figure", None)
        row.setdefault("ratio", None)
        if figure in PEAK_REFERENCES:
            ref = peak(rows, PEAK_REFERENCES[figure])
            row["reference_figure"] = PEAK_REFERENCES[figure] + " (peak)"
            row["reference"] = ref["value"] if ref else None
            row["ratio"] = ratio(row.get("value"), row["reference"])
        elif figure in SERVER_COMPARED and row.get("server") == "realtime":
            bare = same_params(rows, row, "bare")
            node = same_params(rows, row, "node")
            row["reference_figure"] = figure + " (bare socketioxide)"
            row["reference"] = bare["value"] if bare else None
            row["ratio"] = ratio(row.get("value"), row["reference"])
            row["reference_node"] = node["value"] if node else None
            row["ratio_node"] = ratio(row.get("value"), row["reference_node"])
        elif figure in SERVER_COMPARED and row.get("server") == "bare":
            node = same_params(rows, row, "node")
            row["reference_node"] = node["value"] if node else None
            row["ratio_node"] = ratio(row.get("value"), row["reference_node"])
    return rows
