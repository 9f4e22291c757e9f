"""Exponential back-off for retries."""

from __future__ import annotations


def backoff(base: float, attempts: int, *, cap: float) -> float:
    """Seconds to wait after the `attempts`-th try: base, 2 x base, 4 x base, ... at most cap."""
    return float(min(base * 2 ** max(attempts - 1, 0), cap))
