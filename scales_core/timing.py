r"""Wall-clock timing helpers for benchmarks and the timing chapter."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["median_time", "score_timer", "grad_timer"]


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after warm-up."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def score_timer(score: Callable[[Tensor], Tensor], z: Tensor) -> Callable[[], None]:
    """A closure evaluating ``score(z)`` without autograd."""

    def run() -> None:
        with torch.no_grad():
            score(z)

    return run


def grad_timer(score: Callable[[Tensor], Tensor], z: Tensor) -> Callable[[], None]:
    """A closure evaluating ``score(z)`` and its gradient w.r.t. ``z``."""

    def run() -> None:
        x = z.detach().clone().requires_grad_()
        torch.autograd.grad(score(x).sum(), x)

    return run
