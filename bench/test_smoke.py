"""The benchmark's CI smoke run: every case, a few hundred requests, on the embedded set-up, nothing lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.cases import CASES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_quick_benchmark_runs_every_case_and_loses_no_request(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    run = subprocess.run(
        ["bash", "bench/run.sh", "--quick", "--setup", "embedded", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # every case, a few hundred requests each
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())
    assert {case.name for case in CASES} == set(result["cases"]) | set(result["skipped"])
    for name, case in result["cases"].items():
        assert case["accepted"] > 0, name
        assert case["missing"] == 0, name
        assert case["unfinished"] == 0, name
        assert case["duplicates"] == 0, name
        if name.startswith("reports"):  # every delivered request's report polled to a final state
            assert case["reports"]["reports"] == case["accepted"] and case["reports"]["status_calls"] > 0, name
        if name.startswith(("open200", "failover")):  # open loop: the commit probe ran beside it
            assert case["commit"]["commit_p50_ms"] > 0, name
            assert case["per_round"][0]["accept_p99_ms"] > 0, name
    assert result["invariants"]["ok"], result["invariants"]["problems"]
    assert Path(result["plot"]).exists()


@pytest.mark.integration
def test_accept_cpu_measures_both_endpoints_on_the_embedded_set_up() -> None:
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "bench.accept_cpu", "--setup", "embedded", "--requests", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    figures = {line.split()[0]: float(line.split()[2]) for line in run.stdout.splitlines() if " CPU " in line[:20]}
    assert set(figures) == {"bare", "gateway"}
    assert all(value > 0 for value in figures.values())
