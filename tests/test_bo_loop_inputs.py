"""run_bo with inputs a user may give it: a decoder whose weights need gradients, a
float32 decoder that does not cast, a run path ending in .gz."""

from __future__ import annotations

import pytest
import torch
from conftest import MLPDecoder

from scales_core.bo import run_bo


def test_run_bo_gives_the_decoder_its_grad_flags_back():
    from test_bo_loop import CONFIG as FAST
    from test_bo_loop import toy_problem

    problem = toy_problem()
    problem.decoder.requires_grad_(True)
    run_bo(problem, "scales_0.5", seed=0, config=FAST, progress=False)
    assert all(w.requires_grad for w in problem.decoder.parameters())


def test_a_gz_run_path_is_refused_before_running(tmp_path):
    from test_bo_loop import CONFIG as FAST
    from test_bo_loop import toy_problem

    with pytest.raises(ValueError, match=".gz"):
        run_bo(
            toy_problem(),
            "ga",
            config=FAST,
            path=tmp_path / "seed0.jsonl.gz",
            progress=False,
        )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "method", ["ga", "scales_0.5", "scales_es_50", "uc_es_95", "prior_0.5", "lbfgs_1"]
)
def test_bo_runs_a_float32_decoder_that_does_not_cast(method):
    # issue 29: run_bo keeps float64 latents and hands the decoder its own dtype
    from test_bo_loop import CONFIG, toy_evaluate

    from scales_core.bo import Problem

    torch.manual_seed(0)
    decoder = MLPDecoder(
        d=3, L=4, D=5, dropout=0.2, scale=3.0
    ).eval()  # float32, no cast

    def decode(z):
        with torch.no_grad():
            return [
                "".join("abcde"[i] for i in row)
                for row in decoder(z.float()).argmax(-1).tolist()
            ]

    X = torch.randn(
        16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    strings = decode(X)
    values, valid, _ = toy_evaluate(strings)
    keep = torch.as_tensor(valid)
    problem = Problem(
        "toy",
        decoder,
        decode,
        toy_evaluate,
        [s for s, k in zip(strings, valid) if k],
        X[keep],
        torch.as_tensor(values[valid]),
        info={"n_init": 16},
    )
    data = run_bo(problem, method, seed=0, config=CONFIG, progress=False)
    assert len(data.oracle) == CONFIG.n_steps * CONFIG.q
    assert next(decoder.parameters()).dtype == torch.float32
