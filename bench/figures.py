"""Figures from what the load generator recorded: throughput, latency, errors, a timeline."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

TIMELINE_BIN_SECONDS = 0.1


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def latency_figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        f"p{label}_ms": round(percentile(ordered, fraction) * 1000, 2)
        for label, fraction in (("50", 0.50), ("95", 0.95), ("99", 0.99))
    }


def traffic_figures(result: dict[str, Any], expected_errors: int = 0) -> dict[str, Any]:
    """Requests/s over the whole run, latency percentiles (overall and per kind), errors.

    An error is a transport failure (status 0) or any status of 400 and above.
    """
    requests = result["requests"]
    if not requests:
        return {"requests": 0}
    first = min(started for started, _, _, _ in requests)
    last = max(ended for _, ended, _, _ in requests)
    duration = max(last - first, 1e-9)
    statuses = Counter(status for _, _, status, _ in requests)
    kinds: dict[str, list[float]] = {}
    for started, ended, _, kind in requests:
        kinds.setdefault(kind, []).append(ended - started)
    figures: dict[str, Any] = {
        "requests": len(requests),
        "seconds": round(duration, 3),
        "requests_per_second": round(len(requests) / duration, 1),
        **latency_figures([ended - started for started, ended, _, _ in requests]),
        "errors": sum(n for status, n in statuses.items() if status == 0 or status >= 400),
        "statuses": {str(status): n for status, n in sorted(statuses.items())},
        "by_kind": {
            kind: {"requests": len(values), **latency_figures(values)}
            for kind, values in kinds.items()
        },
        "load_generator_cpu_share": round(result["cpu_seconds"] / result["wall_seconds"], 3),
        "load_generator_cpu_share_of_machine": round(
            result["cpu_seconds"] / result["wall_seconds"] / (os.cpu_count() or 1), 3
        ),
        "first_request_at": first,
        "last_response_at": last,
    }
    return figures


def timeline(
    result: dict[str, Any], samples: list[tuple[float, int]], origin: float
) -> dict[str, list[Any]]:
    """Requests/s per 100 ms bin and pending changes per sample, in seconds since `origin`."""
    completions: Counter[int] = Counter(
        int((ended - origin) / TIMELINE_BIN_SECONDS) for _, ended, _, _ in result["requests"]
    )
    last_bin = max(completions, default=0)
    return {
        "rps_t": [round(b * TIMELINE_BIN_SECONDS, 2) for b in range(last_bin + 1)],
        "rps": [completions.get(b, 0) / TIMELINE_BIN_SECONDS for b in range(last_bin + 1)],
        "pending_t": [round(at - origin, 3) for at, _ in samples],
        "pending": [count for _, count in samples],
    }
