"""What a run leaves behind: one JSON per database, a markdown table, a chart, and the targets."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

BURSTS = (
    ("scenario_1", "1 Okta initial push"),
    ("scenario_2_unchanged", "2 Reapply, unchanged"),
    ("scenario_2_changed", "2 Reapply, 10% changed"),
    ("scenario_6", "6 Entra initial cycle"),
)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, Python, and how busy the machine was."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        memory_kb = 0
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def write_json(directory: Path, stamp: str, database: str, run: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}-{database}.json"
    path.write_bytes(orjson.dumps(run, option=orjson.OPT_INDENT_2))
    return path


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def targets(run: dict[str, Any], baselines: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Each target of the issue: (what, measured, met?); None where it was not measured."""
    ceiling, peer = baselines.get("ceiling", {}), baselines.get("peer", {})
    rows: list[tuple[str, str, bool | None]] = []

    def ratio(numerator: Any, denominator: Any) -> float | None:
        if numerator is None or not denominator:
            return None
        return numerator / denominator

    def add(what: str, value: Any, check: Callable[[Any], bool], shown: str | None = None) -> None:
        rows.append((what, shown or _fmt(value, 2), None if value is None else check(value)))

    s2 = run.get("scenario_2_unchanged", {})
    share = ratio(
        s2.get("requests_per_second"), _get(ceiling, "reapply_shape", "requests_per_second")
    )
    add(
        "2 unchanged PUTs: ≥ 50% of the no-op ceiling",
        share,
        lambda v: v >= 0.5,
        None if share is None else f"{share:.0%}",
    )
    add("2 unchanged PUTs: p99 < 50 ms", s2.get("p99_ms"), lambda v: v < 50)
    add("2 unchanged PUTs: zero jobs enqueued", s2.get("jobs_enqueued"), lambda v: v == 0)
    s1 = run.get("scenario_1", {})
    share = ratio(
        s1.get("requests_per_second"), _get(ceiling, "create_shape", "requests_per_second")
    )
    add(
        "1 initial push: ≥ 35% of the ceiling",
        share,
        lambda v: v >= 0.35,
        None if share is None else f"{share:.0%}",
    )
    add(
        "1 initial push: roster equal within 2 s of the last response (s)",
        s1.get("seconds_to_converge"),
        lambda v: v <= 2,
    )
    add(
        "3 import: every user exported in < 1 s (s)",
        _get(run, "scenario_3", "walk_seconds"),
        lambda v: v < 1,
    )
    s4 = run.get("scenario_4", {})
    lookup = ratio(_get(s4, "100000", "p50_ms"), _get(s4, "10000", "p50_ms"))
    add(
        "4 lookup p50 at 100,000 ≤ 1.5x at 10,000",
        lookup,
        lambda v: v <= 1.5,
        None if lookup is None else f"{lookup:.2f}x",
    )
    s5 = run.get("scenario_5", {})
    sizes = sorted((int(size) for size in s5), key=int)
    members = None
    if len(sizes) >= 2:
        members = ratio(
            _get(s5, str(sizes[-1]), "changes", "p99_ms"),
            _get(s5, str(sizes[0]), "changes", "p99_ms"),
        )
    add(
        "5 one-member change p99, largest group ≤ 1.5x smallest",
        members,
        lambda v: v <= 1.5,
        None if members is None else f"{members:.2f}x",
    )
    add(
        "workers: ≥ 5,000 roster rows/s in one process",
        _get(run, "one_worker_process", "rows_per_second"),
        lambda v: v >= 5000,
    )
    versus = ratio(s1.get("requests_per_second"), _get(peer, "scenario_1", "requests_per_second"))
    add(
        "1 ≥ 3x scim2-server's requests/s",
        versus,
        lambda v: v >= 3,
        None if versus is None else f"{versus:.1f}x",
    )
    for size, factor in (("2000", 3), ("10000", 10)):
        versus = ratio(
            _get(s4, size, "requests_per_second"),
            _get(peer, "scenario_4", size, "requests_per_second"),
        )
        add(
            f"4 at {int(size):,} users ≥ {factor}x scim2-server's requests/s",
            versus,
            lambda v, f=factor: v >= f,
            None if versus is None else f"{versus:.1f}x",
        )
    memory = run.get("memory_after_scenario_1", {})
    add(
        "web worker < 120 MB RSS after 1 (MB)",
        memory.get("web_worker_peak_rss_mb"),
        lambda v: v < 120,
    )
    add(
        "Dramatiq worker < 200 MB RSS after 1 (MB)",
        memory.get("dramatiq_worker_peak_rss_mb"),
        lambda v: v < 200,
    )
    return rows


def markdown(
    runs: dict[str, dict[str, Any]], baselines: dict[str, Any], meta: dict[str, Any]
) -> str:
    """The results of one invocation: targets, then one table per scenario."""
    databases = list(runs)
    ceiling, peer = baselines.get("ceiling", {}), baselines.get("peer", {})
    sizes = meta["sizes"]
    lines = [
        f"# scimgate benchmark, {meta['stamp']}",
        "",
        f"Machine: {meta['machine']['cores']} cores, {meta['machine']['memory_gb']} GB, "
        f"{meta['machine']['cpu']}, Python {meta['machine']['python']}. Load average before "
        f"the run {meta['load_before']}, after {meta['load_after']}. Concurrency "
        f"{sizes['concurrency']}; load generator on the same machine.",
        "",
    ]
    for included in meta.get("included", []):
        lines += [
            f"The {included['database']} column comes from run {included['stamp']} (load "
            f"average before {included['load_before']}, after {included['load_after']}).",
            "",
        ]
    for database in databases:
        lines += [f"## Targets ({database})", "", "| target | measured | met |", "|---|---|---|"]
        for what, shown, met in targets(runs[database], baselines):
            lines.append(
                f"| {what} | {shown} | {_fmt(met) if met is not None else 'not measured'} |"
            )
        lines.append("")

    columns = [*databases, "no-op ceiling", "scim2-server"]
    header = ["| figure | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]

    def table(title: str, rows: list[tuple[str, list[Any]]]) -> None:
        lines.extend([f"### {title}", "", *header])
        for label, values in rows:
            lines.append(f"| {label} | " + " | ".join(_fmt(value) for value in values) + " |")
        lines.append("")

    def traffic_rows(key: str, ceiling_shape: str | None, peer_key: str | None) -> list[Any]:
        base = [runs[db].get(key, {}) for db in databases]
        ceiling_figures = ceiling.get(ceiling_shape, {}) if ceiling_shape else {}
        peer_figures = peer.get(peer_key, {}) if peer_key else {}
        every = [*base, ceiling_figures, peer_figures]
        rows = [
            (label, [figures.get(field) for figures in every])
            for label, field in (
                ("requests", "requests"),
                ("requests/s", "requests_per_second"),
                ("p50 ms", "p50_ms"),
                ("p95 ms", "p95_ms"),
                ("p99 ms", "p99_ms"),
                ("errors", "errors"),
                ("load generator CPU (share of one core)", "load_generator_cpu_share"),
            )
        ]
        for label, field in (
            ("reconcile jobs enqueued", "jobs_enqueued"),
            ("s from last response to roster = directory", "seconds_to_converge"),
            ("roster events", "roster_events"),
            ("peak pending rows", "peak_pending"),
        ):
            rows.append((label, [figures.get(field) for figures in base] + [None, None]))
        return rows

    users = sizes["users"]
    table(
        f"1 Okta initial push: {users:,} users, filtered GET then POST (scim2-server at "
        f"{sizes['peer_users']:,})",
        traffic_rows("scenario_1", "create_shape", "scenario_1"),
    )
    table(
        f"2 Reapply Mappings, unchanged: GET then PUT of {users:,} users",
        traffic_rows("scenario_2_unchanged", "reapply_shape", "scenario_2_unchanged"),
    )
    table(
        "2 Reapply Mappings, 10% changed", traffic_rows("scenario_2_changed", "reapply_shape", None)
    )
    s3 = [runs[db].get("scenario_3", {}) for db in databases] + [{}, peer.get("scenario_3", {})]
    table(
        f"3 Okta import: every user, count={sizes['page_size']} (scim2-server at "
        f"{sizes['peer_users']:,} users)",
        [
            ("pages", [f.get("pages") for f in s3]),
            ("users seen", [f.get("users_seen") for f in s3]),
            ("walk seconds (median of walks)", [f.get("walk_seconds") for f in s3]),
            ("page p50 ms", [f.get("p50_ms") for f in s3]),
            ("page p99 ms", [f.get("p99_ms") for f in s3]),
        ],
    )
    s4_rows: list[tuple[str, list[Any]]] = []
    for size in sorted({int(s) for db in databases for s in runs[db].get("scenario_4", {})}):
        entries = [_get(runs[db], "scenario_4", str(size)) or {} for db in databases]
        entries += [{}, _get(peer, "scenario_4", str(size)) or {}]
        for label, field in (
            ("requests/s", "requests_per_second"),
            ("p50 ms", "p50_ms"),
            ("p99 ms", "p99_ms"),
            ("errors", "errors"),
        ):
            s4_rows.append((f"{size:,} users: {label}", [e.get(field) for e in entries]))
    table(f"4 Lookup `userName eq`, {sizes['lookups']:,} lookups per size", s4_rows)
    s5_rows: list[tuple[str, list[Any]]] = []
    for size in sizes["group_sizes"]:
        entries = [_get(runs[db], "scenario_5", str(size)) or {} for db in databases]
        for label, path in (
            ("add p50 ms", ("changes", "by_kind", "add", "p50_ms")),
            ("add p99 ms", ("changes", "by_kind", "add", "p99_ms")),
            ("remove p50 ms", ("changes", "by_kind", "remove", "p50_ms")),
            ("remove p99 ms", ("changes", "by_kind", "remove", "p99_ms")),
            ("p99 ms, both", ("changes", "p99_ms")),
            ("errors", ("changes", "errors")),
            ("seeding seconds", ("seeding_seconds",)),
        ):
            s5_rows.append(
                (f"{size:,} members: {label}", [_get(e, *path) for e in entries] + [None, None])
            )
    table(
        f"5 Group membership: one member added and removed, {sizes['membership_rounds']} "
        "times each",
        s5_rows,
    )
    s6 = [runs[db].get("scenario_6", {}) for db in databases]
    table(
        f"6 Entra initial cycle: {sizes['entra_groups']} groups of {sizes['entra_group_size']}",
        [
            (
                "users phase requests/s",
                [_get(f, "users_phase", "requests_per_second") for f in s6] + [None, None],
            ),
            (
                "groups phase requests/s",
                [_get(f, "groups_phase", "requests_per_second") for f in s6] + [None, None],
            ),
            *[
                (label, [f.get(field) for f in s6] + [None, None])
                for label, field in (
                    ("requests", "requests"),
                    ("p50 ms", "p50_ms"),
                    ("p99 ms", "p99_ms"),
                    ("errors", "errors"),
                    ("reconcile jobs enqueued", "jobs_enqueued"),
                    ("s from last response to roster = directory", "seconds_to_converge"),
                    ("roster events", "roster_events"),
                    ("groups created", "groups_created"),
                )
            ],
        ],
    )
    table(
        "Workers and memory",
        [
            (
                "roster rows/s, one process",
                [_get(runs[db], "one_worker_process", "rows_per_second") for db in databases]
                + [None, None],
            ),
            (
                "web worker peak RSS MB after 1",
                [
                    _get(runs[db], "memory_after_scenario_1", "web_worker_peak_rss_mb")
                    for db in databases
                ]
                + [ceiling.get("web_worker_peak_rss_mb"), peer.get("web_worker_peak_rss_mb")],
            ),
            (
                "Dramatiq worker peak RSS MB after 1",
                [
                    _get(runs[db], "memory_after_scenario_1", "dramatiq_worker_peak_rss_mb")
                    for db in databases
                ]
                + [None, None],
            ),
            (
                "web worker peak RSS MB at the end",
                [_get(runs[db], "memory_at_end", "web_worker_peak_rss_mb") for db in databases]
                + [None, None],
            ),
            (
                "Dramatiq worker peak RSS MB at the end",
                [_get(runs[db], "memory_at_end", "dramatiq_worker_peak_rss_mb") for db in databases]
                + [None, None],
            ),
        ],
    )
    lines.append(f"Chart: ![pending changes and requests/s]({meta['chart']})")
    lines.append("")
    return "\n".join(lines)


def chart(runs: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """Pending changes and requests/s over time, one panel per burst scenario and database."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bursts = [(key, title) for key, title in BURSTS if any(key in run for run in runs.values())]
    if not bursts:
        return None
    databases = list(runs)
    figure, axes = plt.subplots(
        len(bursts),
        len(databases),
        figsize=(6.5 * len(databases), 2.8 * len(bursts)),
        squeeze=False,
    )
    for row, (key, title) in enumerate(bursts):
        for column, database in enumerate(databases):
            axis = axes[row][column]
            series = _get(runs[database], key, "timeline")
            axis.set_title(f"{title} ({database})", fontsize=10)
            if not series:
                axis.set_axis_off()
                continue
            axis.plot(series["rps_t"], _smoothed(series["rps"]), color="tab:blue", linewidth=0.8)
            axis.set_ylabel("requests/s (0.5 s mean)", color="tab:blue")
            axis.set_xlabel("seconds since the first request")
            pending = axis.twinx()
            pending.plot(series["pending_t"], series["pending"], color="tab:red", linewidth=1.2)
            pending.set_ylabel("pending changes", color="tab:red")
            pending.set_ylim(bottom=0, top=max(1, max(series["pending"], default=0)) * 1.1)
            axis.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _smoothed(values: list[float], width: int = 5) -> list[float]:
    """A trailing mean over `width` bins: 100 ms bins are too ragged to read at a glance."""
    smoothed, total = [], 0.0
    for index, value in enumerate(values):
        total += value - (values[index - width] if index >= width else 0.0)
        smoothed.append(total / min(index + 1, width))
    return smoothed
