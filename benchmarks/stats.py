"""Order statistics for latency samples: median, p90, p99, without numpy."""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence


def percentile(samples: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        return None
    ordered = sorted(samples)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def median(samples: Sequence[float]) -> Optional[float]:
    return percentile(samples, 50)


def summary(samples: Sequence[float], scale: float = 1000.0, digits: int = 3) -> Dict[str, Optional[float]]:
    """n, median, p90, p99, mean, min, max; values multiplied by `scale` (seconds -> ms by default)."""

    def fmt(value: Optional[float]) -> Optional[float]:
        return None if value is None else round(value * scale, digits)

    return {
        "n": len(samples),
        "median": fmt(median(samples)),
        "p90": fmt(percentile(samples, 90)),
        "p99": fmt(percentile(samples, 99)),
        "mean": fmt(sum(samples) / len(samples)) if samples else None,
        "min": fmt(min(samples)) if samples else None,
        "max": fmt(max(samples)) if samples else None,
    }


def ratio(numerator: Optional[float], denominator: Optional[float], digits: int = 3) -> Optional[float]:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)
