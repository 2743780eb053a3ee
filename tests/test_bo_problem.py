"""The BO problem (bo/problem.py): the problem facts of a run header, and a VAE
that is a plain object."""

from __future__ import annotations

import pytest
import torch
from conftest import needs_data

CKPT = "checkpoints/paper/expressions_gru_1/w.pth"

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


@needs_data(CKPT)
def test_problem_info_mirrors_make_problem():
    from scales_core.bo import make_problem, problem_info

    problem = make_problem("expressions", n_init=12, seed=3)
    assert problem.info == problem_info("expressions", 12, 3)
    # the expressions header has no positions key (stored runs keep matching)
    assert problem_info("expressions", None, 3) == dict(
        checkpoint="expressions_gru_1", n_init=500, data_seed=3
    )
    assert problem.positions is None
    short = make_problem("expressions", n_init=12, seed=3, positions=5)
    assert short.positions == 5 and short.info == problem_info(
        "expressions", 12, 3, positions=5
    )


def test_problem_info_logp_names_bo_model_and_positions():
    from scales_core.bo import problem_info

    assert problem_info("logp", None, 0) == dict(
        checkpoint="smiles_gru_1", n_init=500, data_seed=0, positions=30
    )
    assert (
        problem_info("logp", 7, 1, "smiles_gru_0.1")["checkpoint"] == "smiles_gru_0.1"
    )
    assert problem_info("logp", positions=120)["positions"] == 120
    assert problem_info("expressions", positions=5)["positions"] == 5
    with pytest.raises(ValueError, match="positions"):
        problem_info("logp", positions=0)


def test_a_plain_object_vae_goes_through_make_problem():
    from dataclasses import replace

    from test_datasets import TOY, TOY_TASK, ToyVAE

    from scales_core.bo import make_problem
    from scales_core.datasets import register, unregister
    from scales_core.tasks import register_task, unregister_task

    class Plain:
        """The VAE protocol without nn.Module (no .to, .eval, .requires_grad_)."""

        def __init__(self):
            torch.manual_seed(0)
            inner = ToyVAE()
            self.latent_dim, self.latent_scale = inner.latent_dim, inner.latent_scale
            self.decoder, self.tokenize = inner.decoder, inner.tokenize
            self.encode, self.decode_strings = inner.encode, inner.decode_strings

    register(replace(TOY, vae_loader=lambda name, device="cpu": Plain()))
    register_task(TOY_TASK)
    try:
        problem = make_problem("toy_count_a", seed=0)
        assert len(problem.strings) == 12
    finally:
        unregister("toy_ab")
        unregister_task("toy_count_a")
