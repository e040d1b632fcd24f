"""The benchmark's own arithmetic: which answers waited through a commit stall, and when a stall was."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.metrics import commit_figures, disk_figures
from bench.stack import DiskProbe, Sampler


def test_commit_figures_split_answers_by_whether_they_waited_through_a_stall() -> None:
    # Probes every 20 ms from t=100; one took 150 ms and ended at t=100.5: a stall over [100.35, 100.5].
    samples: list[tuple[float, object]] = [(100.0 + i * 0.02, 0.3) for i in range(50)]
    samples.append((100.5, 150.0))
    samples.append((100.6, "error: OSError"))  # a failed probe is left out, not counted as a latency
    records = [
        ["0912", 100.30, 100.34, 202, 1],  # answered before the stall began: calm, 40 ms
        ["0912", 100.40, 100.52, 202, 2],  # waited through it: 120 ms, slow, in the stall
        ["0912", 100.20, 100.36, 202, 3],  # overlaps its start: 160 ms, slow, in the stall
        ["0912", 100.70, 100.78, 202, 4],  # after it: 80 ms, slow, calm
        ["0912", 100.41, 100.42, 429, None],  # refused: not an accepted answer
    ]
    figures = commit_figures(records, samples)
    assert figures["commit_stalls"] == 1
    assert round(figures["commit_stall_seconds"], 3) == 0.15
    assert sorted(round(ms) for ms in figures["accept_calm_ms"]) == [40, 80]
    assert (figures["slow"], figures["slow_in_stall"]) == (3, 2)
    assert len(figures["commit_ms"]) == 51
    assert figures["slow_seconds"] == [(0, 3)]  # all three in the round's first second (it began at 100.20)


def test_overlapping_stalls_merge_into_one() -> None:
    samples: list[tuple[float, object]] = [(10.10, 80.0), (10.12, 60.0), (11.0, 30.0)]
    figures = commit_figures([["0912", 10.5, 10.51, 202, 1]], samples)
    assert figures["commit_stalls"] == 2  # [10.02, 10.12] and [10.97, 11.0]
    assert figures["accept_calm_ms"] and figures["slow"] == 0


def test_slow_answers_are_placed_by_second_of_the_round() -> None:
    records = [
        ["0912", 50.0 + i * 0.1, 50.0 + i * 0.1 + (0.2 if i in (0, 1, 2, 305, 306) else 0.01), 202, i]
        for i in range(400)
    ]
    figures = commit_figures(records, [])
    assert figures["slow_seconds"] == [(0, 3), (30, 2)]
    assert figures["slow"] == 5 and figures["slow_in_stall"] == 0


def test_a_timed_probe_is_stamped_when_it_returns() -> None:
    # commit_figures reads (t, ms) as a commit that ended at t; stamped at its start, every stall sat one
    # stall-length early and the answers that waited through it counted as calm.
    def probe() -> float:
        started = time.perf_counter()
        time.sleep(0.05)
        return (time.perf_counter() - started) * 1000

    sampler = Sampler(probe, 1.0)
    before = time.time()
    sampler.start()
    stamp, ms = sampler.stop()[0]
    assert ms >= 50
    assert stamp - ms / 1000 >= before - 0.001  # the stall it reports began after the sampler started


def test_the_disk_held_a_request_while_one_was_in_flight_and_none_completed() -> None:
    samples: list[tuple[float, object]] = [
        (10.000, (0, 100)),
        (10.005, (1, 100)),  # a request goes in flight ...
        (10.010, (1, 100)),
        (10.200, (1, 100)),  # ... and nothing completes for 195 ms
        (10.205, (0, 101)),
        (10.210, (1, 101)),  # busy, but requests keep completing: not held
        (10.215, (1, 103)),
        (10.220, (1, 105)),
        (10.300, "error: OSError"),  # a failed reading ends whatever was being timed
        (10.305, (1, 105)),
        (10.310, (1, 105)),  # 5 ms: under the stall mark
        (10.315, (0, 106)),
    ]
    records = [
        ["0912", 10.10, 10.30, 202, 1],  # waited through the held write: slow, in it
        ["0912", 10.40, 10.50, 202, 2],  # slow, after it
        ["0912", 10.05, 10.06, 202, 3],  # fast
    ]
    figures = disk_figures(records, samples)
    assert figures["disk_stalls"] == 1
    assert round(figures["disk_stall_max_ms"]) == 200
    assert figures["slow_in_disk_stall"] == 1


def test_the_disk_probe_reads_the_device_under_a_directory(tmp_path: Path) -> None:
    if not Path("/proc/diskstats").exists():  # the bench's own Linux-only reading; elsewhere it says None
        assert DiskProbe.under(tmp_path) is None
        return
    probe = DiskProbe.under(tmp_path)
    if probe is None:  # a directory on a device the kernel does not count (tmpfs, overlay): nothing to watch
        device = os.stat(tmp_path).st_dev
        with pytest.raises(LookupError):
            DiskProbe(os.major(device), os.minor(device))()
        return
    in_flight, completed = probe()
    assert in_flight >= 0
    written = tmp_path / "block"
    with written.open("wb") as file:
        file.write(os.urandom(4096))
        file.flush()
        os.fsync(file.fileno())  # a write (and a flush) that the device completes before fsync returns
    assert probe()[1] > completed
    assert DiskProbe.under(tmp_path / "missing") is None
    assert DiskProbe.under(None) is None
