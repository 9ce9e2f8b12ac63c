"""A latency histogram cheap enough for the journal's fsync path: one bisect, two adds.

Prometheus histograms (`prometheus_client.Histogram`) take a lock per observation and
live in a registry; the journal knows neither HTTP nor registries, so it keeps its own
bucket counts, and `/metrics` and `revkv stats` read them when asked. Only one thread
observes at a time (the journal's leader or its interval fsync), so no lock is needed.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

#: Seconds. fsync takes ~50 µs on a battery-backed or NVMe disk, milliseconds on a
#: SATA SSD or cloud volume, tens of milliseconds on a spinning disk, and seconds on a
#: disk that is failing or saturated: what to alert on.
FSYNC_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """Counts of observations at or below each bound (cumulative, as Prometheus has
    them); the last count is every observation, +Inf included."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    sum: float

    @property
    def count(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def to_dict(self) -> dict[str, object]:
        """count, sum, mean, p50/p90/p99 (bucket bounds: upper estimates; null past the
        last bound) and the cumulative buckets as [bound, count] pairs."""
        count = self.count
        return {
            "count": count,
            "sum": self.sum,
            "mean": self.sum / count if count else None,
            **{f"p{round(q * 100)}": _finite(self.quantile(q)) for q in (0.5, 0.9, 0.99)},
            "buckets": [[b, n] for b, n in zip(self.bounds, self.cumulative, strict=False)],
        }

    def quantile(self, q: float) -> float | None:
        """The bound of the bucket holding the `q` quantile (an upper estimate); None
        without observations, +inf when it lies past the last bound."""
        if not self.count:
            return None
        rank = q * self.count
        for bound, seen in zip(self.bounds, self.cumulative, strict=False):
            if seen >= rank:
                return bound
        return float("inf")


class LatencyHistogram:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = FSYNC_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is past every bound
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    def snapshot(self) -> HistogramSnapshot:
        running, cumulative = 0, []
        for count in self.counts:
            running += count
            cumulative.append(running)
        return HistogramSnapshot(self.bounds, tuple(cumulative), self.sum)


def _finite(value: float | None) -> float | None:
    return None if value is None or value == float("inf") else value
