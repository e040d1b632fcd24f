"""Figures from one round of one case: the generator's records, the simulator's records, the samplers."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from typing import Any

from bench.loadgen import e164

INF = math.inf


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; ``inf`` entries (never happened) sort last, as they should."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def rate(times: list[float]) -> float:
    """Events per second between the first and the last event."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else 0.0


def peak_overlap(starts: list[float], length: float) -> int:
    """Most intervals [start, start + length) open at once: provider calls in flight, seen by the simulator."""
    if length <= 0:
        return 0
    events = sorted([(start, 1) for start in starts] + [(start + length, -1) for start in starts])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def round_metrics(
    *,
    records: list[list[Any]],
    received: list[dict[str, Any]],
    latency_ms: int,
    target: str,
    failover: bool,
    backlog: bool = False,
) -> dict[str, Any]:
    ok_status = 202 if target in ("api", "bare") else 200
    accepted = [record for record in records if record[3] == ok_status]
    accept_ms = [(done - due) * 1000 for _, due, done, _, _ in accepted]
    sent = [item for item in received if item.get("message_id") is not None]
    first_sent: dict[str, dict[str, Any]] = {}
    for item in sorted(sent, key=lambda item: item["received_at"]):
        first_sent.setdefault(item["mobile"], item)
    ours = {e164(record[0]) for record in records}
    delivered = [item for mobile, item in first_sent.items() if mobile in ours]
    result: dict[str, Any] = {
        "requests": len(records),
        "accepted": len(accepted),
        "errors": dict(Counter(str(record[3]) for record in records if record[3] != ok_status)),
        # A backlog is stored directly, not through the API: there is no accept rate or latency to speak of.
        "accepted_rps": math.nan if backlog else rate([record[2] for record in accepted]),
        "accept_ms": [] if backlog else accept_ms,
        "delivered": len(delivered),
        "delivered_sps": rate([item["received_at"] for item in delivered]),
        "provider_calls": len(received),
        "peak_in_flight": peak_overlap([item["received_at"] for item in received], latency_ms / 1000),
    }
    per_call = Counter((item["provider"], item["mobile"]) for item in sent)
    result["duplicates"] = sum(count - 1 for count in per_call.values() if count > 1)
    if target == "api":
        to_provider, via_kavenegar = [], []
        for local, _, done, _status, _ in accepted:
            found = first_sent.get(e164(local))
            to_provider.append((found["received_at"] - done) * 1000 if found else INF)
            if failover:
                via_kavenegar.append(
                    (found["received_at"] - done) * 1000 if found and found["provider"] == "kavenegar" else INF
                )
        result["to_provider_ms"] = to_provider
        result["failover_ms"] = via_kavenegar
        result["timeline"] = [(done, (done - due) * 1000) for _, due, done, _, _ in accepted]
    return result


# A commit (or an 8 kB fdatasync) takes well under a millisecond here when the disk is well; 20 ms is a stall.
STALL_MS = 20.0
PROBE_INTERVAL = 0.02  # seconds between two commits of the probe
DISK_INTERVAL = 0.005  # seconds between two readings of the disk's counters (a read costs ~30 µs)
SLOW_MS = 50.0  # the accept p99 target
SLOW_SECONDS_SHOWN = 3


def disk_figures(records: list[list[Any]], samples: list[tuple[float, Any]]) -> dict[str, Any]:
    """Where the disk itself held a request: a request in flight and none completed for over ``STALL_MS``.

    ``samples`` are (wall time, (in flight, completed)) from ``stack.DiskProbe``, a few ms apart. A stuck
    request is timed from the first sample that saw it to the first that saw anything complete, so it is
    short by up to one interval; slow answers whose wait overlaps one are counted as the commit stalls are.
    """
    stuck: list[list[float]] = []
    since: float | None = None
    last_completed = None
    for at, value in samples:
        if not isinstance(value, (list, tuple)):
            since = None
            continue
        in_flight, completed = value
        if since is not None and completed != last_completed:
            if at - since > STALL_MS / 1000:
                stuck.append([since, at])
            since = None
        if since is None and in_flight:
            since = at
        last_completed = completed
    ends = [end for _, end in stuck]
    slow = [(due, done) for _, due, done, status, _ in records if status == 202 and (done - due) * 1000 > SLOW_MS]
    return {
        "disk_stalls": len(stuck),
        "disk_stall_max_ms": max(((end - start) * 1000 for start, end in stuck), default=0.0),
        "slow_in_disk_stall": sum(_in_stall(due, done, stuck, ends) for due, done in slow),
    }


def _in_stall(due: float, done: float, stalls: list[list[float]], ends: list[float]) -> bool:
    """Whether the wait [due, done] overlaps one of ``stalls`` (sorted, disjoint [start, end]; ``ends`` theirs)."""
    index = bisect_left(ends, due)  # the first stall that ends after it was due
    return index < len(stalls) and stalls[index][0] <= done


def commit_figures(records: list[list[Any]], samples: list[tuple[float, Any]]) -> dict[str, Any]:
    """What the commit probe saw during a round, and which accepted requests waited through a stall.

    ``samples`` are (wall time when the probe's commit ended, its ms). A request "waited through a stall"
    when its wait [due, answered] overlaps one: its own commit waited too, so its latency says more about
    the database server than about the request path.
    """
    probes = [(end, ms) for end, ms in samples if isinstance(ms, float)]
    stalls: list[list[float]] = []
    for end, ms in sorted(probes):
        if ms > STALL_MS:
            start = end - ms / 1000
            if stalls and start <= stalls[-1][1]:
                stalls[-1][1] = max(stalls[-1][1], end)
            else:
                stalls.append([start, end])
    ends = [end for _, end in stalls]
    calm, slow, slow_in_stall = [], 0, 0
    first_due = min((record[1] for record in records), default=0.0)
    slow_at: Counter[int] = Counter()  # slow answers by whole second of the round they were due in
    for _, due, done, status, _ in records:
        if status != 202:
            continue
        ms = (done - due) * 1000
        in_stall = _in_stall(due, done, stalls, ends)
        if not in_stall:
            calm.append(ms)
        if ms > SLOW_MS:
            slow += 1
            slow_in_stall += in_stall
            slow_at[int(due - first_due)] += 1
    return {
        "commit_ms": [ms for _, ms in probes],
        "commit_stalls": len(stalls),
        "commit_stall_seconds": sum(end - start for start, end in stalls),
        "accept_calm_ms": calm,
        "slow": slow,
        "slow_in_stall": slow_in_stall,
        # Where in the round the slow answers fell: the start of a round (processes just started) and a
        # periodic job look alike in a p99 and not at all here.
        "slow_seconds": sorted(slow_at.items(), key=lambda item: (-item[1], item[0]))[:SLOW_SECONDS_SHOWN],
        "commit_timeline": probes,
    }
