"""The benchmark harness: `python -m bench` (see bench/README.md).

    python -m bench                                  # every scenario, default sizes, both databases
    python -m bench --database sqlite --users 200    # small and quick
    python -m bench --scenarios 1,2 --no-baselines

Runs scimgate as in production (gunicorn on deploy/gunicorn.conf.py, Dramatiq workers, the
clock, a real redis-server) on a fresh database, drives it from a separate load generator
process, measures the no-op ceiling and the scim2-server peer on the same gunicorn
configuration, and writes bench/results/<stamp>-<database>.json, latest.md and latest.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path

import orjson

from bench.report import chart, machine, markdown, write_json
from bench.scenarios import BaselineRun, ScimgateRun, Sizes
from tests.support.services import POSTGRES_ENV, RedisServer

RESULTS = Path(__file__).resolve().parent / "results"


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        nargs="+",
        choices=("postgresql", "sqlite"),
        help=f"default: both when {POSTGRES_ENV} is set, else sqlite",
    )
    parser.add_argument("--scenarios", default="1,2,3,4,5,6", help="which to run, e.g. 1,2,4")
    parser.add_argument("--no-baselines", action="store_true", help="skip the ceiling and peer")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite latest.md and latest.png from the --include runs",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where results go")
    parser.add_argument(
        "--include",
        type=Path,
        action="append",
        default=[],
        metavar="RUN.json",
        help="an earlier run's JSON whose database joins this report's tables (repeatable)",
    )
    defaults = Sizes()
    for field in fields(Sizes):
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(value, tuple):
            parser.add_argument(
                flag,
                type=_sizes,
                default=value,
                help=f"comma-separated (default {','.join(map(str, value))})",
            )
        else:
            parser.add_argument(flag, type=type(value), default=value, help=f"(default {value})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    if args.report_only:
        return report_only(args.include, args.results)
    sizes = Sizes(**{field.name: getattr(args, field.name) for field in fields(Sizes)})
    databases = args.database or (
        ["postgresql", "sqlite"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    )
    only = {int(part) for part in args.scenarios.split(",") if part.strip()}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    scratch = Path(tempfile.mkdtemp(prefix="scimgate-bench-"))
    meta = {
        "stamp": stamp,
        "sizes": asdict(sizes),
        "scenarios": sorted(only),
        "machine": machine(),
        "load_before": list(os.getloadavg()),
    }
    redis_server = RedisServer(scratch / "redis")
    redis_server.start()
    try:
        baselines: dict[str, object] = {}
        if not args.no_baselines:
            print("baselines: no-op ceiling", flush=True)
            baseline_run = BaselineRun(sizes, scratch, redis_server.url)
            baselines["ceiling"] = baseline_run.ceiling()
            print("baselines: scim2-server", flush=True)
            baselines["peer"] = baseline_run.peer()
        runs = {}
        for kind in databases:
            print(f"scimgate on {kind}: scenarios {sorted(only)}", flush=True)
            (scratch / kind).mkdir(parents=True, exist_ok=True)
            run = ScimgateRun(
                kind, sizes, scratch / kind, redis_server.url, os.environ.get(POSTGRES_ENV)
            )
            runs[kind] = run.run(only)
            redis_flush(redis_server.url)
    finally:
        redis_server.stop()
    meta["load_after"] = [round(value, 2) for value in os.getloadavg()]
    meta["load_before"] = [round(value, 2) for value in meta["load_before"]]
    args.results.mkdir(parents=True, exist_ok=True)
    meta["chart"] = "latest.png"
    for kind, run in runs.items():
        path = write_json(args.results, stamp, kind, {**meta, **run, "baselines": baselines})
        print(f"wrote {path}")
    meta["included"] = []
    for earlier in args.include:
        included = orjson.loads(earlier.read_bytes())
        runs.setdefault(included["database"], included)
        for name, figures in included.get("baselines", {}).items():
            baselines.setdefault(name, figures)
        meta["included"].append(
            {key: included.get(key) for key in ("database", "stamp", "load_before", "load_after")}
        )
    if chart(runs, args.results / "latest.png") is None:
        meta["chart"] = "(matplotlib not installed)"
    report = markdown(runs, baselines, meta)
    (args.results / "latest.md").write_text(report)
    print(report)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


def report_only(included: list[Path], results: Path) -> int:
    """The tables and chart of earlier runs; the first one's description heads the report."""
    if not included:
        raise SystemExit("--report-only needs at least one --include RUN.json")
    runs = [orjson.loads(path.read_bytes()) for path in included]
    meta = {**runs[0], "chart": "latest.png", "included": []}
    baselines: dict[str, object] = {}
    for run in runs:
        for name, figures in run.get("baselines", {}).items():
            baselines.setdefault(name, figures)
    for run in runs[1:]:
        meta["included"].append(
            {key: run.get(key) for key in ("database", "stamp", "load_before", "load_after")}
        )
    by_database = {run["database"]: run for run in runs}
    if chart(by_database, results / "latest.png") is None:
        meta["chart"] = "(matplotlib not installed)"
    (results / "latest.md").write_text(markdown(by_database, baselines, meta))
    print((results / "latest.md").read_text())
    return 0


def redis_flush(url: str) -> None:
    """Start the next database's run with an empty queue and zeroed counters."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


if __name__ == "__main__":
    sys.exit(main())
