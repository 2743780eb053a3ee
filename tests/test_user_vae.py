"""A user's VAE from a module outside the package, end to end (issue 29)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import scales_core as sc

MODULE = Path(__file__).parent / "user_records" / "toy_user_vae.py"


@pytest.fixture
def user_records():
    from scales_core.datasets import import_records, unregister
    from scales_core.tasks import unregister_task

    import_records([str(MODULE)])
    yield
    unregister("user_ab")
    unregister_task("user_count_a")
    sys.modules.pop("scales_records_toy_user_vae", None)


def test_a_user_vae_that_does_not_cast_runs_everywhere(user_records, tmp_path):
    from scales_core.bo import BOConfig, make_problem, run_bo
    from scales_core.bo.surrogate import SurrogateConfig
    from scales_core.datasets import get_dataset
    from scales_core.validity_auroc import run_validity_experiment

    record = get_dataset("user_ab")
    vae = record.load_vae()
    z = torch.randn(4, 3, dtype=torch.float64)
    assert (
        sc.ScaLES(vae.decoder)(z).isfinite().all()
    )  # float64 latents, float32 decoder

    frame, summary = run_validity_experiment(
        "user_ab", n=5, n_calibration=5, uc_samples=(2, 2), rho_grid=(0.1, 1.0)
    )
    assert len(frame) == 20 and summary["model"] == "user_mlp"

    config = BOConfig(
        n_steps=2,
        q=2,
        lr=0.5,
        half_width=3.0,
        mc_samples=16,
        surrogate=SurrogateConfig(maxiter_cold=10),
    )
    for method in ("ga", "scales_0.5"):
        data = run_bo(
            make_problem("user_count_a", seed=0),
            method,
            seed=0,
            config=config,
            progress=False,
        )
        assert len(data.oracle) == 4


def test_the_sweep_command_loads_user_records_in_process_workers(tmp_path, monkeypatch):
    from scales_core import sweep

    monkeypatch.setattr(sys, "argv", ["python -m scales_core.sweep"])
    code = sweep.main(
        [
            "--records",
            str(MODULE),
            "--task",
            "user_count_a",
            "--methods",
            "ga",
            "scales_0.5",
            "--seeds",
            "0",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--set",
            "mc_samples=16",
        ]
    )
    try:
        assert code == 0
        assert sorted(p.parent.name for p in tmp_path.rglob("seed0.jsonl.gz")) == [
            "ga",
            "scales_0.5",
        ]
    finally:
        from scales_core.datasets import unregister
        from scales_core.tasks import unregister_task

        unregister("user_ab")
        unregister_task("user_count_a")
        sys.modules.pop("scales_records_toy_user_vae", None)


def test_a_records_module_that_does_not_import_is_one_clear_error(tmp_path):
    from scales_core.datasets import import_records

    with pytest.raises(ValueError, match="--records .*nope.py: cannot import"):
        import_records([str(tmp_path / "nope.py")])
    with pytest.raises(ValueError, match="--records no_such_module_xyz: cannot import"):
        import_records(["no_such_module_xyz"])
