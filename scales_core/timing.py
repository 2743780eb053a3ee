r"""Wall-clock timing helpers for benchmarks and the timing chapter."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

__all__ = [
    "median_time",
    "score_timer",
    "grad_timer",
    "wall_clock_table",
    "newest_gpu_check",
]


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


def _sync(z: Tensor) -> None:
    """Wait for queued GPU work, so that a host clock measures it."""
    if z.is_cuda:
        torch.cuda.synchronize(z.device)


def score_timer(score: Callable[[Tensor], Tensor], z: Tensor) -> Callable[[], None]:
    """A closure evaluating ``score(z)`` without autograd (synchronized on a GPU)."""

    def run() -> None:
        with torch.no_grad():
            score(z)
        _sync(z)

    return run


def grad_timer(score: Callable[[Tensor], Tensor], z: Tensor) -> Callable[[], None]:
    """A closure evaluating ``score(z)`` and its gradient w.r.t. ``z`` (synchronized)."""

    def run() -> None:
        x = z.detach().clone().requires_grad_()
        torch.autograd.grad(score(x).sum(), x)
        _sync(z)

    return run


def wall_clock_table(
    decoders: dict[str, tuple[Callable[[Tensor], Tensor], int, int | None]],
    batches: tuple[int, ...] = (5, 10),
    repeats: int = 3,
    naive: bool = True,
    naive_repeats: int = 1,
    seed: int = 0,
):
    r"""Table 5 of the paper on this machine.

    Args:
        decoders: ``name -> (decoder, latent_dim, positions)``.
        batches: Batch sizes `B`.
        repeats: Timed calls per entry (median reported).
        naive: Also time :func:`scales_core.reference.naive_paper_score`.
        naive_repeats: Timed calls for the (slow) naive score.
        seed: Seeds the latents and the UC score.

    Returns:
        A long ``pandas.DataFrame`` with columns model, B, method, seconds.
    """
    import pandas as pd

    from .reference import naive_paper_score
    from .score import ScaLES
    from .uncertainty import uncertainty_score

    rows = []
    for name, (decoder, d, positions) in decoders.items():
        scales = ScaLES(decoder, positions=positions)
        for B in batches:
            z = torch.randn(B, d, generator=torch.Generator().manual_seed(seed))
            methods = {
                "ScaLES": (score_timer(scales, z), repeats),
                "ScaLES derivative": (grad_timer(scales, z), repeats),
                "UC (10, 10)": (
                    score_timer(
                        lambda x: uncertainty_score(decoder, x, 10, 10, seed=seed), z
                    ),
                    repeats,
                ),
                "UC (2, 2)": (
                    score_timer(
                        lambda x: uncertainty_score(decoder, x, 2, 2, seed=seed), z
                    ),
                    repeats,
                ),
            }
            if naive:
                naive_fn = score_timer(
                    lambda x: naive_paper_score(decoder, x, positions=positions), z
                )
                methods["naive ScaLES (reverse Jacobian, pinv)"] = (
                    naive_fn,
                    naive_repeats,
                )
            for method, (fn, reps) in methods.items():
                warm = 1 if reps > 1 else 0
                rows.append(
                    {
                        "model": name,
                        "B": B,
                        "method": method,
                        "seconds": median_time(fn, reps, warmup=warm),
                    }
                )
    return pd.DataFrame(rows)


def newest_gpu_check(directory: str | Path) -> tuple[Path, dict] | None:
    """The newest result of ``scripts/gpu_check.sh`` in ``directory``, or ``None``.

    A GPU check is a JSON file with benchmark ``rows``; the other JSON files there
    (``<date>-<task>-sweep.json``) record device sweeps and are passed over. Files are
    ordered by name, which starts with the ISO date of the check.

    Args:
        directory: The folder of GPU results (``results/gpu``).

    Returns:
        ``(path, result)`` of the newest check, or ``None`` where there is none.
    """
    for path in sorted(Path(directory).glob("*.json"), reverse=True):
        result = json.loads(path.read_text())
        if "rows" in result:
            return path, result
    return None
