"""Summary statistics of latency samples."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    """Median, 90th percentile and extremes of one series of samples, in seconds."""

    count: int
    median: float
    p90: float
    minimum: float
    maximum: float


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile: the smallest sample with ``fraction`` at or below it."""
    if not samples:
        raise ValueError("percentile of an empty series")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    ordered = sorted(samples)
    rank = math.ceil(fraction * len(ordered))
    return ordered[rank - 1]


def summarize(samples: Sequence[float]) -> Summary:
    """Summarize a non-empty series of samples."""
    if not samples:
        raise ValueError("summary of an empty series")
    return Summary(
        count=len(samples),
        median=statistics.median(samples),
        p90=percentile(samples, 0.9),
        minimum=min(samples),
        maximum=max(samples),
    )


def ratio(numerator: float, denominator: float) -> float:
    """Return numerator / denominator, or infinity when the denominator is zero."""
    if denominator == 0:
        return math.inf
    return numerator / denominator


def median_ratio_interval(
    numerators: Sequence[float], denominators: Sequence[float], confidence: float = 0.95,
    resamples: int = 2000, seed: int = 0,
) -> tuple[float, float]:
    """Return a percentile bootstrap interval of median(numerators) / median(denominators).

    Each resample draws both series again with replacement.  The fixed seed
    makes the interval of the same samples the same on every run.
    """
    if not numerators or not denominators:
        raise ValueError("interval of an empty series")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    generator = random.Random(seed)
    ratios = sorted(
        ratio(statistics.median(generator.choices(numerators, k=len(numerators))),
              statistics.median(generator.choices(denominators, k=len(denominators))))
        for _ in range(resamples)
    )
    tail = (1 - confidence) / 2
    return percentile(ratios, tail), percentile(ratios, 1 - tail)
