"""Penalty directions against closed forms."""

import pytest
import torch
from torch.testing import assert_close

from scales_core.bo.penalty_directions import penalty_directions, penalty_gradient
from scales_core.score import prior_score


def test_gradient_of_the_prior_is_minus_z_over_s2():
    z = torch.randn(7, 3, dtype=torch.float64)
    assert_close(penalty_gradient(lambda x: prior_score(x, 2.0), z), -z / 4.0)


def test_directions_against_closed_forms():
    torch.manual_seed(0)
    z = torch.randn(50, 4, dtype=torch.float64)
    a = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    penalties = {
        "linear": lambda x: x @ a,
        "scaled prior": lambda x: 100.0 * prior_score(x, 1.0),
        "outward": lambda x: -prior_score(x, 1.0),
        "twice linear": lambda x: 2 * x @ a,
    }
    table = penalty_directions(penalties, z, reference="linear")
    assert table.attrs["reference"] == "linear"
    assert table.loc["scaled prior", "cos to prior"] == pytest.approx(1.0)
    assert table.loc["outward", "cos to prior"] == pytest.approx(-1.0)
    assert table.loc["outward", "cos to prior"] == pytest.approx(-1.0)
    assert table.loc["twice linear", "cos to reference"] == pytest.approx(1.0)
    assert table.loc["twice linear", "cos to reference (10 %)"] == pytest.approx(1.0)
    assert table.loc["twice linear", "median |grad|"] == pytest.approx(2.0)
    assert table.loc["scaled prior", "median |grad|"] == pytest.approx(
        100 * float(z.norm(dim=1).median())
    )
    # the constant gradient e_1 against -z: cosine -z_1 / |z| per latent
    cosines = -z[:, 0] / z.norm(dim=1)
    assert table.loc["linear", "cos to prior"] == pytest.approx(float(cosines.median()))
    assert table.loc["outward", "cos to reference (10 %)"] == pytest.approx(
        float((-cosines).quantile(0.1))
    )
    with pytest.raises(KeyError, match="reference"):
        penalty_directions(penalties, z, reference="nope")


def test_run_penalty_is_the_runs_penalty():
    from test_bo_loop import toy_problem

    from scales_core.bo import BOConfig
    from scales_core.bo.penalty_directions import run_penalty
    from scales_core.bo.published import ReleasePenalty
    from scales_core.score import ScaLES

    problem = toy_problem()
    z = problem.train_X[:5].float()
    prior = run_penalty(problem, BOConfig(), "prior_0.5")
    assert_close(penalty_gradient(prior, z), -z.double())
    assert isinstance(run_penalty(problem, BOConfig(), "scales_0.8"), ScaLES)
    release = run_penalty(problem, BOConfig(logit_clip=12.0, scales_tau=0.5))
    assert isinstance(release, ReleasePenalty) and release.tau == 0.5
    with pytest.raises(ValueError, match="no penalty"):
        run_penalty(problem, BOConfig(), "ga")
