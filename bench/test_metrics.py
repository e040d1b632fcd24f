"""The benchmark's own arithmetic: which answers waited through a commit stall, and when a stall was."""

from __future__ import annotations

import time

from bench.metrics import commit_figures
from bench.stack import Sampler


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
