"""``bash scripts/test.sh`` on a machine without server programs: it runs the rest and names what it left out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.processes import ROOT


def test_fault_suite_collects_without_postgresql_programs() -> None:
    # No /usr/lib/postgresql/*/bin: importing the suite's stack must not fail (the tests are left out instead).
    code = "import glob; glob.glob = lambda *a, **k: []; import tests.faults.stack"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_test_command_names_the_groups_it_cannot_run_and_runs_the_rest(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with the shell's tools but no redis-server and no nginx
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "cmp", "cp", "ls", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or tool)
    env = dict(os.environ, PATH=str(bin_dir))
    run = subprocess.run(
        ["bash", "scripts/test.sh", "--collect-only", "-q", "tests/test_probes.py"],
        cwd=ROOT,
        env={**env, "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        check=True,
        executable=shutil.which("bash"),
    )
    assert "NOT RUN" in run.stderr, run.stderr
    assert all(program in run.stderr for program in ("redis-server", "nginx", "systemd-analyze", "chromium")), (
        run.stderr
    )
    assert "deselected" in run.stdout and "frozen" not in run.stdout, run.stdout
    assert "test_healthz_answers_without_touching_the_database_or_the_cache" in run.stdout
