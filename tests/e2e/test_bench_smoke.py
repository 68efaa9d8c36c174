"""The benchmark harness runs end to end at a tiny size (it measures nothing worth quoting)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

TINY = [
    "--database",
    "sqlite",
    "--no-baselines",
    "--users",
    "20",
    "--lookup-sizes",
    "20,40",
    "--lookups",
    "20",
    "--group-sizes",
    "2,30",
    "--membership-rounds",
    "5",
    "--entra-groups",
    "2",
    "--entra-group-size",
    "5",
    "--worker-rows",
    "50",
    "--import-walks",
    "1",
    "--concurrency",
    "4",
]


def test_the_harness_runs_every_scenario_and_writes_its_results(tmp_path: Path):
    finished = subprocess.run(
        [sys.executable, "-m", "bench", *TINY, "--results", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]

    (result,) = tmp_path.glob("*-sqlite.json")
    run = json.loads(result.read_text())
    push = run["scenario_1"]
    assert push["requests"] == 40 and push["errors"] == 0
    assert push["users_created"] == 20
    assert push["roster_mismatches"] == 0 and push["seconds_to_converge"] is not None
    assert run["scenario_2_unchanged"]["jobs_enqueued"] == 0
    assert run["scenario_2_changed"]["roster_events"] == 2
    assert run["scenario_3"]["users_seen"] == 20
    assert run["scenario_4"]["40"]["errors"] == 0
    for size in ("2", "30"):
        changes = run["scenario_5"][size]["changes"]
        assert changes["requests"] == 10 and changes["errors"] == 0
    entra = run["scenario_6"]
    assert entra["groups_created"] == 2 and entra["errors"] == 0
    assert entra["roster_mismatches"] == 0
    assert run["one_worker_process"]["rows"] == 50
    assert run["memory_after_scenario_1"]["web_worker_peak_rss_mb"] > 0
    assert "Targets (sqlite)" in (tmp_path / "latest.md").read_text()
    if importlib.util.find_spec("matplotlib"):  # the chart needs the bench extra
        assert (tmp_path / "latest.png").stat().st_size > 0
